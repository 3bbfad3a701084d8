"""`nginx -t` of a release's own config before anything running is touched.

The check runs the release's nginx image in a throwaway container on the VM, with the release's
conf.d mounted where the live one will be, so it judges exactly the files and the binary that
would serve. The container has no network and a read-only root, like the edge it stands in for;
its upstream list names a loopback address, since the release's web containers do not exist yet
and an address needs no DNS.
"""

from __future__ import annotations

import re

from deploy.errors import DeployError
from deploy.host import Host
from deploy.layout import Layout
from deploy.plan import render_upstream

# Under a release's directory, beside the nginx/conf.d it checks.
CHECK_UPSTREAM_D = "nginx/check-upstream.d"
CHECK_TIMEOUT_S = 120.0
# `2026/12/03 13:41:38 [emerg] 1#1: unknown directive ...` or `nginx: [emerg] ...`
_EMERG = re.compile(r"\[emerg\] (?:\d+#\d+: )?(.+)")


def nginx_test_argv(image: str, conf_d: str, upstream_d: str) -> list[str]:
    """docker run of IMAGE's own entrypoint (it renders its runtime includes, then runs nginx)
    with `-t -q` appended: nginx tests the config and exits, printing only what is wrong. The
    image was pulled by the stage before; a missing one fails here rather than pulling."""
    return [
        "docker", "run", "--rm", "--pull", "never", "--network", "none", "--read-only",
        "--tmpfs", "/tmp",  # noqa: S108 # inside the container: where its entrypoint renders
        "--volume", f"{conf_d}:/etc/nginx/conf.d:ro",
        "--volume", f"{upstream_d}:/etc/nginx/upstream.d:ro",
        image, "-t", "-q",
    ]  # fmt: skip


def complaint(output: str, exit_code: int) -> str:
    """What nginx says is wrong: its first [emerg] message without the time and pid (its last
    line only says that the test failed), else the last line."""
    lines = output.strip().splitlines()
    for line in lines:
        found = _EMERG.search(line)
        if found:
            return found.group(1)
    return lines[-1] if lines else f"exit status {exit_code}"


def check_release_nginx(remote: Host, layout: Layout, sha: str, image: str) -> None:
    """DeployError, one line with nginx's own complaint, unless the release's config loads."""
    release = layout.release_dir(sha)
    upstream_d = f"{release}/{CHECK_UPSTREAM_D}"
    remote.run(["mkdir", "-p", upstream_d])
    remote.write_file(f"{upstream_d}/web.conf", render_upstream(["127.0.0.1"]))
    result = remote.run(
        nginx_test_argv(image, f"{release}/nginx/conf.d", upstream_d),
        check=False,
        timeout=CHECK_TIMEOUT_S,
    )
    if not result.ok:
        raise DeployError(
            f"nginx -t refused the config of release {sha[:12]}: "
            f"{complaint(result.stderr or result.stdout, result.exit_code)}: "
            "nothing running was changed"
        )
