"""The Worker: one loop that reads click events through the consumer group and applies them.

Shape of the loop (modelled on RQ's worker): set up, then repeat until asked to stop --
run the periodic chores that are due, read a batch, apply it -- and say in one place
(`_set_state`) what the worker is doing. Signals are handled in one place too
(`_on_stop_signal`): they only set a flag, so a batch in hand is always finished and
acknowledged before the process exits, and then `hand_over` drains the consumer's own
pending list and leaves the group. Redis failures never end the loop; they move the
worker to "recovering" and back off.

One batch may be in flight at a time: its script call, built on the loop, is sent and waited
for on a second thread while the loop reads, parses and builds the call of the next one.
Redis runs one command at a time, so this overlaps only when the loop's next XREADGROUP
reaches Redis before the script, as it usually does: it is sent as soon as the apply is
handed over, while the other thread still encodes the far larger script call. Then Redis
runs the script while the loop parses, instead of the two taking turns. The loop waits for
the batch in flight before the chores, before applying the next batch, before recovering
and before exiting. Exactly-once needs nothing more: the entries read ahead are pending on
this consumer, so a crash at any point leaves them to a restart or a reclaim, and the apply
script counts only the entries this consumer still owns and acknowledges them atomically,
so neither a second run nor a reclaimed entry is counted twice.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import FrameType
from typing import Any, cast

import redis

from linkpulse import scripts
from linkpulse.contract import CLICK_GROUP, CLICK_STREAM, DEAD_LETTER_STREAM
from worker.backoff import Backoff
from worker.batch import (
    Applied,
    BatchCall,
    BatchOutcome,
    ParsedBatch,
    StreamEntry,
    build_apply_call,
    parse_entries,
    read_reply,
)
from worker.dead_letter import DeadLetters
from worker.linger import linger_seconds
from worker.metrics import Outcome, WorkerMetrics, WorkerState
from worker.schedule import Interval
from worker.stream_status import NO_ID, StreamStatus, safe_trim_point

log = logging.getLogger(__name__)

READ_NEW = ">"
READ_OWN_PENDING = "0"
STATUS_INTERVAL_S = 5.0
CONSUMER_CLEANUP_INTERVAL_S = 60.0
MIN_CONSUMER_IDLE_MS = 3_600_000

# How the worker's Redis client must decode: a stream entry that is not UTF-8 is read
# (and dead-lettered byte for byte) instead of raising UnicodeDecodeError in redis-py.
WORKER_ENCODING_ERRORS = "surrogateescape"

_QUIET_STATES = {WorkerState.IDLE, WorkerState.BUSY}


class Worker:
    def __init__(
        self,
        client: redis.Redis,
        *,
        consumer_name: str,
        batch_size: int = 500,
        batch_wait_ms: int = 1000,
        batch_linger_ms: int = 50,
        reclaim_idle_ms: int = 30_000,
        drain_s: float = 10.0,
        stream_maxlen: int = 1_000_000,
        consumer_idle_ms: int | None = None,
        metrics: WorkerMetrics | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        if client.get_encoder().encoding_errors != WORKER_ENCODING_ERRORS:
            raise ValueError(
                f"the worker's Redis client must decode with "
                f"encoding_errors={WORKER_ENCODING_ERRORS!r}, or one event that is not "
                "UTF-8 stops it"
            )
        self.redis = client
        # The same connections, but XREADGROUP's reply comes back as Redis sent it: redis-py's
        # own reading builds a dict per entry, which was a third of the drain's Python time.
        self._raw = redis.Redis(connection_pool=client.connection_pool)
        self._raw.set_response_callback("XREADGROUP", _as_sent)
        self.consumer_name = consumer_name
        self.batch_size = batch_size
        self.batch_wait_ms = batch_wait_ms
        self.batch_linger_ms = batch_linger_ms
        self.reclaim_idle_ms = reclaim_idle_ms
        self.drain_s = drain_s
        # A consumer is only removed long after its pending entries could have been reclaimed.
        self.consumer_idle_ms = (
            max(MIN_CONSUMER_IDLE_MS, 2 * reclaim_idle_ms)
            if consumer_idle_ms is None
            else consumer_idle_ms
        )
        self.metrics = WorkerMetrics() if metrics is None else metrics
        self.metrics.stream_maxlen.set(stream_maxlen)
        self.backoff = Backoff() if backoff is None else backoff
        self.state = WorkerState.STARTING
        self._apply_script = client.register_script(scripts.load(scripts.APPLY_BATCH))
        self._remove_consumer_script = client.register_script(
            scripts.load(scripts.REMOVE_IDLE_CONSUMER)
        )
        self._dead_letters = DeadLetters(client, consumer_name)
        self._group_ready = False
        # Start with the entries this consumer name already holds (a restart under the same
        # name, e.g. pid 1 in a container), then move on to new ones.
        self._read_from = READ_OWN_PENDING
        self._stop_requested = False
        self._wake = threading.Event()
        self._reclaim_due = Interval(max(0.1, min(reclaim_idle_ms / 2000, 10.0)))
        self._status_due = Interval(STATUS_INTERVAL_S)
        self._cleanup_due = Interval(CONSUMER_CLEANUP_INTERVAL_S)
        # One batch is applied on this thread while the loop reads and parses the next one:
        # the apply is mostly a wait for the script, the parse the loop's own CPU.
        self._applier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="apply")
        self._in_flight: Future[BatchOutcome] | None = None

    # -- the loop -----------------------------------------------------------------------

    def run(self) -> None:
        """Work until request_stop() (SIGTERM/SIGINT once install_signal_handlers() ran).

        Returns once the batch in hand is applied and acknowledged.
        """
        log.info(
            "worker starting",
            extra={
                "consumer": self.consumer_name,
                "stream": CLICK_STREAM,
                "group": CLICK_GROUP,
                "batch_size": self.batch_size,
                "batch_wait_ms": self.batch_wait_ms,
                "batch_linger_ms": self.batch_linger_ms,
                "reclaim_idle_ms": self.reclaim_idle_ms,
            },
        )
        while not self._stop_requested:
            try:
                self._work_once()
            except redis.RedisError as exc:
                self._recover_from(exc)
        self._set_state(WorkerState.STOPPING)
        try:
            self._finish_in_flight()
            self.hand_over()
        except redis.RedisError as exc:
            # Still pending on this consumer: taken up again by a restart or a reclaim.
            log.warning("handover cut short; entries left pending", extra={"error": str(exc)})
        self._applier.shutdown()
        log.info("worker stopped", extra={"consumer": self.consumer_name})

    def hand_over(self) -> bool:
        """Drain this consumer's pending list for up to drain_s, then leave the group if
        it is empty; True when it left. Whatever is still pending stays for a reclaim."""
        deadline = time.monotonic() + self.drain_s
        drained = BatchOutcome()
        while time.monotonic() < deadline:
            entries = self._read_group(READ_OWN_PENDING, self.batch_size, None)
            if not entries:
                break
            drained += self.process(entries)
        # The script re-checks "no pending entry" atomically with the delete, so an entry
        # delivered meanwhile (none should be: this consumer reads no more) is never dropped.
        left_group = bool(
            self._remove_consumer_script(
                keys=[CLICK_STREAM], args=[CLICK_GROUP, self.consumer_name]
            )
        )
        pending = 0 if left_group else self.own_pending()
        log.info(
            "handed over: pending list drained, left the group"
            if left_group
            else "handed over: entries left pending for a reclaim",
            extra={
                "consumer": self.consumer_name,
                "drained": _as_fields(drained),
                "left_pending": pending,
                "left_group": left_group,
            },
        )
        return left_group

    def take_over(self, retired_prefix: str) -> int:
        """Claim at once every entry pending on a consumer whose name starts with
        retired_prefix, then hand_over() applies them; returns how many were claimed.

        For a worker that is gone (killed, or out of drain time): claiming from one still
        running would only make its own apply skip those entries, never count them twice.
        """
        claimed = 0
        consumers: list[dict[str, Any]] = self.redis.xinfo_consumers(CLICK_STREAM, CLICK_GROUP)
        for consumer in consumers:
            name = str(consumer["name"])
            if not name.startswith(retired_prefix) or name == self.consumer_name:
                continue
            while ids := self._pending_ids(name):
                claimed += len(
                    self.redis.xclaim(
                        CLICK_STREAM, CLICK_GROUP, self.consumer_name, 0, ids, justid=True
                    )
                )
            self._remove_consumer_script(keys=[CLICK_STREAM], args=[CLICK_GROUP, name])
        log.info("took over", extra={"from": f"{retired_prefix}*", "claimed": claimed})
        self.hand_over()
        return claimed

    def _pending_ids(self, consumer: str) -> list[Any]:
        pending: list[dict[str, Any]] = self.redis.xpending_range(
            CLICK_STREAM, CLICK_GROUP, "-", "+", self.batch_size, consumername=consumer
        )
        return [entry["message_id"] for entry in pending]

    def own_pending(self) -> int:
        summary = self.redis.xpending(CLICK_STREAM, CLICK_GROUP)
        return next(
            (int(c["pending"]) for c in summary["consumers"] if c["name"] == self.consumer_name),
            0,
        )

    def _work_once(self) -> None:
        if not self._group_ready:
            self.ensure_group()
        self._run_due_chores()
        entries = self.linger_for_more(self.read_batch())
        if entries:
            self._set_state(WorkerState.BUSY)
            batch = parse_entries(entries)
            call = build_apply_call(batch, group=CLICK_GROUP, consumer=self.consumer_name)
            self._finish_in_flight()
            self._in_flight = self._applier.submit(self.process, entries, batch, call)
        else:
            self._finish_in_flight()
            self._set_state(WorkerState.IDLE)
        self.backoff.reset()
        self.metrics.last_success.set(time.time())

    def _finish_in_flight(self) -> None:
        """Wait for the batch being applied; its Redis error is raised here, in the loop."""
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            in_flight.result()

    def _run_due_chores(self) -> None:
        reclaim, status, cleanup = (
            self._reclaim_due.due(),
            self._status_due.due(),
            self._cleanup_due.due(),
        )
        if reclaim or status or cleanup:
            # The chores read the group's state: let the batch in flight land first.
            self._finish_in_flight()
        if reclaim:
            self.reclaim()
        if status:
            stream_status = self.read_status()
            self.export_status(stream_status)
            self.trim(stream_status)
        if cleanup:
            self.remove_idle_consumers()

    def _recover_from(self, exc: redis.RedisError) -> None:
        # Whether the batch in flight was applied or not, re-reading our pending entries
        # below finds exactly those it did not acknowledge.
        with contextlib.suppress(redis.RedisError):
            self._finish_in_flight()
        self.metrics.failures.inc()
        self._group_ready = False
        # Whatever was read but not applied is still ours: take it up again first.
        self._read_from = READ_OWN_PENDING
        delay = self.backoff.next_delay()
        self._set_state(WorkerState.RECOVERING)
        log.warning(
            "redis operation failed; backing off",
            extra={
                "error": f"{type(exc).__name__}: {exc}",
                "retry_in_s": round(delay, 3),
                "failures_in_a_row": self.backoff.failures,
            },
        )
        self._wake.wait(delay)

    # -- state and signals --------------------------------------------------------------

    def _set_state(self, state: WorkerState) -> None:
        if state == self.state:
            return
        previous, self.state = self.state, state
        self.metrics.state.state(state.value)
        level = logging.DEBUG if state in _QUIET_STATES else logging.INFO
        log.log(level, "worker state", extra={"state": state.value, "previous": previous.value})

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_stop_signal)
        signal.signal(signal.SIGINT, self._on_stop_signal)

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self._stop_requested:
            # Nothing is lost: entries read but not applied stay pending and are reclaimed.
            log.warning("second stop signal; exiting without finishing", extra={"signal": name})
            raise SystemExit(1)
        log.info("stop requested; finishing the batch in hand", extra={"signal": name})
        self.request_stop()

    def request_stop(self) -> None:
        self._stop_requested = True
        self._wake.set()

    # -- steps (public so tests can drive a worker by hand) -----------------------------

    def ensure_group(self) -> None:
        try:
            self.redis.xgroup_create(CLICK_STREAM, CLICK_GROUP, id="0", mkstream=True)
            log.info("consumer group created", extra={"group": CLICK_GROUP})
        except redis.ResponseError as exc:
            if not str(exc).startswith("BUSYGROUP"):
                raise
        self._group_ready = True

    def read_batch(self, block_ms: int | None = None) -> list[StreamEntry]:
        """Up to batch_size entries: first our own pending ones, then new ones."""
        reading_own_pending = self._read_from == READ_OWN_PENDING
        block = None if reading_own_pending else (block_ms or self.batch_wait_ms)
        entries = self._read_group(self._read_from, self.batch_size, block)
        if reading_own_pending and not entries:
            self._read_from = READ_NEW
        return entries

    def _read_group(self, read_from: str, count: int, block: int | None) -> list[StreamEntry]:
        reply = self._raw.xreadgroup(
            CLICK_GROUP, self.consumer_name, {CLICK_STREAM: read_from}, count=count, block=block
        )
        return entries_of(reply)

    def linger_for_more(self, entries: list[StreamEntry]) -> list[StreamEntry]:
        """A short batch of new events, topped up with what arrived within the linger bound.

        The wait is cut short by a stop request; the entries in hand are already pending on
        this consumer, so they are applied either way.
        """
        if self._read_from != READ_NEW:
            return entries
        wait = linger_seconds(len(entries), self.batch_size, self.batch_linger_ms)
        if wait == 0.0 or self._wake.wait(wait):
            return entries
        return entries + self._read_group(READ_NEW, self.batch_size - len(entries), None)

    def process(
        self,
        entries: Sequence[StreamEntry],
        batch: ParsedBatch | None = None,
        call: BatchCall | None = None,
    ) -> BatchOutcome:
        """Apply one batch and record it in the metrics (`batch`, `call`: see apply)."""
        started = time.perf_counter()
        outcome = self.apply(entries, batch, call)
        self.metrics.batch_duration.observe(time.perf_counter() - started)
        self.metrics.batch_size.observe(len(entries))
        events = self.metrics.events
        for name, count in (
            (Outcome.APPLIED, outcome.applied),
            (Outcome.DROPPED, outcome.dropped),
            (Outcome.SKIPPED, outcome.skipped),
            (Outcome.MALFORMED, outcome.malformed),
        ):
            if count:
                events.labels(outcome=name.value).inc(count)
        log.debug(
            "batch applied",
            extra={"entries": len(entries), "first_id": entries[0][0], **_as_fields(outcome)},
        )
        return outcome

    def apply(
        self,
        entries: Sequence[StreamEntry],
        batch: ParsedBatch | None = None,
        call: BatchCall | None = None,
    ) -> BatchOutcome:
        """Apply entries and ack them, counting only those we still own.

        Unreadable entries go to the dead-letter stream first, each acknowledged in the same
        script run as its copy; the valid ones are applied and acknowledged in one run.
        `batch` is the entries parsed already, `call` the script call built from it (it
        leaves out the unreadable entries, so whatever their move does, it is the first call).
        """
        if batch is None:
            batch = parse_entries(entries)
        not_owned: set[str] = set()
        dead_lettered = 0
        for bad in batch.malformed:
            if not self._dead_letters.move(bad):
                not_owned.add(bad.entry_id)
                continue
            dead_lettered += 1
            log.warning(
                "malformed click event moved to the dead-letter stream",
                extra={
                    "entry_id": bad.entry_id,
                    "reason": bad.reason,
                    "dead_letter_stream": DEAD_LETTER_STREAM,
                },
            )
        outcome = BatchOutcome(malformed=dead_lettered)
        while True:
            if call is None:
                call = build_apply_call(
                    batch, group=CLICK_GROUP, consumer=self.consumer_name, leave_out=not_owned
                )
            if call.entry_count == 0:
                break
            reply = cast("list[object]", self._apply_script(keys=call.keys, args=call.args))
            result = read_reply(call, reply)
            if isinstance(result, Applied):
                outcome += result.outcome
                if result.refused_codes:
                    log.error(
                        "aggregate keys of wrong type; those links' clicks were dropped",
                        extra={"codes": result.refused_codes},
                    )
                break
            not_owned.update(result.entry_ids)
            call = None
        return outcome + BatchOutcome(skipped=len(not_owned))

    def reclaim(self, min_idle_ms: int | None = None) -> int:
        """Claim entries idle longer than min_idle_ms from any consumer and apply them.

        Claiming from a consumer that is slow rather than dead is safe: from that moment
        the slow one no longer owns the entries, so its own apply skips them.
        """
        idle_ms = self.reclaim_idle_ms if min_idle_ms is None else min_idle_ms
        cursor, claimed_total = NO_ID, 0
        while not self._stop_requested:
            reply: list[Any] = self.redis.xautoclaim(
                CLICK_STREAM,
                CLICK_GROUP,
                self.consumer_name,
                idle_ms,
                start_id=cursor,
                count=self.batch_size,
            )
            cursor = reply[0]
            claimed = [entry for entry in reply[1] if entry[0] is not None]
            missing = reply[2] if len(reply) > 2 else []
            if missing:
                # XAUTOCLAIM already dropped them from the PEL; the data is gone.
                self.metrics.events.labels(outcome=Outcome.MISSING.value).inc(len(missing))
                log.error(
                    "pending click events were deleted from the stream before processing",
                    extra={"count": len(missing), "first_id": missing[0]},
                )
            if claimed:
                claimed_total += len(claimed)
                self.metrics.reclaimed.inc(len(claimed))
                log.info(
                    "reclaimed idle click events",
                    extra={"count": len(claimed), "first_id": claimed[0][0]},
                )
                self.process(claimed)
            if cursor == NO_ID:
                break
        return claimed_total

    def read_status(self) -> StreamStatus:
        """Read the group's position, then its pending summary, then the stream.

        The order is what makes these separate reads safe for trimming: anything
        delivered after last-delivered was read has a larger id, and anything at or
        below it that is still pending when the summary is read shows up in it. Read
        the other way round, an entry delivered between the reads could be pending yet
        below the trim point.
        """
        pipe = self.redis.pipeline(transaction=False)
        pipe.xinfo_groups(CLICK_STREAM)
        pipe.xpending(CLICK_STREAM, CLICK_GROUP)
        pipe.xlen(CLICK_STREAM)
        pipe.time()
        groups, pending, length, (seconds, micros) = pipe.execute()
        group = next((g for g in groups if g["name"] == CLICK_GROUP), None)
        if group is None:
            # Destroyed under our feet: the recovery path creates it again.
            raise redis.ResponseError(f"NOGROUP consumer group {CLICK_GROUP} does not exist")
        last_delivered: str = group["last-delivered-id"]
        after_delivered = NO_ID if last_delivered == NO_ID else f"({last_delivered}"
        first_undelivered = cast(
            "list[tuple[str, dict[str, str]]]",
            self.redis.xrange(CLICK_STREAM, min=after_delivered, count=1),
        )
        lag = group.get("lag")
        return StreamStatus(
            length=int(length),
            last_delivered_id=last_delivered,
            pending=int(pending["pending"]),
            oldest_pending_id=pending["min"] if int(pending["pending"]) else None,
            first_undelivered_id=first_undelivered[0][0] if first_undelivered else None,
            lag=None if lag is None else int(lag),
            server_time_ms=int(seconds) * 1000 + int(micros) // 1000,
        )

    def export_status(self, status: StreamStatus) -> None:
        self.metrics.stream_length.set(status.length)
        self.metrics.group_pending.set(status.pending)
        if status.lag is not None:
            self.metrics.group_lag.set(status.lag)
        self.metrics.oldest_unprocessed_age.set(status.oldest_unprocessed_age_seconds())

    def trim(self, status: StreamStatus) -> int:
        """Remove entries the group has acknowledged, never one it has not."""
        point = safe_trim_point(status.last_delivered_id, status.oldest_pending_id)
        if point is None:
            return 0
        # "~" trims whole radix-tree nodes only, so it stops at or before the point.
        removed = int(self.redis.xtrim(CLICK_STREAM, minid=point, approximate=True))
        if removed:
            self.metrics.trimmed.inc(removed)
            log.debug("stream trimmed", extra={"min_id": point, "removed": removed})
        return removed

    def remove_idle_consumers(self) -> list[str]:
        """Delete consumers idle longer than consumer_idle_ms that own no pending entries."""
        consumers: list[dict[str, Any]] = self.redis.xinfo_consumers(CLICK_STREAM, CLICK_GROUP)
        removed: list[str] = []
        for consumer in consumers:
            name = str(consumer["name"])
            if (
                name == self.consumer_name
                or int(consumer["pending"]) > 0
                or int(consumer["idle"]) < self.consumer_idle_ms
            ):
                continue
            deleted = self._remove_consumer_script(keys=[CLICK_STREAM], args=[CLICK_GROUP, name])
            if int(cast("int", deleted)):
                removed.append(name)
        if removed:
            self.metrics.consumers_removed.inc(len(removed))
            log.info("idle consumers removed", extra={"consumers": removed})
        return removed


def _as_sent(response: object, **options: object) -> object:
    return response


def entries_of(reply: object) -> list[StreamEntry]:
    """The click stream's entries in a raw XREADGROUP reply: a map of stream to entries
    (RESP3), a list of [stream, entries] pairs (RESP2), or None when nothing came."""
    if not reply:
        return []
    if isinstance(reply, dict):
        return cast("list[StreamEntry]", reply.get(CLICK_STREAM, []))
    return cast("list[StreamEntry]", cast("list[list[Any]]", reply)[0][1])


def _as_fields(outcome: BatchOutcome) -> dict[str, int]:
    return {
        "applied": outcome.applied,
        "dropped": outcome.dropped,
        "skipped": outcome.skipped,
        "malformed": outcome.malformed,
    }
