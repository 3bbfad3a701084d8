"""The deploy tool's `nginx -t` of a release (deploy/nginx_check.py), run by the real nginx
binary on the repository's files: the loopback upstream it mounts loads without DNS, `-t -q`
after the image's own `-g 'daemon off;'` only tests, and the tool reports a broken file by
nginx's own complaint."""

from __future__ import annotations

from pathlib import Path

from deploy.nginx_check import complaint
from deploy.plan import render_upstream
from tests.config.nginx_instance import NginxInstance
from tests.config.tools import run
from tests.support.redis_server import free_port


def _check(instance: NginxInstance) -> tuple[int, str]:
    result = run([*instance.nginx_args(), "-g", "daemon off;", "-t", "-q"])
    return result.returncode, result.stderr


def test_the_release_check_loads_good_files_and_names_a_broken_one(tmp_path: Path) -> None:
    instance = NginxInstance(workdir=tmp_path / "nginx", upstream_port=free_port())
    instance.render()
    (instance.workdir / "upstream.d" / "web.conf").write_text(render_upstream(["127.0.0.1"]))
    assert _check(instance) == (0, "")

    (instance.workdir / "conf.d" / "broken.conf").write_text("server {\n    bogus on;\n}\n")
    status, stderr = _check(instance)
    assert status != 0
    said = complaint(stderr, status)
    assert said == f'unknown directive "bogus" in {instance.workdir}/conf.d/broken.conf:2'
