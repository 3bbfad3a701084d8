"""The click-stream consumer: reads click events through a consumer group and keeps the aggregates.

`python -m worker` runs one `Worker` loop (see worker.worker); everything it writes to Redis
is named in linkpulse.contract.
"""
