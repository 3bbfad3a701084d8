"""Latency histograms as Prometheus keeps them (cumulative counts per upper bound `le`): a quantile
the way `histogram_quantile` estimates it, and a one-sided Mann-Whitney test of "the new version
is slower" on the two histograms' bucket counts.

Why Mann-Whitney: Kayenta judges a canary with it because it needs no assumption about the shape
of a latency distribution (they are skewed and multi-modal). Kayenta has raw samples; a histogram
has samples grouped into buckets, which is the same test with every sample of a bucket tied at
the bucket's rank (midranks, and the variance corrected for ties). Grouping costs power, never
correctness: the test can only say less, not something false.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# (upper bound in seconds, cumulative count), ascending, the last bound +Inf.
Histogram = Sequence[tuple[float, float]]


def total(histogram: Histogram) -> float:
    return histogram[-1][1] if histogram else 0.0


def _counts(histogram: Histogram) -> list[float]:
    """Per-bucket counts from cumulative ones (a counter reset can make one negative: clamp)."""
    previous = 0.0
    counts = []
    for _, cumulative in histogram:
        counts.append(max(0.0, cumulative - previous))
        previous = max(previous, cumulative)
    return counts


def quantile(q: float, histogram: Histogram) -> float:
    """Like PromQL's histogram_quantile: linear within the bucket the rank falls in; NaN when
    empty; the highest finite bound when the rank falls in the +Inf bucket."""
    count = total(histogram)
    if count <= 0 or not histogram:
        return math.nan
    rank = q * count
    lower_bound, lower_count = 0.0, 0.0
    for bound, cumulative in histogram:
        if cumulative >= rank:
            if math.isinf(bound):
                return lower_bound
            inside = cumulative - lower_count
            fraction = (rank - lower_count) / inside if inside > 0 else 1.0
            return lower_bound + (bound - lower_bound) * fraction
        lower_bound, lower_count = bound, cumulative
    return lower_bound


def slower_p_value(baseline: Histogram, new: Histogram) -> float:
    """One-sided p-value of "NEW's latencies are stochastically larger than BASELINE's" (normal
    approximation with tie correction and continuity correction); 1.0 when either side is empty.
    Both histograms must share their bounds."""
    if [b for b, _ in baseline] != [b for b, _ in new]:
        raise ValueError("the two histograms have different bucket bounds")
    old_counts, new_counts = _counts(baseline), _counts(new)
    n_old, n_new = sum(old_counts), sum(new_counts)
    if n_old <= 0 or n_new <= 0:
        return 1.0
    n = n_old + n_new
    rank_sum_new = 0.0
    ties = 0.0
    below = 0.0
    for old_count, new_count in zip(old_counts, new_counts, strict=True):
        tied = old_count + new_count
        midrank = below + (tied + 1) / 2
        rank_sum_new += new_count * midrank
        ties += tied**3 - tied
        below += tied
    u_new = rank_sum_new - n_new * (n_new + 1) / 2
    mean = n_old * n_new / 2
    variance = n_old * n_new / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:
        return 1.0  # every sample in one bucket: nothing tells the two apart
    z = (u_new - mean - 0.5) / math.sqrt(variance)
    return 0.5 * math.erfc(z / math.sqrt(2))


def above(bound: float, histogram: Histogram) -> float:
    """How many samples were slower than BOUND, which must be one of the histogram's bounds."""
    for upper, cumulative in histogram:
        if math.isclose(upper, bound):
            return max(0.0, total(histogram) - cumulative)
    raise ValueError(f"{bound} s is not a bound of the histogram")


def more_than_allowed_p_value(over: float, count: float, allowed_ratio: float) -> float:
    """One-sided p-value of "more than ALLOWED_RATIO of the requests are over the limit", given
    OVER of COUNT were: the binomial tail P(X >= OVER) at the allowed ratio. 1.0 without
    requests."""
    n, k = round(count), round(over)
    if n <= 0 or k <= 0:
        return 1.0
    if allowed_ratio <= 0:
        return 0.0
    if allowed_ratio >= 1:
        return 1.0

    def log_term(i: int) -> float:
        return (
            math.lgamma(n + 1)
            - math.lgamma(i + 1)
            - math.lgamma(n - i + 1)
            + i * math.log(allowed_ratio)
            + (n - i) * math.log1p(-allowed_ratio)
        )

    below = sum(math.exp(log_term(i)) for i in range(min(k, n + 1)))
    return max(0.0, 1.0 - below)
