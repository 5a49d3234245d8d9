"""The replay's model: chosen and trained as the backtest does, once, then cached under ``var/``.

The training days' rates (the prepared trace: scaled and floored as they are replayed) go
through :mod:`predictor.selection` — every candidate of the grid fitted on all but the last two
days, scored there against last value at 1, 3, 6 and 12 steps, the best kept — and the winner
is fitted again on all of them (``predictor.backtest`` does the same). The result is saved in
``var/replay-models/<digest of the rates and settings>/`` and reused by the next run on the
same days; ``choice.json`` beside it says what was chosen and on how many days.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mininet_scenarios.replay_trace import ReplayTrace
from predictor.backtest import HORIZONS
from predictor.features import FeatureSpec
from predictor.models import TrainConfig
from predictor.selection import LAST_VALUE, candidates, fit_chosen, validate, validation_steps
from predictor.store import latest_tag, save_model

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "var" / "replay-models"
CHOICE = "choice.json"


@dataclass(frozen=True)
class ModelChoice:
    """The model the replay's predictor loads."""

    directory: Path
    tag: str | None  # None: validation chose last value (the predictor's fallback)
    chosen: str
    train_days: float
    train_steps: int
    pairs: int
    cached: bool
    seconds: float

    def describe(self) -> str:
        """One line for the demo's output."""
        how = "cached" if self.cached else f"chosen and trained in {self.seconds:.0f} s"
        return (
            f"model {self.chosen} ({self.tag or 'last value'}), chosen on a time-ordered "
            f"validation split and trained on {self.train_days:g} days ({self.train_steps} "
            f"steps x {self.pairs} pairs), {how}: {self.directory}"
        )


def _digest(rt: ReplayTrace, steps: int, horizon: int, quick: bool) -> str:
    rates = rt.trace.series()[:steps]
    h = hashlib.sha256(rates.tobytes())
    h.update(repr((rt.trace.start, rt.trace.step_seconds, rates.shape, horizon, quick)).encode())
    h.update(",".join(rt.trace.pair_names()).encode())
    return h.hexdigest()[:16]


def trained_model(
    rt: ReplayTrace,
    train_days: float,
    horizon: int,
    say: Callable[[str], None],
    quick: bool = False,
    cache: Path = CACHE,
) -> ModelChoice:
    """The cached model for these training days, or a newly chosen and trained one."""
    steps = round(train_days * rt.trace.steps_per_day)
    directory = cache / _digest(rt, steps, horizon, quick)
    began = time.monotonic()
    choice_file = directory / CHOICE
    if choice_file.exists():
        saved = json.loads(choice_file.read_text())
        return ModelChoice(
            directory,
            latest_tag(directory),
            saved["chosen"],
            train_days,
            steps,
            saved["pairs"],
            True,
            0.0,
        )
    rates = rt.trace.series()[:steps]
    names = rt.trace.pair_names()
    spec = FeatureSpec(rt.trace.step_seconds)
    base = TrainConfig(horizons=tuple(range(1, horizon + 1)), threads=2)
    held = validation_steps(steps, spec)
    say(f"choosing the model: fit on {steps - held} steps, validate on the last {held}")
    selection = validate(
        rates, rt.trace.start, spec, names, candidates(base, quick=quick), HORIZONS, held, say
    )
    model = fit_chosen(selection, rates, rt.trace.start, spec, names, base)
    directory.mkdir(parents=True, exist_ok=True)
    tag = None
    if model is not None:
        until = rt.trace.start + steps * rt.trace.step_seconds
        tag = save_model(model, directory, until, steps, rates.shape[1]).tag
    record = {
        "chosen": selection.chosen,
        "pairs": rates.shape[1],
        "validation": selection.to_dict(),
    }
    choice_file.write_text(json.dumps(record, indent=2) + "\n")
    seconds = time.monotonic() - began
    chosen = selection.chosen if model is not None else LAST_VALUE
    return ModelChoice(directory, tag, chosen, train_days, steps, rates.shape[1], False, seconds)
