"""Faults the fault tier injects into the running stack, each a function that returns when the
fault is over (the process killed, the pause lifted, the network back).

They act through the Docker CLI on this stack's containers only (compose project of the
running tier), never by name patterns across the engine.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable

from tests.stack.fault_figures import FaultFigures
from tests.stack.stack import compose, docker, up
from tests.stack.stream_fill import fill_click_stream

# Kills processes inside a container by their command line, from a Python process there (the
# app image has no ps/pkill). argv[1]: a part of the command line; argv[2]: 'child' to kill
# only processes whose parent is not PID 1 (gunicorn's workers, not its master). PID 1 is
# docker-init, whose command line names the same program: never it, nor this process. Each PID is
# printed before the kill: when the victim is the container's main program, docker-init exits with
# it and the engine SIGKILLs this process too, often before it could print afterwards.
_KILL_BY_COMMAND = """
import os, signal, sys
part, only_children = sys.argv[1].encode(), sys.argv[2] == "child"
for pid in filter(str.isdigit, os.listdir("/proc")):
    if int(pid) in (1, os.getpid()):
        continue
    try:
        argv = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\\0", b" ")
        ppid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
    except OSError:
        continue
    if part in argv and (not only_children or ppid != 1):
        print(pid, flush=True)
        os.kill(int(pid), signal.SIGKILL)
"""


def containers(service: str) -> list[str]:
    return compose("ps", "--quiet", "--status", "running", service).split()


def _kill_inside(service: str, command_part: str, only_children: bool) -> int:
    killed = 0
    for container in containers(service):
        command = ["exec", container, "python", "-c", _KILL_BY_COMMAND, command_part]
        try:
            output = docker(*command, "child" if only_children else "all")
        except subprocess.CalledProcessError as stopped:
            # 137: the container stopped with its main program and took this exec with it.
            if stopped.returncode != 137:
                raise
            output = stopped.stdout or ""
        killed += len(output.split())
    assert killed, f"no {command_part!r} process found in {service}"
    return killed


def kill_worker() -> None:
    """kill -9 the worker process; docker-init exits with it and the restart policy restarts."""
    _kill_inside("worker", "python -m worker", only_children=False)
    time.sleep(3)
    up()


def kill_worker_repeatedly(rounds: int = 3) -> None:
    for _ in range(rounds):
        kill_worker()


def scale_workers() -> None:
    up("--scale", "worker=3")
    time.sleep(3)
    up("--scale", "worker=1")


def kill_gunicorn_workers() -> None:
    """kill -9 every gunicorn worker process; the master forks new ones."""
    _kill_inside("web", "bin/gunicorn", only_children=True)
    time.sleep(3)


def restart_web() -> None:
    compose("restart", "web")
    up()


def restart_redis() -> None:
    compose("restart", "redis")
    up()


def kill_redis() -> None:
    """kill -9 redis-server: only what AOF holds survives, which is every acknowledged write."""
    for container in containers("redis"):
        docker("kill", "--signal", "KILL", container)
    time.sleep(1)
    up()


def pause_redis(seconds: float = 10) -> None:
    paused = containers("redis")
    for container in paused:
        docker("pause", container)
    try:
        time.sleep(seconds)
    finally:
        for container in paused:
            docker("unpause", container)


def _app_network(container: str) -> str:
    networks = json.loads(
        docker("inspect", "--format", "{{json .NetworkSettings.Networks}}", container)
    )
    return next(name for name in networks if name.endswith("_app"))


def cut_web_from_redis(seconds: float = 10) -> None:
    """Disconnect web from the app network (where Redis is) for a while, then reconnect."""
    web = containers("web")
    networks = {container: _app_network(container) for container in web}
    for container, network in networks.items():
        docker("network", "disconnect", network, container)
    try:
        time.sleep(seconds)
    finally:
        for container, network in networks.items():
            docker("network", "connect", "--alias", "web", network, container)


# A fault returns once it is over; one that measures more than its traffic shows returns that.
FAULTS: dict[str, Callable[[], FaultFigures | None]] = {
    "kill -9 worker": kill_worker,
    "restart redis": restart_redis,
    "pause redis 10 s": pause_redis,
    "kill -9 worker x3": kill_worker_repeatedly,
    "scale workers 1-3-1": scale_workers,
    "kill -9 gunicorn workers": kill_gunicorn_workers,
    "restart web": restart_web,
    "kill -9 redis": kill_redis,
    "cut web from redis 10 s": cut_web_from_redis,
    "fill click stream, workers stopped": fill_click_stream,
}
# What `make test` runs: the cheapest faults, a couple of minutes in all. `make chaos`: all.
SHORT_PROFILE = ("kill -9 worker", "restart redis", "pause redis 10 s")
