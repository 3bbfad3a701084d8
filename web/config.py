"""Environment variables for the web service, as pydantic models (aliases are the names).

`WebSettings` is what the app needs; `ServerSettings` is what gunicorn_conf.py needs. Both
are validated before gunicorn forks, so a bad value stops the master with one line.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from linkpulse.settings import LogLevel, RedisUrl

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class WebSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    redis_url: RedisUrl = Field(alias="REDIS_URL")
    public_base_url: str = Field(alias="PUBLIC_BASE_URL")
    visitor_hash_salt: SecretStr = Field(alias="VISITOR_HASH_SALT")
    click_stream_maxlen: int = Field(1_000_000, alias="CLICK_STREAM_MAXLEN", ge=1_000)
    log_level: LogLevel = Field("INFO", alias="LOG_LEVEL")
    app_version: str = Field("dev", alias="APP_VERSION", min_length=1)
    git_revision: str = Field("unknown", alias="GIT_REVISION", min_length=1)
    forwarded_allow_ips: str = Field("127.0.0.1", alias="FORWARDED_ALLOW_IPS")
    trusted_proxy_hops: int = Field(1, alias="TRUSTED_PROXY_HOPS", ge=1, le=5)
    # Storage policy (docs/configuration.md): links per client address (IPv6: per /64) and
    # clock hour, 0 = no quota; the share of Redis's maxmemory from which creates are refused,
    # 0 = never; the longest lifetime a link may have, in days, 0 = links may never expire.
    create_quota_per_hour: int = Field(5000, alias="CREATE_QUOTA_PER_HOUR", ge=0)
    create_memory_limit_percent: int = Field(85, alias="CREATE_MEMORY_LIMIT_PERCENT", ge=0, le=100)
    link_max_lifetime_days: int = Field(0, alias="LINK_MAX_LIFETIME_DAYS", ge=0, le=36_500)
    # Share of successful requests (status < 400) that get an access-log line; failures always
    # do. nginx logs every request already, and one JSON line per redirect was a tenth of web's
    # CPU under load (docs/benchmarks.md), so the stack logs a sample of the successes.
    access_log_sample: float = Field(1.0, alias="WEB_ACCESS_LOG_SAMPLE", ge=0.0, le=1.0)

    @field_validator("public_base_url")
    @classmethod
    def _public_base(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an http(s) URL such as http://localhost:8080")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query or fragment")
        return value.rstrip("/")

    @field_validator("visitor_hash_salt")
    @classmethod
    def _long_salt(cls, value: SecretStr) -> SecretStr:
        # Checked here rather than with min_length, which would speak of "items".
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxy_list(cls, value: str) -> str:
        trusted_proxy_networks(value)
        return value

    def short_url(self, code: str) -> str:
        return f"{self.public_base_url}/{code}"


def trusted_proxy_networks(value: str) -> tuple[IpNetwork, ...] | None:
    """Parse FORWARDED_ALLOW_IPS (as gunicorn does): None means '*', trust every peer."""
    entries = [entry.strip() for entry in value.split(",") if entry.strip()]
    if "*" in entries:
        return None
    try:
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)
    except ValueError as exc:
        raise ValueError(f"must be '*' or comma-separated IPs/CIDRs ({exc})") from None


def default_workers() -> int:
    return 2 * (os.cpu_count() or 1) + 1


class ServerSettings(BaseModel):
    """gunicorn's knobs.

    gthread by default: `make bench` shows the same redirect throughput for sync and gthread
    (docs/benchmarks.md), and only gthread keeps the connections nginx pools to web alive.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    bind: str = Field("0.0.0.0:8000", alias="WEB_BIND", min_length=1)
    workers: int = Field(default_factory=default_workers, alias="WEB_CONCURRENCY", ge=1, le=64)
    worker_class: Literal["sync", "gthread"] = Field("gthread", alias="GUNICORN_WORKER_CLASS")
    threads: int = Field(4, alias="GUNICORN_THREADS", ge=1, le=64)
    # gunicorn_conf.py gives this its default before prometheus_client is imported.
    metrics_dir: str = Field(alias="PROMETHEUS_MULTIPROC_DIR", min_length=1)
    log_level: LogLevel = Field("INFO", alias="LOG_LEVEL")
