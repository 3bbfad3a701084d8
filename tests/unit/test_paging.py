"""Paging a person: the receiver settings Alertmanager's start checks (the real
monitoring/alertmanager/receiver.sh under sh), how `status` redacts the target, and how
`test-alert` reads delivery from Alertmanager's counters."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from deploy.alert_route import describe, receivers
from deploy.errors import DeployError
from deploy.paging import (
    Counts,
    counts,
    failure_reason,
    outcome,
    pager_integration,
    remote_test_alert,
)
from deploy.ssh import Result
from tests.support.alert_receiver import EMAIL, ROUTING_KEY, TEMPLATE, render
from tests.support.fake_host import FakeHost


def test_no_receiver_setting_keeps_the_shipped_alert_sink(tmp_path: Path) -> None:
    result = render(tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "active.yml").read_text() == TEMPLATE.read_text()


@pytest.mark.parametrize(
    ("settings", "line"),
    [
        (
            {"ALERT_RECEIVER": "pager"},
            "ALERT_RECEIVER=pager is not one of sink, webhook, slack, pagerduty, email",
        ),
        (
            {"ALERT_RECEIVER": "slack"},
            "ALERT_RECEIVER_KEY is empty: the slack receiver needs the URL it posts to",
        ),
        (
            {"ALERT_RECEIVER": "webhook", "ALERT_RECEIVER_KEY": "hooks.example.org/secret-part"},
            "ALERT_RECEIVER_KEY is not an http(s) URL: the webhook receiver posts to it",
        ),
        (
            {"ALERT_RECEIVER": "pagerduty", "ALERT_RECEIVER_KEY": "secret-part"},
            "ALERT_RECEIVER_KEY is not a PagerDuty routing key (32 letters and digits)",
        ),
        (
            {"ALERT_RECEIVER": "email", **EMAIL, "ALERT_EMAIL_TO": "oncall"},
            "ALERT_EMAIL_TO='oncall' is not an email address",
        ),
        (
            {"ALERT_RECEIVER": "email", **EMAIL, "ALERT_SMTP_SMARTHOST": "smtp.example.org"},
            "ALERT_SMTP_SMARTHOST='smtp.example.org' is not host:port",
        ),
        (
            {"ALERT_RECEIVER": "email", **EMAIL, "ALERT_RECEIVER_KEY": "secret-part"},
            "ALERT_SMTP_USERNAME is empty or not one word: an SMTP password needs it",
        ),
        (
            {"ALERT_RECEIVER": "slack", "ALERT_RECEIVER_KEY_FILE": "/nonexistent/key"},
            "ALERT_RECEIVER_KEY_FILE=/nonexistent/key is not a readable file",
        ),
    ],
)
def test_a_bad_setting_stops_the_start_with_one_line_naming_it(
    tmp_path: Path, settings: dict[str, str], line: str
) -> None:
    result = render(tmp_path, **settings)
    assert result.returncode == 2
    assert result.stderr == f"alertmanager: {line}\n"
    assert "secret-part" not in result.stderr
    assert not (tmp_path / "active.yml").exists()


def test_the_key_reaches_alertmanager_as_a_file_never_in_the_configuration(
    tmp_path: Path,
) -> None:
    url = "https://hooks.example.org/services/secret-part"
    result = render(tmp_path, ALERT_RECEIVER="slack", ALERT_RECEIVER_KEY=url)
    assert result.returncode == 0, result.stderr
    config = (tmp_path / "active.yml").read_text()
    assert "secret-part" not in config
    assert f"api_url_file: {tmp_path}/key" in config
    assert (tmp_path / "key").read_text() == url
    assert (tmp_path / "key").stat().st_mode & 0o077 == 0
    # Everything but the receivers is the shipped file's: routes, inhibitions, the test route.
    assert config.split("receivers:")[0] == TEMPLATE.read_text().split("receivers:")[0]
    assert "inhibit_rules:" in config


def test_status_shows_the_rendered_receiver_redacted(tmp_path: Path) -> None:
    url = "https://hooks.example.org/services/secret-part"
    assert render(tmp_path, ALERT_RECEIVER="webhook", ALERT_RECEIVER_KEY=url).returncode == 0
    config = (tmp_path / "active.yml").read_text()
    said = describe(receivers(config, lambda path: Path(path).read_text()))
    assert said == (
        "alerts go to: team-pager: webhook to hooks.example.org; "
        "team-warnings: webhook to hooks.example.org"
    )


def test_status_shows_only_a_routing_key_s_last_four_characters(tmp_path: Path) -> None:
    assert (
        render(tmp_path, ALERT_RECEIVER="pagerduty", ALERT_RECEIVER_KEY=ROUTING_KEY).returncode == 0
    )
    config = (tmp_path / "active.yml").read_text()
    found = receivers(config, lambda path: Path(path).read_text())
    assert found["team-pager"] == ["pagerduty (routing key ...CDEF)"]
    assert pager_integration(config, lambda path: Path(path).read_text()) == (
        "pagerduty",
        "pagerduty (routing key ...CDEF)",
    )


def test_status_names_the_key_file_when_it_cannot_read_it(tmp_path: Path) -> None:
    def unreadable(path: str) -> str:
        raise DeployError(path)

    assert (
        render(tmp_path, ALERT_RECEIVER="pagerduty", ALERT_RECEIVER_KEY=ROUTING_KEY).returncode == 0
    )
    found = receivers((tmp_path / "active.yml").read_text(), unreadable)
    assert found["team-pager"] == [f"pagerduty (key in the file {tmp_path}/key)"]


def test_the_shipped_default_test_alert_goes_to_the_sink() -> None:
    assert pager_integration(TEMPLATE.read_text(), lambda path: "") == (
        "webhook",
        "the in-memory alert sink (nobody is paged)",
    )


METRICS = """\
# HELP alertmanager_notification_requests_total The total number of attempted notification requests.
alertmanager_notification_requests_total{integration="webhook"} 7
alertmanager_notification_requests_total{integration="slack"} 2
alertmanager_notification_requests_failed_total{integration="webhook"} 3
alertmanager_notifications_failed_total{integration="webhook",reason="other"} 1
alertmanager_notifications_failed_total{integration="webhook",reason="clientError"} 1
alertmanager_notifications_total{integration="webhook"} 5
"""


def test_counts_sum_one_integration_over_its_reasons() -> None:
    assert counts(METRICS, "webhook") == Counts(requests=7, failed_requests=3, failed=2)
    assert counts(METRICS, "slack") == Counts(requests=2)
    assert counts(METRICS, "email") == Counts()


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (Counts(requests=7, failed_requests=3, failed=2), None),  # nothing happened yet
        (Counts(requests=8, failed_requests=4, failed=2), None),  # an attempt failed: retrying
        (Counts(requests=9, failed_requests=4, failed=2), "delivered"),  # a retry got through
        (Counts(requests=9, failed_requests=5, failed=3), "failed"),  # Alertmanager gave up
    ],
)
def test_outcome_waits_for_a_verdict(after: Counts, expected: str | None) -> None:
    assert outcome(Counts(requests=7, failed_requests=3, failed=2), after) == expected


def test_failure_reason_is_alertmanager_s_last_logged_error() -> None:
    log = (
        'time=2026-12-03T16:45:50Z level=WARN msg="Notify attempt failed, will retry later" '
        'attempts=1 err="Post \\"<redacted>\\": first"\n'
        'time=2026-12-03T16:46:00Z level=ERROR msg="Notify for alerts failed" num_alerts=1 '
        'err="team-pager/webhook[0]: notify retry canceled after 4 attempts: '
        'Post \\"<redacted>\\": dial tcp 172.18.0.5:9: connect: connection refused"\n'
        "time=2026-12-03T16:46:01Z level=INFO msg=unrelated\n"
    )
    assert failure_reason(log) == (
        'team-pager/webhook[0]: notify retry canceled after 4 attempts: Post "<redacted>": '
        "dial tcp 172.18.0.5:9: connect: connection refused"
    )
    assert failure_reason("") == "Alertmanager logged no error (see its log)"


def test_a_configuration_without_the_pager_s_receiver_cannot_be_tested() -> None:
    config = "route:\n  receiver: ops\nreceivers:\n  - name: ops\n"
    with pytest.raises(DeployError, match="no team-pager integration to test"):
        pager_integration(config, lambda path: "")


class AlertmanagerHost(FakeHost):
    """A VM whose Alertmanager runs the shipped configuration and, after the alert is posted,
    counts one accepted webhook request more."""

    posted = False

    def run(self, argv: Sequence[str], *, check: bool = True, **kwargs: object) -> Result:
        self.argvs.append(list(argv))
        if argv[:2] == ["docker", "ps"]:
            return Result(0, "c0ffee\n", "")
        inside = list(argv[3:]) if argv[:3] == ["docker", "exec", "c0ffee"] else []
        if inside[:1] == ["sh"]:
            return Result(0, TEMPLATE.read_text(), "")
        if "--post-data" in inside:
            self.posted = True
        if inside[-1:] == ["http://127.0.0.1:9093/metrics"]:
            accepted = 4 if self.posted else 3
            line = f'alertmanager_notification_requests_total{{integration="webhook"}} {accepted}'
            return Result(0, line + "\n", "")
        return Result(0, "", "")


def test_test_alert_on_a_vm_runs_everything_inside_the_alertmanager_container() -> None:
    host = AlertmanagerHost()
    said = remote_test_alert(host, "vm", "linkpulse")  # type: ignore[arg-type]
    sink = r"the in-memory alert sink \(nobody is paged\)"
    assert re.fullmatch(rf"test alert \w{{12}}: delivered via {sink}", said), said
    posts = [argv for argv in host.argvs if "--post-data" in argv]
    assert len(posts) == 2  # the alert, then its resolution
    firing, resolved = (json.loads(argv[argv.index("--post-data") + 1])[0] for argv in posts)
    assert firing["labels"]["alertname"] == "LinkpulseTestAlert"
    assert firing["labels"]["test_id"] == resolved["labels"]["test_id"]
    assert resolved["endsAt"] == resolved["startsAt"]
    assert all(argv[:3] == ["docker", "exec", "c0ffee"] for argv in host.argvs[1:])
