"""Settings read from NAME_FILE (Swarm secrets): the value, and one line naming a bad setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkpulse.settings import ConfigError, load_settings
from worker.settings import WorkerSettings


def test_a_setting_is_read_from_the_file_its_file_variable_names(tmp_path: Path) -> None:
    secret = tmp_path / "redis_url"
    secret.write_text("redis://:s3cret@redis:6379/0\n")
    settings = load_settings(WorkerSettings, {"REDIS_URL_FILE": str(secret)})
    assert settings.redis_url == "redis://:s3cret@redis:6379/0"


def test_the_value_in_the_file_is_validated_like_the_variable(tmp_path: Path) -> None:
    secret = tmp_path / "redis_url"
    secret.write_text("http://redis:6379/0")
    with pytest.raises(ConfigError, match=r"^REDIS_URL is invalid: must be a redis://"):
        load_settings(WorkerSettings, {"REDIS_URL_FILE": str(secret)})


def test_a_missing_file_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    missing = tmp_path / "absent"
    with pytest.raises(ConfigError) as raised:
        load_settings(WorkerSettings, {"REDIS_URL_FILE": str(missing)})
    assert str(raised.value) == (
        f"REDIS_URL_FILE is invalid: cannot read {missing}: No such file or directory"
    )


def test_the_variable_and_its_file_together_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "redis_url"
    secret.write_text("redis://redis:6379/0")
    environ = {"REDIS_URL": "redis://other:6379/0", "REDIS_URL_FILE": str(secret)}
    with pytest.raises(ConfigError, match="REDIS_URL and REDIS_URL_FILE are both set"):
        load_settings(WorkerSettings, environ)
