"""PNG plots of a replay: a few pairs' forecast, reservation and traffic; the network; RTTs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def pick_pairs(sent: np.ndarray, first_steps: Mapping[int, int], count: int = 6) -> list[int]:
    """Columns to show: the busiest pairs and the busiest of those that started late."""
    volume = sent.sum(axis=0)
    late = sorted((c for c, s in first_steps.items() if s >= 2), key=lambda c: -volume[c])
    busy = [int(c) for c in np.argsort(-volume) if volume[c] > 0 and int(c) not in late]
    chosen = late[: count // 2]
    chosen += busy[: count - len(chosen)]
    return chosen


def plot_pairs(
    path: Path,
    columns: Sequence[int],
    names: Sequence[str],
    sent: np.ndarray,
    reserved: np.ndarray,
    mean: np.ndarray,
    upper: np.ndarray,
) -> Path:
    """Per pair: sent rate, forecast in force (mean, upper) and reserved rate per step."""
    rows = max(1, (len(columns) + 1) // 2)
    fig, axes = plt.subplots(rows, 2, figsize=(11, 2.6 * rows), squeeze=False, sharex=True)
    steps = np.arange(sent.shape[0])
    for ax, column in zip(axes.flat, columns, strict=False):
        ax.step(steps, sent[:, column], where="post", color="black", lw=1.2, label="sent")
        ax.plot(steps, mean[:, column], lw=1, label="forecast in force")
        ax.plot(steps, upper[:, column], lw=0.8, ls="--", label="upper forecast")
        ax.step(steps, reserved[:, column], where="post", lw=1, label="reserved")
        ax.set_title(names[column], fontsize=9)
        ax.set_ylabel("Mbit/s")
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(columns) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("replay step (5 min of trace each)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_network(path: Path, sent: np.ndarray, reserved: np.ndarray, measured: np.ndarray) -> Path:
    """Network totals per step: sent, counted and reserved Mbit/s; pairs sending and reserved."""
    steps = np.arange(sent.shape[0])
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True)
    top.plot(steps, sent.sum(axis=1), color="black", label="sent (all pairs)")
    top.plot(steps, measured.sum(axis=1), lw=0.8, label="counted by the controller")
    top.plot(steps, reserved.sum(axis=1), label="reserved (predicted reservations)")
    covered = np.minimum(sent, reserved).sum(axis=1)
    top.plot(steps, covered, lw=0.8, ls="--", label="sent within its reservation")
    top.set_ylabel("Mbit/s")
    top.legend(fontsize=8)
    top.grid(alpha=0.3)
    bottom.plot(steps, (sent > 0).sum(axis=1), color="black", label="pairs sending")
    bottom.plot(steps, (reserved > 0).sum(axis=1), label="pairs with a reservation")
    bottom.plot(steps, ((sent > 0) & (reserved > 0)).sum(axis=1), lw=0.8, ls="--", label="both")
    bottom.set_xlabel("replay step")
    bottom.set_ylabel("pairs")
    bottom.legend(fontsize=8)
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_first_rtt(path: Path, pairs: Sequence[Mapping[str, Any]]) -> Path:
    """First-packet RTT of every pair, stitched before its first packet or not."""
    groups = {
        "stitched": [p["first_rtt_ms"] for p in pairs if p["stitched_before_first_packet"]],
        "reactive": [p["first_rtt_ms"] for p in pairs if not p["stitched_before_first_packet"]],
        "steady (later probes)": [p["steady_rtt_ms"] for p in pairs],
    }
    fig, ax = plt.subplots(figsize=(7, 4))
    rng = np.random.default_rng(0)
    for k, values in enumerate(groups.values()):
        kept = [v for v in values if v is not None]
        ax.scatter(k + rng.uniform(-0.15, 0.15, len(kept)), kept, s=10, alpha=0.7)
        if kept:
            ax.hlines(np.median(kept), k - 0.3, k + 0.3, color="black")
    ax.set_xticks(
        range(len(groups)), [f"{n}\n(n={sum(v is not None for v in groups[n])})" for n in groups]
    )
    ax.set_yscale("log")
    ax.set_ylabel("round-trip time (ms)")
    ax.set_title("First datagram of each pair: round-trip time")
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
