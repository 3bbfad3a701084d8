"""alert-sink, the stack's webhook receiver, as a real HTTP server fed Alertmanager's payloads."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from monitoring.alert_sink import IDLE_TIMEOUT_SECONDS, MAX_BODY_BYTES, serve

pytestmark = pytest.mark.integration


def running_sink(idle_timeout: float = IDLE_TIMEOUT_SECONDS) -> Iterator[str]:
    server = serve("127.0.0.1", 0, idle_timeout)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sink() -> Iterator[str]:
    yield from running_sink()


def webhook(status: str) -> dict[str, object]:
    """The shape Alertmanager's webhook_config posts (version 4)."""
    return {
        "version": "4",
        "receiver": "team-pager",
        "status": status,
        "groupLabels": {"alertname": "ServiceAbsent"},
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "ServiceAbsent", "job": "worker", "severity": "critical"},
                "annotations": {"summary": "No click worker is up"},
                "startsAt": "2026-01-01T00:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
            }
        ],
    }


def test_records_firing_then_resolved_in_order(sink: str) -> None:
    assert requests.get(f"{sink}/notifications", timeout=5).json() == []
    for status in ("firing", "resolved"):
        response = requests.post(f"{sink}/critical", json=webhook(status), timeout=5)
        assert response.status_code == 200
        assert response.json() == {"recorded": 1}

    notifications = requests.get(f"{sink}/notifications", timeout=5).json()
    assert [(n["path"], n["receiver"], n["status"]) for n in notifications] == [
        ("/critical", "team-pager", "firing"),
        ("/critical", "team-pager", "resolved"),
    ]
    assert notifications[0]["alerts"][0]["labels"]["job"] == "worker"


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"status": "firing"}', b""])
def test_a_body_that_is_no_webhook_payload_is_refused_and_not_recorded(
    sink: str, body: bytes
) -> None:
    response = requests.post(
        f"{sink}/critical", data=body, headers={"Content-Type": "application/json"}, timeout=5
    )
    assert response.status_code == 400
    assert "error" in response.json()
    assert requests.get(f"{sink}/notifications", timeout=5).json() == []


def test_health_check_and_unknown_paths(sink: str) -> None:
    assert requests.get(f"{sink}/-/healthy", timeout=5).status_code == 200
    assert requests.get(f"{sink}/elsewhere", timeout=5).status_code == 404


# --- Hostile clients: the container has 64 MiB and 32 pids (docker-compose.yml) -----------------
CONTAINER_MEMORY_BYTES = 64 << 20


@pytest.fixture
def impatient_sink() -> Iterator[str]:
    """A sink that closes idle connections after one second instead of five."""
    yield from running_sink(idle_timeout=1.0)


def deliver(url: str, payload: dict[str, object], deadline_seconds: float = 60) -> None:
    """POST as Alertmanager does: a 5xx or a refused connection is retried, anything else final."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            response = requests.post(url, json=payload, timeout=10)
            if response.status_code < 500:
                assert response.status_code == 200, response.text
                return
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, f"{url} took no delivery in {deadline_seconds} s"
        time.sleep(0.2)


def idle_connections(url: str, count: int) -> list[socket.socket]:
    host, port = url.removeprefix("http://").split(":")
    return [socket.create_connection((host, int(port)), timeout=30) for _ in range(count)]


def test_idle_connections_are_closed_and_never_stop_the_sink(impatient_sink: str) -> None:
    deliver(f"{impatient_sink}/critical", webhook("firing"))
    idle = idle_connections(impatient_sink, 30)  # more than its handlers, and than its pids
    try:
        deliver(f"{impatient_sink}/critical", webhook("resolved"))
        for connection in idle:  # each is answered 503 or closed idle; none is held open
            while connection.recv(4096):
                pass
    finally:
        for connection in idle:
            connection.close()
    notifications = requests.get(f"{impatient_sink}/notifications", timeout=5).json()
    assert [n["status"] for n in notifications] == ["firing", "resolved"]


def test_a_body_over_the_limit_is_refused_with_413_before_it_is_read(sink: str) -> None:
    host, port = sink.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.putrequest("POST", "/critical")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
    connection.endheaders()  # and no body at all: the answer must not wait for it
    response = connection.getresponse()
    assert response.status == 413
    assert "error" in json.loads(response.read())
    connection.close()
    assert requests.get(f"{sink}/notifications", timeout=5).json() == []


def large_webhook(index: int) -> dict[str, object]:
    """A valid notification of just under 1 MiB: 480 alerts with a 2 KB label each."""
    payload = webhook("firing")
    payload["alerts"] = [
        {"status": "firing", "labels": {"alertname": f"Large{index}", "detail": "x" * 2000}}
        for _ in range(480)
    ]
    assert len(json.dumps(payload)) < MAX_BODY_BYTES
    return payload


def deliver_at_once(url: str, indices: range) -> None:
    senders = [
        threading.Thread(target=deliver, args=(url, large_webhook(index))) for index in indices
    ]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()


def peak_memory_bytes(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(kib) * 1024


def test_large_notifications_keep_the_sink_within_its_memory_and_keep_what_it_had(
    tmp_path: Path,
) -> None:
    log = tmp_path / "alert-sink.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitoring.alert_sink", "0"], stdout=output, stderr=output
        )
    try:
        deadline = time.monotonic() + 30
        while '"listening"' not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "alert-sink did not start listening"
            time.sleep(0.05)
        port = json.loads(log.read_text().splitlines()[0])["port"]
        url = f"http://127.0.0.1:{port}/critical"
        deliver(url, webhook("firing"))

        deliver_at_once(url, range(8))  # a few, twice its handlers at once
        notifications = requests.get(f"http://127.0.0.1:{port}/notifications", timeout=10).json()
        assert notifications[0]["alerts"][0]["labels"]["job"] == "worker"
        assert len(notifications) == 9

        # Kept as parsed objects (about 3.4 MiB each), these would pass its memory limit.
        deliver_at_once(url, range(8, 24))
        assert process.poll() is None, log.read_text()[-2000:]
        assert peak_memory_bytes(process.pid) < CONTAINER_MEMORY_BYTES
        notifications = requests.get(f"http://127.0.0.1:{port}/notifications", timeout=10).json()
        newest = {n["alerts"][0]["labels"]["alertname"] for n in notifications[-8:]}
        assert newest <= {f"Large{index}" for index in range(8, 24)}
        print(f"alert-sink peak memory {peak_memory_bytes(process.pid) / 2**20:.1f} MiB")
    finally:
        process.terminate()
        process.wait(timeout=10)
