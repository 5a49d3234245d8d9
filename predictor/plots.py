"""PNG plots of a backtest: error by horizon, a busy pair's forecasts, provisioning trade-off."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from predictor.backtest import BacktestResult


def _error_by_horizon(result: BacktestResult, path: Path) -> None:
    report = result.report
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, scores in report["forecasters"].items():
        ax.plot(report["horizons"], scores["mae"], marker="o", label=name)
    ax.set_xlabel("horizon (trace steps)")
    ax.set_ylabel("MAE (Mbit/s)")
    ax.set_title(f"Forecast error on the test days (chosen: {report['chosen_model']})")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _busiest_pair(result: BacktestResult, path: Path, steps: int) -> None:
    actual = result.actual[result.test_start : result.test_start + steps]
    pair = int(np.nanargmax(np.nansum(actual, axis=0)))
    chosen = result.report["chosen_model"]
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(actual[:, pair], color="black", lw=1, label="actual")
    ax.plot(result.one_step[chosen][:steps, pair], lw=1, label=f"{chosen} (1 step ahead)")
    ax.plot(result.one_step["last_value"][:steps, pair], lw=0.8, alpha=0.6, label="last value")
    upper = result.reservations.get(f"{chosen}_p95")
    if upper is not None:
        ax.plot(upper[:steps, pair], lw=0.8, ls="--", label=f"{chosen} upper (reservation)")
    ax.set_xlabel("test step")
    ax.set_ylabel("Mbit/s")
    ax.set_title(f"Busiest pair {result.pair_names[pair]}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _provisioning(result: BacktestResult, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, figures in result.report["provisioning"].items():
        x, y = figures["reserved_over_actual"], 100 * figures["under_provisioned_share"]
        ax.scatter([x], [y])
        ax.annotate(name, (x, y), fontsize=8)
    ax.axhline(5, color="grey", ls=":")
    ax.axvline(1.2, color="grey", ls=":")
    ax.set_xlabel("reserved / actual")
    ax.set_ylabel("under-provisioned (pair, step) %")
    ax.set_title("Reservations one step ahead")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_plots(result: BacktestResult, out_dir: Path) -> list[Path]:
    """Write the backtest's PNG plots into ``out_dir``; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / n for n in ("error_by_horizon.png", "busiest_pair.png", "provisioning.png")]
    _error_by_horizon(result, paths[0])
    _busiest_pair(result, paths[1], steps=min(2 * 288, result.actual.shape[0] - result.test_start))
    _provisioning(result, paths[2])
    return paths
