"""Synthetic traffic matrices: gravity-model volumes, per-pair diurnal cycles and noise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from predictor.trace import Trace

DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC).timestamp()  # a Monday


@dataclass(frozen=True)
class GeneratorConfig:
    """Shape of a synthetic trace."""

    nodes: int = 12
    days: float = 14.0
    step_minutes: int = 5
    total_mbps: float = 3000.0  # mean network-wide rate
    diurnal_amplitude: float = 0.5  # relative swing of the daily cycle
    weekend_factor: float = 0.7
    noise: float = 0.15  # relative log-normal noise per step
    periodic_share: float = 0.1  # share of pairs with hourly on/off transfers
    seed: int = 1
    start: float = DEFAULT_START


def _gravity(rng: np.random.Generator, nodes: int, total: float) -> np.ndarray:
    """Mean rate per pair: product of node masses, scaled to ``total``."""
    mass = rng.lognormal(0.0, 1.0, nodes)
    volumes = np.outer(mass, mass)
    np.fill_diagonal(volumes, 0.0)
    return np.asarray(total * volumes / volumes.sum())


def generate(config: GeneratorConfig = GeneratorConfig()) -> Trace:
    """A trace like a measured one (a :class:`Trace`); each pair has its own phase and noise."""
    rng = np.random.default_rng(config.seed)
    n = config.nodes
    step_seconds = config.step_minutes * 60.0
    steps = round(config.days * 86400 / step_seconds)
    seconds = config.start + np.arange(steps) * step_seconds
    day_fraction = (seconds % 86400) / 86400
    weekday = ((seconds // 86400).astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    weekend = np.where(weekday >= 5, config.weekend_factor, 1.0)

    mean = _gravity(rng, n, config.total_mbps)
    phase = rng.uniform(-0.1, 0.1, (n, n))  # peak near 14:00 local, jittered per pair
    cycle = 1.0 + config.diurnal_amplitude * np.cos(
        2 * np.pi * (day_fraction[:, None, None] - 0.58 - phase[None])
    )
    tm = mean[None] * cycle * weekend[:, None, None]
    tm *= rng.lognormal(-0.5 * config.noise**2, config.noise, tm.shape)

    periodic = rng.random((n, n)) < config.periodic_share
    on_pattern = rng.random((n, n, 12)) < 0.5
    bursts = np.moveaxis(on_pattern[:, :, np.arange(steps) % 12], 2, 0)  # (T, N, N)
    tm = np.where(periodic[None], tm * (0.2 + 1.6 * bursts), tm)
    tm[:, np.arange(n), np.arange(n)] = 0.0
    nodes = tuple(f"n{i:02d}" for i in range(n))
    return Trace(tm, nodes, config.start, step_seconds)
