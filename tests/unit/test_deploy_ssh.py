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

from deploy.config import SshConfig
from deploy.errors import ConnectionLostError, DeployError
from deploy.ssh import Remote, connect_error
from deploy.stages import Stages
from rehearsal.infra import new_ed25519
from tests.support.ssh_server import ssh_server


class _RefuseEveryKey(paramiko.ServerInterface):
    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        return paramiko.common.AUTH_FAILED


@pytest.fixture
def sshd() -> Iterator[tuple[int, paramiko.PKey]]:
    """A real SSH server (paramiko's server side) that refuses every key; its port and host key."""
    with ssh_server(lambda _transport: _RefuseEveryKey()) as server:
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
    remote = Remote("127.0.0.1", port, user, identity, known_hosts, settings=SshConfig())
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


class _AcceptThenLose(paramiko.ServerInterface):
    """Accepts any key; a command named `drop` loses the connection mid-command (the server's
    side closes it, as a VM that died would), `true` succeeds, any other never ends."""

    def __init__(self, transport: paramiko.Transport) -> None:
        self.transport = transport

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        return paramiko.common.AUTH_SUCCESSFUL

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return paramiko.common.OPEN_SUCCEEDED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        if command == b"drop":
            threading.Thread(target=self.transport.close, daemon=True).start()
        if command == b"true":
            threading.Thread(target=_succeed, args=(channel,), daemon=True).start()
        return True


def _succeed(channel: paramiko.Channel) -> None:
    # Status and end of output, never a close: a close may overtake the exec request's reply.
    channel.send_exit_status(0)
    channel.shutdown_write()


@pytest.fixture
def losing_sshd() -> Iterator[tuple[int, paramiko.PKey]]:
    """A real SSH server that lets the deploy user in, then loses the connection or stalls."""
    with ssh_server(_AcceptThenLose) as server:
        yield server


def _connected(
    sshd: tuple[int, paramiko.PKey], identity: Path, tmp_path: Path, settings: SshConfig
) -> Remote:
    port, host_key = sshd
    known_hosts = _known_hosts(tmp_path, _pinned(f"[127.0.0.1]:{port}", host_key))
    remote = Remote("127.0.0.1", port, "deploy", identity, known_hosts, settings=settings)
    remote.open()
    return remote


def test_a_connection_lost_mid_command_ends_the_stage_with_one_line_naming_it(
    losing_sshd: tuple[int, paramiko.PKey], identity: Path, tmp_path: Path
) -> None:
    remote = _connected(losing_sshd, identity, tmp_path, SshConfig())
    printed: list[str] = []
    with (
        pytest.raises(ConnectionLostError) as caught,
        Stages(echo=printed.append).stage("switch web (zero downtime)"),
    ):
        remote.shell("drop", check=False)  # paramiko's exit status -1 is no answer
    remote.close()
    message = str(caught.value)
    assert message.startswith("lost the VM during 'switch web (zero downtime)': deploy@127.0.0.1")
    assert "\n" not in message


def test_a_command_that_never_ends_is_cut_at_the_configured_timeout(
    losing_sshd: tuple[int, paramiko.PKey], identity: Path, tmp_path: Path
) -> None:
    remote = _connected(losing_sshd, identity, tmp_path, SshConfig(command_timeout_s=1))
    with pytest.raises(ConnectionLostError, match="no end after 1s"):
        remote.run(["docker", "pull", "example"])
    remote.close()


@pytest.fixture
def keepalives(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The keepalive interval of every connection opened, in order."""
    intervals: list[int] = []
    monkeypatch.setattr(paramiko.Transport, "set_keepalive", lambda _t, s: intervals.append(s))
    return intervals


def test_the_connection_sends_keepalives_and_gives_up_after_lost_after_s(
    losing_sshd: tuple[int, paramiko.PKey], identity: Path, tmp_path: Path, keepalives: list[int]
) -> None:
    settings = SshConfig(keepalive_s=7, lost_after_s=42)
    remote = _connected(losing_sshd, identity, tmp_path, settings)
    sock = remote._connection.transport.sock
    user_timeout = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)
    remote.close()
    assert keepalives == [7]
    assert user_timeout == 42_000


def _lose_then_clean_up(stages: Stages) -> None:
    try:
        with stages.stage("switch worker"):
            raise ConnectionLostError("deploy@vm:22: the connection dropped: docker ps")
    except ConnectionLostError:
        raise ConnectionLostError("deploy@vm:22: rm -rf deploy.lock") from None  # no stage


def test_a_cleanup_meeting_the_same_lost_connection_names_the_stage_it_was_lost_in() -> None:
    with pytest.raises(ConnectionLostError) as caught:
        _lose_then_clean_up(Stages(echo=lambda _line: None))
    assert str(caught.value) == (
        "lost the VM during 'switch worker': deploy@vm:22: the connection dropped: docker ps"
    )


def test_after_a_lost_connection_the_next_command_reconnects_watched(
    losing_sshd: tuple[int, paramiko.PKey], identity: Path, tmp_path: Path, keepalives: list[int]
) -> None:
    remote = _connected(losing_sshd, identity, tmp_path, SshConfig(keepalive_s=5))
    with pytest.raises(ConnectionLostError):
        remote.shell("drop")
    assert remote.run(["true"]).ok  # e.g. the automatic rollback, once the VM answers again
    remote.close()
    assert keepalives == [5, 5]


def test_a_lost_connection_whose_error_has_no_text_still_says_what_broke(
    losing_sshd: tuple[int, paramiko.PKey],
    identity: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found by the rehearsal's ssh drill: a blocked port ended the deploy with
    `lost the VM during 'switch web (zero downtime)': deploy@127.0.0.1:2222: ` and nothing after."""
    remote = _connected(losing_sshd, identity, tmp_path, SshConfig())

    def lost(*args: object, **kwargs: object) -> None:
        raise EOFError

    monkeypatch.setattr(remote._connection, "run", lost)
    monkeypatch.setattr(remote, "_reconnect_if_dropped", lambda: None)
    monkeypatch.setattr(remote, "_alive", lambda: False)
    with pytest.raises(ConnectionLostError) as caught:
        remote.run(["docker", "ps"])
    monkeypatch.undo()
    remote.close()
    assert str(caught.value).endswith(": EOFError"), str(caught.value)
