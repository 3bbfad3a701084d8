"""Where things live on the VM, under one directory owned by the deploy user.

<root>/.env                  secrets, made by provision on the VM; never read by the tool
<root>/releases/<sha>/       compose file, rendered override, release.env (with the operator
                             settings), settings.json, nginx conf.d
<root>/current               the sha that passed its checks and serves now
<root>/nginx/conf.d/         the live nginx config (mounted read-only into nginx)
<root>/nginx/upstream.d/     the web servers in nginx's rotation, rendered by the tool
<root>/history.jsonl         one line per deploy and rollback
<root>/deploy.lock/          the deploy lock (deploy/lock.py)
<root>/bundles/<time>-<sha>/ failure bundles: logs, health answers, SLO figures
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    root: str

    OVERRIDE = "compose.vm.json"
    RELEASE_ENV = "release.env"

    @property
    def secrets_env(self) -> str:
        return f"{self.root}/.env"

    @property
    def releases(self) -> str:
        return f"{self.root}/releases"

    def release_dir(self, sha: str) -> str:
        return f"{self.releases}/{sha}"

    @property
    def current(self) -> str:
        return f"{self.root}/current"

    @property
    def nginx_conf_d(self) -> str:
        return f"{self.root}/nginx/conf.d"

    @property
    def nginx_upstream_d(self) -> str:
        return f"{self.root}/nginx/upstream.d"

    @property
    def bundles(self) -> str:
        return f"{self.root}/bundles"
