"""`python -m worker.take_over PREFIX`: claim now what retired workers left pending.

Run by the deploy tool in the new worker's container once the old one has exited (a worker
killed, or out of drain time, leaves entries pending): every entry pending on a consumer
whose name starts with PREFIX (the old container's hostname and "-": consumer names are
hostname-pid) is claimed, applied and acknowledged by a one-shot consumer that then leaves
the group, instead of waiting WORKER_RECLAIM_IDLE_MS for the new worker's reclaim.
"""

from __future__ import annotations

import socket
import sys

from linkpulse.logs import configure_logging
from linkpulse.settings import ConfigError, exit_on_config_error, load_settings
from worker.__main__ import SERVICE, build_worker
from worker.metrics import WorkerMetrics
from worker.settings import WorkerSettings


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0]:
        print("usage: python -m worker.take_over CONSUMER_NAME_PREFIX", file=sys.stderr)
        return 2
    try:
        settings = load_settings(WorkerSettings)
    except ConfigError as error:
        exit_on_config_error(error, SERVICE)
    configure_logging(SERVICE, settings.log_level)
    worker = build_worker(settings, f"{socket.gethostname()}-take-over", WorkerMetrics())
    worker.ensure_group()
    worker.take_over(argv[0])
    worker.redis.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
