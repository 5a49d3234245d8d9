"""What a TE backtest writes: the JSON report, a per-step CSV, two PNGs, a printed summary."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from predictor.te.backtest import POLICIES, STITCHED, TeResult
from predictor.trace import format_time

REPORT_NAME = "te_backtest.json"


def _ratio_over_time(result: TeResult, path: Path) -> None:
    """All policies above; below, the stitched ones on their own scale."""
    fig, (every, stitched) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    hours = (result.step_starts - result.step_starts[0]) / 3600
    for policy in POLICIES:
        every.plot(hours, result.ratio(policy), lw=0.8, label=policy)
        if policy in STITCHED:
            stitched.plot(hours, result.ratio(policy), lw=0.8, label=policy)
    for ax in (every, stitched):
        ax.axhline(1.0, color="black", lw=0.6)
        ax.set_ylabel("MLU / optimal MLU")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    every.set_title(f"Max link utilisation against the optimum (forecast: {result.model})")
    stitched.set_xlabel(f"hours after {format_time(float(result.step_starts[0]))} UTC")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _ratio_cdf(result: TeResult, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for policy in POLICIES:
        ratio = np.sort(result.ratio(policy)[np.isfinite(result.ratio(policy))])
        ax.plot(ratio, np.arange(1, len(ratio) + 1) / max(len(ratio), 1), label=policy)
    ax.set_xlabel("MLU / optimal MLU")
    ax.set_ylabel("share of steps")
    ax.set_title("CDF over the replayed steps")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _steps_csv(result: TeResult, path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["time", "optimal_mlu"]
            + [f"{p}_mlu" for p in POLICIES]
            + [f"{p}_budget" for p in STITCHED]
        )
        for k, start in enumerate(result.step_starts.tolist()):
            writer.writerow(
                [format_time(start), f"{result.optimum[k]:.6g}"]
                + [f"{result.mlu[p][k]:.6g}" for p in POLICIES]
                + [f"{result.budget[p][k]:.6g}" for p in STITCHED]
            )


def write_outputs(result: TeResult, out_dir: Path) -> list[Path]:
    """``te_backtest.json``, ``te_steps.csv`` and the PNGs in ``out_dir``; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / n for n in (REPORT_NAME, "te_steps.csv", "te_mlu_ratio.png")]
    paths.append(out_dir / "te_mlu_ratio_cdf.png")
    paths[0].write_text(json.dumps(result.report, indent=2) + "\n")
    _steps_csv(result, paths[1])
    _ratio_over_time(result, paths[2])
    _ratio_cdf(result, paths[3])
    return paths


def summary(result: TeResult) -> str:
    """A short table of the figures."""
    report = result.report
    lines = [
        f"TE backtest: {report['steps']} steps, capacity scale {report['capacity_scale']:.6g}, "
        f"forecast model {result.model}",
        f"{'policy':<14} {'MLU/opt mean':>12} {'p50':>7} {'p99':>7} {'uncovered':>10} "
        f"{'reserved/actual':>16}",
    ]
    for name, figures in report["policies"].items():
        mlu = figures["mlu_over_optimal"]
        lines.append(
            f"{name:<14} {mlu['mean']:>12.3f} {mlu['p50']:>7.3f} {mlu['p99']:>7.3f} "
            f"{100 * figures['uncovered_share']:>9.1f}% {figures['reserved_over_actual']:>16.3f}"
        )
    lines.append(
        f"optimal MLU per step: median {np.median(result.optimum):.4f}, "
        f"max {result.optimum.max(initial=0.0):.4f}"
    )
    lines.extend(f"  assumed: {note}" for note in result.notes)
    return "\n".join(lines)
