"""A PNG of a run over time from Locust's CSV history: load, latency percentiles and errors."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

AGGREGATED = "Aggregated"


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def draw_chart(
    history_csv: Path, out_png: Path, title: str, slo: tuple[str, float] | None = None
) -> None:
    """SLO, (label, milliseconds), draws the latency objective across the latency panel."""
    rows = [row for row in csv.DictReader(history_csv.open()) if row["Name"] == AGGREGATED]
    if not rows:
        raise ValueError(f"{history_csv}: no aggregated rows to draw")
    start = int(rows[0]["Timestamp"])
    seconds = [int(row["Timestamp"]) - start for row in rows]

    figure, (load, latency, errors) = plt.subplots(3, 1, figsize=(10, 8), sharex=True)
    figure.suptitle(title)

    load.plot(
        seconds, [_number(r["Requests/s"]) for r in rows], label="requests/s", color="tab:blue"
    )
    load.set_ylabel("requests/s")
    users = load.twinx()
    users.plot(
        seconds,
        [_number(r["User Count"]) for r in rows],
        label="users",
        color="tab:gray",
        linestyle="--",
    )
    users.set_ylabel("users")
    load.legend(loc="upper left")
    users.legend(loc="upper right")

    for column, colour in (("50%", "tab:green"), ("95%", "tab:orange"), ("99%", "tab:red")):
        latency.plot(
            seconds, [_number(r[column]) for r in rows], label=f"p{column[:-1]}", color=colour
        )
    if slo is not None:
        label, limit_ms = slo
        latency.axhline(limit_ms, color="tab:red", linestyle=":", label=label)
    latency.set_ylabel("response time (ms), all requests")
    latency.legend(loc="upper left")

    errors.plot(
        seconds, [_number(r["Failures/s"]) for r in rows], label="failures/s", color="tab:red"
    )
    errors.set_ylabel("failures/s")
    errors.set_xlabel("seconds since start")
    errors.legend(loc="upper left")
    errors.set_ylim(bottom=0)

    for axis in (load, latency, errors):
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(out_png, dpi=100)
    plt.close(figure)


def draw_comparison(baseline_csv: Path, new_csv: Path, out_png: Path, title: str) -> None:
    """Two runs overlaid on their own clocks: requests/s, and p50 and p99 of all requests."""
    figure, (load, latency) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    figure.suptitle(title)
    for label, history_csv, colour in (
        ("baseline", baseline_csv, "tab:gray"),
        ("new", new_csv, "tab:blue"),
    ):
        rows = [row for row in csv.DictReader(history_csv.open()) if row["Name"] == AGGREGATED]
        if not rows:
            raise ValueError(f"{history_csv}: no aggregated rows to draw")
        start = int(rows[0]["Timestamp"])
        seconds = [int(row["Timestamp"]) - start for row in rows]
        load.plot(seconds, [_number(r["Requests/s"]) for r in rows], label=label, color=colour)
        for column, style in (("50%", "--"), ("99%", "-")):
            latency.plot(
                seconds,
                [_number(r[column]) for r in rows],
                label=f"{label} p{column[:-1]}",
                color=colour,
                linestyle=style,
            )
    load.set_ylabel("requests/s")
    latency.set_ylabel("response time (ms), all requests")
    latency.set_xlabel("seconds since each run's start")
    for axis in (load, latency):
        axis.grid(alpha=0.3)
        axis.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(out_png, dpi=100)
    plt.close(figure)
