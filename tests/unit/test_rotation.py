"""Secret rotation (deploy/rotation.py, deploy/rotate_vm.py): the env-file edit, the refusal of
an unknown name, the order that keeps nginx off a web container before it stops, and on a VM the
order add, move, remove with the new value never leaving the VM."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest

from deploy import rotation
from deploy.errors import DeployError
from deploy.layout import Layout
from deploy.rotate_vm import VmRotation, check_rotatable
from deploy.source import SECRETS
from deploy.ssh import Result


def test_every_rotatable_name_is_a_secret_of_the_stack() -> None:
    assert set(rotation.ROTATIONS) <= set(SECRETS)


def test_an_unknown_name_gets_one_line_naming_what_rotates(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert rotation.main(["REDIS_PASSWROD"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "'REDIS_PASSWROD' is not a secret" in err
    assert "rotatable: REDIS_PASSWORD, VISITOR_HASH_SALT" in err
    assert "GRAFANA_ADMIN_PASSWORD" in err


def test_replace_setting_changes_that_line_only() -> None:
    text = "# REDIS_PASSWORD= is the redis password\nREDIS_PASSWORD=old\nREDIS_PASSWORD_X=1\n"
    assert rotation.replace_setting(text, "REDIS_PASSWORD", "new") == (
        "# REDIS_PASSWORD= is the redis password\nREDIS_PASSWORD=new\nREDIS_PASSWORD_X=1\n"
    )


@pytest.mark.parametrize("text", ["OTHER=1\n", "REDIS_PASSWORD=a\nREDIS_PASSWORD=b\n"])
def test_replace_setting_refuses_a_missing_or_doubled_line(text: str) -> None:
    with pytest.raises(DeployError, match="lines setting REDIS_PASSWORD"):
        rotation.replace_setting(text, "REDIS_PASSWORD", "new")


def test_write_setting_keeps_the_file_private(tmp_path: Path) -> None:
    env = tmp_path / "stack.env"
    env.write_text("VISITOR_HASH_SALT=old\n")
    rotation.write_setting(env, "VISITOR_HASH_SALT", "new")
    assert env.read_text() == "VISITOR_HASH_SALT=new\n"
    assert env.stat().st_mode & 0o777 == 0o600


def test_worker_pids_are_the_workers_old_or_new() -> None:
    listing = (
        "PID                 COMMAND\n"
        "4101                nginx: master process nginx -g daemon off;\n"
        "4107                nginx: worker process\n"
        "4108                nginx: worker process is shutting down\n"
    )
    assert rotation.worker_pids(listing) == {"4107", "4108"}


class ScriptedDocker:
    """Answers the docker commands of one web replacement like an engine would, and logs them."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.web = ["old"]
        self.nginx_workers = ["7"]

    def __call__(self, *argv: str, stdin: str | None = None) -> str:
        command = " ".join(argv)
        self.calls.append(command + (f" <<{stdin.strip()}" if stdin else ""))
        if command.startswith("docker compose up"):
            self.web.append("new")
        elif command == "docker compose ps --quiet web":
            return "\n".join(self.web)
        elif command == "docker compose ps --quiet nginx":
            return "nginx1\n"
        elif command.startswith("docker inspect"):
            return "linkpulse_monitoring 198.18.82.4\nlinkpulse_edge 198.18.81.5\n"
        elif command.endswith("nginx -s reload"):
            self.nginx_workers = [str(int(pid) + 1) for pid in self.nginx_workers]
        elif command.startswith("docker top"):
            return "".join(f"{pid} nginx: worker process\n" for pid in self.nginx_workers)
        return ""


def test_web_is_replaced_with_nginx_moved_off_the_old_container_first() -> None:
    docker = ScriptedDocker()
    rotation.ComposeStack(docker, say=lambda line: None).replace("web")
    steps = [
        call
        for call in docker.calls
        if "docker top" not in call and "ps --quiet" not in call and "inspect" not in call
    ]
    assert steps == [
        "docker compose up --detach --no-deps --no-recreate --wait --wait-timeout 180"
        " --scale web=2 web",
        "docker exec -i nginx1 sh -c cat >/etc/nginx/runtime/web-upstream.conf"
        " <<set $linkpulse_web 198.18.81.5:8000;",
        "docker exec nginx1 nginx -s reload",
        "docker stop --time 30 old",
        "docker rm old",
        "docker exec nginx1 render-upstream.sh",
        "docker exec nginx1 nginx -s reload",
    ]


def first_positions(lines: list[str], markers: tuple[str, ...]) -> list[int]:
    """Where each marker first appears in LINES: in order when the steps ran in that order."""
    return [next(i for i, line in enumerate(lines) if marker in line) for marker in markers]


class ScriptedVm:
    """The parts of a Deployer a VM rotation drives, answering like a VM with one of each."""

    def __init__(self) -> None:
        self.steps: list[str] = []
        self.layout = Layout("/srv/linkpulse")
        self.stages = SimpleNamespace(note=lambda line: None)
        self.remote = SimpleNamespace(shell=self.shell)
        self.vm = SimpleNamespace(
            containers=lambda service: [SimpleNamespace(id=f"{service}1")],
            compose=lambda sha, *args: self.steps.append(f"compose {' '.join(args)}"),
        )
        self.rollout = SimpleNamespace(
            switch_web=lambda sha: self.steps.append(f"switch web {sha}"),
            switch_worker=lambda sha: self.steps.append(f"switch worker {sha}"),
        )

    def current(self) -> str:
        return "a" * 40

    @contextmanager
    def locked(self, action: str) -> Iterator[None]:
        self.steps.append(f"lock {action}")
        yield
        self.steps.append("unlock")

    def shell(self, line: str, check: bool = True) -> Result:
        self.steps.append(line)
        answer = "OK\n" if "ACL SETUSER" in line else "1\n" if line.startswith("grep -c") else ""
        return Result(0, answer, "")


def test_vm_rotation_adds_moves_then_removes_with_the_value_kept_on_the_vm() -> None:
    fake = ScriptedVm()
    VmRotation(fake, "REDIS_PASSWORD").run()  # type: ignore[arg-type]
    pending = "/srv/linkpulse/.rotating-REDIS_PASSWORD"
    acl = [step for step in fake.steps if "ACL SETUSER" in step]
    assert [("'ACL SETUSER default >'" in s, "resetpass" in s) for s in acl] == [
        (True, False),
        (False, True),
    ]
    order = first_positions(
        fake.steps,
        (
            "lock rotate-secret",
            "/dev/urandom",
            "ACL SETUSER default >",
            "redis-password.replaced",
            "sed -i",
            "switch web",
            "switch worker",
            "compose up --detach --no-deps --wait redis-exporter",
            "resetpass",
            f"rm -f {pending}",
            "unlock",
        ),
    )
    assert order == sorted(order), fake.steps
    # The new value is made, read and written on the VM only: no command carries it.
    assert all(f"cat {pending}" in s for s in fake.steps if "ACL SETUSER" in s or "sed -i" in s)


def test_vm_rotation_refuses_an_unknown_name_before_connecting() -> None:
    listed = (
        "rotatable: REDIS_PASSWORD, VISITOR_HASH_SALT, GRAFANA_ADMIN_PASSWORD, "
        "REGISTRY_PASSWORD, ALERT_RECEIVER_KEY [(]docs/operations.md[)]$"
    )
    with pytest.raises(DeployError, match=listed):
        check_rotatable("REDIS")


class ScriptedStack:
    """A compose project whose Grafana takes its CLI's reset, or refuses it."""

    def __init__(self, grafana: str = "grafana1\n", reset_fails: bool = False) -> None:
        self.calls: list[str] = []
        self.grafana = grafana
        self.reset_fails = reset_fails

    def __call__(self, *argv: str, stdin: str | None = None) -> str:
        command = " ".join(argv)
        self.calls.append(command + (f" <<{stdin}" if stdin else ""))
        if command == "docker compose ps --quiet grafana":
            return self.grafana
        if "reset-admin-password" in command and self.reset_fails:
            raise DeployError("docker compose exec -T: grafana: database is locked")
        return "one\n" if "ps --quiet" in command else ""


def test_grafana_takes_the_new_password_in_its_database_then_the_env_file(
    tmp_path: Path,
) -> None:
    env = tmp_path / "stack.env"
    env.write_text("GRAFANA_ADMIN_PASSWORD=old\nREDIS_PASSWORD=r\n")
    docker = ScriptedStack()
    rotation.rotate("GRAFANA_ADMIN_PASSWORD", rotation.ComposeStack(docker, print), env)
    new = env.read_text().split("\n")[0].removeprefix("GRAFANA_ADMIN_PASSWORD=")
    assert len(new) == 48
    assert docker.calls == [
        "docker compose exec -T grafana sh -c grafana cli admin reset-admin-password"
        f" --password-from-stdin >/dev/null <<{new}"
    ]  # no container replaced: Grafana reads its environment only for a new database
    assert env.read_text().endswith("\nREDIS_PASSWORD=r\n")


def test_a_refused_grafana_reset_leaves_the_env_file_as_it_was(tmp_path: Path) -> None:
    env = tmp_path / "stack.env"
    env.write_text("GRAFANA_ADMIN_PASSWORD=old\n")
    stack = rotation.ComposeStack(ScriptedStack(reset_fails=True), print)
    with pytest.raises(DeployError, match="database is locked"):
        rotation.rotate("GRAFANA_ADMIN_PASSWORD", stack, env)
    assert env.read_text() == "GRAFANA_ADMIN_PASSWORD=old\n"


def test_a_stack_without_grafana_gets_one_line_and_keeps_its_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / "stack.env"
    env.write_text("GRAFANA_ADMIN_PASSWORD=old\n")
    monkeypatch.setenv("COMPOSE_ENV_FILES", str(env))
    docker = ScriptedStack(grafana="")
    stack = rotation.ComposeStack(docker, print)
    monkeypatch.setattr(rotation, "ComposeStack", lambda: stack)
    assert rotation.main(["GRAFANA_ADMIN_PASSWORD"]) == 1
    assert capsys.readouterr().err == f"rotate-secret: {rotation.NO_GRAFANA}\n"
    assert env.read_text() == "GRAFANA_ADMIN_PASSWORD=old\n"
    assert not [call for call in docker.calls if "reset-admin-password" in call]


def test_vm_grafana_rotation_sets_the_database_before_the_env_file_and_moves_nothing() -> None:
    fake = ScriptedVm()
    VmRotation(fake, "GRAFANA_ADMIN_PASSWORD").run()  # type: ignore[arg-type]
    pending = "/srv/linkpulse/.rotating-GRAFANA_ADMIN_PASSWORD"
    steps = [step for step in fake.steps if not step.startswith("grep -c")]
    assert steps[0] == "lock rotate-secret GRAFANA_ADMIN_PASSWORD"
    assert "/dev/urandom" in steps[1]
    assert steps[2] == (
        f"cat {pending} | docker exec -i grafana1 sh -c 'grafana cli admin"
        " reset-admin-password --password-from-stdin >/dev/null'"
    )
    assert steps[3].startswith("sed -i")
    assert f"$(cat {pending})" in steps[3]
    assert steps[4:] == [f"rm -f {pending}", "unlock"]


def test_vm_grafana_rotation_needs_grafana_running_before_anything_changes() -> None:
    fake = ScriptedVm()
    fake.vm.containers = lambda service: []
    with pytest.raises(DeployError, match="grafana: 0 running containers on the VM"):
        VmRotation(fake, "GRAFANA_ADMIN_PASSWORD").run()  # type: ignore[arg-type]
    assert fake.steps == []
