"""`python -m slo`: print what the spec derives, one line per threshold."""

from __future__ import annotations

from slo import load_spec


def main() -> None:
    spec = load_spec()
    for objective in spec.objectives:
        line = f"{objective.name}: {objective.route} {objective.kind} target {objective.target:.4%}"
        if objective.threshold_seconds is not None:
            line += f" under {objective.threshold_seconds * 1000:.0f} ms"
        print(f"{line}, error budget {objective.error_budget:.4%} over {spec.budget_days} d")
    for alert in spec.burn_rate_alerts:
        print(
            f"burn-rate {alert.severity}: {alert.long_window}/{alert.short_window} "
            f"x {alert.burn_rate:g}"
        )
    print(f"burn-rate alerts need >= {spec.alert_min_requests} requests in their long window")
    gate = spec.deploy_gate
    print(f"deploy gate: {gate.window} window, >= {gate.min_requests} requests,", end=" ")
    print(f"waiting at most {gate.max_wait}")


if __name__ == "__main__":
    main()
