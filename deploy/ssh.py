"""SSH to the VM with fabric (paramiko underneath), trusting only a pinned host key.

fabric's Connection accepts unknown host keys by default (AutoAddPolicy); here the only keys
trusted are those in the configured known_hosts file, and an unknown or changed key is refused
before any command runs. Agent and ~/.ssh keys are not consulted: the identity is configured.
A failed connection is reported by its cause, because each has a different fix. A connection
lost later, or a command that never ends, is a ConnectionLostError: the deploy ends instead of
hanging with the lock held ([ssh] in the configuration sets how long it waits).
"""

from __future__ import annotations

import codecs
import contextlib
import io
import shlex
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko
from fabric import Config as FabricConfig
from fabric import Connection
from invoke.exceptions import CommandTimedOut
from paramiko.ssh_exception import NoValidConnectionsError

from deploy.config import SshConfig
from deploy.errors import ConnectionLostError, DeployError

# paramiko's exit status when none came: a command killed by a signal, or a lost connection.
NO_EXIT_STATUS = -1
# How long a transport that lost its connection takes at most to wind down (it is a thread).
SETTLE_S = 2.0


@dataclass(frozen=True)
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def command_line(argv: Sequence[str]) -> str:
    return " ".join(shlex.quote(part) for part in argv)


class HostKeyNotPinnedError(paramiko.SSHException):
    """The server's key is not in the pinned known_hosts; `name` is the name paramiko looked it
    up by: the address on port 22, `[address]:port` on any other (OpenSSH's convention)."""

    def __init__(self, name: str, key: paramiko.PKey) -> None:
        super().__init__(f"no pinned host key for {name}")
        self.name = name
        self.key = key


class _RefuseUnpinned(paramiko.MissingHostKeyPolicy):
    """paramiko's RejectPolicy raises a bare SSHException, which cannot be told apart from any
    other handshake failure; this one raises a type of its own."""

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        raise HostKeyNotPinnedError(hostname, key)


def _key_text(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {key.get_base64()[:16]}..."


def connect_error(
    error: BaseException, label: str, user: str, identity_file: Path, known_hosts: Path
) -> DeployError:
    """One line naming why the connection to LABEL failed: the fix differs for each cause."""
    if isinstance(error, HostKeyNotPinnedError):
        return DeployError(
            f"{label}: host key not pinned: {known_hosts} has no key for {error.name} (the VM "
            f"offered {_key_text(error.key)}; pin it under exactly that name): refusing"
        )
    if isinstance(error, paramiko.BadHostKeyException):
        return DeployError(
            f"{label}: host key changed: the VM offered {_key_text(error.key)}, not the key "
            f"pinned in {known_hosts}: refusing"
        )
    if isinstance(error, paramiko.AuthenticationException):
        return DeployError(
            f"{label}: authentication refused: {user} does not accept the key {identity_file}"
        )
    if isinstance(error, paramiko.SSHException):
        # Reached TCP, but the handshake failed: e.g. no SSH server on that port.
        return DeployError(f"{label}: SSH handshake failed (is it an SSH server?): {error}")
    # paramiko gathers refusals (one per address family) into NoValidConnectionsError.
    causes = error.errors.values() if isinstance(error, NoValidConnectionsError) else [error]
    if all(isinstance(cause, ConnectionRefusedError) for cause in causes):
        return DeployError(f"{label}: connection refused: nothing listens on that port")
    if isinstance(error, socket.gaierror):
        return DeployError(f"{label}: address not found (DNS): {error}")
    if isinstance(error, TimeoutError):
        return DeployError(f"{label}: connection timed out: no answer (a firewall, or down?)")
    return DeployError(f"{label}: host unreachable: {error}")


def watch_transport(transport: paramiko.Transport, settings: SshConfig) -> None:
    """Make a connection that stops answering die within lost_after_s instead of hanging.

    paramiko's keepalive alone sends without waiting for a reply, and TCP retransmits unanswered
    data for about 15 minutes; TCP_USER_TIMEOUT (Linux) drops the socket once data it sent
    (the keepalives at least) goes unacknowledged for lost_after_s. Elsewhere the per-command
    timeout is the bound.
    """
    transport.set_keepalive(settings.keepalive_s)
    option = getattr(socket, "TCP_USER_TIMEOUT", None)
    if option is not None and isinstance(transport.sock, socket.socket):
        transport.sock.setsockopt(socket.IPPROTO_TCP, option, settings.lost_after_s * 1000)


class Remote:
    """One SSH session to the VM; commands are argv lists, quoted here and nowhere else."""

    def __init__(
        self,
        address: str,
        port: int,
        user: str,
        identity_file: Path,
        known_hosts: Path,
        *,
        settings: SshConfig,
    ) -> None:
        self.label = f"{user}@{address}:{port}"
        self._settings = settings
        self._opened = False
        self._user = user
        self._identity_file = identity_file
        self._known_hosts = known_hosts
        if not known_hosts.is_file():
            raise DeployError(f"known_hosts file {known_hosts} does not exist: pin the host key")
        if not identity_file.is_file():
            raise DeployError(f"identity file {identity_file} does not exist")
        self._connection = Connection(
            host=address,
            port=port,
            user=user,
            config=FabricConfig(
                overrides={
                    "load_ssh_configs": False,
                    "timeouts": {"command": settings.command_timeout_s},
                }
            ),
            connect_timeout=settings.connect_timeout_s,
            connect_kwargs={
                "key_filename": str(identity_file),
                "look_for_keys": False,
                "allow_agent": False,
            },
        )
        client: paramiko.SSHClient = self._connection.client
        client.set_missing_host_key_policy(_RefuseUnpinned())
        try:
            client.load_host_keys(str(known_hosts))
        except OSError as error:
            raise DeployError(f"cannot read known_hosts {known_hosts}: {error}") from error

    def open(self) -> None:
        try:
            self._connection.open()
        except (paramiko.SSHException, OSError) as error:
            raise connect_error(
                error, self.label, self._user, self._identity_file, self._known_hosts
            ) from error
        watch_transport(self._connection.transport, self._settings)
        self._opened = True

    def _reconnect_if_dropped(self) -> None:
        """fabric reconnects a dropped connection by itself, but unwatched and with its SFTP
        session left on the dead one: reconnect here instead, or name the loss."""
        if not self._opened or self._connection.is_connected:
            return
        self._connection.close()  # forgets the dead SFTP session too
        try:
            self.open()
        except DeployError as error:
            raise ConnectionLostError(f"{error} (reconnecting)") from error

    def _alive(self) -> bool:
        """Whether the connection still stands, once a dying transport has finished dying:
        paramiko closes a dead transport's channels (ending the command with exit status -1)
        a moment before it marks itself inactive."""
        transport: paramiko.Transport | None = self._connection.transport
        if transport is None:
            return False
        transport.join(SETTLE_S)
        return transport.is_active()

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> Remote:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = True,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Result:
        line = command_line(argv)
        if env:
            line = command_line(["env", *(f"{k}={v}" for k, v in env.items())]) + " " + line
        return self.shell(line, check=check, stdin=stdin, timeout=timeout)

    def shell(
        self,
        line: str,
        *,
        check: bool = True,
        stdin: str | None = None,
        timeout: float | None = None,
    ) -> Result:
        """Run a shell line; callers build it from command_line() for anything variable."""
        kwargs: dict[str, Any] = {"hide": True, "warn": True, "in_stream": False}
        if stdin is not None:
            kwargs["in_stream"] = io.StringIO(stdin)
        if timeout is not None:
            kwargs["timeout"] = timeout
        self._reconnect_if_dropped()
        try:
            raw = self._connection.run(line, **kwargs)
        except CommandTimedOut as error:
            raise ConnectionLostError(
                f"{self.label}: {line[:120]}: no end after {error.timeout:.0f}s"
            ) from error
        except Exception as error:  # transport errors, a failed reconnect
            if not self._alive():
                # Some transport errors carry no text (EOFError): their type says what broke.
                raise ConnectionLostError(
                    f"{self.label}: {str(error) or type(error).__name__}"
                ) from error
            raise DeployError(f"{self.label}: {line[:120]}: {error}") from error
        if raw.exited == NO_EXIT_STATUS and not self._alive():
            raise ConnectionLostError(f"{self.label}: the connection dropped: {line[:120]}")
        result = Result(raw.exited, raw.stdout, raw.stderr)
        if check and not result.ok:
            detail = (result.stderr.strip() or result.stdout.strip()).splitlines()
            last = detail[-1] if detail else f"exit status {result.exit_code}"
            raise DeployError(f"on the VM: {line[:160]}: {last}")
        return result

    def stream(
        self, argv: Sequence[str], write: Callable[[str], None], *, pty: bool = False
    ) -> int:
        """Run ARGV, handing its output (stderr merged in) to WRITE as it arrives; its exit
        status. With PTY, closing the channel (Ctrl-C here) hangs the command up on the host:
        what `logs --follow` needs, which never ends by itself."""
        transport = self._connection.client.get_transport()
        if transport is None:
            raise DeployError(f"{self.label}: not connected")
        channel = transport.open_session()
        try:
            if pty:
                channel.get_pty()
            channel.set_combine_stderr(True)
            channel.exec_command(command_line(argv))
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            while chunk := channel.recv(65536):
                write(decoder.decode(chunk))
            write(decoder.decode(b"", final=True))
            return int(channel.recv_exit_status())
        finally:
            channel.close()

    def write_file(self, path: str, content: str, mode: int = 0o644) -> None:
        """Write a file atomically: a temporary name in the same directory, then rename."""
        temporary = f"{path}.tmp"
        self._transfer(lambda: self._connection.put(io.BytesIO(content.encode()), remote=temporary))
        self.run(["chmod", f"{mode:o}", temporary])
        self.run(["mv", "-f", temporary, path])

    def put(self, local: Path, remote: str) -> None:
        self._transfer(lambda: self._connection.put(str(local), remote=remote))

    def get(self, remote: str, local: Path) -> None:
        self._transfer(lambda: self._connection.get(remote, local=str(local)))

    def _transfer(self, transfer: Callable[[], object]) -> None:
        """An SFTP transfer, bounded like a command; a dead connection named as such."""
        self._reconnect_if_dropped()
        try:
            self._connection.sftp().get_channel().settimeout(self._settings.command_timeout_s)
            transfer()
        except (OSError, EOFError, paramiko.SSHException) as error:
            if isinstance(error, TimeoutError) or not self._alive():
                raise ConnectionLostError(f"{self.label}: SFTP: {error or 'timed out'}") from error
            raise

    @contextlib.contextmanager
    def forward(self, local_port: int, remote_port: int) -> Iterator[None]:
        """127.0.0.1:local_port here reaches 127.0.0.1:remote_port on the VM."""
        self._reconnect_if_dropped()
        with self._connection.forward_local(local_port, remote_port=remote_port):
            # fabric listens from a thread: wait until it accepts before anyone connects.
            deadline = time.monotonic() + 5
            while True:
                try:
                    socket.create_connection(("127.0.0.1", local_port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise DeployError(
                            f"port forward to the VM's port {remote_port} failed"
                        ) from None
                    time.sleep(0.05)
            yield
