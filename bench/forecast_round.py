"""One forecast round of the live predictor, for Abilene-sized and GEANT-sized pair sets.

Usage: python -m bench.forecast_round [--pairs 144 462] [--rounds N] [--horizon H]
                                      [--train-trace PATH]

For each pair count: a synthetic trace (gravity model, daily cycle, 5-minute steps) trains
the live model (one central and one upper model per horizon step); an engine is warmed up with
two days of observations, then each measured round is one ``Observations`` message that
completes a step: binning, anomaly check, features, both models for every horizon,
calibration, the ``ForecastBatch`` and its msgpack encoding. Printed: median and p95 round
time, and the training time. With ``--train-trace`` it also times ``predictor train`` on that
trace (the 14-day Abilene file: target under 60 s on 2 cores).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from predictor.engine import EngineConfig, PredictorEngine
from predictor.generator import GeneratorConfig, generate
from predictor.models import TrainConfig
from predictor.trace import load_trace
from predictor.training import train
from vnstitch.messages import Observations, PairId, PairSample, encode

WARMUP_DAYS = 2.2


def _pairs(count: int) -> tuple[list[PairId], np.ndarray, float, float]:
    """``count`` pairs named by IP with 3 days of synthetic rates (rates, start, step)."""
    nodes = 2
    while nodes * (nodes - 1) < count:
        nodes += 1
    trace = generate(GeneratorConfig(nodes=nodes, days=3 + WARMUP_DAYS, seed=count))
    names = [
        PairId(f"10.{i // 250}.{i % 250}.1", f"10.{j // 250}.{j % 250}.2")
        for i, j in ((int(p.src[1:]), int(p.dst[1:])) for p in trace.pairs())
    ][:count]
    return names, trace.series()[:, :count], trace.start, trace.step_seconds


def _observation(pairs: list[PairId], rates: np.ndarray, start: float, step: float) -> Observations:
    samples = tuple(
        PairSample(p, round(r * 1e6 / 8 * step)) for p, r in zip(pairs, rates, strict=True)
    )
    return Observations("bench", 0, start, start + step, samples)


def bench_pairs(count: int, rounds: int, horizon: int) -> None:
    """Train, warm up and time forecast rounds for ``count`` pairs."""
    pairs, rates, start, step = _pairs(count)
    train_steps = rates.shape[0] - round(WARMUP_DAYS * 86400 / step)
    config = TrainConfig(horizons=tuple(range(1, horizon + 1)))
    began = time.perf_counter()
    model = train(rates[:train_steps], start, step, [str(p) for p in pairs], config)
    trained = time.perf_counter() - began

    engine = PredictorEngine(
        "bench", EngineConfig(horizon=horizon, step_seconds=step, retrain=False)
    )
    warm = rates.shape[0] - rounds
    for t in range(train_steps, warm):
        engine.handle(_observation(pairs, rates[t], start + t * step, step))
    engine.install(model, "bench")
    times = []
    for t in range(warm, rates.shape[0]):
        message = _observation(pairs, rates[t], start + t * step, step)
        began = time.perf_counter()
        out = engine.handle(message)
        frames = [encode(m) for m in out]
        times.append(time.perf_counter() - began)
        assert frames, "every measured observation completes a step"
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * len(times)))]
    median = statistics.median(times)
    print(
        f"{count:4d} pairs, {horizon} steps: round median {1000 * median:6.1f} ms,"
        f" p95 {1000 * p95:6.1f} ms over {rounds} rounds; training {trained:5.1f} s"
        f" on {train_steps} steps"
    )


def bench_training(path: Path, horizon: int) -> None:
    """Time training the live model on a whole trace file."""
    trace = load_trace(path)
    config = TrainConfig(horizons=tuple(range(1, horizon + 1)))
    began = time.perf_counter()
    train(trace.series(), trace.start, trace.step_seconds, trace.pair_names(), config)
    print(
        f"training on {path.name}: {trace.steps} steps x {len(trace.pairs())} pairs,"
        f" {horizon} horizons: {time.perf_counter() - began:.1f} s (1 thread)"
    )


def main() -> None:
    """Parse arguments and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, nargs="+", default=[144, 462])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--horizon", type=int, default=3)
    parser.add_argument("--train-trace", type=Path, default=None)
    args = parser.parse_args()
    for count in args.pairs:
        bench_pairs(count, args.rounds, args.horizon)
    if args.train_trace is not None:
        bench_training(args.train_trace, args.horizon)


if __name__ == "__main__":
    main()
