"""The failure bundle: names from the VM never leave the bundle's folder, which is 0700 here."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from deploy.bundle import Bundle, file_stem
from deploy.layout import Layout
from deploy.vm import Container
from tests.support.fake_host import OK, FakeHost


def _container(name: str) -> Container:
    return Container("c0ffee", name, "web", "img:tag", "sha256:1", "exited", "unhealthy", "")


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("linkpulse-web-2", "linkpulse-web-2"),
        ("../../.ssh/authorized_keys", "_.._.._.ssh_authorized_keys"),
        ("..", "_.."),
        ("-rf", "_-rf"),
        ("a b;$(x)", "a_b___x_"),
        ("", "_"),
    ],
)
def test_file_stem_is_one_plain_file_name(name: str, stem: str) -> None:
    assert file_stem(name) == stem


def test_a_hostile_container_name_stays_inside_the_bundle(tmp_path: Path) -> None:
    remote = FakeHost(otherwise=OK)
    bundle = Bundle(remote, Layout("/srv/linkpulse"), "a" * 40)  # type: ignore[arg-type]
    bundle.add_containers([_container("../../../../home/deploy/.bashrc")])

    local = bundle.fetch(tmp_path / "bundles")

    logs = [line.split(" > ")[1].split(" 2>")[0] for line in remote.commands if " > " in line]
    assert logs == [f"{bundle.path}/_.._.._.._.._home_deploy_.bashrc.log"]
    assert all(Path(path).parent == Path(bundle.path) for path in remote.files)
    written = {p.parent for p in tmp_path.rglob("*") if p.is_file()}
    assert written == {local}


def test_the_local_bundle_folder_is_the_owners_alone(tmp_path: Path) -> None:
    remote = FakeHost(otherwise=OK)
    bundle = Bundle(remote, Layout("/srv/linkpulse"), "a" * 40)  # type: ignore[arg-type]
    bundle.write("reason.txt", "health check failed\n")
    old = os.umask(0o022)
    try:
        local = bundle.fetch(tmp_path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(local.stat().st_mode) == 0o700
    assert (local / "reason.txt").read_text() == "health check failed\n"
