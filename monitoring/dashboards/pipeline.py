"""Click pipeline: from the stream through the consumer group into the aggregates, per worker."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from linkpulse.contract import CLICK_STREAM
from monitoring.dashboards.common import Query, graph, listing, new_dashboard, numbered, single
from monitoring.thresholds import Thresholds, count, percent, spoken

UID = "linkpulse-pipeline"


def build(thresholds: Thresholds) -> object:
    backlog = count(thresholds.number("WorkerLagHigh", "above"))
    age = spoken(thresholds.duration("OldestEventTooOld", "above"))
    fill = percent(thresholds.number("ClickStreamNearCap", "above"))
    board = new_dashboard(
        UID,
        "linkpulse click pipeline",
        "Are clicks counted, and how far behind are the statistics? Stream -> consumer group "
        "-> aggregates, per worker.",
    )
    board.with_row(dashboard.Row("Flow"))
    board.with_panel(
        graph(
            "Click events per second",
            "Written: events web appended to the stream (failed: a redirect that could not "
            "record its click). Processed: events the workers handled, by outcome.",
            "ops",
            Query("job:linkpulse_click_events:rate1m", "written {{result}}"),
            Query("job:linkpulse_worker_events_processed:rate1m", "processed {{outcome}}"),
        )
    )
    board.with_panel(
        graph(
            "Events applied per worker",
            "Events each worker counted into the aggregates per second; a worker at 0 while "
            "others work is idle or stuck.",
            "ops",
            Query(
                "sum by (instance) "
                '(rate(linkpulse_worker_events_processed_total{outcome="applied"}[1m]))',
                "{{instance}}",
            ),
        )
    )
    board.with_row(dashboard.Row("Backlog"))
    board.with_panel(
        graph(
            "Lag and pending",
            "Lag: entries not yet delivered to the consumer group. Pending: delivered but not "
            "acknowledged. Every worker reports the same group, so the maximum is shown. "
            f"WorkerLagHigh fires while the backlog (the two together) stays above {backlog}.",
            "short",
            Query("max(linkpulse_worker_group_lag)", "lag"),
            Query("max(linkpulse_worker_group_pending)", "pending"),
            Query("job:linkpulse_worker_backlog:max", "backlog"),
        )
    )
    board.with_panel(
        graph(
            "Oldest unprocessed event",
            "Age of the oldest event not yet acknowledged: how stale the statistics are. "
            f"OldestEventTooOld fires above {age}.",
            "s",
            Query("job:linkpulse_worker_oldest_unprocessed_event_age_seconds:max", "age"),
        )
    )
    board.with_panel(
        graph(
            "Stream length against its cap",
            "Entries in the click stream (from Redis, so also while no worker runs) and the "
            f"CLICK_STREAM_MAXLEN web trims with. ClickStreamNearCap pages at {fill}.",
            "short",
            Query(f'max(redis_stream_length{{stream="{CLICK_STREAM}"}})', "length"),
            Query("min(linkpulse_click_stream_maxlen)", "cap"),
        )
    )
    board.with_panel(
        single(
            "Stream fill",
            "Stream length as a share of its cap.",
            "percentunit",
            Query("job:linkpulse_click_stream_fill:ratio", "fill"),
        )
    )
    board.with_row(dashboard.Row("Workers"))
    board.with_panel(
        graph(
            "Batch duration p99 per worker",
            "Time to parse and apply one batch, 99th percentile over 5 minutes.",
            "s",
            Query(
                "histogram_quantile(0.99, sum by (instance, le) "
                "(rate(linkpulse_worker_batch_duration_seconds_bucket[5m])))",
                "{{instance}}",
            ),
        )
    )
    board.with_panel(
        graph(
            "Batches and failures per worker",
            "Batches applied per second, and Redis operations that failed (the worker backs off "
            "and retries); failures stay at 0 when all is well.",
            "ops",
            Query(
                "sum by (instance) (rate(linkpulse_worker_batch_size_count[1m]))",
                "batches {{instance}}",
            ),
            Query(
                "sum by (instance) (rate(linkpulse_worker_failures_total[5m]))",
                "failures {{instance}}",
            ),
        )
    )
    board.with_panel(
        listing(
            "Worker state",
            "What each worker loop is doing now: idle, busy, recovering (Redis failed), "
            "starting or stopping.",
            "none",
            Query("linkpulse_worker_state == 1"),
        )
    )
    return numbered(board)
