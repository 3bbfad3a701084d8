"""alert-sink, the stack's webhook receiver, as a real HTTP server fed Alertmanager's payloads."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests

from monitoring.alert_sink import serve

pytestmark = pytest.mark.integration


@pytest.fixture
def sink() -> Iterator[str]:
    server = serve("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


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
