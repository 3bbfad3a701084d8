"""Probe traffic for the SLO check of a quiet service: evidence when users bring too little.

A first deploy, or one at night, has too few users' requests to judge in a window, and the check
used to wait for max_wait and fail as undecided. While the check runs, the tool sends redirects
of its own through the public port (as the smoke checks do, the way a visitor arrives) at the
pace that fills the users' shortfall: none when users bring enough, so a busy service is judged
by its users only. Probes name the deploy in linkpulse.probe's header; web measures them in
families of their own, which the check reads beside the users' (deploy/gate.py's PROBES).

They follow links the tool creates for the check and deletes with their manage tokens after it:
deleting a link deletes every aggregate of it, and the worker drops a deleted link's clicks still
in the stream (linkpulse/lua/apply_batch.lua), so no link's stats ever count a probe. The links
also expire by themselves, in case this controller dies before it deletes them.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, replace

import requests

from deploy.gate import (
    PROBES,
    Figures,
    Limits,
    Query,
    Reading,
    Verdict,
    describe,
    judge,
    measure,
)
from linkpulse.probe import PROBE_HEADER

LINKS = 4
# Twice the shortfall's pace: Prometheus sees a request only at its next scrape, and a window's
# increase() starts from the first sample in it, so a window holds less than was sent.
MARGIN = 2.0
MAX_RATE = 20.0  # requests per second: probes judge a release, they do not load-test it
SENDERS = 8  # a slow release (300 ms a redirect) must still get MAX_RATE answered
LINK_LIFETIME_S = 3600


def probe_rate(users_requests: float, elapsed_s: float, limits: Limits) -> float:
    """Requests per second that make up what users will not bring to min_requests in a window.

    Users' pace so far is projected over a whole window; the first readings, before Prometheus
    has scraped the new version, see none and start probes at once (a busy service's users take
    over within a scrape or two)."""
    seen_for_s = min(max(elapsed_s, 1.0), float(limits.window_s))
    projected = users_requests * limits.window_s / seen_for_s
    shortfall = limits.min_requests - projected
    if shortfall <= 0:
        return 0.0
    return min(MAX_RATE, MARGIN * shortfall / limits.window_s)


def decide(
    users: Figures, probes: Figures, limits: Limits, elapsed_s: float
) -> tuple[Verdict, Figures]:
    """The verdict and the figures it rests on: users' when they are enough, else probes' when
    they are, else still waiting (undecided at max_wait, naming both counts)."""
    if users.requests >= limits.min_requests:
        return judge(users, limits, elapsed_s), users
    if probes.requests >= limits.min_requests:
        verdict = judge(probes, limits, elapsed_s)
        if verdict.decided:
            note = f" (on probe requests: users brought {users.requests:.0f})"
            verdict = replace(verdict, reason=verdict.reason + note)
        return verdict, probes
    verdict = judge(users, limits, elapsed_s)
    if verdict.decided:  # max_wait passed: neither side has enough
        verdict = replace(
            verdict,
            reason=f"SLO check undecided: {users.requests:.0f} users' and "
            f"{probes.requests:.0f} probe requests, each < {limits.min_requests} "
            f"in {limits.max_wait_s}s, too few to judge",
        )
    return verdict, users


class ProbeLoad:
    """Probe links and a sender that follows them at a rate set by the check."""

    def __init__(self, public_url: str, *, timeout_s: float = 5.0) -> None:
        self.public_url = public_url
        self.timeout_s = timeout_s
        self.token = secrets.token_hex(8)
        self.headers = {PROBE_HEADER: self.token}
        self.links: dict[str, str] = {}  # alias -> manage token
        self.sent = 0
        self.failed = 0
        self._rate = 0.0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._send, name="probes", daemon=True)

    def create_links(self) -> str | None:
        """None when ready; else why probes cannot run (the check then judges users only)."""
        for number in range(LINKS):
            alias = f"probe-{self.token}-{number}"
            try:
                created = requests.post(
                    f"{self.public_url}/api/links",
                    json={
                        "url": f"https://example.org/deploy-probe/{alias}",
                        "alias": alias,
                        "expires_in": LINK_LIFETIME_S,
                    },
                    headers=self.headers,
                    timeout=self.timeout_s,
                )
            except requests.RequestException as error:
                return f"creating a probe link failed: {error}"
            if created.status_code != 201:
                return f"creating a probe link answered {created.status_code}"
            self.links[alias] = created.json()["manage_token"]
        return None

    def delete_links(self) -> list[str]:
        """Deletes every probe link; the aliases it could not delete (they expire anyway)."""
        left = []
        for alias, token in self.links.items():
            try:
                deleted = requests.delete(
                    f"{self.public_url}/api/links/{alias}",
                    headers={**self.headers, "Authorization": f"Bearer {token}"},
                    timeout=self.timeout_s,
                )
                if deleted.status_code != 204:
                    left.append(alias)
            except requests.RequestException:
                left.append(alias)
        return left

    def set_rate(self, per_s: float) -> None:
        self._rate = per_s

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _send(self) -> None:
        aliases = list(self.links)
        pool = ThreadPoolExecutor(SENDERS, thread_name_prefix="probe")
        number = 0
        while not self._stop.is_set():
            rate = self._rate
            if rate <= 0:
                self._stop.wait(0.2)
                continue
            pool.submit(self._follow, aliases[number % len(aliases)])
            number += 1
            self._stop.wait(1.0 / rate)
        # A release that hangs queues probes faster than they are answered: what has not
        # started by the end of the check is not sent at all.
        pool.shutdown(wait=True, cancel_futures=True)

    def _follow(self, alias: str) -> None:
        try:
            answer = requests.get(
                f"{self.public_url}/{alias}",
                headers=self.headers,
                allow_redirects=False,
                timeout=self.timeout_s,
            )
            ok = answer.status_code == 302
        except requests.RequestException:
            ok = False
        with self._lock:
            self.sent += 1
            self.failed += 0 if ok else 1


def probed_reading(sha: str, route: str, limits: Limits, load: ProbeLoad) -> Reading:
    """A reading of users' and probes' requests that also sets the probes' pace."""

    def read(query: Query, elapsed: float) -> tuple[Verdict, Figures, dict[str, object], str]:
        users = measure(query, sha, route, limits)
        probes = measure(query, sha, route, limits, PROBES)
        rate = probe_rate(users.requests, elapsed, limits)
        load.set_rate(rate)
        verdict, evidence = decide(users, probes, limits, elapsed)
        record: dict[str, object] = {
            **asdict(evidence),
            "evidence": "probes" if evidence is probes else "users",
            "users": asdict(users),
            "probes": asdict(probes),
            "probe_rate": round(rate, 2),
            "probes_sent": load.sent,
        }
        latency = "n/a" if math.isnan(probes.latency_s) else f"{probes.latency_s * 1000:.0f} ms"
        line = (
            f"{describe(users, limits, elapsed)} | probes {probes.requests:.0f} requests, "
            f"errors {probes.error_ratio:.2%}, p{limits.quantile * 100:g} {latency}, "
            f"sending {rate:.1f}/s"
        )
        return verdict, evidence, record, line

    return read


@contextmanager
def running(public_url: str, echo: Callable[[str], None]) -> Iterator[ProbeLoad | None]:
    """A probe sender (idle until given a rate) for the length of the block, its links deleted
    after it; None when no probe link could be made, e.g. storage full (web refuses new links)."""
    load = ProbeLoad(public_url)
    started = time.monotonic()
    try:
        why_not = load.create_links()
        if why_not is not None:
            echo(f"probes: none ({why_not}): judging users' requests only")
            yield None
            return
        load.start()
        yield load
    finally:
        load.stop()
        left = load.delete_links()
        if load.links:
            echo(
                f"probes: {load.sent} sent ({load.failed} failed) in "
                f"{time.monotonic() - started:.0f}s on {len(load.links)} probe links, "
                + (f"not deleted (they expire): {', '.join(left)}" if left else "all deleted")
            )


@contextmanager
def probing(
    public_url: str, sha: str, route: str, limits: Limits, echo: Callable[[str], None]
) -> Iterator[Reading | None]:
    """The check's reading with probes, for the length of the block; None (users' requests
    alone) when no probe link could be made."""
    with running(public_url, echo) as load:
        yield None if load is None else probed_reading(sha, route, limits, load)
