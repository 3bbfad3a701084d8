"""Who a create counts against, the quota window's Retry-After, and the lifetime policy."""

from __future__ import annotations

import pytest

from web import quotas
from web.errors import ApiError
from web.store import CreateQuota
from web.use_cases import lifetime_within_policy

SALT = "unit-salt-0123456789"


@pytest.mark.parametrize(
    ("address", "identity"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),  # IPv4-mapped counts as the IPv4 client
        ("", ""),
    ],
)
def test_client_identity(address: str, identity: str) -> None:
    assert quotas.client_identity(address) == identity


def test_the_quota_key_never_holds_the_address() -> None:
    quota = quotas.create_quota("203.0.113.9", 10, exempt=False, salt=SALT)
    assert quota is not None
    assert "203.0.113.9" not in quota.key(0)
    assert quota == quotas.create_quota("203.0.113.9", 10, exempt=False, salt=SALT)
    assert quota != quotas.create_quota("203.0.113.10", 10, exempt=False, salt=SALT)


def test_exempt_clients_and_quota_zero_have_no_quota() -> None:
    assert quotas.create_quota("203.0.113.9", 10, exempt=True, salt=SALT) is None
    assert quotas.create_quota("203.0.113.9", 0, exempt=False, salt=SALT) is None


@pytest.mark.parametrize(
    ("now_ms", "retry_after_s", "window"),
    [(0, 3600, 0), (3_599_999, 1, 0), (3_600_000, 3600, 1), (5_400_000, 1800, 1)],
)
def test_the_window_and_the_seconds_until_it_ends(
    now_ms: int, retry_after_s: int, window: int
) -> None:
    quota = CreateQuota(client="c", per_window=1)
    assert quota.retry_after_s(now_ms) == retry_after_s
    assert quota.key(now_ms).endswith(f":{window}")


def test_lifetime_policy() -> None:
    assert lifetime_within_policy(None, 0) is None
    assert lifetime_within_policy(60, 0) == 60
    assert lifetime_within_policy(None, 2) == 2 * 86_400
    assert lifetime_within_policy(2 * 86_400, 2) == 2 * 86_400
    with pytest.raises(ApiError) as refused:
        lifetime_within_policy(2 * 86_400 + 1, 2)
    assert refused.value.status == 422
    assert refused.value.field == "expires_in"
