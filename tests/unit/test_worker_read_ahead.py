"""The read-ahead helper: at most one read in flight, results and errors handed over."""

from __future__ import annotations

import threading

import pytest

from worker.read_ahead import ReadAhead


class CountingRead:
    def __init__(self) -> None:
        self.calls = 0
        self.threads: list[str] = []

    def __call__(self) -> int:
        self.calls += 1
        self.threads.append(threading.current_thread().name)
        return self.calls


def test_take_without_start_reads_on_the_calling_thread() -> None:
    read = CountingRead()
    ahead = ReadAhead(read)
    assert ahead.take() == 1
    assert read.threads == [threading.current_thread().name]
    ahead.close()


def test_a_started_read_runs_on_the_helper_thread_and_is_taken_once() -> None:
    read = CountingRead()
    ahead = ReadAhead(read)
    ahead.start()
    ahead.start()  # already in flight: no second read
    assert ahead.in_flight
    assert ahead.take() == 1
    assert not ahead.in_flight
    assert read.threads[0].startswith("read-ahead")
    assert ahead.take() == 2  # nothing in flight: reads now
    ahead.close()


def test_a_failed_read_ahead_raises_on_take() -> None:
    def failing() -> int:
        raise ConnectionError("redis away")

    ahead = ReadAhead(failing)
    ahead.start()
    with pytest.raises(ConnectionError, match="redis away"):
        ahead.take()
    ahead.close()


def test_abandon_waits_for_the_read_and_forgets_it_and_its_error() -> None:
    release = threading.Event()
    calls: list[int] = []

    def slow_failing() -> int:
        release.wait(5)
        calls.append(1)
        raise ConnectionError("late")

    ahead = ReadAhead(slow_failing)
    ahead.start()
    release.set()
    ahead.abandon()
    assert calls == [1]
    assert not ahead.in_flight
    ahead.close()
