"""docs/deploy.md's first-deploy section is what the rehearsal runs (rehearsal/
first_deploy.py); here, cheaply, its settings match the rehearsal's and the blocks before the
first `python -m deploy` write a key pin and a configuration the tool accepts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from deploy.config import load_config
from rehearsal import first_deploy

REPO = Path(__file__).resolve().parents[2]
MARKDOWN = first_deploy.read(REPO)


def test_the_rehearsal_gives_every_setting_the_docs_name() -> None:
    given = first_deploy.values(Path("/w"), "ssh-ed25519 AAAA", "http://127.0.0.1:1")
    assert sorted(first_deploy.setting_names(MARKDOWN)) == sorted(given)


def test_the_section_reaches_provision_release_and_deploy_in_that_order() -> None:
    commands = "\n".join(first_deploy.blocks(first_deploy.section(MARKDOWN), "fresh-vm"))
    verbs = ["python -m deploy provision", "python -m deploy release", "python -m deploy deploy"]
    positions = [commands.find(verb) for verb in verbs]
    assert -1 not in positions, positions
    assert positions == sorted(positions), positions
    assert ". .venv/bin/activate" in commands.split(verbs[0])[0]


def test_a_setting_the_runner_does_not_give_is_refused() -> None:
    given = first_deploy.values(Path("/w"), "ssh-ed25519 AAAA", "http://127.0.0.1:1")
    del given["SSH_PORT"]
    with pytest.raises(first_deploy.DocError, match="SSH_PORT"):
        first_deploy.script(MARKDOWN, given)


@pytest.mark.parametrize(("port", "pinned_as"), [(22, "127.0.0.1"), (2222, "[127.0.0.1]:2222")])
def test_the_key_pin_and_configuration_steps_write_what_the_tool_accepts(
    tmp_path: Path, port: int, pinned_as: str
) -> None:
    given = first_deploy.values(tmp_path, "ssh-ed25519 AAAAC3Nza", "http://127.0.0.1:28080")
    given["SSH_PORT"] = str(port)
    text = first_deploy.script(MARKDOWN, given, stop_at="python -m deploy")
    subprocess.run(["bash", "-c", text], cwd=tmp_path, check=True, capture_output=True)

    config_dir = Path(given["CONFIG_DIR"])
    assert (config_dir / "known_hosts").read_text() == f"{pinned_as} ssh-ed25519 AAAAC3Nza\n"
    config = load_config(config_dir / "deploy.toml")
    assert config.host.port == port
    assert config.host.identity_file == config_dir / "id_deploy"
    assert (config_dir / "id_deploy.pub").is_file()
    assert config.host.provision_user == "root"
    assert config.host.provision_identity_file == Path(given["ROOT_KEY"])
    assert config.registry.image_prefix == given["IMAGE_PREFIX"]
    assert config.registry.pull_username == given["PULL_USER"]
    assert config.registry.pull_password_file == Path(given["PULL_PASSWORD_FILE"])
    assert config.app.public_url == given["PUBLIC_URL"]
