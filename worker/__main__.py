"""`python -m worker`: configure from the environment, serve /metrics, run the loop."""

from __future__ import annotations

import logging

from linkpulse.logs import configure_logging
from linkpulse.redis_client import connect
from linkpulse.settings import ConfigError, exit_on_config_error, load_settings
from worker.metrics import WorkerMetrics
from worker.settings import WorkerSettings
from worker.worker import WORKER_ENCODING_ERRORS, Worker

SERVICE = "worker"


def build_worker(settings: WorkerSettings, consumer_name: str, metrics: WorkerMetrics) -> Worker:
    # The socket timeout must outlast the longest XREADGROUP BLOCK, or every idle read
    # would look like a dead Redis.
    client = connect(
        settings.redis_url,
        socket_timeout=max(2.0, settings.batch_wait_ms / 1000 + 2.0),
        client_name=f"linkpulse-worker-{consumer_name}",
        encoding_errors=WORKER_ENCODING_ERRORS,
    )
    return Worker(
        client,
        consumer_name=consumer_name,
        batch_size=settings.batch_size,
        batch_wait_ms=settings.batch_wait_ms,
        batch_linger_ms=settings.batch_linger_ms,
        reclaim_idle_ms=settings.reclaim_idle_ms,
        drain_s=settings.drain_s,
        stream_maxlen=settings.stream_maxlen,
        metrics=metrics,
    )


def main() -> None:
    try:
        settings = load_settings(WorkerSettings)
    except ConfigError as error:
        exit_on_config_error(error, SERVICE)
    configure_logging(SERVICE, settings.log_level)
    metrics = WorkerMetrics(version=settings.app_version, revision=settings.git_revision)
    worker = build_worker(settings, settings.consumer_name, metrics)
    client = worker.redis
    # Before /metrics answers, so that a process seen as up also stops cleanly.
    worker.install_signal_handlers()
    metrics_server = metrics.serve(settings.metrics_port)
    logging.getLogger(__name__).info(
        "metrics served", extra={"port": settings.metrics_port, "path": "/metrics"}
    )
    try:
        worker.run()
    finally:
        metrics_server.shutdown()
        client.close()


if __name__ == "__main__":
    main()
