"""The operator verbs (logs, exec, ps, tunnel, status's alert line): the commands they run on
the host, read as the strings the host's shell receives, and bad input refused before anything
connects."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from deploy.alert_route import describe, receivers
from deploy.cli import cli
from deploy.config import parse_config
from deploy.containers import SERVICES, running_container_argv
from deploy.errors import DeployError
from deploy.exec_in import exec_argv, pick_container
from deploy.logs import LineFilter, LogOptions, logs_argv
from deploy.ps import ps_argv
from deploy.ssh import command_line
from deploy.tunnel import plan_forwards
from rehearsal.runbook_verbs import vm_commands
from tests.stack.test_runbooks import RUNBOOKS, _first_stage, read_only_commands

REPO = Path(__file__).resolve().parents[2]
# Nothing may read it: a verb that got as far as the configuration would fail on this instead.
MISSING_CONFIG = "/nonexistent/deploy.toml"


def _line(argv: list[str]) -> str:
    return command_line(argv)


def test_the_known_services_are_those_the_compose_file_runs_outside_profiles() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    running = sorted(n for n, s in compose["services"].items() if not s.get("profiles"))
    assert list(SERVICES) == running


def test_vm_commands_address_the_compose_project_by_name_without_its_files() -> None:
    assert _line(ps_argv("vm", "linkpulse", [])) == (
        "docker compose -p linkpulse ps --all --format "
        "'table {{.Service}}\t{{.Name}}\t{{.Image}}\t{{.Status}}'"
    )
    assert _line(ps_argv("vm", "linkpulse", ["redis", "worker"])).endswith("}}' redis worker")
    assert _line(logs_argv("vm", "linkpulse", "web", LogOptions(since="30m"))) == (
        "docker compose -p linkpulse logs --no-color --timestamps --since 30m --tail all web"
    )
    follow = LogOptions(since="1h", tail="100", follow=True)
    assert _line(logs_argv("vm", "linkpulse", "worker", follow)) == (
        "docker compose -p linkpulse logs --no-color --timestamps --since 1h --tail 100 "
        "--follow worker"
    )


def test_swarm_commands_name_the_stack_s_services() -> None:
    assert _line(ps_argv("swarm", "lp", [])) == (
        "docker stack ps --filter desired-state=running --format "
        "'table {{.Name}}\t{{.Image}}\t{{.Node}}\t{{.CurrentState}}\t{{.Error}}' lp"
    )
    assert _line(ps_argv("swarm", "lp", ["web"])).startswith("docker service ps --filter")
    assert _line(ps_argv("swarm", "lp", ["web"])).endswith(" lp_web")
    # Bounded unless followed: `docker service logs` can hang on a task that is gone.
    assert _line(logs_argv("swarm", "lp", "web", LogOptions())) == (
        "timeout 60 docker service logs --no-trunc --timestamps --since 10m --tail all lp_web"
    )
    assert _line(logs_argv("swarm", "lp", "web", LogOptions(follow=True))) == (
        "docker service logs --no-trunc --timestamps --since 10m --tail all --follow lp_web"
    )


def test_containers_are_found_by_their_labels_on_either_target() -> None:
    assert _line(running_container_argv("vm", "lp", "redis")) == (
        "docker ps --quiet --filter status=running "
        "--filter label=com.docker.compose.project=linkpulse "
        "--filter label=com.docker.compose.service=redis"
    )
    assert _line(running_container_argv("swarm", "lp", "redis")) == (
        "docker ps --quiet --filter status=running "
        "--filter label=com.docker.swarm.service.name=lp_redis"
    )


def test_redis_cli_takes_the_password_inside_the_container() -> None:
    line = _line(exec_argv("0123abcd", ["redis-cli", "XLEN", "lp:clicks"]))
    assert line == (
        "docker exec 0123abcd sh -c 'export REDISCLI_AUTH=\"$(cat /data/redis-password "
        '2>/dev/null || printf %s "${REDIS_PASSWORD:-$(cat '
        '/run/secrets/linkpulse_redis_password 2>/dev/null)}")"; exec "$@"\' '
        "sh redis-cli XLEN lp:clicks"
    )
    # Any other command runs as given, each word quoted once for the host's shell.
    assert _line(exec_argv("0123abcd", ["nginx", "-t"])) == "docker exec 0123abcd nginx -t"
    assert _line(exec_argv("c", ["sh", "-c", "echo $HOME"])) == "docker exec c sh -c 'echo $HOME'"


def test_no_running_container_is_one_line_that_says_where_to_look() -> None:
    assert pick_container("abc\ndef\n", "web", "deploy@vm:22", "vm") == "abc"
    with pytest.raises(DeployError, match="no running redis container on deploy@vm:22: Swarm"):
        pick_container("", "redis", "deploy@vm:22", "swarm")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["logs", "nosuch"], "unknown service 'nosuch': the services are alert-sink, "),
        (["ps", "web", "redis-cli"], "unknown service 'redis-cli'"),
        (["exec", "reddis", "--", "redis-cli", "PING"], "unknown service 'reddis'"),
        (["exec", "redis"], "exec needs a command after --"),
        (["logs", "web", "--grep", "("], "--grep '(' is not a regular expression"),
    ],
)
def test_bad_input_is_refused_before_the_configuration_is_read(
    args: list[str], message: str
) -> None:
    result = CliRunner().invoke(cli, ["--config", MISSING_CONFIG, *args])
    assert isinstance(result.exception, DeployError), result.output
    assert message in str(result.exception)


def test_the_exec_command_after_the_separator_keeps_its_own_options() -> None:
    result = CliRunner().invoke(
        cli, ["--config", MISSING_CONFIG, "exec", "redis", "--", "redis-cli", "--latency"]
    )
    assert "cannot read the configuration" in str(result.exception)


def test_grep_passes_whole_matching_lines_across_chunk_boundaries() -> None:
    out: list[str] = []
    sink = LineFilter(r'"level": "error"', out.append)
    for chunk in ['web-1  | {"level": "info"}\nweb-1  | {"lev', 'el": "error", "x": 1}\r\n', "web"]:
        sink.feed(chunk)
    sink.feed('-2  | {"level": "error"}')  # the last line has no newline yet
    assert out == ['web-1  | {"level": "error", "x": 1}\n']
    sink.finish()
    assert out[-1] == 'web-2  | {"level": "error"}\n'


ALERTMANAGER_PAGING = """
route:
  receiver: team-warnings
receivers:
  - name: team-pager
    pagerduty_configs:
      - routing_key_file: /run/secrets/pagerduty_key
  - name: team-warnings
    slack_configs:
      - api_url: https://hooks.slack.example/services/T000/B000/secret-part
        channel: '#ops'
    email_configs:
      - to: oncall@example.org
  - name: blackhole
  - name: recorded
    webhook_configs:
      - url: http://alert-sink:9095/warning
inhibit_rules: []
"""


def test_status_says_the_stack_s_own_configuration_pages_nobody() -> None:
    text = (REPO / "monitoring" / "alertmanager" / "alertmanager.yml").read_text()
    assert set(receivers(text)) == {"team-pager", "team-warnings"}
    assert describe(receivers(text)) == "alerts go to the in-memory alert sink: nobody is paged"


def test_status_names_real_receivers_without_their_credentials() -> None:
    said = describe(receivers(ALERTMANAGER_PAGING))
    assert said == (
        "alerts go to: team-pager: pagerduty (key in the file /run/secrets/pagerduty_key); "
        "team-warnings: slack to hooks.slack.example, "
        "email to oncall@example.org; blackhole: nothing (a receiver without integrations); "
        "recorded: the in-memory alert sink (pages nobody)"
    )
    assert "secret-part" not in said


CONFIG = """
[host]
address = "203.0.113.7"
port = 22
user = "deploy"
identity_file = "id"
known_hosts = "known_hosts"
[registry]
image_prefix = "registry.example/team/linkpulse"
[app]
public_url = "http://203.0.113.7:8080"
[gate]
prometheus_port = 19090
"""


def test_tunnel_keeps_the_vm_s_port_numbers_where_they_are_free_here() -> None:
    config = parse_config(CONFIG, Path("/etc/deploy.toml"))
    forwards = plan_forwards(config, lambda port: port != 3000, lambda: 45678)
    assert [(f.name, f.local_port, f.remote_port) for f in forwards] == [
        ("Prometheus", 19090, 19090),
        ("Alertmanager", 9093, 9093),
        ("Grafana", 45678, 3000),
    ]
    assert forwards[2].url == "http://127.0.0.1:45678/"


def test_tunnel_on_swarm_points_to_the_documented_way_before_connecting() -> None:
    result = CliRunner().invoke(cli, ["--config", MISSING_CONFIG, "--target", "swarm", "tunnel"])
    assert "Reaching the monitoring UIs" in str(result.exception)


def _service_pairs(verb: str, words: list[str]) -> set[tuple[str, str]]:
    named = [word for word in words if word in SERVICES]
    return {(verb, name) for name in (named[:1] if verb == "exec" else named)}


@pytest.mark.parametrize("runbook", sorted(RUNBOOKS.glob("*.md")), ids=lambda p: p.stem)
def test_each_local_check_of_a_runbook_has_its_vm_twin(runbook: Path) -> None:
    local = set()
    for name, line in read_only_commands():
        if name == runbook.stem:
            words = shlex.split(_first_stage(line))
            local |= _service_pairs(words[2], words[3:])
    on_vm = set()
    for name, argv in vm_commands(RUNBOOKS):
        if name == runbook.stem:
            on_vm |= _service_pairs(argv[0], argv[1:])
    assert local <= on_vm, f"{runbook.name}: no VM variant for {sorted(local - on_vm)}"


@pytest.mark.parametrize("argv", [argv for _, argv in vm_commands(RUNBOOKS)], ids=" ".join)
def test_each_vm_command_of_the_runbooks_is_one_the_tool_takes(argv: list[str]) -> None:
    """Parsed and checked as far as the configuration: verb, options, service and command (the
    rehearsal runs them against its VM)."""
    result = CliRunner().invoke(cli, ["--config", MISSING_CONFIG, *argv])
    assert "cannot read the configuration" in str(result.exception), result.output
