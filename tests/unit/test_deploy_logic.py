"""The deploy tool's pure logic: configuration, lock, history, release plan, SLO gate, inspect."""

from __future__ import annotations

import json
import math
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deploy.config import parse_config
from deploy.errors import DeployError, PrometheusUnavailableError
from deploy.gate import Figures, Limits, Query, judge, queries, run_gate
from deploy.history import OK, ROLLED_BACK, Record, good_releases, parse_history, rollback_target
from deploy.layout import Layout
from deploy.lock import LockInfo
from deploy.plan import mirror_ref, render_override, render_upstream, service_images
from deploy.provision import secrets_script
from deploy.release import base_images
from deploy.rollout import same_base
from deploy.source import check_sha
from deploy.vm import parse_inspect
from slo import load_spec

REPO = Path(__file__).resolve().parents[2]
SHA = "a" * 40
GOOD_CONFIG = """
[host]
address = "203.0.113.7"
port = 22
user = "deploy"
identity_file = "keys/id_ed25519"
known_hosts = "keys/known_hosts"

[registry]
image_prefix = "registry.example/team/linkpulse"

[app]
public_url = "https://links.example"
"""


def test_config_resolves_paths_and_takes_gate_defaults_from_the_slo_spec() -> None:
    config = parse_config(GOOD_CONFIG, Path("/etc/linkpulse/deploy.toml"))
    assert config.host.identity_file == Path("/etc/linkpulse/keys/id_ed25519")
    assert config.registry.address == "registry.example"
    gate = load_spec().deploy_gate
    assert (config.gate.window, config.gate.min_requests, config.gate.max_wait) == (
        gate.window,
        gate.min_requests,
        gate.max_wait,
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("[app]", "[apps]"), "missing table [app]"),
        (lambda t: t.replace("port = 22", "port = 22\ncolour = 1"), "[host]"),
        (lambda t: t.replace("team/linkpulse", "team/Link Pulse"), "image_prefix"),
        (lambda t: t + '\n[gate]\nwindow = "5 minutes"\n', "[gate]"),
        (lambda t: t + '\n[gate]\nwindow = "20m"\nmax_wait = "10m"\n', "window must not be longer"),
        (lambda t: t.replace("[app]", '[app]\nremote_dir = "srv"'), "absolute"),
        (lambda t: t + "\n[extra]\n", "unknown table"),
        (lambda t: t + "\n[ssh]\nkeepalive_s = 60\n", "keepalive_s must be shorter"),
        (lambda t: t + "\n[ssh]\ncommand_timeout_s = 0\n", "[ssh] every timeout"),
        (lambda t: t.replace('"deploy"', "'deploy"), "deploy.toml"),
    ],
)
def test_bad_config_is_one_clear_error(edit, message) -> None:
    with pytest.raises(DeployError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_config(edit(GOOD_CONFIG), Path("/x/deploy.toml"))


@pytest.mark.parametrize("sha", ["main", "A" * 40, "a" * 39, "a" * 41, ""])
def test_only_full_lowercase_shas_are_accepted(sha: str) -> None:
    with pytest.raises(DeployError, match="not a full git sha"):
        check_sha(sha)


def test_lock_info_round_trips_and_expires() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    info = LockInfo.new("ci@runner", "deploy abc", now, timedelta(minutes=30))
    parsed = LockInfo.parse(info.to_json())
    assert parsed == info
    assert not parsed.expired(now + timedelta(minutes=29))
    assert parsed.expired(now + timedelta(minutes=31))
    assert LockInfo.parse("garbage").owner.startswith("unknown")


def _record(sha: str, outcome: str, action: str = "deploy") -> Record:
    return Record(sha, action, "me", "2026-01-01T00:00:00+00:00", 1.0, outcome)


def test_history_rollback_target_is_the_last_good_release_other_than_the_current() -> None:
    records = [
        _record("a", OK),
        _record("b", OK),
        _record("c", ROLLED_BACK),
        _record("d", ROLLED_BACK),
    ]
    assert good_releases(records) == ["b", "a"]
    assert rollback_target(records, current="b") == "a"
    # After rolling back to a, the next rollback goes to b again (the last good other than a).
    records.append(_record("a", OK, action="rollback"))
    assert rollback_target(records, current="a") == "b"
    assert rollback_target([_record("a", OK)], current="a") is None


def test_history_skips_a_torn_line() -> None:
    text = _record("a", OK).to_json() + "\n" + '{"sha": "b", "act' + "\n"
    assert [r.sha for r in parse_history(text)] == ["a"]


def test_mirror_names_keep_the_upstream_tag() -> None:
    assert mirror_ref("r.example/t", "redis:8.0.2") == "r.example/t/redis:8.0.2"
    pinned = "redis:8.0.2@sha256:" + "b4" * 32
    assert mirror_ref("r.example/t", pinned) == "r.example/t/redis:8.0.2"
    assert (
        mirror_ref("r.example/t", "prom/node-exporter:v1.9.0") == "r.example/t/node-exporter:v1.9.0"
    )
    with pytest.raises(DeployError, match="no pinned tag"):
        mirror_ref("r.example/t", "redis")


def _compose_config() -> dict[str, object]:
    """The real docker-compose.yml, rendered the way compose would (prefix and tag substituted)."""
    prefix = "r.example/t"
    return {
        "services": {
            "nginx": {"image": f"{prefix}/nginx:{SHA}", "build": {}},
            "web": {"image": f"{prefix}/app:{SHA}", "build": {}},
            "worker": {"image": f"{prefix}/app:{SHA}", "build": {}},
            "redis": {"image": "redis:8.0.2"},
            "grafana": {"image": f"{prefix}/grafana:{SHA}", "build": {}},
        }
    }


def test_release_plan_and_vm_override() -> None:
    images = service_images(_compose_config(), "r.example/t")
    by_service = {i.service: i for i in images}
    assert by_service["redis"].image == "r.example/t/redis:8.0.2"
    assert by_service["redis"].source == "redis:8.0.2"
    assert by_service["web"].built
    override = json.loads(render_override(images, {"grafana"}, Layout("/srv/lp")))
    services = override["services"]
    assert services["grafana"] == {"profiles": ["not-in-this-release"]}
    assert services["redis"]["image"] == "r.example/t/redis:8.0.2"
    assert all(s.get("pull_policy") == "never" for n, s in services.items() if n != "grafana")
    assert "/srv/lp/nginx/upstream.d:/etc/nginx/upstream.d:ro" in services["nginx"]["volumes"]


def test_base_images_reads_build_args_then_arg_defaults_and_skips_stages() -> None:
    app = (REPO / "Dockerfile").read_text()
    assert base_images(app, {"PYTHON_IMAGE": "python:3.13-slim-trixie"}) == [
        "python:3.13-slim-trixie"
    ]
    assert base_images(app, {}) == []  # no value: nothing to check
    dockerfile = (
        "ARG BASE=debian:trixie\nFROM ${BASE} AS build\nFROM nginx:1.26.3 AS run\nFROM build\n"
    )
    assert base_images(dockerfile, {}) == ["debian:trixie", "nginx:1.26.3"]
    assert base_images(dockerfile, {"BASE": "debian:bookworm"})[0] == "debian:bookworm"


def test_release_plan_needs_the_required_services() -> None:
    config = _compose_config()
    del config["services"]["redis"]  # type: ignore[attr-defined]
    with pytest.raises(DeployError, match="redis"):
        service_images(config, "r.example/t")


def test_rendered_upstream_keeps_the_default_server_parameters() -> None:
    default = (REPO / "nginx" / "upstream.d" / "web.conf").read_text()
    default_line = next(line for line in default.splitlines() if line.startswith("server "))
    rendered = render_upstream(["linkpulse-web-3"])
    assert rendered.strip() == default_line.replace(
        "server web:8000", "server linkpulse-web-3:8000"
    )
    with pytest.raises(DeployError):
        render_upstream([])


def test_nginx_is_replaced_only_when_layers_below_conf_d_change() -> None:
    assert same_base(["base", "main", "conf1"], ["base", "main", "conf2"])
    assert not same_base(["base", "main1", "conf"], ["base", "main2", "conf"])
    assert not same_base(None, ["base"])


LIMITS = Limits(
    error_ratio=0.001, quantile=0.99, latency_s=0.1, min_requests=200, window_s=120, max_wait_s=600
)


@pytest.mark.parametrize(
    ("figures", "elapsed", "decided", "passed", "reason"),
    [
        (Figures(1000, 0, 0.02), 130, True, True, "passed"),
        (Figures(1000, 0, 0.02), 60, False, False, "waiting"),  # the window is not over yet
        (Figures(100, 50, 0.02), 130, False, False, "waiting"),  # too few requests: decides nothing
        (Figures(1000, 5, 0.02), 30, True, False, "error ratio"),  # enough requests: fails at once
        (Figures(1000, 0, 0.3), 30, False, False, "waiting"),  # latency: only a full window
        (Figures(1000, 0, 0.3), 130, True, False, "p99 300 ms > 100 ms"),
        (Figures(10, 0, math.nan), 601, True, False, "too few to judge"),
    ],
)
def test_gate_judgement(figures, elapsed, decided, passed, reason) -> None:
    verdict = judge(figures, LIMITS, elapsed)
    assert (verdict.decided, verdict.passed) == (decided, passed)
    assert reason in verdict.reason


def _prometheus(limits: Limits, requests_per_round: list[float | None]) -> Query:
    """Answers the gate's three queries round by round: that round's request count, no errors,
    p99 20 ms. None: Prometheus gives no reading that round."""
    q = queries(SHA, "/<code>", limits.window_s, limits.quantile)
    rounds = iter(requests_per_round)
    now: float | None = None

    def query(expr: str) -> float:
        nonlocal now
        if expr == q["requests"]:
            now = next(rounds)
        if now is None:
            raise PrometheusUnavailableError("promtool in the Prometheus task exited 137")
        return {q["requests"]: now, q["errors"]: 0.0, q["latency"]: 0.02}[expr]

    return query


def test_gate_waits_through_a_prometheus_restart() -> None:
    limits = Limits(0.001, 0.99, 0.1, min_requests=200, window_s=0, max_wait_s=600)
    lines: list[str] = []
    verdict, figures, readings = run_gate(
        _prometheus(limits, [None, None, 1000.0]), SHA, "/<code>", limits, lines.append, poll_s=0
    )
    assert verdict.passed
    assert figures.requests == 1000
    assert [r.get("unavailable", "") != "" for r in readings] == [True, True, False]
    assert "no reading: promtool in the Prometheus task exited 137" in lines[0]


def test_gate_without_any_reading_is_undecided_after_max_wait() -> None:
    limits = Limits(0.001, 0.99, 0.1, min_requests=200, window_s=0, max_wait_s=0)
    verdict, _, readings = run_gate(
        _prometheus(limits, [None]), SHA, "/<code>", limits, lambda _: None, poll_s=0
    )
    assert (verdict.decided, verdict.passed) == (True, False)
    assert verdict.reason.startswith("SLO check undecided: no reading for 0s: promtool")
    assert len(readings) == 1


def test_gate_limits_come_from_the_slo_spec() -> None:
    config = parse_config(GOOD_CONFIG, Path("/x/deploy.toml"))
    spec = load_spec()
    limits = Limits.from_spec(spec, config.gate)
    assert limits.error_ratio == spec.error_ratio_limit("/<code>")
    assert (limits.quantile, limits.latency_s) == spec.latency_limit("/<code>")


def test_gate_queries_judge_only_the_new_revision() -> None:
    q = queries(SHA, "/<code>", 120, 0.99)
    for text in q.values():
        assert f'revision="{SHA}"' in text
        assert 'route="/<code>"' in text
        assert "[120s]" in text
    assert 'status=~"5.."' in q["errors"]
    assert q["latency"].startswith("histogram_quantile(0.99,")


def test_parse_inspect_reads_service_health_and_the_health_checks_answers() -> None:
    raw = [
        {
            "Id": "0123456789abcdef",
            "Name": "/linkpulse-web-2",
            "Image": "sha256:feed",
            "Config": {
                "Image": f"r.example:5000/t/app:{SHA}",
                "Labels": {"com.docker.compose.service": "web"},
            },
            "State": {
                "Status": "running",
                "Health": {"Status": "unhealthy", "Log": [{"ExitCode": 1, "Output": "HTTP 503\n"}]},
            },
        }
    ]
    (container,) = parse_inspect(json.dumps(raw))
    assert (container.id, container.name, container.service) == (
        "0123456789ab",
        "linkpulse-web-2",
        "web",
    )
    assert container.tag == SHA
    assert container.health == "unhealthy"
    assert container.health_log == ("exit 1: HTTP 503",)


def test_secrets_are_generated_once_and_kept(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    script = secrets_script(
        str(env),
        owner=subprocess.run(
            ["id", "-un"], capture_output=True, text=True, check=True
        ).stdout.strip(),
    )
    subprocess.run(["sh", "-c", script], check=True)
    first = env.read_text()
    values = dict(line.split("=", 1) for line in first.splitlines())
    assert set(values) == {"REDIS_PASSWORD", "VISITOR_HASH_SALT", "GRAFANA_ADMIN_PASSWORD"}
    assert all(len(v) == 48 for v in values.values())
    assert len(set(values.values())) == 3
    assert env.stat().st_mode & 0o777 == 0o600
    subprocess.run(["sh", "-c", script], check=True)
    assert env.read_text() == first


def test_the_example_configuration_parses() -> None:
    config = parse_config(
        (REPO / "deploy" / "example.toml").read_text(), REPO / "deploy" / "example.toml"
    )
    assert config.host.known_hosts == REPO / "deploy" / "known_hosts"
    assert config.gate.window == load_spec().deploy_gate.window
