"""`python -m worker` as a real process: config errors, /metrics, SIGTERM, a Redis outage."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from linkpulse.contract import CLICK_GROUP, CLICK_STREAM, DEAD_LETTER_STREAM, ClickEvent
from linkpulse.redis_client import connect
from tests.support.click_data import append_events, create_links
from tests.support.redis_server import RedisServer, free_port
from tests.support.worker_harness import total_clicks

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
STOP_GRACE_S = 10


def worker_env(redis_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKER_", "REDIS_"))}
    env.update(PYTHONPATH=str(REPO_ROOT), LOG_LEVEL="INFO", WORKER_BATCH_WAIT_MS="100")
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


@contextmanager
def running_worker(redis_url: str, log_path: Path, **extra: str) -> Iterator[WorkerProcess]:
    port = free_port()
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "worker"],
            cwd=REPO_ROOT,
            env=worker_env(redis_url, WORKER_METRICS_PORT=str(port), **extra),
            stderr=log,
        )
    worker = WorkerProcess(process, port, log_path)
    try:
        wait_for(lambda: worker.metrics() is not None, "the worker's /metrics")
        yield worker
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


class WorkerProcess:
    def __init__(self, process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
        self.process = process
        self.port = port
        self.log_path = log_path

    def metrics(self) -> dict[str, float] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
                text = r.read().decode()
        except OSError:
            return None
        samples = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
        return samples

    def metric(self, name: str) -> float:
        samples = self.metrics() or {}
        return samples.get(name, 0.0)

    def log_lines(self) -> list[dict[str, object]]:
        lines = self.log_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def clicks(code: str, count: int) -> list[ClickEvent]:
    return [
        ClickEvent(code, 1_764_000_000_000 + n, "", "desktop", f"v{n % 97}", "r")
        for n in range(count)
    ]


def group_info(client: redis.Redis) -> dict[str, object]:
    groups = client.xinfo_groups(CLICK_STREAM)
    return next(g for g in groups if g["name"] == CLICK_GROUP)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "REDIS_URL"),
        ({"REDIS_URL": "redis://127.0.0.1:1/0", "WORKER_BATCH_SIZE": "lots"}, "WORKER_BATCH_SIZE"),
        ({"REDIS_URL": "redis://127.0.0.1:1/0", "WORKER_METRICS_PORT": "0"}, "WORKER_METRICS_PORT"),
    ],
)
def test_bad_configuration_exits_2_with_one_line_naming_the_variable(
    env: dict[str, str], variable: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "worker"],
        cwd=REPO_ROOT,
        env=worker_env(None, **env),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert variable in lines[0]


def test_metrics_endpoint_serves_the_worker_metrics(redis_url: str, tmp_path: Path) -> None:
    client = connect(redis_url)
    create_links(client, ["seen"])
    with running_worker(
        redis_url,
        tmp_path / "worker.log",
        CLICK_STREAM_MAXLEN="12345",
        APP_VERSION="1.2.3",
        GIT_REVISION="abc1234",
    ) as worker:
        append_events(client, clicks("seen", 25) + clicks("unknown", 5))
        applied = "linkpulse_worker_events_processed_total{outcome=applied}"
        wait_for(lambda: worker.metric(applied) == 25, "25 applied events")
        wait_for(lambda: total_clicks(client, "seen") == 25, "the aggregate")
        samples = worker.metrics() or {}

    for outcome, count in (("applied", 25), ("dropped", 5), ("malformed", 0), ("skipped", 0)):
        assert samples[f"linkpulse_worker_events_processed_total{{outcome={outcome}}}"] == count
    assert samples["linkpulse_worker_batch_size_count"] >= 1
    assert samples["linkpulse_worker_batch_size_sum"] == 30
    assert samples["linkpulse_worker_batch_duration_seconds_count"] >= 1
    assert samples["linkpulse_worker_failures_total"] == 0
    assert samples["linkpulse_worker_stream_maxlen"] == 12345
    # The name and labels web uses too: one join breaks either service down by version.
    assert samples["linkpulse_build_info{revision=abc1234,version=1.2.3}"] == 1
    assert samples["linkpulse_worker_last_success_timestamp_seconds"] > 1_700_000_000
    for gauge in (
        "linkpulse_worker_group_lag",
        "linkpulse_worker_group_pending",
        "linkpulse_worker_oldest_unprocessed_event_age_seconds",
        "linkpulse_worker_stream_length",
        "linkpulse_worker_events_reclaimed_total",
    ):
        assert gauge in samples
    states = {k: v for k, v in samples.items() if k.startswith("linkpulse_worker_state{")}
    assert sum(states.values()) == 1
    assert set(states) == {
        f"linkpulse_worker_state{{linkpulse_worker_state={state}}}"
        for state in ("starting", "idle", "busy", "recovering", "stopping")
    }


def test_an_event_that_is_not_utf8_neither_stops_the_worker_nor_the_events_behind_it(
    redis_url: str, tmp_path: Path
) -> None:
    """Review finding 3: the process used to exit 1 on UnicodeDecodeError, on every replica."""
    client = connect(redis_url)
    create_links(client, ["behind"])
    raw = {k.encode(): v.encode() for k, v in clicks("behind", 1)[0].to_fields().items()}
    redis.Redis.from_url(redis_url).xadd(CLICK_STREAM, {**raw, b"ref": b"\xff\xfe"})
    append_events(client, clicks("behind", 10))
    with running_worker(redis_url, tmp_path / "worker.log") as worker:
        malformed = "linkpulse_worker_events_processed_total{outcome=malformed}"
        wait_for(lambda: total_clicks(client, "behind") == 10, "the events behind the bad one")
        wait_for(lambda: worker.metric(malformed) == 1, "the dead-letter count")
        assert worker.process.poll() is None
    assert client.xlen(DEAD_LETTER_STREAM) == 1
    assert group_info(client)["pending"] == 0


def test_sigterm_mid_stream_exits_0_and_loses_nothing(redis_url: str, tmp_path: Path) -> None:
    client = connect(redis_url, socket_timeout=30)
    create_links(client, ["steady"])
    events = 60_000
    append_events(client, clicks("steady", events))

    with running_worker(redis_url, tmp_path / "first.log", WORKER_BATCH_SIZE="100") as first:
        wait_for(lambda: total_clicks(client, "steady") > 0, "the first batches")
        assert group_info(client)["lag"] > 0, "the worker must still be busy when stopped"
        first.process.send_signal(signal.SIGTERM)
        assert first.process.wait(timeout=STOP_GRACE_S) == 0

    # The batch in hand was applied and acknowledged before exiting.
    assert int(client.xpending(CLICK_STREAM, CLICK_GROUP)["pending"]) == 0
    delivered = int(group_info(client)["entries-read"])
    assert total_clicks(client, "steady") == delivered < events
    messages = [line["msg"] for line in first.log_lines()]
    assert "stop requested; finishing the batch in hand" in messages
    assert messages[-1] == "worker stopped"

    with running_worker(redis_url, tmp_path / "second.log") as second:
        wait_for(lambda: total_clicks(client, "steady") == events, "the rest of the stream", 120)
        second.process.send_signal(signal.SIGTERM)
        assert second.process.wait(timeout=STOP_GRACE_S) == 0
    assert int(client.xpending(CLICK_STREAM, CLICK_GROUP)["pending"]) == 0


def test_worker_rides_out_redis_being_away_and_recovers(tmp_path: Path) -> None:
    server = RedisServer(port=free_port(), data_dir=tmp_path / "redis")
    redis_url = server.url
    with running_worker(redis_url, tmp_path / "worker.log") as worker:
        wait_for(lambda: worker.metric("linkpulse_worker_failures_total") >= 2, "failures")
        recovering = "linkpulse_worker_state{linkpulse_worker_state=recovering}"
        assert worker.metric(recovering) == 1
        assert worker.process.poll() is None

        server.start()
        try:
            client = connect(redis_url)
            create_links(client, ["back"])
            append_events(client, clicks("back", 40))
            wait_for(lambda: total_clicks(client, "back") == 40, "events after Redis came back")
            assert worker.metric(recovering) == 0
            worker.process.send_signal(signal.SIGTERM)
            assert worker.process.wait(timeout=STOP_GRACE_S) == 0
        finally:
            server.stop()
    warnings = [line for line in worker.log_lines() if line["level"] == "warning"]
    assert warnings
    assert all("retry_in_s" in line for line in warnings)
