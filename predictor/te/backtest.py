"""TE backtest: predicted reservations placed by the stitcher, scored against the optimum.

A trace is replayed step by step after its training days. For every step each policy holds a
reservation size per pair; the real stitcher places them (:mod:`predictor.te.placement`); the
step's actual traffic is then routed on those placements, traffic above a pair's reservation
and pairs without one on the baseline path (:mod:`predictor.te.routing`). The score of a step
is its max link utilisation (MLU) divided by the optimum MLU of the actual traffic
(:mod:`predictor.te.optimum`), the convention of DOTE (NSDI'23) and FIGRET (SIGCOMM'24).

Policies:

* ``forecast`` — the model chosen on the training days (:mod:`predictor.selection`), its
  calibrated upper forecast one step ahead through the provisioning policy;
* ``last_value`` — the same with last value as the forecast (calibrated the same way);
* ``oracle`` — every pair above the threshold reserved at exactly the rate it will send;
* ``shortest_path`` — no reservations: everything on the baseline path.

Report layout (``te_backtest.json``)::

    {"policies": {NAME: {"mlu_over_optimal": {"mean": x, "p50": x, "p99": x},
                         "uncovered_share": x, "reserved_over_actual": x}},
     "steps": n, "capacity_scale": x}

``uncovered_share`` is the share of the traffic (Mbit/s summed over pairs and steps) not inside
a placed reservation; ``reserved_over_actual`` the placed reservations over the traffic.
Capacities come from the topology file when it gives installed ones; otherwise (or with
``capacities="scaled"``) they are scaled so that the optimum's busiest link is at
``target_utilisation`` at the busiest replayed step, and ``capacity_scale`` says by how much.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypedDict

import numpy as np

from predictor.backtest import one_step_forecasts
from predictor.features import FeatureSpec
from predictor.models import Progress, TrainConfig
from predictor.selection import (
    LAST_VALUE,
    Candidate,
    candidates,
    fit_chosen,
    validate,
    validation_steps,
)
from predictor.te.network import Pair, TeNetwork
from predictor.te.optimum import OptimalMlu
from predictor.te.placement import StitcherPlacement
from predictor.te.routing import Routing
from predictor.te.sizes import oracle_sizes, provisioned_sizes
from predictor.trace import Trace
from vnstitch.predictive.provisioning import ProvisioningPolicy
from vnstitch.stitcher.cost import BALANCING_UTILISATION_MS, CostWeights, balancing_weights

POLICIES = ("forecast", "last_value", "oracle", "shortest_path")
STITCHED = POLICIES[:3]
CAPACITY_MODES = ("auto", "file", "scaled")
# Grow at once, give back only beyond a 10 % band (chosen on Abilene days 9-10 with a model of
# days 1-8): see vnstitch.predictive.provisioning.ProvisioningPolicy.
TE_POLICY = ProvisioningPolicy(
    threshold_mbps=1.0, hysteresis=0.2, grow_hysteresis=0.0, shrink_hysteresis=0.1
)
# The stitcher's utilisation weight (ms of latency a full link costs) for TE placement; the
# controller's default is 1 ms (see predictor.te.placement). Chosen on the same days.
TE_UTILISATION_MS = BALANCING_UTILISATION_MS
# Reservations sized at the calibrated p99 upper forecast: on days 9-10 (model of days 1-8) p99
# of MLU / optimum 1.222 against 1.255 at p95 and 1.276 at p98, mean 1.076 (1.062 at p95), at
# 1.44x the actual traffic reserved (1.23x at p95). docs/BENCHMARKS.md, 2026-11-30.
TE_QUANTILE = 0.99


def te_weights(utilisation_ms: float, utilisation_power: float = 1.0) -> CostWeights:
    """The stitcher's default path cost with another utilisation weight (and power)."""
    return balancing_weights(utilisation_ms, utilisation_power)


@dataclass(frozen=True)
class TeConfig:
    """How to run a TE backtest."""

    train_days: float = 10.0
    quantile: float = TE_QUANTILE  # coverage level of the calibrated upper forecast
    capacities: str = "auto"  # auto: the file's where it gives installed ones, else scaled
    target_utilisation: float = 0.6  # scaled capacities: the optimum's MLU at the busiest step
    policy: ProvisioningPolicy = TE_POLICY
    max_steps: int | None = None  # replay only this many steps after the training days
    tolerance: float = 0.005  # relative precision of the placement budget
    utilisation_ms: float | None = TE_UTILISATION_MS  # None: the controller's path cost
    utilisation_power: float = 1.0  # exponent of utilisation in the path cost
    threads: int = 1


class MluFigures(TypedDict):
    """MLU divided by the optimum over the replayed steps."""

    mean: float
    p50: float
    p99: float


class PolicyFigures(TypedDict):
    """One policy's figures."""

    mlu_over_optimal: MluFigures
    uncovered_share: float
    reserved_over_actual: float


class TeReport(TypedDict):
    """The JSON report (layout in the module docstring)."""

    policies: dict[str, PolicyFigures]
    steps: int
    capacity_scale: float


@dataclass
class TeResult:
    """The report, and per step what the plots and the summary need."""

    report: TeReport
    step_starts: np.ndarray  # epoch seconds of each replayed step
    optimum: np.ndarray  # optimal MLU per step
    mlu: dict[str, np.ndarray]  # policy -> MLU per step
    budget: dict[str, np.ndarray]  # stitched policy -> placement budget per step
    model: str = LAST_VALUE
    notes: list[str] = field(default_factory=list)

    def ratio(self, policy: str) -> np.ndarray:
        """MLU divided by the optimum per step (NaN where the optimum is 0)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.optimum > 0, self.mlu[policy] / self.optimum, np.nan)


@dataclass
class _Totals:
    actual: float = 0.0
    covered: float = 0.0
    reserved: float = 0.0


def _sizes(
    trace: Trace,
    rates: np.ndarray,
    train_steps: int,
    stop: int,
    config: TeConfig,
    pool: Sequence[Candidate] | None,
    say: Progress,
) -> tuple[dict[str, np.ndarray], str]:
    """Reserved Mbit/s (steps, pairs) per stitched policy, and the chosen model's name."""
    spec, names = FeatureSpec(trace.step_seconds), trace.pair_names()
    base = TrainConfig(
        horizons=(1,), upper_horizons=(1,), quantile=config.quantile, threads=config.threads
    )
    pool = candidates(base) if pool is None else pool
    held_out = validation_steps(train_steps, spec)
    say(f"choosing the model: fit on {train_steps - held_out} steps, validate on {held_out}")
    selection = validate(rates[:train_steps], trace.start, spec, names, pool, (1,), held_out, say)
    model = fit_chosen(selection, rates[:train_steps], trace.start, spec, names, base)
    history = rates[:stop]
    starts = trace.start + np.arange(train_steps, stop) * trace.step_seconds
    sizes = {}
    for policy, forecaster in (("forecast", model), ("last_value", None)):
        central, upper = one_step_forecasts(
            trace, history, train_steps, forecaster, config.quantile
        )
        sizes[policy] = provisioned_sizes(central, upper, starts, trace.step_seconds, config.policy)
    sizes["oracle"] = oracle_sizes(rates[train_steps:stop], config.policy)
    return sizes, selection.chosen


def _capacity_scale(
    network: TeNetwork, demands: list[np.ndarray], config: TeConfig
) -> tuple[float, np.ndarray]:
    """The capacity factor, and the optimum MLU of every step at the scaled capacities."""
    optimum = OptimalMlu(network.size, network.links, network.capacity_mbps)
    raw = np.array([optimum.solve(d) for d in demands])
    if config.capacities == "file" or (config.capacities == "auto" and network.capacity_from_file):
        return 1.0, raw
    peak = float(raw.max(initial=0.0))
    if peak <= 0:
        return 1.0, raw
    scale = peak / config.target_utilisation
    return scale, raw / scale


def _figures(ratio: np.ndarray, totals: _Totals) -> PolicyFigures:
    known = ratio[np.isfinite(ratio)]
    actual = max(totals.actual, 1e-12)
    return PolicyFigures(
        mlu_over_optimal=MluFigures(
            mean=float(known.mean()),
            p50=float(np.percentile(known, 50)),
            p99=float(np.percentile(known, 99)),
        ),
        uncovered_share=1.0 - totals.covered / actual,
        reserved_over_actual=totals.reserved / actual,
    )


def _pair_nodes(trace: Trace, network: TeNetwork) -> list[Pair]:
    n = len(trace.nodes)
    where = network.trace_nodes
    return [(where[i], where[j]) for i in range(n) for j in range(n) if i != j]


def run_te_backtest(
    trace: Trace,
    network: TeNetwork,
    config: TeConfig = TeConfig(),
    progress: Progress | None = None,
    pool: Sequence[Candidate] | None = None,
) -> TeResult:
    """Replay ``trace`` after its training days on ``network`` under every policy."""
    say = progress or (lambda _msg: None)
    if config.capacities not in CAPACITY_MODES:
        raise ValueError(f"capacities must be one of {', '.join(CAPACITY_MODES)}")
    spec = FeatureSpec(trace.step_seconds)
    rates = trace.series()
    train_steps = round(config.train_days * spec.day)
    stop = trace.steps if config.max_steps is None else train_steps + config.max_steps
    stop = min(stop, trace.steps)
    if not 2 * spec.day < train_steps < stop:
        raise ValueError("training needs more than two days and must leave steps to replay")
    sizes, chosen = _sizes(trace, rates, train_steps, stop, config, pool, say)
    demands = [network.demand_matrix(trace.tm[t]) for t in range(train_steps, stop)]
    scale, optimum = _capacity_scale(network, demands, config)
    network = network.scaled(scale)
    if scale != 1.0:
        say(
            f"capacities scaled by {scale:.6g}: the optimum's busiest link at "
            f"{config.target_utilisation:g} at the busiest step"
        )
    lp = OptimalMlu(network.size, network.links, network.capacity_mbps)
    weights = (
        None
        if config.utilisation_ms is None
        else te_weights(config.utilisation_ms, config.utilisation_power)
    )
    placement = StitcherPlacement(network, lp, config.tolerance, weights)
    routing = Routing(network, placement.db)
    pairs = _pair_nodes(trace, network)
    steps = stop - train_steps
    mlu = {p: np.zeros(steps) for p in POLICIES}
    budget = {p: np.zeros(steps) for p in STITCHED}
    totals = {p: _Totals() for p in POLICIES}
    began = time.perf_counter()
    for k in range(steps):
        row = rates[train_steps + k]
        actual = {pair: float(v) for pair, v in zip(pairs, row, strict=True) if v > 0}
        routed = routing.route(actual, {}, {})
        mlu["shortest_path"][k] = routing.utilisation(routed)
        totals["shortest_path"].actual += routed.total_mbps
        for policy in STITCHED:
            wanted = {pair: float(v) for pair, v in zip(pairs, sizes[policy][k], strict=True) if v}
            placed = placement.place(wanted)
            reserved = {p: wanted[p] for p in placed.paths}
            routed = routing.route(actual, reserved, placed.paths)
            mlu[policy][k], budget[policy][k] = routing.utilisation(routed), placed.budget
            totals[policy].actual += routed.total_mbps
            totals[policy].covered += routed.covered_mbps
            totals[policy].reserved += sum(reserved.values())
        if (k + 1) % max(1, steps // 20) == 0 or k + 1 == steps:
            _progress(say, k + 1, steps, time.perf_counter() - began, mlu, optimum)
    result = TeResult(
        TeReport(policies={}, steps=steps, capacity_scale=scale),
        trace.start + np.arange(train_steps, stop) * trace.step_seconds,
        optimum,
        mlu,
        budget,
        chosen,
        list(network.notes),
    )
    for policy in POLICIES:
        result.report["policies"][policy] = _figures(result.ratio(policy), totals[policy])
    return result


def _progress(
    say: Progress,
    done: int,
    steps: int,
    elapsed: float,
    mlu: dict[str, np.ndarray],
    optimum: np.ndarray,
) -> None:
    left = elapsed / done * (steps - done)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = {p: np.nanmean(m[:done] / optimum[:done]) for p, m in mlu.items()}
    shown = ", ".join(f"{p} {v:.3f}" for p, v in means.items())
    say(f"step {done}/{steps} ({elapsed:.0f} s, about {left:.0f} s left): MLU / optimum {shown}")
