"""Alertmanager's receiver settings rendered on this host by the real
monitoring/alertmanager/receiver.sh (RECEIVER_RENDER_ONLY: it writes the configuration, stops)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.commands import REPO_ROOT

RECEIVER_SH = REPO_ROOT / "monitoring" / "alertmanager" / "receiver.sh"
TEMPLATE = REPO_ROOT / "monitoring" / "alertmanager" / "alertmanager.yml"
ROUTING_KEY = "0123456789abcdef0123456789ABCDEF"
EMAIL = {
    "ALERT_EMAIL_TO": "oncall@example.org",
    "ALERT_EMAIL_FROM": "alertmanager@example.org",
    "ALERT_SMTP_SMARTHOST": "smtp.example.org:587",
}
# One valid setting of each kind (every address is a placeholder: nothing is sent in these tests).
KINDS: dict[str, dict[str, str]] = {
    "sink": {},
    "webhook": {"ALERT_RECEIVER_KEY": "https://hooks.example.org/linkpulse/secret-part"},
    "slack": {"ALERT_RECEIVER_KEY": "https://hooks.example.org/services/secret-part"},
    "pagerduty": {"ALERT_RECEIVER_KEY": ROUTING_KEY},
    "email": {**EMAIL, "ALERT_SMTP_USERNAME": "alertmanager", "ALERT_RECEIVER_KEY": "secret-part"},
}


def render(out_dir: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    """receiver.sh with SETTINGS only (nothing of this process's environment but PATH); the
    configuration and the key file land in OUT_DIR."""
    env = {
        "PATH": os.environ["PATH"],
        "ALERT_TEMPLATE": str(TEMPLATE),
        "ALERT_RENDER_DIR": str(out_dir),
        "ALERT_KEY_DIR": str(out_dir),
        "RECEIVER_RENDER_ONLY": "1",
        **settings,
    }
    return subprocess.run(
        ["sh", str(RECEIVER_SH)], env=env, capture_output=True, text=True, check=False
    )
