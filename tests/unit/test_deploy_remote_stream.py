"""Remote.stream, which the operator verbs run on: output reaches the operator while the command
still runs, stderr with it, the command's exit status comes back, and Ctrl-C closes the channel.

Over a real SSH connection to an in-process paramiko server on 127.0.0.1 that runs each command
with bash here (its host key pinned, the client key checked, as on a VM).
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from deploy.config import SshConfig
from deploy.ssh import Remote
from rehearsal.infra import new_ed25519
from tests.support.ssh_server import ssh_server


class _Host(paramiko.ServerInterface):
    """Accepts one client key; runs each exec request with bash, until it ends or the client
    closes the channel (then the command is stopped, and `closed_by_client` set)."""

    def __init__(self, client_key: str) -> None:
        self.client_key = client_key
        self.closed_by_client = threading.Event()

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        if key.get_base64() == self.client_key:
            return paramiko.common.AUTH_SUCCESSFUL
        return paramiko.common.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.common.OPEN_SUCCEEDED
        return paramiko.common.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(self, *args: object) -> bool:
        return True

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        threading.Thread(target=self._run, args=(channel, command.decode()), daemon=True).start()
        return True

    def _run(self, channel: paramiko.Channel, line: str) -> None:
        # Unbuffered: each read returns what the command has written so far.
        process = subprocess.Popen(
            ["bash", "-c", line], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0
        )
        output = process.stdout
        assert output is not None

        def watch() -> None:
            while process.poll() is None:
                if channel.closed:
                    self.closed_by_client.set()
                    process.kill()
                    return
                threading.Event().wait(0.02)

        threading.Thread(target=watch, daemon=True).start()
        for chunk in iter(lambda: output.read(4096), b""):
            if channel.closed:
                break
            channel.sendall(chunk)
        status = process.wait()
        if not channel.closed:
            channel.send_exit_status(status)
            channel.close()


@pytest.fixture
def host(tmp_path: Path) -> Iterator[tuple[Remote, _Host]]:
    private, public = new_ed25519()
    identity = tmp_path / "id_deploy"
    identity.write_bytes(private)
    identity.chmod(0o600)
    server = _Host(public.split()[1])
    with ssh_server(lambda _transport: server) as (port, host_key):
        known_hosts = tmp_path / "known_hosts"
        known_hosts.write_text(
            f"[127.0.0.1]:{port} {host_key.get_name()} {host_key.get_base64()}\n"
        )
        remote = Remote("127.0.0.1", port, "deploy", identity, known_hosts, settings=SshConfig())
        with remote:
            yield remote, server


def test_output_arrives_while_the_command_runs_and_its_status_comes_back(
    host: tuple[Remote, _Host], tmp_path: Path
) -> None:
    remote, _ = host
    flag = tmp_path / "seen"
    received: list[str] = []

    def write(chunk: str) -> None:
        received.append(chunk)
        # The command waits for this: had the output been held back until it ended, it never would.
        if "first" in "".join(received):
            flag.touch()

    status = remote.stream(
        [
            "bash", "-c",
            'echo first; until [ -e "$0" ]; do sleep 0.05; done; echo "second é" >&2; exit 3',
            str(flag),
        ],
        write,
    )  # fmt: skip
    assert status == 3
    assert "".join(received) == "first\nsecond é\n"


def test_ctrl_c_closes_the_channel_so_the_command_does_not_outlive_the_verb(
    host: tuple[Remote, _Host],
) -> None:
    remote, server = host

    def interrupt(chunk: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        remote.stream(["bash", "-c", "echo ready; exec sleep 600"], interrupt, pty=True)
    assert server.closed_by_client.wait(30)
