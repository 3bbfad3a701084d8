"""rotate-secret for the secrets the operator brings (deploy/supplied_secrets.py): the new value
from stdin only, the registry login before the local file changes, the VM's receiver key put
back when Alertmanager does not start with the new one, and one line for each bad input."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from deploy import supplied_secrets
from deploy.cli import cli
from deploy.config import RegistryConfig
from deploy.errors import DeployError
from deploy.layout import Layout
from deploy.ssh import Result


def test_an_empty_stdin_is_one_line_naming_how_to_pass_the_value() -> None:
    with pytest.raises(DeployError, match="no new value on stdin") as raised:
        supplied_secrets.read_new_value("REGISTRY_PASSWORD", io.StringIO("\n"))
    assert "\n" not in str(raised.value)
    assert supplied_secrets.read_new_value("X", io.StringIO("s3cret\nignored\n")) == "s3cret"


def test_the_cli_asks_stdin_before_the_configuration_is_read() -> None:
    argv = ["--config", "/nonexistent/deploy.toml", "rotate-secret", "ALERT_RECEIVER_KEY"]
    result = CliRunner().invoke(cli, argv, input="")
    assert isinstance(result.exception, DeployError)
    assert "no new value on stdin" in str(result.exception)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("A=1\nALERT_RECEIVER_KEY=old\nB=2\n", "A=1\nB=2\nALERT_RECEIVER_KEY=http://h/x?a=1&b=|\n"),
        ("A=1\n", "A=1\nALERT_RECEIVER_KEY=http://h/x?a=1&b=|\n"),
    ],
)
def test_the_env_line_is_replaced_or_added_with_the_value_as_given(
    tmp_path: Path, before: str, after: str
) -> None:
    env = tmp_path / ".env"
    env.write_text(before)
    script = supplied_secrets.set_env_line(str(env), "ALERT_RECEIVER_KEY")
    subprocess.run(["sh", "-c", script], input="http://h/x?a=1&b=|", text=True, check=True)
    assert env.read_text() == after
    assert env.stat().st_mode & 0o777 == 0o600


class ScriptedDeployer:
    """The parts of a Deployer these rotations drive; the VM's answers scripted."""

    def __init__(self, tmp_path: Path, *, login_ok: bool = True, start_ok: bool = True) -> None:
        self.steps: list[str] = []
        self.password_file = tmp_path / "pull-password"
        self.password_file.write_text("old\n")
        registry = RegistryConfig("registry.test/team/lp", "puller", self.password_file)
        self.config = SimpleNamespace(registry=registry)
        self.layout = Layout("/srv/linkpulse")
        self.stages = SimpleNamespace(note=lambda line: self.steps.append(f"note {line}"))
        self.remote = SimpleNamespace(shell=self.shell)
        self.vm = SimpleNamespace(compose=self.compose)
        self.login_ok, self.start_ok = login_ok, start_ok

    def current(self) -> str:
        return "a" * 40

    @contextmanager
    def locked(self, action: str) -> Iterator[None]:
        self.steps.append(f"lock {action}")
        try:
            yield
        finally:
            self.steps.append("unlock")

    def registry_login(self, password: str) -> None:
        self.steps.append(f"login {password} (file: {self.password_file.read_text().strip()})")
        if not self.login_ok:
            raise DeployError("registry registry.test refused the login of puller")

    def shell(self, line: str, stdin: str | None = None) -> Result:
        self.steps.append(line + (f" <<{stdin}" if stdin else ""))
        if line.startswith("mv "):
            self.start_ok = True  # the previous .env is back
        return Result(0, "", "")

    def compose(self, sha: str, *args: str) -> str:
        self.steps.append(f"compose {' '.join(args)}")
        if not self.start_ok:
            raise DeployError("on the VM: docker compose up: alertmanager exited (1)")
        return ""


def test_the_vm_logs_in_with_the_new_credential_before_the_file_changes(tmp_path: Path) -> None:
    fake = ScriptedDeployer(tmp_path)
    supplied_secrets.rotate_supplied(fake, "REGISTRY_PASSWORD", "new", "vm")  # type: ignore[arg-type]
    assert "login new (file: old)" in fake.steps
    assert fake.password_file.read_text() == "new\n"
    assert fake.password_file.stat().st_mode & 0o777 == 0o600
    assert fake.steps[0] == "lock rotate-secret REGISTRY_PASSWORD"
    assert "revoke the old one at the registry now" in fake.steps[-2]


def test_a_refused_login_keeps_the_old_credential(tmp_path: Path) -> None:
    fake = ScriptedDeployer(tmp_path, login_ok=False)
    with pytest.raises(DeployError, match="refused the login of puller"):
        supplied_secrets.rotate_supplied(fake, "REGISTRY_PASSWORD", "new", "vm")  # type: ignore[arg-type]
    assert fake.password_file.read_text() == "old\n"


def test_an_anonymous_registry_has_nothing_to_rotate(tmp_path: Path) -> None:
    fake = ScriptedDeployer(tmp_path)
    fake.config.registry = RegistryConfig("registry.test/team/lp")
    with pytest.raises(DeployError, match="pulls anonymously, there is no credential to rotate"):
        supplied_secrets.rotate_supplied(fake, "REGISTRY_PASSWORD", "new", "vm")  # type: ignore[arg-type]
    assert fake.steps == []


def test_the_receiver_key_goes_into_the_vm_env_then_alertmanager_is_recreated(
    tmp_path: Path,
) -> None:
    fake = ScriptedDeployer(tmp_path)
    supplied_secrets.rotate_supplied(fake, "ALERT_RECEIVER_KEY", "k3y", "vm")  # type: ignore[arg-type]
    kept = "/srv/linkpulse/.env.before-rotation"
    steps = [step for step in fake.steps if not step.startswith("note")]
    assert steps == [
        "lock rotate-secret ALERT_RECEIVER_KEY",
        f"cp -p /srv/linkpulse/.env {kept}",
        supplied_secrets.set_env_line("/srv/linkpulse/.env", "ALERT_RECEIVER_KEY") + " <<k3y",
        "compose up --detach --no-deps --wait alertmanager",
        f"rm -f {kept}",
        "unlock",
    ]


def test_a_key_alertmanager_refuses_puts_the_old_env_back(tmp_path: Path) -> None:
    fake = ScriptedDeployer(tmp_path, start_ok=False)
    with pytest.raises(DeployError, match="the old key is back") as raised:
        supplied_secrets.rotate_supplied(fake, "ALERT_RECEIVER_KEY", "bad", "vm")  # type: ignore[arg-type]
    assert "\n" not in str(raised.value)
    recreate = "compose up --detach --no-deps --wait alertmanager"
    assert fake.steps[-4:] == [
        recreate,
        "mv /srv/linkpulse/.env.before-rotation /srv/linkpulse/.env",
        recreate,
        "unlock",
    ]


def test_the_receiver_key_on_swarm_is_refused_before_anything_changes(tmp_path: Path) -> None:
    fake = ScriptedDeployer(tmp_path)
    with pytest.raises(DeployError, match="on Swarm ALERT_RECEIVER_KEY is a Swarm secret"):
        supplied_secrets.rotate_supplied(fake, "ALERT_RECEIVER_KEY", "k", "swarm")  # type: ignore[arg-type]
    assert fake.steps == []
