"""The storage policy against a real redis-server with a small maxmemory (issue 10, finding 1).

Creates stop at CREATE_MEMORY_LIMIT_PERCENT of maxmemory, well before Redis refuses writes,
so what must keep working near the limit does: redirects and their click events, reads,
deletes and the worker. At maxmemory itself reads, deletes and the worker still work, and
/readyz says Redis refuses writes. Each client has a creation quota per hour.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
import redis
from flask.testing import FlaskClient

from tests.support.redis_server import RedisServer
from tests.support.web_app import MakeApp
from tests.support.worker_harness import drain, make_worker, pending_count, total_clicks

pytestmark = pytest.mark.integration

URL = "https://example.org/a"


@pytest.fixture
def admin(own_redis: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(own_redis.url, decode_responses=True)
    yield client
    client.config_set("maxmemory", 0)
    client.close()


def fill_to_percent(admin: redis.Redis, percent: int) -> None:
    """Set maxmemory so that what Redis uses now is about `percent` of it."""
    used = int(admin.info("memory")["used_memory"])
    admin.config_set("maxmemory", used * 100 // percent)


def out_of_memory(admin: redis.Redis) -> None:
    """Any maxmemory below what is used: Redis refuses writes from now on (noeviction)."""
    admin.config_set("maxmemory", 1)


def create(client: FlaskClient, **body: object) -> str:
    response = client.post("/api/links", json={"url": URL, **body})
    assert response.status_code == 201, response.get_json()
    code: str = response.get_json()["code"]
    return code


def created_with_token(client: FlaskClient) -> tuple[str, str]:
    body = client.post("/api/links", json={"url": URL}).get_json()
    return body["code"], body["manage_token"]


def test_past_the_create_limit_only_creates_are_refused(
    own_redis: RedisServer, admin: redis.Redis, make_app: MakeApp
) -> None:
    client = make_app(REDIS_URL=own_redis.url, CREATE_MEMORY_LIMIT_PERCENT="80").test_client()
    code, token = created_with_token(client)
    other = create(client)
    # Loads the scripts (Redis counts its script cache as used memory) and makes the stream.
    assert client.get(f"/{other}").status_code == 302
    assert client.get("/readyz").status_code == 200

    fill_to_percent(admin, 88)
    refused = client.post("/api/links", json={"url": URL})
    form = client.post("/", data={"url": URL})

    assert refused.status_code == 507
    assert refused.get_json()["error"]["code"] == "storage_full"
    assert int(refused.headers["Retry-After"]) > 0
    assert form.status_code == 507
    assert form.mimetype == "text/html"
    assert client.get(f"/{other}").status_code == 302  # its click event fits in the headroom
    assert client.get(f"/api/links/{other}").status_code == 200
    assert client.get(f"/api/links/{other}/stats").status_code == 200
    assert client.get(f"/s/{other}").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "degraded"}
    deleted = client.delete(f"/api/links/{code}", headers={"Authorization": f"Bearer {token}"})
    assert deleted.status_code == 204
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'linkpulse_link_creates_refused_total{reason="storage_full"} 2.0' in metrics

    admin.config_set("maxmemory", 0)  # room again: no restart needed
    create(client)
    assert client.get("/readyz").get_json() == {"status": "ready"}


def test_at_maxmemory_reads_deletes_and_readyz_tell_the_truth(
    own_redis: RedisServer, admin: redis.Redis, make_app: MakeApp
) -> None:
    client = make_app(REDIS_URL=own_redis.url).test_client()
    code, token = created_with_token(client)
    kept = create(client)
    assert client.get(f"/{kept}").status_code == 302

    out_of_memory(admin)

    # Reads are not queued in MULTI, which Redis refuses entirely when out of memory.
    info = client.get(f"/api/links/{kept}")
    assert info.status_code == 200
    assert info.get_json()["code"] == kept
    assert client.get(f"/api/links/{kept}/stats").status_code == 200
    assert client.get(f"/s/{kept}").status_code == 200
    # Deleting is how space is freed, so it works at the limit.
    deleted = client.delete(f"/api/links/{code}", headers={"Authorization": f"Bearer {token}"})
    assert deleted.status_code == 204
    assert admin.exists(f"lp:link:{code}") == 0
    # A redirect without its click event is never served: a clear 503, no traceback.
    redirect = client.get(f"/{kept}")
    assert redirect.status_code == 503
    assert "Traceback" not in redirect.get_data(as_text=True)
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["error"]["code"] == "redis_refuses_writes"
    assert client.post("/api/links", json={"url": URL}).status_code == 503

    admin.config_set("maxmemory", 0)
    assert client.get("/readyz").get_json() == {"status": "ready"}
    assert client.get(f"/{kept}").status_code == 302


def test_the_worker_counts_and_acks_at_maxmemory(
    own_redis: RedisServer, admin: redis.Redis, make_app: MakeApp
) -> None:
    """Its apply script is allow-oom: a full Redis must not stall the pipeline for good."""
    client = make_app(REDIS_URL=own_redis.url).test_client()
    worker = make_worker(own_redis.url, past_own_pending=True)
    code = create(client)
    for _ in range(5):
        assert client.get(f"/{code}").status_code == 302

    out_of_memory(admin)
    outcome = drain(worker)

    assert outcome.applied == 5
    assert total_clicks(admin, code) == 5
    assert pending_count(admin) == 0


def test_a_client_gets_its_hourly_quota_then_429(make_app: MakeApp) -> None:
    client = make_app(CREATE_QUOTA_PER_HOUR="3").test_client()
    for _ in range(2):
        create(client)
    taken = create(client, alias="mine-1")
    assert client.post("/api/links", json={"url": URL, "alias": taken}).status_code == 409

    refused = client.post("/api/links", json={"url": URL})
    form = client.post("/", data={"url": URL})

    # The 409 cost nothing: three links were created, the next create is refused.
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "quota_exceeded"
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert form.status_code == 429


def test_quota_is_per_client_and_ipv6_clients_share_their_64(make_app: MakeApp) -> None:
    client = make_app(CREATE_QUOTA_PER_HOUR="1", FORWARDED_ALLOW_IPS="192.0.2.1").test_client()

    def status_from(address: str) -> int:
        response = client.post(
            "/api/links", json={"url": URL}, environ_base={"REMOTE_ADDR": address}
        )
        return response.status_code

    assert status_from("198.51.100.1") == 201
    assert status_from("198.51.100.1") == 429
    assert status_from("198.51.100.2") == 201
    assert status_from("2001:db8:1:2::1") == 201
    assert status_from("2001:db8:1:2:ffff::9") == 429  # same /64
    assert status_from("2001:db8:1:3::1") == 201


def test_only_the_proxy_can_exempt_a_client_from_the_quota(make_app: MakeApp) -> None:
    """nginx sends X-Edge-Quota-Exempt: 1 for RATE_LIMIT_EXEMPT clients, and only nginx may."""
    client = make_app(CREATE_QUOTA_PER_HOUR="1", FORWARDED_ALLOW_IPS="192.0.2.1").test_client()
    exempt = {"X-Edge-Quota-Exempt": "1", "X-Forwarded-For": "198.51.100.7"}

    from_proxy = [
        client.post(
            "/api/links", json={"url": URL}, headers=exempt, environ_base={"REMOTE_ADDR": p}
        ).status_code
        for p in ("192.0.2.1",) * 3
    ]
    from_client = [
        client.post(
            "/api/links", json={"url": URL}, headers=exempt, environ_base={"REMOTE_ADDR": p}
        ).status_code
        for p in ("198.51.100.8",) * 2
    ]

    assert from_proxy == [201, 201, 201]
    assert from_client == [201, 429]


def test_quota_zero_means_no_quota(make_app: MakeApp) -> None:
    client = make_app(CREATE_QUOTA_PER_HOUR="0").test_client()
    for _ in range(20):
        create(client)


def test_max_lifetime_is_the_default_and_the_ceiling(make_app: MakeApp) -> None:
    client = make_app(LINK_MAX_LIFETIME_DAYS="2").test_client()

    unlimited = client.post("/api/links", json={"url": URL}).get_json()
    too_long = client.post("/api/links", json={"url": URL, "expires_in": 3 * 86_400})
    short = client.post("/api/links", json={"url": URL, "expires_in": 60})

    created = datetime.fromisoformat(unlimited["created_at"])
    expires = datetime.fromisoformat(unlimited["expires_at"])
    assert (expires - created).total_seconds() == 2 * 86_400
    assert too_long.status_code == 422
    assert too_long.get_json()["error"]["field"] == "expires_in"
    assert short.status_code == 201
