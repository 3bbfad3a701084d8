"""Config values that reach root shells on the VM (issue 16, defect 10): each is held to a strict
pattern at load (one line naming the key), and passed as argv or quoted where it is used."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from deploy.config import parse_config
from deploy.errors import DeployError
from deploy.provision import create_deploy_user
from deploy.swarm_init import secrets_script
from swarm.render import compose_config
from tests.support.fake_host import OK, FakeHost
from tests.unit.test_deploy_logic import GOOD_CONFIG

REPO = Path(__file__).resolve().parents[2]
HOSTILE = "1mb; touch {marker}"


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda t: t.replace('user = "deploy"', 'user = "deploy; reboot"'), "[host] user"),
        (lambda t: t.replace('user = "deploy"', 'user = "Deploy"'), "[host] user"),
        (lambda t: t.replace('user = "deploy"', "user = 7"), "[host] user"),
        (
            lambda t: t.replace("[app]", "[app]\nremote_dir = \"/srv/a'$(reboot)'\""),
            "[app] remote_dir",
        ),
        (lambda t: t.replace("[app]", '[app]\nremote_dir = "/srv/../etc"'), "[app] remote_dir"),
        (lambda t: t.replace("[app]", '[app]\nremote_dir = "/srv/my app"'), "[app] remote_dir"),
        (
            lambda t: t + '\n[swarm.settings]\nREDIS_MAXMEMORY = "200mb --save x"\n',
            "[swarm.settings] REDIS_MAXMEMORY",
        ),
    ],
)
def test_a_bad_shell_bound_value_is_one_line_naming_its_key(edit, key: str) -> None:
    with pytest.raises(DeployError) as refused:
        parse_config(edit(GOOD_CONFIG), Path("/x/deploy.toml"))
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"/x/deploy.toml: {key} ")


@pytest.mark.parametrize("size", ["200mb", "1GB", "1048576", "512k"])
def test_plain_values_still_load(size: str) -> None:
    text = GOOD_CONFIG.replace("[app]", '[app]\nremote_dir = "/home/deploy/.linkpulse_v2"')
    config = parse_config(
        text + f'\n[swarm.settings]\nREDIS_MAXMEMORY = "{size}"\n', Path("/x/deploy.toml")
    )
    assert config.app.remote_dir == "/home/deploy/.linkpulse_v2"
    assert config.swarm.settings["REDIS_MAXMEMORY"] == size


def test_the_deploy_user_reaches_root_only_as_argv() -> None:
    admin = FakeHost(otherwise=OK)
    admin.answer("id", "-u", exit_code=1)
    admin.answer("getent", "passwd", stdout="ops_1:x:1001:1001::/home/ops_1:/bin/bash\n")
    create_deploy_user(admin, "ops_1", "ssh-ed25519 AAAA deploy")  # type: ignore[arg-type]

    assert len(admin.commands) == len(admin.argvs)  # nothing went to the shell as text
    assert all("~" not in part for argv in admin.argvs for part in argv)
    assert ["useradd", "--create-home", "--shell", "/bin/bash", "ops_1"] in admin.argvs
    assert ["tee", "/home/ops_1/.ssh/authorized_keys"] in admin.argvs
    assert "ssh-ed25519 AAAA deploy\n" in admin.stdins
    assert ["chmod", "600", "/home/ops_1/.ssh/authorized_keys"] in admin.argvs


def test_init_swarm_script_keeps_the_env_path_one_word(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    env_file = f"{tmp_path}/a'$(touch {marker})'b/.env"
    result = subprocess.run(
        ["sh", "-c", secrets_script(env_file)], capture_output=True, text=True, check=False
    )
    assert not marker.exists()
    assert result.returncode == 3
    assert result.stderr == f"no readable {env_file}: run provision first\n"


def test_redis_maxmemory_reaches_redis_as_one_argument(tmp_path: Path) -> None:
    """The redis service's own command, run by sh as its container would (a stand-in
    redis-server prints its arguments), with a value that would run a command if interpolated."""
    marker = tmp_path / "ran"
    value = HOSTILE.format(marker=marker)
    settings = {"REDIS_PASSWORD": "pw", "VISITOR_HASH_SALT": "s", "REDIS_MAXMEMORY": value}
    settings["GRAFANA_ADMIN_PASSWORD"] = "g"
    redis = compose_config([REPO / "docker-compose.yml"], None, REPO, settings)["services"]["redis"]
    stand_in = tmp_path / "redis-server"
    stand_in.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    stand_in.chmod(0o755)
    # compose writes $$ for a literal $ that the container's shell expands; the container's /data
    # (where it keeps its password file) is a scratch folder here.
    argv = [
        part.replace("$$", "$").replace("cd /data", f"cd {tmp_path}")
        for part in [*redis["entrypoint"], *redis["command"]]
    ]
    environment = {"PATH": f"{tmp_path}:{os.environ['PATH']}", **redis["environment"]}
    result = subprocess.run(argv, env=environment, capture_output=True, text=True, check=True)
    arguments = result.stdout.splitlines()
    assert not marker.exists()
    assert arguments[arguments.index("--maxmemory") + 1] == value, json.dumps(arguments)
