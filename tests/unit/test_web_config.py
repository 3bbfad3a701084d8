from __future__ import annotations

import pytest

from linkpulse.settings import ConfigError, load_settings
from web.config import ServerSettings, WebSettings

VALID = {
    "REDIS_URL": "redis://:secret@redis:6379/0",
    "PUBLIC_BASE_URL": "http://localhost:8080/",
    "VISITOR_HASH_SALT": "0123456789abcdef",
}


def test_valid_environment_with_defaults() -> None:
    settings = load_settings(WebSettings, VALID)
    assert settings.public_base_url == "http://localhost:8080"
    assert settings.short_url("abc") == "http://localhost:8080/abc"
    assert settings.click_stream_maxlen == 1_000_000
    assert settings.log_level == "INFO"
    assert (settings.app_version, settings.git_revision) == ("dev", "unknown")
    assert "0123456789abcdef" not in repr(settings)
    # A scripted client may still create a few thousand links an hour.
    assert settings.create_quota_per_hour == 5000
    assert settings.create_memory_limit_percent == 85
    assert settings.link_max_lifetime_days == 0


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"REDIS_URL": ""}, "REDIS_URL"),
        ({"REDIS_URL": "http://redis"}, "REDIS_URL"),
        ({"PUBLIC_BASE_URL": "localhost:8080"}, "PUBLIC_BASE_URL"),
        ({"VISITOR_HASH_SALT": "short"}, "VISITOR_HASH_SALT"),
        ({"CLICK_STREAM_MAXLEN": "lots"}, "CLICK_STREAM_MAXLEN"),
        ({"LOG_LEVEL": "chatty"}, "LOG_LEVEL"),
        ({"FORWARDED_ALLOW_IPS": "nginx"}, "FORWARDED_ALLOW_IPS"),
        ({"CREATE_QUOTA_PER_HOUR": "-1"}, "CREATE_QUOTA_PER_HOUR"),
        ({"CREATE_MEMORY_LIMIT_PERCENT": "101"}, "CREATE_MEMORY_LIMIT_PERCENT"),
        ({"LINK_MAX_LIFETIME_DAYS": "forever"}, "LINK_MAX_LIFETIME_DAYS"),
    ],
)
def test_bad_setting_is_one_line_naming_the_variable(change: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(WebSettings, {**VALID, **change})
    message = str(caught.value)
    assert message.startswith(variable)
    assert "\n" not in message


def test_server_defaults_and_errors() -> None:
    server = load_settings(ServerSettings, {"PROMETHEUS_MULTIPROC_DIR": "/tmp/m"})
    assert (server.worker_class, server.threads) == ("gthread", 4)
    assert server.workers >= 3
    with pytest.raises(ConfigError, match=r"^WEB_CONCURRENCY"):
        load_settings(
            ServerSettings, {"PROMETHEUS_MULTIPROC_DIR": "/tmp/m", "WEB_CONCURRENCY": "0"}
        )
