from __future__ import annotations

import pytest

from bench.wrk import parse_report

REPORT = """Running 10s test @ http://127.0.0.1:8000/abc
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.10ms    1.20ms  30.00ms   90.00%
    Req/Sec     7.80k   300.00     8.20k    70.00%
  Latency Distribution
     50%  850.00us
     75%    4.50ms
     90%    5.00ms
     99%    1.20s
  77600 requests in 10.00s, 9.10MB read
  Non-2xx or 3xx responses: 3
  Socket errors: connect 0, read 2, write 0, timeout 1
Requests/sec:   7760.12
Transfer/sec:      0.91MB
"""


def test_reads_rate_percentiles_and_failures() -> None:
    result = parse_report(REPORT)
    assert result.requests_per_second == pytest.approx(7760.12)
    assert result.p50_ms == pytest.approx(0.85)
    assert result.p99_ms == pytest.approx(1200.0)
    assert result.requests == 77600
    assert result.bad_responses == 6


def test_rejects_output_that_is_not_a_report() -> None:
    with pytest.raises(ValueError, match="not a wrk report"):
        parse_report("wrk: connection refused")
