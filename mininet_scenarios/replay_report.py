"""From what the senders and the monitor saw to per-pair results and the replay's summary.

For every pair that sent anything: whether rules for it were confirmed (a predicted reservation
ACTIVE, its own or a bidirectional one of the reverse pair) before its first datagram
left, that datagram's round trip, and in how many of its sending steps its own reservation's
bandwidth was at least the rate it sent. Plus the one-step-ahead forecast error.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mininet_scenarios.replay_monitor import MonitorRecord, ReservationTrack
from vnstitch.clock import parse_rfc3339

BITS_PER_MEGABIT = 1e6


@dataclass(frozen=True)
class Timeline:
    """How wall time, the controller's monotonic and traffic clocks and replay steps relate."""

    t0: float  # wall time of replay step 0
    step_s: float  # wall seconds per step
    mono_offset: float  # wall - monotonic
    clock_start: float  # the controller's clock start (wall)
    time_origin: float
    time_scale: float
    start_time: float  # traffic time of replay step 0
    trace_step_s: float

    def to_mono(self, wall: float) -> float:
        """A wall time on the monotonic clock."""
        return wall - self.mono_offset

    def traffic(self, wall: float) -> float:
        """The controller's traffic time at a wall time."""
        return self.time_origin + (wall - self.clock_start) * self.time_scale

    def step_of_wall(self, wall: float) -> int:
        """The replay step a wall time falls in (negative before the replay)."""
        return int(np.floor((wall - self.t0) / self.step_s))


def _covering(
    tracks: Sequence[ReservationTrack], at_mono: float, timeline: Timeline
) -> ReservationTrack | None:
    for track in tracks:
        if track.activated_mono is None or track.activated_mono > at_mono:
            continue
        if track.gone is None or timeline.to_mono(track.gone) > at_mono:
            return track
    return None


def reserved_per_step(
    record: MonitorRecord, pairs: Sequence[tuple[str, str]], steps: int, timeline: Timeline
) -> np.ndarray:
    """(steps, pairs): the smallest reserved rate any poll saw during each step (0: none)."""
    index = {p: i for i, p in enumerate(pairs)}
    out = np.full((steps, len(pairs)), np.inf)
    last: dict[tuple[str, str], float] = {}
    seen = np.zeros(steps, dtype=bool)
    for wall, reserved in record.reserved:
        step = timeline.step_of_wall(wall)
        if step < 0:
            last = dict(reserved)
            continue
        if step >= steps:
            break
        seen[step] = True
        row = np.zeros(len(pairs))
        for pair, rate in reserved.items():
            if pair in index:
                row[index[pair]] = rate
        out[step] = np.minimum(out[step], row)
        last = dict(reserved)
    for step in np.flatnonzero(~seen).tolist():  # no poll in that step: carry the previous one
        row = np.zeros(len(pairs))
        for pair, rate in last.items():
            if pair in index:
                row[index[pair]] = rate
        out[step] = row
    return np.where(np.isfinite(out), out, 0.0)


def forecasts_in_force(
    record: MonitorRecord, pairs: Sequence[tuple[str, str]], steps: int, timeline: Timeline
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, pairs) mean and upper forecast the controller held in the middle of each step,
    and how many steps ahead each was made (1: from the steps up to the one before; NaN: none).

    ``/v1/forecasts`` gives each pair's latest forecast for the step covering the controller's
    *now*: the value it provisions from.
    """
    index = {p: i for i, p in enumerate(pairs)}
    mean = np.full((steps, len(pairs)), np.nan)
    upper = np.full((steps, len(pairs)), np.nan)
    ahead = np.full((steps, len(pairs)), np.nan)
    nearest: dict[int, tuple[float, int]] = {}
    for k, (wall, _) in enumerate(record.forecasts):
        step = timeline.step_of_wall(wall)
        if 0 <= step < steps:
            gap = abs(wall - (timeline.t0 + (step + 0.5) * timeline.step_s))
            if step not in nearest or gap < nearest[step][0]:
                nearest[step] = (gap, k)
    for step, (_, k) in nearest.items():
        wall, entries = record.forecasts[k]
        now = timeline.traffic(wall)
        for entry in entries:
            pair = (entry["pair"][0], entry["pair"][1])
            if pair not in index or entry["mean_mbps"] is None:
                continue
            column = index[pair]
            mean[step, column] = entry["mean_mbps"]
            upper[step, column] = entry["upper_mbps"]
            made = (now - parse_rfc3339(entry["valid_from"])) // timeline.trace_step_s
            ahead[step, column] = max(made, 0) + 1
    return mean, upper, ahead


def sent_rates(
    results: Mapping[str, Mapping[str, Any]],
    pairs: Sequence[tuple[str, str]],
    steps: int,
    step_s: float,
) -> np.ndarray:
    """(steps, pairs) Mbit/s each pair's sender put on the wire."""
    out = np.zeros((steps, len(pairs)))
    for column, (src, dst) in enumerate(pairs):
        sent = results.get(src, {}).get("sent", {}).get(dst)
        if sent:
            out[: len(sent), column] = np.asarray(sent[:steps]) * 8 / BITS_PER_MEGABIT / step_s
    return out


def measured_rates(
    record: MonitorRecord, pairs: Sequence[tuple[str, str]], steps: int, timeline: Timeline
) -> np.ndarray:
    """(steps, pairs) Mbit/s the controller counted (its observations, split over the steps)."""
    index = {p: i for i, p in enumerate(pairs)}
    out = np.zeros((steps, len(pairs)))
    step_t = timeline.trace_step_s
    for start, end, samples in record.observations:
        duration = end - start
        if duration <= 0:
            continue
        first = int(np.floor((start - timeline.start_time) / step_t))
        last = int(np.ceil((end - timeline.start_time) / step_t))
        for step in range(max(first, 0), min(last, steps)):
            lo = max(start, timeline.start_time + step * step_t)
            hi = min(end, timeline.start_time + (step + 1) * step_t)
            share = max(hi - lo, 0.0) / duration
            for pair, count in samples.items():
                if pair in index:
                    out[step, index[pair]] += count * share
    return out * 8 / BITS_PER_MEGABIT / timeline.step_s


def counters_per_step(
    record: MonitorRecord, steps: int, timeline: Timeline
) -> dict[str, list[int | None]]:
    """IPv4 packet-ins and audit repairs so far at the end of each step.

    From the last ``/v1/stats`` poll in the step; None where no poll fell in it.
    """
    ipv4: list[int | None] = [None] * steps
    repairs: list[int | None] = [None] * steps
    for wall, stats in record.stats:
        step = timeline.step_of_wall(wall)
        if 0 <= step < steps:
            ipv4[step] = int(stats.get("packet_in", {}).get("ipv4", 0))
            repairs[step] = stats.get("audit_repairs")
    return {"ipv4_packet_in": ipv4, "audit_repairs": repairs}


def _median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def pair_results(
    results: Mapping[str, Mapping[str, Any]],
    record: MonitorRecord,
    pairs: Sequence[tuple[str, str]],
    sent: np.ndarray,
    reserved: np.ndarray,
    timeline: Timeline,
) -> list[dict[str, Any]]:
    """One entry per pair that sent anything."""
    by_pair: dict[tuple[str, str], list[ReservationTrack]] = {}
    for track in record.reservations.values():
        by_pair.setdefault(track.pair, []).append(track)
    out = []
    for column, (src, dst) in enumerate(pairs):
        first = results.get(src, {}).get("first", {}).get(dst)
        if first is None:
            continue
        at = float(first["mono"])
        own = _covering(by_pair.get((src, dst), []), at, timeline)
        both_ways = [t for t in by_pair.get((dst, src), []) if t.bidirectional]
        reverse = _covering(both_ways, at, timeline)
        probes = [p for p in results[src].get("probes", []) if p["dst"] == dst]
        first_probe = next((p for p in probes if p["step"] == first["step"]), None)
        later = [p["rtt_ms"] for p in probes if p is not first_probe and p["rtt_ms"] is not None]
        sending = sent[:, column] > 0
        covered = sending & (reserved[:, column] >= sent[:, column] - 1e-9)
        activations = [
            t.activated_mono for t in by_pair.get((src, dst), []) if t.activated_mono is not None
        ]
        received = sum(results.get(dst, {}).get("received", {}).get(src, []))
        holder = own or reverse
        lead = None
        if holder is not None and holder.activated_mono is not None:
            lead = round(at - holder.activated_mono, 3)
        out.append(
            {
                "pair": [src, dst],
                "first_step": int(first["step"]),
                "first_packet_wall": round(float(first["wall"]), 4),
                "stitched_before_first_packet": own is not None or reverse is not None,
                "by": "own" if own else ("reverse" if reverse else None),
                "lead_s": lead,
                "first_own_activation_after_s": round(min(activations) - at, 3)
                if activations and own is None
                else None,
                "first_rtt_ms": None if first_probe is None else first_probe["rtt_ms"],
                "steady_rtt_ms": _median(later),
                "steps_sent": int(sending.sum()),
                "steps_covered": int(covered.sum()),
                "mean_sent_mbps": round(float(sent[sending, column].mean()), 4),
                "sent_bytes": int(sum(results[src]["sent"].get(dst, []))),
                "received_bytes": int(received),
            }
        )
    return out


def _share(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def forecast_errors(
    mean: np.ndarray, planned: np.ndarray, previous: np.ndarray, ahead: np.ndarray
) -> dict[str, float | int | None]:
    """MAE of the forecasts in force against the replayed rates, and of the last value.

    ``previous`` is the row before the window (the seeded history's last step); ``ahead`` how
    many steps ahead each forecast was made.
    """
    known = np.isfinite(mean)
    if not known.any():
        return {"cells": 0, "mae_mbps": None, "last_value_mae_mbps": None}
    last = np.vstack([previous[None], planned[:-1]])
    mae = float(np.abs(mean - planned)[known].mean())
    naive = float(np.abs(last - planned)[known].mean())
    level = float(planned[known].mean())
    return {
        "cells": int(known.sum()),
        "mae_mbps": round(mae, 4),
        "last_value_mae_mbps": round(naive, 4),
        "mean_rate_mbps": round(level, 4),
        "wape_percent": round(100 * mae / level, 1) if level > 0 else None,
        "one_step_ahead_percent": round(100 * float((ahead[known] == 1).mean()), 1),
    }


def _first_rtts(pairs: Sequence[Mapping[str, Any]], stitched: bool) -> list[float]:
    return [
        p["first_rtt_ms"]
        for p in pairs
        if p["stitched_before_first_packet"] is stitched and p["first_rtt_ms"] is not None
    ]


def summarize(
    pairs: Sequence[Mapping[str, Any]],
    sent: np.ndarray,
    reserved: np.ndarray,
    settle_steps: int = 2,
) -> dict[str, Any]:
    """Headline figures over the pairs that sent."""
    stitched = [p for p in pairs if p["stitched_before_first_packet"]]
    later = [p for p in pairs if p["first_step"] >= settle_steps]
    later_stitched = [p for p in later if p["stitched_before_first_packet"]]
    steady = [p["steady_rtt_ms"] for p in pairs if p["steady_rtt_ms"] is not None]
    sending = sent > 0
    covered = sending & (reserved >= sent - 1e-9)
    sent_total = sum(p["sent_bytes"] for p in pairs)
    received_total = sum(p["received_bytes"] for p in pairs)
    return {
        "pairs_started": len(pairs),
        "pairs_started_later": len(later),
        "pre_provisioned": len(stitched),
        "pre_provisioned_percent": _share(len(stitched), len(pairs)),
        "pre_provisioned_by_reverse_pair": sum(1 for p in stitched if p["by"] == "reverse"),
        "later_pre_provisioned_percent": _share(len(later_stitched), len(later)),
        "first_rtt_ms_median_stitched": _median(_first_rtts(pairs, stitched=True)),
        "first_rtt_ms_median_reactive": _median(_first_rtts(pairs, stitched=False)),
        "later_first_rtt_ms_median_stitched": _median(_first_rtts(later, stitched=True)),
        "later_first_rtt_ms_median_reactive": _median(_first_rtts(later, stitched=False)),
        "steady_rtt_ms_median": _median(steady),
        "first_packets_lost": sum(1 for p in pairs if p["first_rtt_ms"] is None),
        "sending_steps": int(sending.sum()),
        "steps_covered_percent": _share(int(covered.sum()), int(sending.sum())),
        "bytes_covered_percent": round(100 * float(sent[covered].sum() / sent.sum()), 1)
        if sent.sum() > 0
        else None,
        "delivered_percent": _share(received_total, sent_total),
        "reserved_over_sent": round(float(reserved.sum() / sent.sum()), 3)
        if sent.sum() > 0
        else None,
        "bytes_inside_reservation_percent": round(
            100 * float(np.minimum(sent, reserved).sum() / sent.sum()), 1
        )
        if sent.sum() > 0
        else None,
    }
