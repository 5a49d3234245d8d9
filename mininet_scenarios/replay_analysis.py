"""Turning a replay's raw material into its report: per-pair results, summary, series, plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mininet_scenarios import replay_plots
from mininet_scenarios.replay_monitor import MonitorRecord
from mininet_scenarios.replay_report import (
    Timeline,
    counters_per_step,
    forecast_errors,
    forecasts_in_force,
    measured_rates,
    pair_results,
    reserved_per_step,
    sent_rates,
    summarize,
)
from mininet_scenarios.replay_timeliness import one_step_errors, timeliness
from mininet_scenarios.replay_trace import ReplayTrace


def analyse(
    rt: ReplayTrace,
    results: dict[str, dict[str, Any]],
    record: MonitorRecord,
    timeline: Timeline,
    before: dict[str, Any],
    after: dict[str, Any],
    run_dir: Path,
) -> dict[str, Any]:
    """The report of a replay: summary, per-step series, per-pair results and plot paths.

    ``before`` and ``after`` are ``/v1/stats`` at the replay's start and end; plots go beside
    ``run_dir``, the series into it.
    """
    pairs = [(p.src, p.dst) for p in rt.trace.pairs()]
    sent = sent_rates(results, pairs, rt.steps, timeline.step_s)
    reserved = reserved_per_step(record, pairs, rt.steps, timeline)
    mean, upper, ahead = forecasts_in_force(record, pairs, rt.steps, timeline)
    measured = measured_rates(record, pairs, rt.steps, timeline)
    planned = rt.window()
    previous = rt.trace.series()[rt.start_step - 1]
    per_pair = pair_results(results, record, pairs, sent, reserved, timeline)
    for entry in per_pair:
        entry["names"] = [rt.label(entry["pair"][0]), rt.label(entry["pair"][1])]
    summary = summarize(per_pair, sent, reserved)
    summary["forecast"] = forecast_errors(mean, planned, previous, ahead)
    summary["forecast"]["timeliness"] = timeliness(record, pairs, rt.steps, timeline)
    summary["forecast"]["one_step"] = one_step_errors(record, pairs, timeline, planned, previous)
    summary["reservations_made"] = len(record.reservations)
    periods = [(end - start) / timeline.time_scale for start, end, _ in record.observations]
    summary["stats_round_s_median"] = round(float(np.median(periods)), 4) if periods else None
    summary["controller_counted_over_sent"] = (
        round(float(measured.sum() / sent.sum()), 3) if sent.sum() > 0 else None
    )
    summary["packet_in_during_replay"] = {
        kind: after["packet_in"].get(kind, 0) - before["packet_in"].get(kind, 0)
        for kind in sorted(set(after["packet_in"]) | set(before["packet_in"]))
    }
    summary["packet_in_before_replay"] = before["packet_in"]
    summary["audit_repairs_during_replay"] = after["audit_repairs"] - before["audit_repairs"]
    summary["senders"] = {
        "hosts": len(results),
        "max_lag_ms": max((r["max_lag_ms"] for r in results.values()), default=None),
        "send_errors": sum(sum(r["send_errors"].values()) for r in results.values()),
    }
    labels = [f"{rt.label(s)}>{rt.label(d)}" for s, d in pairs]
    first_steps = {pairs.index(tuple(p["pair"])): p["first_step"] for p in per_pair}
    columns = replay_plots.pick_pairs(sent, first_steps)
    plots = [
        replay_plots.plot_pairs(
            run_dir.parent / "replay_pairs.png", columns, labels, sent, reserved, mean, upper
        ),
        replay_plots.plot_network(run_dir.parent / "replay_network.png", sent, reserved, measured),
        replay_plots.plot_first_rtt(run_dir.parent / "replay_first_rtt.png", per_pair),
    ]
    np.savez_compressed(
        run_dir / "series.npz",
        sent=sent,
        reserved=reserved,
        mean=mean,
        upper=upper,
        planned=planned,
        measured=measured,
        pairs=np.array(labels),
    )
    per_step = {
        "pairs_sending": (sent > 0).sum(axis=1).tolist(),
        "pairs_reserved": (reserved > 0).sum(axis=1).tolist(),
        "sent_mbps": sent.sum(axis=1).round(3).tolist(),
        "reserved_mbps": reserved.sum(axis=1).round(3).tolist(),
        **counters_per_step(record, rt.steps, timeline),
    }
    return {
        "summary": summary,
        "per_step": per_step,
        "pairs": per_pair,
        "plots": [str(p) for p in plots],
    }
