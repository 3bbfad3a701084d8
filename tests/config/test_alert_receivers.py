"""Every receiver kind an operator can name renders into a configuration amtool accepts, and the
test alert's route reaches the pager's receiver."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.config.test_alertmanager import amtool
from tests.config.tools import ALERTMANAGER_CONFIG
from tests.support.alert_receiver import KINDS, render


def _amtool_knows_webhook_url_file() -> bool:
    """Webhook `url_file` came after this host's Debian amtool (0.25); the pinned image's 0.28
    reads it, and the stack tier starts Alertmanager with it."""
    found = re.search(r"version (\d+)\.(\d+)", amtool("--version") or "")
    return found is not None and (int(found[1]), int(found[2])) >= (0, 26)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_receiver_kind_renders_a_valid_configuration(kind: str, tmp_path: Path) -> None:
    if kind == "webhook" and not _amtool_knows_webhook_url_file():
        pytest.skip("this host's amtool predates webhook url_file (the stack tier checks it)")
    result = render(tmp_path, ALERT_RECEIVER=kind, **KINDS[kind])
    assert result.returncode == 0, result.stderr
    assert "SUCCESS" in amtool("check-config", str(tmp_path / "active.yml"))


def test_the_test_alert_takes_the_pager_s_route() -> None:
    routed = amtool(
        "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}",
        "alertname=LinkpulseTestAlert", "severity=critical", "test_id=abc",
    )  # fmt: skip
    assert routed.strip() == "team-pager"
