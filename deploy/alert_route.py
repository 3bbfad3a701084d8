"""Where alerts go, for `status`: the receivers of the running Alertmanager's configuration.

Read from the configuration file inside the Alertmanager container, because its API masks
webhook URLs as secrets. Only each integration's kind and host are printed: a chat webhook's
path and a paging key are credentials.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from deploy.containers import running_container_argv
from deploy.errors import DeployError
from deploy.ssh import Remote

CONFIG_FILE = "/etc/alertmanager/alertmanager.yml"  # monitoring/alertmanager/Dockerfile's
SINK_HOST = "alert-sink"  # the stack's own recorder (monitoring/alert_sink/)
SINK = "the in-memory alert sink"
_RECEIVERS = re.compile(r"^receivers:\s*$")
_TOP_LEVEL = re.compile(r"^\S")
_NAME = re.compile(r"^\s*-\s*name:\s*['\"]?([^'\"#\s]+)")
_INTEGRATION = re.compile(r"^\s*(\w+)_configs:")
_TARGET = re.compile(r"^\s*-?\s*(url|api_url|to|url_file|api_url_file)\s*:\s*['\"]?([^'\"#\s]+)")


def receivers(config_text: str) -> dict[str, list[str]]:
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
            found[name][-1] = f"{kind} {_where(target.group(1), target.group(2))}"
    return found


def _where(key: str, value: str) -> str:
    if key == "to":
        return f"to {value}"
    if key.endswith("_file"):
        return f"(address from the file {value})"
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


def alert_route(remote: Remote, target: str, stack: str) -> str:
    """The status line: where the running Alertmanager sends notifications."""
    ids = remote.run(running_container_argv(target, stack, "alertmanager"), check=False)
    if not ids.ok or not ids.stdout.split():
        return "alerts: unknown (no running Alertmanager container on this host)"
    try:
        text = remote.run(["docker", "exec", ids.stdout.split()[0], "cat", CONFIG_FILE]).stdout
    except DeployError as error:
        return f"alerts: unknown ({error})"
    return describe(receivers(text))
