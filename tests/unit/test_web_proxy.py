"""Client address rewriting only for requests from a trusted proxy."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from web.config import trusted_proxy_networks
from web.proxy import TrustedProxyFix


def _client_address(
    trusted: str, peer: str, forwarded_for: str | None, hops: int = 1
) -> str | None:
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        seen.update(environ)
        return [b""]

    environ: dict[str, Any] = {"REMOTE_ADDR": peer}
    if forwarded_for is not None:
        environ["HTTP_X_FORWARDED_FOR"] = forwarded_for
    TrustedProxyFix(app, trusted_proxy_networks(trusted), hops)(environ, lambda *a: None)  # type: ignore[arg-type]
    return seen.get("REMOTE_ADDR")


def test_trusted_proxy_supplies_the_client_address() -> None:
    assert _client_address("127.0.0.1", "127.0.0.1", "198.51.100.7") == "198.51.100.7"


def test_a_client_cannot_prepend_a_fake_address_behind_the_proxy() -> None:
    # nginx appends the address it saw; whatever the client sent comes before it.
    assert _client_address("10.0.0.0/8", "10.1.2.3", "6.6.6.6, 198.51.100.7") == "198.51.100.7"


def test_untrusted_peer_keeps_its_socket_address() -> None:
    assert _client_address("127.0.0.1", "203.0.113.5", "198.51.100.7") == "203.0.113.5"


def test_star_trusts_every_peer() -> None:
    assert _client_address("*", "203.0.113.5", "198.51.100.7") == "198.51.100.7"


def test_two_hops_take_the_second_address_from_the_right() -> None:
    assert (
        _client_address("127.0.0.1", "127.0.0.1", "198.51.100.7, 10.0.0.2", hops=2)
        == "198.51.100.7"
    )


def test_trusted_peer_without_header_keeps_its_address() -> None:
    assert _client_address("127.0.0.1", "127.0.0.1", None) == "127.0.0.1"


@pytest.mark.parametrize("value", ["127.0.0.1", "127.0.0.1, ::1", "10.0.0.0/8,172.16.0.0/12"])
def test_proxy_lists_parse(value: str) -> None:
    assert trusted_proxy_networks(value)


def test_bad_proxy_list_is_refused() -> None:
    with pytest.raises(ValueError, match="IPs/CIDRs"):
        trusted_proxy_networks("nginx")
