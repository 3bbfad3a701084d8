"""The deploy tool names each cause of a failed SSH connection for what it is.

Causes this machine can produce are met for real: an in-process paramiko SSH server on
127.0.0.1 (refused key, unknown host key, changed host key), a port nobody listens on, a port
that answers but is no SSH server. A timeout and a DNS failure would need traffic to other
hosts: for those the mapping is fed the exception types paramiko lets through.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest
from paramiko.ssh_exception import NoValidConnectionsError

from deploy.errors import DeployError
from deploy.rehearsal.infra import new_ed25519
from deploy.ssh import Remote, connect_error
from tests.support.ssh_server import ssh_server


class _RefuseEveryKey(paramiko.ServerInterface):
    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        return paramiko.common.AUTH_FAILED


@pytest.fixture
def sshd() -> Iterator[tuple[int, paramiko.PKey]]:
    """A real SSH server (paramiko's server side) that refuses every key; its port and host key."""
    with ssh_server(_RefuseEveryKey()) as server:
        yield server


@pytest.fixture
def identity(tmp_path: Path) -> Path:
    private, public = new_ed25519()
    path = tmp_path / "id_deploy"
    path.write_bytes(private)
    path.chmod(0o600)
    (tmp_path / "id_deploy.pub").write_text(public + "\n")
    return path


def _known_hosts(tmp_path: Path, line: str) -> Path:
    path = tmp_path / "known_hosts"
    path.write_text(line + "\n")
    return path


def _pinned(name: str, key: paramiko.PKey) -> str:
    return f"{name} {key.get_name()} {key.get_base64()}"


def _open(port: int, identity: Path, known_hosts: Path, user: str = "root") -> str:
    remote = Remote("127.0.0.1", port, user, identity, known_hosts)
    with pytest.raises(DeployError) as caught:
        remote.open()
    remote.close()
    return str(caught.value)


def test_a_refused_key_is_named_as_authentication_not_as_a_host_key(
    sshd: tuple[int, paramiko.PKey], identity: Path, tmp_path: Path
) -> None:
    port, host_key = sshd
    known_hosts = _known_hosts(tmp_path, _pinned(f"[127.0.0.1]:{port}", host_key))
    message = _open(port, identity, known_hosts)
    assert "authentication refused: root does not accept the key" in message
    assert str(identity) in message
    assert "host key" not in message


def test_a_key_pinned_under_the_wrong_name_is_not_pinned_and_the_right_name_is_given(
    sshd: tuple[int, paramiko.PKey], identity: Path, tmp_path: Path
) -> None:
    # What docs/deploy.md once showed: the bare address, which OpenSSH uses only on port 22.
    port, host_key = sshd
    known_hosts = _known_hosts(tmp_path, _pinned("127.0.0.1", host_key))
    message = _open(port, identity, known_hosts)
    assert "host key not pinned" in message
    assert f"[127.0.0.1]:{port}" in message
    assert "authentication" not in message


def test_a_changed_host_key_is_named_as_changed(
    sshd: tuple[int, paramiko.PKey], identity: Path, tmp_path: Path
) -> None:
    port, _ = sshd
    _, other = new_ed25519()
    known_hosts = _known_hosts(tmp_path, f"[127.0.0.1]:{port} {other}")
    message = _open(port, identity, known_hosts)
    assert "host key changed" in message
    assert "not pinned" not in message


def test_a_port_nobody_listens_on_is_connection_refused(identity: Path, tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    message = _open(port, identity, _known_hosts(tmp_path, "# empty"))
    assert "connection refused" in message


def test_a_port_that_is_no_ssh_server_is_a_failed_handshake(identity: Path, tmp_path: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))

    def answer_like_http() -> None:
        conn, _ = listener.accept()
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        conn.close()

    threading.Thread(target=answer_like_http, daemon=True).start()
    try:
        message = _open(listener.getsockname()[1], identity, _known_hosts(tmp_path, "# empty"))
    finally:
        listener.close()
    assert "SSH handshake failed" in message


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (TimeoutError("timed out"), "connection timed out"),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "address not found"),
        (
            NoValidConnectionsError({("192.0.2.1", 22): OSError(113, "No route to host")}),
            "host unreachable",
        ),
        (
            NoValidConnectionsError(
                {
                    ("::1", 22, 0, 0): ConnectionRefusedError(111, "refused"),
                    ("127.0.0.1", 22): ConnectionRefusedError(111, "refused"),
                }
            ),
            "connection refused",
        ),
    ],
)
def test_causes_only_other_hosts_produce_are_named_too(error: Exception, cause: str) -> None:
    message = str(connect_error(error, "root@vm:22", "root", Path("k"), Path("known_hosts")))
    assert message.startswith(f"root@vm:22: {cause}")
