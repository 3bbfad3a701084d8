"""A small, bounded load loop through the VM's public port, recording every request.

Readers follow short links (GET, no redirect following); one writer creates a link now and then.
Each request is a new visitor on a new connection, as the clicks on a short link are. (A client
that reuses a keep-alive connection can, rarely, have it closed under a request it is sending when
nginx's old workers exit after a reload; browsers retry an idempotent request then, and a client
library must be told to. docs/deploy.md says more.)
Every request is recorded with the phase it ran in, so each rehearsal step gets its own count
of failed requests, and the 302s per link are what the worker's click counts must equal.
"""

from __future__ import annotations

import contextlib
import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import requests


@dataclass(frozen=True)
class Sample:
    at: float  # seconds since the loop started
    phase: str
    kind: str  # redirect | create
    ok: bool
    latency_s: float
    detail: str = ""


@dataclass
class LoadLoop:
    base_url: str
    readers: int = 2
    pause_s: float = 0.05
    create_every_s: float = 3.0
    max_links: int = 100
    samples: list[Sample] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)  # code -> url
    redirects: Counter[str] = field(default_factory=Counter)
    # Redirects that failed from here: web may have recorded their click before the answer was
    # lost (a connection cut during a planned outage), so each may or may not count.
    unconfirmed: Counter[str] = field(default_factory=Counter)
    phase: str = "setup"
    started: float = field(default_factory=time.monotonic)
    _stop: threading.Event = field(default_factory=threading.Event)
    _paused: threading.Event = field(default_factory=threading.Event)
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def set_phase(self, phase: str) -> None:
        self.phase = phase

    def now(self) -> float:
        return time.monotonic() - self.started

    def create_link(self) -> bool:
        code = f"r{secrets.token_hex(5)}"
        url = f"https://example.org/rehearsal/{code}"
        started = time.monotonic()
        try:
            response = requests.post(
                f"{self.base_url}/api/links", json={"url": url, "alias": code}, timeout=10
            )
            ok, detail = response.status_code == 201, str(response.status_code)
        except requests.RequestException as error:
            ok, detail = False, type(error).__name__
        self._record("create", ok, time.monotonic() - started, detail)
        if ok:
            with self._lock:
                self.links[code] = url
        return ok

    def _record(self, kind: str, ok: bool, latency_s: float, detail: str) -> None:
        with self._lock:
            self.samples.append(Sample(self.now(), self.phase, kind, ok, latency_s, detail))

    def _reader(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                codes = [] if self._paused.is_set() else list(self.links)
                self._in_flight += 1 if codes else 0
            if not codes:
                time.sleep(0.2)
                continue
            code = random.choice(codes)
            started = time.monotonic()
            try:
                response = requests.get(
                    f"{self.base_url}/{code}",
                    allow_redirects=False,
                    timeout=10,
                    headers={"Connection": "close"},
                )
                ok = (
                    response.status_code == 302
                    and response.headers.get("Location") == self.links[code]
                )
                detail = str(response.status_code)
            except requests.RequestException as error:
                ok, detail = False, type(error).__name__
            self._record("redirect", ok, time.monotonic() - started, detail)
            with self._lock:
                (self.redirects if ok else self.unconfirmed)[code] += 1
                self._in_flight -= 1
            time.sleep(self.pause_s)

    def _writer(self) -> None:
        while not self._stop.wait(self.create_every_s) and len(self.links) < self.max_links:
            with self._lock:
                if self._paused.is_set():
                    continue
                self._in_flight += 1
            self.create_link()
            with self._lock:
                self._in_flight -= 1

    def pause(self) -> None:
        """No new request from here; returns once those in flight have been answered."""
        self._paused.set()
        while True:
            with self._lock:
                if self._in_flight == 0:
                    return
            time.sleep(0.05)

    def resume(self) -> None:
        self._paused.clear()

    def start(self, initial_links: int = 5) -> None:
        for _ in range(initial_links):
            if not self.create_link():
                raise RuntimeError(f"cannot create links through {self.base_url}")
        self._threads = [
            threading.Thread(target=self._reader, daemon=True) for _ in range(self.readers)
        ]
        self._threads.append(threading.Thread(target=self._writer, daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """No request in flight inside (the drills compare click counts with served redirects)."""
        if not self._threads:  # not started yet: nothing to pause
            yield
            return
        self.stop()
        try:
            yield
        finally:
            self._stop.clear()
            self.start(initial_links=0)

    def failures(self, phase: str | None = None) -> list[Sample]:
        with self._lock:
            return [s for s in self.samples if not s.ok and (phase is None or s.phase == phase)]

    def count(self, phase: str) -> int:
        with self._lock:
            return sum(1 for s in self.samples if s.phase == phase)
