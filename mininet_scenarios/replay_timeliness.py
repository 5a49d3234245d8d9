"""Were the forecasts on time? From the monitor's polls of ``/v1/forecasts``.

Each poll lists every pair's latest forecast with the traffic time the controller took it
(``now - age_s``). A forecast made from the steps up to ``s - 1`` starts at step ``s``
(``valid_from``); it cannot exist before step ``s`` starts, so what provisions step ``s`` is
the forecast held when ``s`` starts — made from the steps up to ``s - 2`` at the latest.

- *on time*: of the pair-steps some forecast was made for (at any time: the predictor stops
  forecasting a pair idle for a day), those covered by a forecast the controller held before
  the step started;
- *lateness*: how long after step ``s`` started the forecast made from the steps up to
  ``s - 1`` reached the controller (wall ms; the measurement, the model and the queue).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mininet_scenarios.replay_monitor import MonitorRecord
from mininet_scenarios.replay_report import Timeline
from vnstitch.clock import parse_rfc3339

Key = tuple[tuple[str, str], float]  # (pair, valid_from)


def _taken(record: MonitorRecord, timeline: Timeline) -> dict[Key, tuple[float, float]]:
    """(pair, valid_from) -> (traffic time the controller took it, valid_until)."""
    out: dict[Key, tuple[float, float]] = {}
    for wall, entries in record.forecasts:
        now = timeline.traffic(wall)
        for entry in entries:
            key = ((entry["pair"][0], entry["pair"][1]), parse_rfc3339(entry["valid_from"]))
            taken = now - float(entry["age_s"])
            until = parse_rfc3339(entry["valid_until"])
            if key not in out or taken < out[key][0]:
                out[key] = (taken, until)
    return out


def timeliness(
    record: MonitorRecord, pairs: Sequence[tuple[str, str]], steps: int, timeline: Timeline
) -> dict[str, Any]:
    """On-time share over the forecast pairs' steps, and per-step lateness (see module doc)."""
    taken = _taken(record, timeline)
    step_t = timeline.trace_step_s
    boundaries = [timeline.start_time + s * step_t for s in range(steps)]
    forecast_pairs = sorted({pair for pair, _ in taken} & set(pairs))
    by_pair: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    for (pair, start), (at, until) in taken.items():
        by_pair.setdefault(pair, []).append((start, until, at))
    on_time = np.zeros((steps, len(forecast_pairs)), dtype=bool)
    forecast = np.zeros((steps, len(forecast_pairs)), dtype=bool)
    lateness: list[list[float]] = [[] for _ in range(steps)]
    tolerance = 1e-3 * step_t  # valid_from is rendered to the millisecond
    for column, pair in enumerate(forecast_pairs):
        for s, b in enumerate(boundaries):
            for start, until, at in by_pair.get(pair, []):
                if start - tolerance <= b < until - tolerance:
                    forecast[s, column] = True
                    on_time[s, column] |= at <= b
                if abs(start - b) <= tolerance:
                    lateness[s].append((at - b) / timeline.time_scale * 1000.0)
    medians = [round(float(np.median(x)), 1) if x else None for x in lateness]
    maxima = [round(float(np.max(x)), 1) if x else None for x in lateness]
    flat = [v for x in lateness for v in x]
    cells = int(forecast.sum())
    return {
        "pairs": len(forecast_pairs),
        "pair_steps_forecast": cells,
        "on_time_percent": round(100.0 * float(on_time.sum()) / cells, 2) if cells else None,
        "late_pair_steps": int((forecast & ~on_time).sum()),
        "steps_with_late_forecasts": [s for s in range(steps) if (forecast[s] & ~on_time[s]).any()],
        "one_step_lateness_ms": {
            "median": round(float(np.median(flat)), 1) if flat else None,
            "p99": round(float(np.percentile(flat, 99)), 1) if flat else None,
            "max": round(float(np.max(flat)), 1) if flat else None,
            "steps_with_one_step_forecasts": sum(1 for x in lateness if x),
            "per_step_median": medians,
            "per_step_max": maxima,
        },
    }


def one_step_errors(
    record: MonitorRecord,
    pairs: Sequence[tuple[str, str]],
    timeline: Timeline,
    planned: np.ndarray,
    previous: np.ndarray,
) -> dict[str, Any]:
    """MAE of each step's one-step-ahead forecast (made from the steps before it, whenever it
    reached the controller within the step) against the replayed rates, beside last value's
    on the same pair-steps: the model's error, apart from when it arrived."""
    index = {p: i for i, p in enumerate(pairs)}
    steps = planned.shape[0]
    step_t = timeline.trace_step_s
    mean = np.full(planned.shape, np.nan)
    for wall, entries in record.forecasts:
        now = timeline.traffic(wall)
        s = int(np.floor((now - timeline.start_time) / step_t))
        if not 0 <= s < steps:
            continue
        b = timeline.start_time + s * step_t
        for entry in entries:
            pair = (entry["pair"][0], entry["pair"][1])
            if pair not in index or entry.get("mean_mbps") is None:
                continue
            if abs(parse_rfc3339(entry["valid_from"]) - b) <= 1e-3 * step_t:
                mean[s, index[pair]] = entry["mean_mbps"]
    known = np.isfinite(mean)
    if not known.any():
        return {"cells": 0, "mae_mbps": None, "last_value_mae_mbps": None}
    last = np.vstack([previous[None], planned[:-1]])
    mae = float(np.abs(mean - planned)[known].mean())
    naive = float(np.abs(last - planned)[known].mean())
    return {
        "cells": int(known.sum()),
        "mae_mbps": round(mae, 4),
        "last_value_mae_mbps": round(naive, 4),
        "ratio": round(mae / naive, 3) if naive > 0 else None,
    }
