"""The repository's nginx configuration, run by the real nginx binary on free loopback ports.

The files under nginx/ are used as they are, except for the few lines that name things which
exist only inside the container stack: the `web` host, the listen ports, and /tmp as the place
for the pid file and buffers. Each rewrite must match exactly as often as expected, so a change
to those lines fails here instead of silently testing something else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.config.tools import NGINX_DIR, binary, run
from tests.support.processes import stop_process
from tests.support.redis_server import free_port

MIME_TYPES = Path("/etc/nginx/mime.types")


def render_limits(runtime_dir: Path, limits: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the image's render scripts the way its entrypoint chains them, into RUNTIME_DIR."""
    environment = {"PATH": os.environ["PATH"], "NGINX_RUNTIME_DIR": str(runtime_dir), **limits}
    return subprocess.run(
        [str(NGINX_DIR / "render-limits.sh"), str(NGINX_DIR / "render-upstream.sh")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _replace_once(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    found = text.count(old)
    if found != count:
        raise AssertionError(f"{path.name}: expected {count} x {old!r}, found {found}")
    path.write_text(text.replace(old, new))


@dataclass
class NginxInstance:
    workdir: Path
    upstream_port: int
    public_port: int = field(default_factory=free_port)
    status_port: int = field(default_factory=free_port)
    # RATE_LIMIT_* settings for render-limits.sh; empty: the shipped defaults.
    limits: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def conf_file(self) -> Path:
        return self.workdir / "nginx.conf"

    @property
    def access_log(self) -> Path:
        return self.workdir / "access.log"

    @property
    def error_log(self) -> Path:
        return self.workdir / "error.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.public_port}"

    @property
    def status_url(self) -> str:
        return f"http://127.0.0.1:{self.status_port}"

    def render(self) -> None:
        """Copy the config into workdir with the stack-only names pointed at this machine."""
        shutil.copytree(NGINX_DIR, self.workdir, dirs_exist_ok=True)
        shutil.copy(MIME_TYPES, self.workdir / "mime.types")
        # nginx's workers may run as an unprivileged user when the tests run as root.
        self.workdir.chmod(0o755)
        main = self.conf_file
        _replace_once(main, "pid /tmp/", f"pid {self.workdir}/")
        _replace_once(main, "_temp_path /tmp/", f"_temp_path {self.workdir}/", count=5)
        conf_d = self.workdir / "conf.d"
        _replace_once(
            conf_d / "linkpulse-http.conf",
            "server web:8000 ",
            f"server 127.0.0.1:{self.upstream_port} ",
        )
        _replace_once(
            conf_d / "default.conf", "listen 8080 ", f"listen 127.0.0.1:{self.public_port} "
        )
        _replace_once(
            conf_d / "status.conf", "listen 8081;", f"listen 127.0.0.1:{self.status_port};"
        )
        render_limits(self.workdir / "runtime", self.limits)

    def nginx_args(self) -> list[str]:
        return [binary("nginx", "nginx"), "-p", str(self.workdir), "-c", str(self.conf_file)]

    def check(self) -> subprocess.CompletedProcess[str]:
        return run([*self.nginx_args(), "-t"])

    def start(self) -> None:
        with self.access_log.open("wb") as stdout, self.error_log.open("wb") as stderr:
            self.process = subprocess.Popen(
                [*self.nginx_args(), "-g", "daemon off;"], stdout=stdout, stderr=stderr
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.error_log.read_text()}")
            try:
                requests.get(f"{self.base_url}/nginx-health", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not answer within 10 s: {self.error_log.read_text()}")

    def stop(self) -> None:
        if self.process is None:
            return
        stop_process(self.process)
        self.process = None
