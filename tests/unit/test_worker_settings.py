"""Worker settings from the environment: defaults, and one line naming a bad variable."""

from __future__ import annotations

import pytest

from linkpulse.settings import ConfigError, load_settings
from worker.settings import WorkerSettings

REQUIRED = {"REDIS_URL": "redis://redis:6379/0"}


def test_defaults() -> None:
    settings = load_settings(WorkerSettings, REQUIRED)
    assert settings.batch_size == 500
    assert settings.batch_wait_ms == 1000
    assert settings.batch_linger_ms == 50
    assert settings.reclaim_idle_ms == 30_000
    assert settings.metrics_port == 9101
    assert settings.stream_maxlen == 1_000_000
    assert settings.log_level == "INFO"
    host, _, pid = settings.consumer_name.rpartition("-")
    assert host
    assert pid.isdigit()


def test_every_variable_is_read() -> None:
    settings = load_settings(
        WorkerSettings,
        {
            **REQUIRED,
            "WORKER_BATCH_SIZE": "1000",
            "WORKER_BATCH_WAIT_MS": "250",
            "WORKER_BATCH_LINGER_MS": "0",
            "WORKER_RECLAIM_IDLE_MS": "200",
            "WORKER_DRAIN_S": "2.5",
            "WORKER_METRICS_PORT": "9200",
            "WORKER_CONSUMER_NAME": "worker-a",
            "CLICK_STREAM_MAXLEN": "5000",
            "LOG_LEVEL": "debug",
            "APP_VERSION": "1.2.3",
            "GIT_REVISION": "abc1234",
        },
    )
    assert (settings.batch_size, settings.batch_wait_ms, settings.reclaim_idle_ms) == (
        1000,
        250,
        200,
    )
    assert (settings.batch_linger_ms, settings.drain_s) == (0, 2.5)
    assert (settings.metrics_port, settings.consumer_name) == (9200, "worker-a")
    assert (settings.stream_maxlen, settings.log_level) == (5000, "DEBUG")
    assert (settings.app_version, settings.git_revision) == ("1.2.3", "abc1234")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("REDIS_URL", "http://redis:6379"),
        ("WORKER_BATCH_SIZE", "0"),
        ("WORKER_BATCH_SIZE", "many"),
        ("WORKER_BATCH_WAIT_MS", "0"),
        ("WORKER_BATCH_LINGER_MS", "-1"),
        ("WORKER_BATCH_LINGER_MS", "1000"),
        ("WORKER_RECLAIM_IDLE_MS", "-5"),
        # Past compose's 30 s stop_grace_period the drain would end in a SIGKILL.
        ("WORKER_DRAIN_S", "30"),
        ("WORKER_METRICS_PORT", "70000"),
        ("CLICK_STREAM_MAXLEN", "0"),
        ("LOG_LEVEL", "chatty"),
        ("WORKER_CONSUMER_NAME", "two words"),
    ],
)
def test_bad_value_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(WorkerSettings, {**REQUIRED, variable: value})
    message = str(error.value)
    assert message.startswith(f"{variable} is invalid")
    assert "\n" not in message


def test_missing_redis_url_is_named() -> None:
    with pytest.raises(ConfigError, match=r"^REDIS_URL is required"):
        load_settings(WorkerSettings, {})
