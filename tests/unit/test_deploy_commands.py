"""The VM target's Docker commands, as the strings the VM's shell receives (deploy/commands.py)."""

from __future__ import annotations

from deploy import commands
from deploy.layout import Layout
from deploy.ssh import command_line

SHA = "c" * 40
LAYOUT = Layout("/srv/link pulse")  # a space: each argument must reach the VM as one word


def test_compose_runs_the_release_s_files_with_the_vm_s_secrets() -> None:
    release = f"'/srv/link pulse/releases/{SHA}'"
    assert command_line(commands.compose(LAYOUT, SHA, "up", "--detach", "web")) == (
        f"docker compose -p linkpulse --project-directory {release} "
        f"-f {release[:-1]}/docker-compose.yml' -f {release[:-1]}/compose.vm.json' "
        f"--env-file '/srv/link pulse/.env' --env-file {release[:-1]}/release.env' "
        "up --detach web"
    )


def test_container_ids_are_the_project_s_alone_and_running_unless_asked() -> None:
    project = "--filter label=com.docker.compose.project=linkpulse"
    assert command_line(commands.container_ids()) == f"docker ps --quiet {project}"
    assert command_line(commands.container_ids("web", include_stopped=True)) == (
        f"docker ps --quiet --all {project} --filter label=com.docker.compose.service=web"
    )


def test_stop_gives_the_grace_period_and_remove_forces_only_when_asked() -> None:
    assert command_line(commands.stop(["a1", "b2"], 30)) == "docker stop --time 30 a1 b2"
    assert command_line(commands.remove(["a1"])) == "docker rm a1"
    assert command_line(commands.remove(["a1"], force=True)) == "docker rm --force a1"


def test_image_layers_asks_for_the_layer_list_as_json() -> None:
    assert command_line(commands.image_layers("r/app:1")) == (
        "docker image inspect --format '{{json .RootFS.Layers}}' r/app:1"
    )
