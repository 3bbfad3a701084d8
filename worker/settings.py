"""Worker configuration, read once from the environment at start-up."""

from __future__ import annotations

import os
import socket

from pydantic import BaseModel, ConfigDict, Field

from linkpulse.settings import LogLevel, RedisUrl


def default_consumer_name() -> str:
    """hostname-pid: unique per process, and stable across restarts of a container's pid 1."""
    return f"{socket.gethostname()}-{os.getpid()}"


class WorkerSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    redis_url: RedisUrl = Field(alias="REDIS_URL")
    batch_size: int = Field(500, alias="WORKER_BATCH_SIZE", ge=1, le=10_000)
    # BLOCK 0 would mean "forever", which would leave a stop signal unnoticed.
    batch_wait_ms: int = Field(1000, alias="WORKER_BATCH_WAIT_MS", ge=1, le=5_000)
    # Bounds the analytics lag a short batch may add while it waits for more events.
    batch_linger_ms: int = Field(50, alias="WORKER_BATCH_LINGER_MS", ge=0, le=100)
    reclaim_idle_ms: int = Field(30_000, alias="WORKER_RECLAIM_IDLE_MS", ge=1)
    # How long a stopping worker applies its own pending entries before it leaves them to a
    # reclaim; well inside compose's stop_grace_period (30 s), after which Docker kills it.
    drain_s: float = Field(10.0, alias="WORKER_DRAIN_S", ge=0, le=25)
    metrics_port: int = Field(9101, alias="WORKER_METRICS_PORT", ge=1, le=65_535)
    # No spaces: the name is also the Redis CLIENT SETNAME, which refuses them.
    consumer_name: str = Field(
        default_factory=default_consumer_name,
        alias="WORKER_CONSUMER_NAME",
        pattern=r"^[!-~]{1,200}$",
    )
    stream_maxlen: int = Field(1_000_000, alias="CLICK_STREAM_MAXLEN", ge=1)
    # Set by the image build, as for web; exported as linkpulse_build_info.
    app_version: str = Field("dev", alias="APP_VERSION", min_length=1)
    git_revision: str = Field("unknown", alias="GIT_REVISION", min_length=1)
    log_level: LogLevel = Field("INFO", alias="LOG_LEVEL")
