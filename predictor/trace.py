"""Traffic-matrix traces: load the project's ``.npz`` layout or a long-form CSV, save ``.npz``."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from vnstitch.messages import PairId

UNIT_FACTORS = {"MBITPERSEC": 1.0, "KBITPERSEC": 1e-3, "GBITPERSEC": 1e3, "BITPERSEC": 1e-6}
TIME_FORMAT = "%Y%m%d-%H%M"


@dataclass(frozen=True)
class Trace:
    """A sequence of traffic matrices: ``tm[t, i, j]`` is the mean rate i -> j over step t."""

    tm: np.ndarray  # (T, N, N) float64, Mbit/s
    nodes: tuple[str, ...]
    start: float  # epoch seconds (UTC) at the start of step 0
    step_seconds: float

    @property
    def steps(self) -> int:
        """Number of time steps."""
        return int(self.tm.shape[0])

    @property
    def steps_per_day(self) -> int:
        """Steps in 24 hours."""
        return round(86400 / self.step_seconds)

    def pairs(self) -> list[PairId]:
        """The off-diagonal pairs in row-major order, named by node names."""
        n = len(self.nodes)
        return [PairId(self.nodes[i], self.nodes[j]) for i in range(n) for j in range(n) if i != j]

    def pair_names(self) -> list[str]:
        """The pairs as strings (``src>dst``), the keys of per-pair calibration."""
        return [str(p) for p in self.pairs()]

    def series(self) -> np.ndarray:
        """Rates as (T, P) over the off-diagonal pairs, in the order of :meth:`pairs`."""
        mask = ~np.eye(len(self.nodes), dtype=bool)
        return np.asarray(self.tm[:, mask], dtype=np.float64)

    def slice(self, first: int, stop: int) -> Trace:
        """The steps ``first <= t < stop`` as a trace of their own."""
        start = self.start + first * self.step_seconds
        return Trace(self.tm[first:stop], self.nodes, start, self.step_seconds)


def _parse_time(text: str) -> float:
    text = text.strip()
    try:
        moment = datetime.strptime(text, TIME_FORMAT)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def format_time(epoch: float) -> str:
    """An epoch time in the traces' ``YYYYMMDD-HHMM`` (UTC) form."""
    return datetime.fromtimestamp(epoch, UTC).strftime(TIME_FORMAT)


def load_npz(path: Path) -> Trace:
    """Load the ``.npz`` layout (tm, nodes, times, step_minutes, unit)."""
    with np.load(path, allow_pickle=False) as data:
        unit = str(np.asarray(data["unit"]).reshape(-1)[0]) if "unit" in data else "MBITPERSEC"
        if unit not in UNIT_FACTORS:
            raise ValueError(f"{path}: unknown unit {unit!r}")
        tm = np.asarray(data["tm"], dtype=np.float64) * UNIT_FACTORS[unit]
        nodes = tuple(str(n) for n in data["nodes"])
        step_seconds = float(data["step_minutes"]) * 60.0
        start = _parse_time(str(data["times"][0])) if "times" in data else 0.0
    if tm.ndim != 3 or tm.shape[1:] != (len(nodes), len(nodes)):
        raise ValueError(f"{path}: tm must be (T, N, N) with N = len(nodes)")
    return Trace(tm, nodes, start, step_seconds)


def load_csv(path: Path) -> Trace:
    """Load a long-form CSV with columns ``time,src,dst,mbps`` (one row per pair and step)."""
    rows: list[tuple[float, str, str, float]] = []
    with path.open(newline="") as handle:
        for record in csv.DictReader(handle):
            rows.append(
                (_parse_time(record["time"]), record["src"], record["dst"], float(record["mbps"]))
            )
    if not rows:
        raise ValueError(f"{path}: no rows")
    times = sorted({r[0] for r in rows})
    steps = np.diff(times)
    step_seconds = float(steps.min()) if len(steps) else 300.0
    nodes = tuple(sorted({r[1] for r in rows} | {r[2] for r in rows}))
    index = {n: i for i, n in enumerate(nodes)}
    count = round((times[-1] - times[0]) / step_seconds) + 1
    tm = np.zeros((count, len(nodes), len(nodes)))
    for moment, src, dst, mbps in rows:
        tm[round((moment - times[0]) / step_seconds), index[src], index[dst]] = mbps
    return Trace(tm, nodes, times[0], step_seconds)


def load_trace(path: str | Path) -> Trace:
    """Load a trace from ``.npz`` or ``.csv`` by its suffix."""
    path = Path(path)
    if path.suffix == ".csv":
        return load_csv(path)
    return load_npz(path)


def save_npz(trace: Trace, path: str | Path) -> None:
    """Write a trace in the ``.npz`` layout :func:`load_npz` reads (rates as float32 Mbit/s)."""
    times = [format_time(trace.start + t * trace.step_seconds) for t in range(trace.steps)]
    np.savez_compressed(
        path,
        tm=trace.tm.astype(np.float32),
        nodes=np.array(trace.nodes),
        times=np.array(times),
        step_minutes=np.int64(round(trace.step_seconds / 60)),
        unit=np.array(["MBITPERSEC"]),
    )
