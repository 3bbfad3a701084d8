"""Deploy marks on Grafana's graphs: start, finish and rollback, through its annotation API.

Optional: only when the configuration's [grafana] table names a URL and the token's environment
variable is set. The dashboards show these annotations by their tag (monitoring/dashboards); the
build_info annotation query marks deploys from the data even without them. A Grafana that does
not answer costs one printed line, never a deploy.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from deploy.config import GrafanaConfig

# The tag the dashboards' annotation query selects (monitoring/dashboards).
DEPLOY_TAG = "linkpulse-deploy"


def annotation(event: str, sha: str, text: str, now_ms: int) -> dict[str, object]:
    """The body of POST /api/annotations for one deploy event (start, finish, rollback, ...)."""
    return {
        "time": now_ms,
        "tags": [DEPLOY_TAG, event, f"sha:{sha[:12]}"],
        "text": f"{event} {sha[:12]}: {text}",
    }


@dataclass
class Annotations:
    url: str
    token: str
    echo: Callable[[str], None]
    timeout_s: float = 5.0

    @classmethod
    def from_config(
        cls, config: GrafanaConfig | None, echo: Callable[[str], None]
    ) -> Annotations | None:
        if config is None or not config.url:
            return None
        token = os.environ.get(config.token_env, "")
        if not token:
            echo(f"    grafana: {config.token_env} is not set, so no deploy annotations")
            return None
        return cls(config.url.rstrip("/"), token, echo)

    def post(self, event: str, sha: str, text: str) -> None:
        body = annotation(event, sha, text, int(time.time() * 1000))
        try:
            response = requests.post(
                f"{self.url}/api/annotations",
                json=body,
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=self.timeout_s,
            )
            response.raise_for_status()
        except requests.RequestException as error:
            self.echo(f"    grafana: annotation '{event}' not posted: {error}")
