"""Steady traffic through nginx while a fault is injected, and what it saw.

A few threads create links and follow them. Every answer is kept: which links got a 201, how
many 302s each one served, and every failure with its status and time. That is what the fault
tier checks against afterwards: every 201 still resolves, counted clicks == 302s served.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import requests

from tests.stack.stack import Stack, wait_until

# Connection refused/reset or a timeout: nothing answered at all.
NO_ANSWER = 0


@dataclass
class Failure:
    at: float
    kind: str
    status: int
    body: str


@dataclass
class TrafficLog:
    created: dict[str, str] = field(default_factory=dict)  # code -> url
    redirects: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    successes: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def failure_statuses(self) -> Counter[int]:
        return Counter(failure.status for failure in self.failures)


class Traffic:
    """`threads` loops of one create per `creates_every` redirects, each paced by `pause_s`.

    keep_alive=False: a new connection per request, as visitors following a short link make;
    a reused one can be closed by nginx's old workers under a request after a reload
    (docs/deploy.md, "Zero downtime on one VM")."""

    def __init__(
        self,
        base_url: str,
        threads: int = 3,
        creates_every: int = 4,
        pause_s: float = 0.02,
        keep_alive: bool = True,
    ) -> None:
        self.base_url = base_url
        self.keep_alive = keep_alive
        self.threads = threads
        self.creates_every = creates_every
        self.pause_s = pause_s
        self.log = TrafficLog()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def __enter__(self) -> Traffic:
        for number in range(self.threads):
            worker = threading.Thread(target=self._loop, args=(number,), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=30)

    def _fail(self, kind: str, status: int, body: str) -> None:
        with self.log.lock:
            self.log.failures.append(Failure(time.monotonic(), kind, status, body[:300]))

    def _loop(self, number: int) -> None:
        rng = random.Random(number)
        session = requests.Session()
        if not self.keep_alive:
            session.headers["Connection"] = "close"
        step = 0
        while not self._stop.is_set():
            step += 1
            with self.log.lock:
                codes = list(self.log.created)
            if not codes or step % self.creates_every == 0:
                self._create(session)
            else:
                self._follow(session, rng.choice(codes))
            time.sleep(self.pause_s)

    def _create(self, session: requests.Session) -> None:
        url = f"https://example.com/fault/{uuid.uuid4().hex}"
        try:
            response = session.post(f"{self.base_url}/api/links", json={"url": url}, timeout=20)
        except requests.RequestException as error:
            self._fail("create", NO_ANSWER, repr(error))
            return
        if response.status_code == 201:
            with self.log.lock:
                self.log.created[response.json()["code"]] = url
                self.log.successes["create"] += 1
        else:
            self._fail("create", response.status_code, response.text)

    def _follow(self, session: requests.Session, code: str) -> None:
        try:
            response = session.get(f"{self.base_url}/{code}", allow_redirects=False, timeout=20)
        except requests.RequestException as error:
            self._fail("redirect", NO_ANSWER, repr(error))
            return
        if response.status_code == 302:
            with self.log.lock:
                self.log.redirects[code] += 1
                self.log.successes["redirect"] += 1
        else:
            self._fail("redirect", response.status_code, response.text)


def served(traffic: Traffic) -> int:
    """Requests answered as they should be so far (201s and 302s)."""
    return sum(traffic.log.successes.values())


def more_traffic(traffic: Traffic, requests: int, deadline_s: float = 60) -> None:
    target = served(traffic) + requests
    wait_until(lambda: served(traffic) >= target, f"{requests} more answered requests", deadline_s)


def assert_nothing_lost(stack: Stack, log: TrafficLog) -> None:
    """Every link that got a 201 resolves, and each link counted exactly the 302s it served."""
    for code in log.created:
        response = requests.get(f"{stack.app_url}/api/links/{code}", timeout=10)
        assert response.status_code == 200, (code, response.text)
        assert response.json()["url"] == log.created[code]
    served = sum(log.redirects.values())

    def counted() -> int:
        return sum(stack.clicks(code) for code in log.redirects)

    wait_until(lambda: counted() >= served, f"{served} served redirects to be counted", 120)
    for code, redirects in log.redirects.items():
        assert stack.clicks(code) == redirects, code
