"""`rotate-secret NAME` for the two secrets the operator brings rather than the VM makes: the
registry's pull credential and the paging receiver's key (docs/operations.md).

The new value comes on stdin, never on a command line (a process list or shell history would
keep it). Each is put to use before the old one is dropped, and a value that does not work
changes nothing:
- REGISTRY_PASSWORD: the VM (or the Swarm manager) logs in with it; only once the registry has
  accepted that login does it replace [registry] pull_password_file here. The old credential is
  then revoked at the registry by the operator.
- ALERT_RECEIVER_KEY (VM): the new key replaces the line in the VM's .env and Alertmanager is
  recreated on the release that serves; if it does not start (receiver.sh refuses a malformed
  key), the previous .env comes back and Alertmanager with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from deploy.deployer import Deployer
from deploy.errors import DeployError
from deploy.ssh import command_line

# Each supplied secret -> what its rotation costs, said before it starts.
SUPPLIED = {
    "REGISTRY_PASSWORD": "none: running containers never use it; the next deploy logs in with it",
    "ALERT_RECEIVER_KEY": (
        "Alertmanager restarts (a few seconds; Prometheus sends the alerts that fire again)"
    ),
}
RECEIVER_KEY = "ALERT_RECEIVER_KEY"


def read_new_value(name: str, stream: TextIO) -> str:
    """The new value: stdin's first line. Asked for before anything connects."""
    value = stream.readline().strip()
    if not value:
        raise DeployError(
            f"rotate-secret {name}: no new value on stdin (pipe it in, e.g. "
            f"`python -m deploy rotate-secret {name} <new-file`; never on a command line)"
        )
    return value


def set_env_line(env: str, name: str) -> str:
    """Shell that sets NAME=<its stdin> in the env file ENV (the line replaced, or added when the
    operator never set it), written whole then moved (no sed: a URL's & or | stays as it is)."""
    env_q = command_line([env])
    return (
        f"umask 077 && {{ grep -v '^{name}=' {env_q} || true; "
        f"printf '{name}=%s\\n' \"$(cat)\"; }} >{env_q}.rotating && mv {env_q}.rotating {env_q}"
    )


def write_local(path: Path, value: str) -> None:
    temporary = path.with_name(f".{path.name}.rotating")
    temporary.write_text(value + "\n")
    temporary.chmod(0o600)
    temporary.replace(path)


def rotate_registry(deployer: Deployer, new: str) -> None:
    registry = deployer.config.registry
    if not registry.pull_username or registry.pull_password_file is None:
        raise DeployError(
            "[registry] names no pull_username and pull_password_file: the VM pulls "
            "anonymously, there is no credential to rotate"
        )
    with deployer.locked("rotate-secret REGISTRY_PASSWORD"):
        deployer.stages.note(f"REGISTRY_PASSWORD: cost: {SUPPLIED['REGISTRY_PASSWORD']}")
        deployer.registry_login(new)
        deployer.stages.note(f"{registry.address} accepted the new credential's login")
        write_local(registry.pull_password_file, new)
        deployer.stages.note(
            f"{registry.pull_password_file} holds the new credential: revoke the old one at "
            "the registry now"
        )


def rotate_receiver_key(deployer: Deployer, new: str) -> None:
    sha = deployer.current()
    if sha is None:
        raise DeployError("nothing is deployed on the VM yet: no Alertmanager to give the key")
    remote, env = deployer.remote, deployer.layout.secrets_env
    kept = command_line([f"{env}.before-rotation"])
    recreate = ("up", "--detach", "--no-deps", "--wait", "alertmanager")
    with deployer.locked(f"rotate-secret {RECEIVER_KEY}"):
        deployer.stages.note(f"{RECEIVER_KEY}: cost: {SUPPLIED[RECEIVER_KEY]}")
        remote.shell(f"cp -p {command_line([env])} {kept}")
        remote.shell(set_env_line(env, RECEIVER_KEY), stdin=new)
        try:
            deployer.vm.compose(sha, *recreate)
        except DeployError as error:
            remote.shell(f"mv {kept} {command_line([env])}")
            deployer.vm.compose(sha, *recreate)
            raise DeployError(
                f"alertmanager did not start with the new {RECEIVER_KEY}, so the old key is "
                f"back ({error}); `python -m deploy logs alertmanager` says why"
            ) from error
        remote.shell(f"rm -f {kept}")
        deployer.stages.note(
            f"alertmanager runs with the new {RECEIVER_KEY}: `python -m deploy test-alert` "
            "checks delivery"
        )


def rotate_supplied(deployer: Deployer, name: str, new: str, target: str) -> None:
    if name == RECEIVER_KEY:
        if target == "swarm":
            raise DeployError(
                f"on Swarm {RECEIVER_KEY} is a Swarm secret: docs/operations.md "
                '("Paging a person") says how to move Alertmanager onto a new one'
            )
        rotate_receiver_key(deployer, new)
    else:
        rotate_registry(deployer, new)
