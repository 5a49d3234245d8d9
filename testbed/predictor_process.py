"""The real predictor (``python -m predictor run``) as a test's child process, seeded from a trace.

Tests that run it against a controller (one, or a cluster) share the seed -- two hours in
which only 10.0.0.1 sends to 10.0.0.3, at 5 Mbit/s -- and the process handling: start (each
start logs to its own file), kill -9, stop (terminate, then kill after 10 s). The predictor
compresses time: ``SCALE`` trace seconds per wall second, a step of ``STEP`` trace seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

from predictor.trace import Trace, save_npz

ROOT = Path(__file__).resolve().parents[1]
STEP = 60.0  # seconds per trace step
SCALE = 30.0  # trace seconds per wall second: a step every two seconds
SEED_START = 1_700_000_040.0  # a multiple of 60 s
SEED_STEPS = 120
SEED_HOSTS = ("10.0.0.1", "10.0.0.2", "10.0.0.3")


def write_seed(path: Path) -> float:
    """Two hours in which only 10.0.0.1 -> 10.0.0.3 sends (5 Mbit/s); returns the seed's end."""
    tm = np.zeros((SEED_STEPS, 3, 3))
    tm[:, 0, 2] = 5.0
    save_npz(Trace(tm, SEED_HOSTS, SEED_START, STEP), path)
    return SEED_START + SEED_STEPS * STEP


def predictor_argv(
    observations: str, forecasts: str, seed: Path, until: float, workdir: Path
) -> list[str]:
    """The command line: no retraining, the seed, the time scale, status every 0.5 s."""
    argv = [sys.executable, "-m", "predictor", "run", "--no-retrain"]
    argv += ["--observations", observations, "--forecasts", forecasts]
    argv += ["--model-dir", str(workdir / "models"), "--step-seconds", str(STEP)]
    argv += ["--seed-trace", str(seed), "--seed-until", repr(until)]
    argv += ["--bytes-scale", str(SCALE), "--status-interval", "0.5"]
    return argv


class PredictorProcess:
    """One predictor command line, started (and restarted) as a child process."""

    def __init__(self, argv: list[str], workdir: Path) -> None:
        self.argv = argv
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def log(self) -> Path:
        """The current (last started) process's log."""
        return self.workdir / f"predictor-{max(self.starts, 1)}.log"

    def start(self) -> None:
        """Start it (again), logging to a file of its own."""
        self.starts += 1
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                self.argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        """kill -9, and reap it."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Terminate it if it runs (kill after 10 s)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
