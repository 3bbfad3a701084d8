"""The compose stack on a real single-node Docker Swarm: scaling, a rolling update and an
automatic rollback, each under load through nginx with no failed request and every click counted
once; then the deploy tool's day-two code on Swarm (ps, logs and exec; backup and restore; and
rotate-secret, under load too). The node is a VM stand-in with its own engine
(tests/swarm/nodes.py): the host's engine never enters swarm mode. `make test-swarm` builds the
images and runs this; the durations it prints are the figures docs/scaling.md and
docs/operations.md quote.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from backup.snapshot import contents, write_backup
from deploy.containers import SWARM, running_container_argv
from deploy.errors import DeployError
from deploy.exec_in import exec_argv, pick_container
from deploy.layout import Layout
from deploy.logs import LogOptions, logs_argv
from deploy.ps import ps_argv
from deploy.redis_backup import backup, restore
from deploy.swarm_redis import SwarmRedis
from deploy.swarm_rotation import SwarmRotation
from tests.stack.stack import REPO_ROOT, wait_until
from tests.swarm.cluster import (
    BROKEN_HEALTHCHECK,
    STACK,
    Cluster,
    Load,
    LoadResult,
    create_links,
    read_env,
)
from tests.swarm.node_host import NodeHost
from tests.swarm.nodes import Node

pytestmark = [pytest.mark.swarm, pytest.mark.timeout(900)]

SCALED = {"web": 4, "worker": 3}
SERVICES_WITH_SECRETS = ("redis", "redis-exporter", "web", "worker")
# The states an update ends in (docker service inspect's UpdateStatus.State).
UPDATE_ENDS = {"completed", "paused", "rollback_completed", "rollback_paused"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    env_file = Path(os.environ.get("SWARM_ENV_FILE") or REPO_ROOT / "build/test-swarm.env")
    if not env_file.exists():
        pytest.skip("no swarm env file (make test-swarm creates build/test-swarm.env)")
    port = int(read_env(env_file)["HTTP_PORT"])
    node = Node(1, ports={port: port})
    cluster = Cluster.create(env_file, REPO_ROOT / "build", [node], f"http://127.0.0.1:{port}")
    try:
        cluster.init()
        cluster.start_stack({"redis": 1, "web": 2, "worker": 1, "nginx": 1, "prometheus": 1})
        yield cluster
    finally:
        cluster.tear_down()


def _report(step: str, result: LoadResult, seconds: float) -> None:
    print(
        f"\nswarm {step}: {seconds:.1f} s, {result.requests} requests, "
        f"{len(result.failures)} failed"
    )


def test_no_secret_is_in_the_stack_file_or_a_service_spec(cluster: Cluster) -> None:
    env = read_env(cluster.env_file)
    secrets = [env["REDIS_PASSWORD"], env["VISITOR_HASH_SALT"]]
    specs = cluster.manager.docker(
        "service", "inspect", *(cluster.service(name) for name in SERVICES_WITH_SECRETS)
    )
    for text in (cluster.stack_file.read_text(), specs):
        assert not [secret for secret in secrets if secret in text]


def test_redis_exporter_reads_redis_and_the_click_stream_on_swarm(cluster: Cluster) -> None:
    """Its password comes from the Swarm secret; ClickStreamNearCap's data (the stream's length
    from Redis itself) is there without any worker's help."""

    def series(query: str) -> list[dict[str, object]]:
        answer = cluster.prometheus(f"/api/v1/query?query={quote(query)}")
        result: list[dict[str, object]] = answer["result"]
        return result

    wait_until(
        lambda: any(item["value"][1] == "1" for item in series("redis_up")),  # type: ignore[index]
        "Prometheus to scrape redis_up 1 from redis-exporter",
        90,
    )
    wait_until(
        lambda: bool(series('redis_stream_length{stream="lp:clicks"}')),
        "the click stream's length from redis-exporter",
        60,
    )


def test_scaling_under_load_fails_no_request_and_every_replica_is_scraped(
    cluster: Cluster, codes: list[str], served: LoadResult
) -> None:
    with Load(cluster.base_url, codes).running() as result:
        started = time.monotonic()
        cluster.scale(SCALED)
        cluster.wait_converged(SCALED)
        elapsed = time.monotonic() - started
        # The new replicas take a share of the traffic before the load stops.
        sent = result.requests
        wait_until(lambda: result.requests >= sent + 100, "100 more requests on 4 replicas")
    _report("scale web 2->4, worker 1->3", result, elapsed)
    served.add(result)
    assert result.failures == []
    assert result.requests > 0

    for job, service, port in (("web", "web", 8000), ("worker", "worker", 9101)):
        addresses = cluster.task_addresses(service)
        assert len(addresses) == SCALED[service]
        wait_until(
            lambda job=job, addresses=addresses: cluster.scraped_up(job) == addresses,
            f"Prometheus to scrape every {job} replica ({port})",
            90,
        )


def test_a_rolling_update_under_load_fails_no_request(
    cluster: Cluster, codes: list[str], served: LoadResult
) -> None:
    current = next(iter(cluster.task_images("web")))
    release = cluster.derived_image(current, "next", "ENV APP_VERSION=swarm-next")
    with Load(cluster.base_url, codes).running() as result:
        before = {name: cluster.update_status(name) for name in ("web", "worker")}
        started = time.monotonic()
        cluster.update_image("web", release)
        cluster.update_image("worker", release)
        ends = {name: cluster.wait_update(name, before[name], UPDATE_ENDS) for name in before}
        assert ends == {"web": "completed", "worker": "completed"}
        cluster.wait_converged(SCALED)
        elapsed = time.monotonic() - started
    _report("rolling update of web (4) and worker (3)", result, elapsed)
    served.add(result)
    assert result.failures == []
    assert cluster.task_images("web") == {release}
    assert cluster.task_images("worker") == {release}


def test_a_broken_image_is_rolled_back_automatically_under_load(
    cluster: Cluster, codes: list[str], served: LoadResult
) -> None:
    current = next(iter(cluster.task_images("web")))
    broken = cluster.derived_image(current, "broken", BROKEN_HEALTHCHECK)
    with Load(cluster.base_url, codes).running() as result:
        before = cluster.update_status("web")
        started = time.monotonic()
        cluster.update_image("web", broken)
        final = cluster.wait_update("web", before, UPDATE_ENDS)
        cluster.wait_converged({"web": SCALED["web"]})
        elapsed = time.monotonic() - started
    _report("broken web image rolled back", result, elapsed)
    served.add(result)
    assert final == "rollback_completed"
    assert result.failures == []
    assert cluster.task_images("web") == {current}


def test_every_click_of_the_run_is_counted_exactly_once(
    cluster: Cluster, served: LoadResult
) -> None:
    assert served.clicks, "no redirect succeeded in the steps before"

    def clicks(code: str) -> int:
        response = requests.get(f"{cluster.base_url}/api/links/{code}", timeout=10)
        assert response.status_code == 200, response.text
        return int(response.json()["clicks"])

    for code, expected in served.clicks.items():
        wait_until(
            lambda code=code, expected=expected: clicks(code) >= expected,
            f"{expected} clicks of {code}",
            120,
        )
        assert clicks(code) == expected


# --- day two (issue 17): after the load steps, whose counts a restore must not disturb -------

DRILL_CLICKS = 15
LOCK_ROOT = Layout("/tmp/linkpulse-swarm-day-two")


def _swarm_redis(remote: object, _layout: Layout) -> SwarmRedis:
    return SwarmRedis(remote, STACK)  # type: ignore[arg-type]


def _clicks(cluster: Cluster, code: str) -> int | None:
    response = requests.get(f"{cluster.base_url}/api/links/{code}", timeout=10)
    return None if response.status_code == 404 else int(response.json()["clicks"])


def test_ps_logs_and_exec_reach_the_swarm_tasks(cluster: Cluster) -> None:
    host = NodeHost(cluster.manager)
    ps = host.run(ps_argv(SWARM, STACK, ["redis", "web"])).stdout
    assert f"{STACK}_redis.1" in ps
    assert "Running" in ps
    logs = host.run(logs_argv(SWARM, STACK, "redis", LogOptions(since="2h"))).stdout
    assert "Ready to accept connections" in logs
    found = host.run(running_container_argv(SWARM, STACK, "redis")).stdout
    container = pick_container(found, "redis", host.label, SWARM)
    # The password from the Swarm secret, inside the task: redis-cli answers.
    assert host.run(exec_argv(container, ["redis-cli", "PING"])).stdout.strip() == "PONG"


# Slow (minutes): `make test-swarm` runs it; `make test` covers backup and rotation on the
# local stack and the rehearsal's VM.
@pytest.mark.slow
def test_backup_and_restore_on_swarm_count_unprocessed_clicks_once(
    cluster: Cluster,
    tmp_path: Path,
) -> None:
    host = NodeHost(cluster.manager)
    host.run(["mkdir", "-p", LOCK_ROOT.root])
    drill, later = create_links(cluster.base_url, 2)
    cluster.scale({"worker": 0})
    cluster.wait_converged({"worker": 0})
    for _ in range(DRILL_CLICKS):
        requests.get(f"{cluster.base_url}/{drill}", allow_redirects=False, timeout=10)
    started = time.monotonic()
    path = backup(host, LOCK_ROOT, tmp_path, _swarm_redis)  # type: ignore[arg-type]
    took_backup = time.monotonic() - started
    assert Path(f"{path}.sha256").is_file()
    held = contents(SwarmRedis(host, STACK))  # type: ignore[arg-type]
    assert held.stream_length >= DRILL_CLICKS
    cluster.scale({"worker": 1})
    wait_until(lambda: _clicks(cluster, drill) == DRILL_CLICKS, "the drill's clicks counted", 120)
    before = {code: _clicks(cluster, code) for code in (drill, later)}

    fake = write_backup(tmp_path, "not-a-backup.rdb", b"not an RDB\n")  # a right checksum
    for bad, force, said in ((fake, True, "not a backup"), (path, False, "would lose")):
        with pytest.raises(DeployError, match=said):
            restore(host, LOCK_ROOT, bad, force=force, host=_swarm_redis)  # type: ignore[arg-type]
    assert {code: _clicks(cluster, code) for code in before} == before

    started = time.monotonic()
    restored = restore(host, LOCK_ROOT, path, force=True, host=_swarm_redis)  # type: ignore[arg-type]
    took_restore = time.monotonic() - started
    print(
        f"\nswarm backup {took_backup:.1f} s, restore {took_restore:.1f} s: {restored.describe()}"
    )
    wait_until(
        lambda: requests.get(f"{cluster.base_url}/readyz", timeout=5).status_code == 200,
        "web back behind nginx after the restore",
        120,
    )
    # The drill's events were in the stream at backup time: the worker counts them once more
    # from the restored stream, onto the backup's count of 0 for that link.
    wait_until(lambda: _clicks(cluster, drill) == DRILL_CLICKS, "the drill counted after", 120)
    assert _clicks(cluster, drill) == DRILL_CLICKS
    assert _clicks(cluster, later) == 0


# Slow (minutes): `make test-swarm` runs it; `make test` covers backup and rotation on the
# local stack and the rehearsal's VM.
@pytest.mark.slow
def test_rotating_redis_password_on_swarm_fails_no_request_and_loses_no_click(
    cluster: Cluster, codes: list[str]
) -> None:
    host = NodeHost(cluster.manager)
    old = read_env(cluster.env_file)["REDIS_PASSWORD"]
    before = {code: _clicks(cluster, code) or 0 for code in codes}
    with Load(cluster.base_url, codes).running() as result:
        started = time.monotonic()
        SwarmRotation(host, STACK, "/tmp/linkpulse-swarm-rotation", "REDIS_PASSWORD", print).run()
        elapsed = time.monotonic() - started
    _report("rotate-secret REDIS_PASSWORD (versioned secrets)", result, elapsed)
    assert result.failures == []
    assert result.requests > 0
    for code in codes:
        wanted = before[code] + result.clicks.get(code, 0)
        wait_until(
            lambda code=code, n=wanted: _clicks(cluster, code) == n, f"{code}: {wanted}", 120
        )
    secrets = cluster.manager.docker("secret", "ls", "--format", "{{.Name}}").split()
    assert "linkpulse_redis_url_v2" in secrets
    assert "linkpulse_redis_url" not in secrets  # no service mounts it any more
    redis = host.run(running_container_argv(SWARM, STACK, "redis")).stdout.split()[0]
    refused = host.run(
        ["docker", "exec", "--env", f"REDISCLI_AUTH={old}", redis, "redis-cli", "PING"]
    ).stdout
    assert "WRONGPASS" in refused or "NOAUTH" in refused
    assert host.run(exec_argv(redis, ["redis-cli", "PING"])).stdout.strip() == "PONG"
