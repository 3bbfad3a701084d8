"""Where alerts go, for `status`: the receivers of the running Alertmanager's configuration.

Read from the configuration file inside the Alertmanager container (the one its start rendered
from the operator's receiver settings), because its API masks webhook URLs as secrets; a key the
configuration names by file is read from that file. Only each integration's kind and host are
printed, and a paging key's last four characters: a chat webhook's path and a key are credentials.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from deploy.containers import running_container_argv
from deploy.errors import DeployError
from deploy.ssh import Remote

SHIPPED_CONFIG = "/etc/alertmanager/alertmanager.yml"  # monitoring/alertmanager/Dockerfile's
ACTIVE_CONFIG = "/alertmanager/active.yml"  # what monitoring/alertmanager/receiver.sh rendered
SINK_HOST = "alert-sink"  # the stack's own recorder (monitoring/alert_sink/)
SINK = "the in-memory alert sink"
_RECEIVERS = re.compile(r"^receivers:\s*$")
_TOP_LEVEL = re.compile(r"^\S")
_NAME = re.compile(r"^\s*-\s*name:\s*['\"]?([^'\"#\s]+)")
_INTEGRATION = re.compile(r"^\s*(\w+)_configs:")
_TARGET = re.compile(
    r"^\s*-?\s*(url|api_url|to|url_file|api_url_file|routing_key|routing_key_file|service_key)"
    r"\s*:\s*['\"]?([^'\"#\s]+)"
)

# Reads a file inside the Alertmanager container (raises DeployError).
Read = Callable[[str], str]
# Runs argv inside the Alertmanager container and returns its stdout (raises DeployError).
Exec = Callable[[list[str]], str]


def _no_files(path: str) -> str:
    raise DeployError(f"{path} not read")


def receivers(config_text: str, read: Read = _no_files) -> dict[str, list[str]]:
    """Receiver name -> its integrations (kind, and the host or address it sends to), from
    Alertmanager's YAML as written by hand or by a template (block style)."""
    found: dict[str, list[str]] = {}
    inside = False
    name = kind = ""
    for line in config_text.splitlines():
        if _RECEIVERS.match(line):
            inside = True
            continue
        if inside and _TOP_LEVEL.match(line):
            break
        if not inside:
            continue
        if named := _NAME.match(line):
            name, kind = named.group(1), ""
            found[name] = []
        elif integration := _INTEGRATION.match(line):
            kind = integration.group(1)
            found.setdefault(name, []).append(kind)
        elif (target := _TARGET.match(line)) and kind and found.get(name):
            found[name][-1] = f"{kind} {_where(target.group(1), target.group(2), read)}"
    return found


def _where(key: str, value: str, read: Read) -> str:
    if key == "to":
        return f"to {value}"
    if key.endswith("_file"):
        try:
            value = read(value).strip()
        except DeployError:
            return f"({'key' if 'key' in key else 'address'} in the file {value})"
    if "key" in key:
        return f"(routing key ...{value[-4:]})"
    return f"to {urlsplit(value).hostname or '?'}"


def describe(found: dict[str, list[str]]) -> str:
    if not found:
        return "alerts go nowhere: the Alertmanager configuration names no receiver"
    if all(
        targets and all(t.endswith(f"to {SINK_HOST}") for t in targets)
        for targets in found.values()
    ):
        return f"alerts go to {SINK}: nobody is paged"
    parts = []
    for name, targets in found.items():
        if not targets:
            parts.append(f"{name}: nothing (a receiver without integrations)")
        else:
            shown = [
                f"{SINK} (pages nobody)" if t.endswith(f"to {SINK_HOST}") else t for t in targets
            ]
            parts.append(f"{name}: {', '.join(shown)}")
    return "alerts go to: " + "; ".join(parts)


def active_config(run: Exec) -> str:
    """The configuration Alertmanager runs with (an image from before receiver.sh: the shipped)."""
    return run(["sh", "-c", f"cat {ACTIVE_CONFIG} 2>/dev/null || cat {SHIPPED_CONFIG}"])


def alertmanager_container(remote: Remote, target: str, stack: str) -> str:
    """The id of the running Alertmanager container on the SSH host."""
    ids = remote.run(running_container_argv(target, stack, "alertmanager"), check=False)
    if not ids.ok or not ids.stdout.split():
        raise DeployError("no running Alertmanager container on this host")
    return ids.stdout.split()[0]


def in_container(remote: Remote, container: str) -> Exec:
    """Runs argv in CONTAINER on the SSH host, returning its stdout."""
    return lambda argv: remote.run(["docker", "exec", container, *argv]).stdout


def alert_route(remote: Remote, target: str, stack: str) -> str:
    """The status line: where the running Alertmanager sends notifications."""
    try:
        run = in_container(remote, alertmanager_container(remote, target, stack))
        return describe(receivers(active_config(run), lambda path: run(["cat", path])))
    except DeployError as error:
        return f"alerts: unknown ({error})"
