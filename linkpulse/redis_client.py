"""Redis connections with the timeouts and retries both services rely on."""

from __future__ import annotations

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry


def connect(
    url: str,
    *,
    socket_timeout: float = 2.0,
    client_name: str = "linkpulse",
    encoding_errors: str = "strict",
) -> redis.Redis:
    """A pooled client that decodes responses to str and fails fast when Redis is away.

    Fail fast matters more than hiding blips: web turns a failure into a 503 and the
    worker backs off, and both recover on the next call once Redis answers again.
    `encoding_errors="surrogateescape"` reads bytes that are not UTF-8 as lone surrogates
    (and writes them back unchanged) instead of raising inside redis-py: the worker reads
    a stream anyone with write access may have put anything into.
    """
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        encoding_errors=encoding_errors,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=1),
        client_name=client_name,
    )
