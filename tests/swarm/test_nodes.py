"""The stack on a three-node Docker Swarm of VM stand-ins, behind an external load balancer:
web and worker spread over the nodes, and a node lost under load (a power cut) costs a few
requests in flight, not the site, no acknowledged link and no click. `make test-swarm-nodes`
runs this; the lines it prints are the figures docs/scaling.md quotes.

Three managers (Raft keeps its quorum with one lost), node 1 labelled for state (Redis,
Prometheus, Alertmanager); nginx runs on every node (global) and the balancer (HAProxy with
active health checks) sends each request to a node that answers.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.stack.stack import REPO_ROOT, wait_until
from tests.swarm.cluster import Cluster, Load, LoadResult, read_env
from tests.swarm.nodes import BALANCER_IP, SUBNET, Balancer, Node

pytestmark = [pytest.mark.swarm_nodes, pytest.mark.timeout(1800)]

NODES = 3
BALANCER_PORT = 38180
SCALED = {"web": 6, "worker": 3}
# The node-loss goals (issue 19): failed share of the drill's requests, and how long Swarm may
# take to run every replica again on the nodes left.
MAX_FAILED_RATIO = 0.01
REPLICAS_BACK_S = 60
# Links created per second during the node loss, to check that none acknowledged is lost.
WRITES = 2


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    env_file = Path(os.environ.get("SWARM_ENV_FILE") or REPO_ROOT / "build/test-swarm-nodes.env")
    if not env_file.exists():
        pytest.skip("no env file (make test-swarm-nodes creates build/test-swarm-nodes.env)")
    port = int(read_env(env_file)["HTTP_PORT"])
    nodes = [Node(number, ports={}) for number in range(1, NODES + 1)]
    build = REPO_ROOT / "build"
    cluster = Cluster.create(env_file, build, nodes, f"http://127.0.0.1:{BALANCER_PORT}")
    try:
        cluster.init()
        Balancer(BALANCER_PORT, cluster.hosts.workdir).start(nodes, port)
        cluster.start_stack(
            {"redis": 1, "web": 2, "worker": 1, "nginx": NODES}, 420, TRUSTED_PROXIES=BALANCER_IP
        )
        yield cluster
    finally:
        cluster.tear_down()


def test_the_state_services_run_on_the_labelled_node(cluster: Cluster) -> None:
    for service in ("redis", "prometheus", "alertmanager"):
        assert set(cluster.placement(service)) == {cluster.state_node.name}


def test_scaling_spreads_web_and_worker_over_every_node(
    cluster: Cluster, codes: list[str], served: LoadResult
) -> None:
    with Load(cluster.base_url, codes).running() as result:
        started = time.monotonic()
        cluster.scale(SCALED)
        cluster.wait_converged(SCALED)
        elapsed = time.monotonic() - started
    served.add(result)
    placement = {name: dict(cluster.placement(name)) for name in (*SCALED, "nginx")}
    print(
        f"\nswarm nodes: scale web 2->6, worker 1->3: {elapsed:.1f} s, {result.requests} "
        f"requests, {len(result.failures)} failed; placement {placement}"
    )
    assert result.failures == []
    every_node = {node.name for node in cluster.nodes}
    for name in (*SCALED, "nginx"):
        assert set(placement[name]) == every_node, f"{name} is not on every node: {placement}"


def test_nginx_keys_on_the_client_the_balancer_saw_not_a_forged_header(cluster: Cluster) -> None:
    """TRUSTED_PROXIES is the balancer: nginx takes the client from the X-Forwarded-For HAProxy
    appends to, and the address a client wrote there itself is ignored."""
    request_id = f"trusted-proxies-{uuid.uuid4().hex}"
    forged = "198.51.100.7"
    response = requests.get(
        f"{cluster.base_url}/readyz",
        headers={"X-Request-ID": request_id, "X-Forwarded-For": forged},
        timeout=10,
    )
    assert response.status_code == 200

    def logged() -> dict[str, object] | None:
        for node, container in cluster.tasks("nginx"):
            for line in node.docker("logs", container["Id"]).splitlines():
                if request_id in line:
                    entry: dict[str, object] = json.loads(line)
                    return entry
        return None

    entry = wait_until(logged, "nginx's log line of the request")
    # The host's address on the nodes' network: the client HAProxy saw.
    gateway = SUBNET.rsplit(".", 1)[0] + ".1"
    print(f"\ntrusted proxies: nginx logged remote_addr {entry['remote_addr']} (forged {forged})")
    assert entry["remote_addr"] == gateway


def _clicks(cluster: Cluster, code: str) -> int:
    response = requests.get(f"{cluster.base_url}/api/links/{code}", timeout=10)
    assert response.status_code == 200, response.text
    return int(response.json()["clicks"])


def _failed_by_code(result: LoadResult) -> dict[str, int]:
    failed: dict[str, int] = {}
    for failure in result.failures:
        code = failure.split(":", 1)[0]
        failed[code] = failed.get(code, 0) + 1
    return failed


def _lost_links(cluster: Cluster, created: list[str]) -> list[str]:
    """The acknowledged links that no longer redirect."""
    return [
        code
        for code in created
        if requests.get(f"{cluster.base_url}/{code}", allow_redirects=False, timeout=10).status_code
        != 302
    ]


def _extra_clicks(cluster: Cluster, codes: list[str], served: LoadResult) -> dict[str, int]:
    """Each link's clicks beyond its served redirects, once the worker has counted those. A
    request whose answer was lost with a node may have been counted before it was: a link's
    clicks lie between its served redirects and those plus its failed ones."""
    expected = {code: served.clicks[code] for code in codes}
    for code in codes:
        wait_until(
            lambda code=code: _clicks(cluster, code) >= expected[code],
            f"{expected[code]} clicks of {code}",
            120,
        )
    return {code: _clicks(cluster, code) - expected[code] for code in codes}


def test_a_node_lost_under_load_costs_only_requests_in_flight(
    cluster: Cluster, codes: list[str], served: LoadResult
) -> None:
    """A node that runs web and worker tasks but not the state is powered off mid-load."""
    victim = next(
        node
        for node in cluster.nodes
        if node != cluster.state_node
        and cluster.placement("web")[node.name]
        and cluster.placement("worker")[node.name]
    )
    with Load(cluster.base_url, codes, writes=WRITES).running() as result:
        wait_until(lambda: result.requests >= 200, "200 requests before the power cut")
        cluster.lost.add(victim.name)
        victim.kill()
        killed = time.monotonic()
        wait_until(lambda: not cluster.missing_replicas(), "every replica on the nodes left", 180)
        back_s = time.monotonic() - killed
        # Traffic on the nodes left, with the lost worker's pending events claimed meanwhile.
        sent = result.requests
        wait_until(lambda: result.requests >= sent + 400, "400 requests after the recovery")
    served.add(result)

    lost_links = _lost_links(cluster, result.created)
    extra = _extra_clicks(cluster, codes, served)
    exact = not any(extra.values())
    ratio = len(result.failures) / result.requests
    print(
        f"\nnode loss: {result.requests:,} requests, {len(result.failures)} failed "
        f"({ratio:.2%}), {len(lost_links)} lost links, "
        f"clicks {'exact' if exact else f'exact but for {sum(extra.values())} of failed requests'}"
        f", replicas back in {back_s:.1f} s"
    )
    if result.failed_at:
        window = (min(result.failed_at) - killed, max(result.failed_at) - killed)
        print(f"node loss: failures from {window[0]:+.1f} s to {window[1]:+.1f} s of the cut")
        print(f"node loss: failures {sorted(set(result.failures))[:12]}")
    assert lost_links == []
    failed = _failed_by_code(served)
    assert all(0 <= extra[code] <= failed.get(code, 0) for code in codes), (extra, failed)
    assert ratio <= MAX_FAILED_RATIO
    assert back_s <= REPLICAS_BACK_S


def test_the_lost_node_rejoins_with_its_global_tasks_only(cluster: Cluster) -> None:
    """Swarm gives a rejoined node its global tasks (nginx, node-exporter) but moves no running
    replica onto it."""
    (returning,) = [node for node in cluster.hosts.nodes if node.name in cluster.lost]
    returning.power_on()
    cluster.lost.discard(returning.name)
    started = time.monotonic()
    wait_until(lambda: not cluster.missing_replicas(), "the rejoined node's global tasks", 180)
    print(
        f"\nswarm nodes: {returning.name} rejoined, its global tasks up in "
        f"{time.monotonic() - started:.1f} s; web there: {cluster.placement('web')[returning.name]}"
    )
    assert cluster.placement("nginx")[returning.name] == 1
    assert cluster.placement("web")[returning.name] == 0


@pytest.mark.slow
def test_service_update_force_rebalances_onto_the_rejoined_node(
    cluster: Cluster, codes: list[str], served: LoadResult
) -> None:
    """The operator's step after a rejoin: a rolling update that places every task again."""
    (rejoined,) = [node for node in cluster.nodes if not cluster.placement("web")[node.name]]
    with Load(cluster.base_url, codes).running() as result:
        before = cluster.update_status("web")
        started = time.monotonic()
        cluster.manager.docker("service", "update", "--detach", "--force", cluster.service("web"))
        assert cluster.wait_update("web", before, {"completed", "paused"}) == "completed"
        cluster.wait_converged({"web": SCALED["web"]})
        elapsed = time.monotonic() - started
    print(
        f"swarm nodes: service update --force web: {elapsed:.1f} s, {result.requests} requests, "
        f"{len(result.failures)} failed; web {dict(cluster.placement('web'))}"
    )
    served.add(result)
    assert result.failures == []
    assert cluster.placement("web")[rejoined.name] > 0


@pytest.mark.slow
def test_the_state_node_lost_stops_the_site_until_it_returns_with_every_write(
    cluster: Cluster, codes: list[str], served: LoadResult
) -> None:
    """Redis is one primary, pinned with its volume to the state node: while that node is off
    the site answers errors (no other node may run Redis without its data), and when it is back
    Redis replays its append-only file, so no acknowledged link or click is lost."""
    state = cluster.state_node
    with Load(cluster.base_url, codes, writes=WRITES).running() as result:
        wait_until(lambda: result.requests >= 200, "200 requests before the power cut")
        cluster.lost.add(state.name)
        state.kill()
        killed = time.monotonic()
        wait_until(lambda: len(result.failures) >= 100, "the site to fail without Redis", 120)
        failing_s = min(result.failed_at) - killed
        state.power_on()
        cluster.lost.discard(state.name)
        powered = time.monotonic()
        wait_until(lambda: not cluster.missing_replicas(), "every replica with the state back", 240)
        wait_until(
            lambda: requests.get(f"{cluster.base_url}/readyz", timeout=5).status_code == 200,
            "the site to answer with Redis back",
            120,
        )
        back_s = time.monotonic() - powered
    served.add(result)
    kinds = Counter(failure.split(": ", 1)[1][:3] for failure in result.failures)
    print(
        f"\nstate node loss: {result.requests:,} requests, {len(result.failures)} failed "
        f"({dict(kinds)}), from {failing_s:+.1f} s after the cut; node powered on after "
        f"{powered - killed:.1f} s, site and every replica back {back_s:.1f} s later"
    )

    lost_links = _lost_links(cluster, [*codes, *result.created])
    extra = _extra_clicks(cluster, codes, served)
    print(
        f"state node loss: {len(result.created)} links acknowledged, {len(lost_links)} lost; "
        f"clicks {sum(extra.values())} beyond the served redirects of the run (at most its "
        f"failed ones may be)"
    )
    assert lost_links == []
    failed = _failed_by_code(served)
    assert all(0 <= extra[code] <= failed.get(code, 0) for code in codes), (extra, failed)
    with Load(cluster.base_url, codes).running() as after:
        wait_until(lambda: after.requests >= 200, "200 requests with the state back")
    assert after.failures == []


def _across_nodes(cluster: Cluster, network: str, *options: str) -> list[str]:
    """Five requests from a container on node 3 to one on node 2 over a new attachable overlay
    NETWORK (with OPTIONS): each answer's status, or the client's last error line."""
    server, client = cluster.nodes[1], cluster.nodes[2]
    image = next(iter(cluster.task_images("web")))
    python = ["--network", network, "--entrypoint", "python", image]
    url = f"http://{network}-server:8000/"
    fetch = f"import urllib.request as u; print(u.urlopen({url!r}, timeout=5).status)"
    cluster.manager.docker(
        "network", "create", "--driver", "overlay", "--attachable", *options, network
    )
    try:
        server.docker(
            "run", "--detach", "--name", f"{network}-server", *python, "-m", "http.server", "8000"
        )
        answers = []
        for _ in range(5):
            run = subprocess.run(
                ["docker", "exec", client.name, "docker", "run", "--rm", *python, "-c", fetch],
                capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
            answers.append((run.stdout.strip() or run.stderr.strip() or "-").splitlines()[-1])
        return answers
    finally:
        server.docker("rm", "--force", f"{network}-server")
        cluster.manager.docker("network", "rm", network)


@pytest.mark.slow
def test_an_encrypted_overlay_between_nodes_is_measured(cluster: Cluster) -> None:
    """Swarm's `encrypted` overlay option is IPsec (ESP) between the nodes, which a nested engine
    may not get from this kernel. A plain overlay must carry the same requests (else the probe
    proves nothing); whether the encrypted one does is printed for docs/scaling.md."""
    plain = _across_nodes(cluster, "probe-plain")
    encrypted = _across_nodes(cluster, "probe-encrypted", "--opt", "encrypted")
    print(
        f"\nencrypted overlay: {encrypted.count('200')}/5 requests across nodes "
        f"{sorted(set(encrypted))}; plain overlay: {plain.count('200')}/5"
    )
    # The first may find the server not yet listening.
    assert plain[1:] == ["200"] * 4
