"""Backup and restore of linkpulse's one Redis: links, aggregates and unprocessed clicks.

The snapshot is Redis's own RDB from BGSAVE (a fork: every key as of one instant, the click
stream's consumer group and its pending entries included). A restore installs that RDB as the
base of a new AOF directory, so Redis, which runs with AOF on, loads it on its next start.
docs/operations.md describes both sides and their costs.
"""
