"""gunicorn settings for the web service, all from the environment.

Run from the repository root: gunicorn -c web/gunicorn_conf.py "web:create_app()"

Settings are validated here, in the master, before any worker forks: a bad value prints
one line naming the variable and exits with status 2, instead of every worker dying with
a traceback and gunicorn giving up with a generic message.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

# prometheus_client picks single- or multi-process mode when first imported, so the
# directory must be in the environment before anything below imports it.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/linkpulse-web-metrics")  # noqa: S108

# gunicorn executes this file by path; make `web` and `linkpulse` importable from it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gunicorn.glogging import Logger
from prometheus_client import multiprocess

from linkpulse.settings import ConfigError, exit_on_config_error, load_settings
from web import gunicorn_errors
from web.config import ServerSettings, WebSettings

try:
    _app = load_settings(WebSettings)
    _server = load_settings(ServerSettings)
except ConfigError as _error:
    exit_on_config_error(_error, "web")

# Requests gunicorn itself refuses get the API's JSON envelope, not gunicorn's HTML page.
gunicorn_errors.install()

bind = _server.bind
workers = _server.workers
worker_class = _server.worker_class
threads = _server.threads
timeout = 30
graceful_timeout = 20
keepalive = 5
# At or above nginx's limits (8k request line, 8k per header line, conf.d/default.conf), so
# what nginx passes is never refused here with gunicorn's HTML error page: nginx answers
# too-long requests itself, in the API's JSON envelope. 8190 is the most gunicorn allows for
# the request line, and exactly what fits nginx's 8k buffer with its CRLF. A header line
# counts its name too, hence twice that. nginx's header buffers (1k + 4 x 8k) hold fewer than
# 10,000 lines of even the shortest header.
limit_request_line = 8190
limit_request_field_size = 16384
limit_request_fields = 10000
# Worker heartbeats are file writes; on tmpfs they cannot stall on a slow disk.
worker_tmp_dir = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None  # noqa: S108
# Proxy headers (scheme here, client address in web.proxy) count only from these peers.
forwarded_allow_ips = _app.forwarded_allow_ips
# gunicorn's control socket defaults to one path per user, which concurrent servers (tests,
# benchmarks) would fight over and a read-only container cannot create; nothing here uses it.
control_socket_disable = True


class AppLogsRequests(Logger):  # type: ignore[misc]
    """gunicorn's logger without its access log: the app logs requests itself.

    With a logconfig_dict, gunicorn builds every request's access-log fields and hands them
    to a logger that drops them: 4 % of a worker's time under redirect load (issue 9).
    """

    @property
    def access_log_enabled(self) -> bool:
        return False

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        return None


# The app writes JSON access lines itself (web.observability).
accesslog = None
logger_class = AppLogsRequests
loglevel = _server.log_level.lower()
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "linkpulse.logs.JsonFormatter", "service": "web"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "root": {"handlers": ["stderr"], "level": _server.log_level},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": _server.log_level, "propagate": False},
        "gunicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
    },
}


def on_starting(server: Any) -> None:
    """Start every run with an empty metrics directory: old files would add stale counts."""
    metrics_dir = Path(_server.metrics_dir)
    if metrics_dir.exists():
        shutil.rmtree(metrics_dir)
    metrics_dir.mkdir(parents=True)


def child_exit(server: Any, worker: Any) -> None:
    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
