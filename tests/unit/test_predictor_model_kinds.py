"""The registry of model kinds: the CLI offers exactly its kinds, unknown kinds are refused."""

from __future__ import annotations

import re

import numpy as np
import pytest

from predictor.cli import main
from predictor.features import FeatureSpec
from predictor.generator import GeneratorConfig, generate
from predictor.model_kinds import DEFAULT_MODEL_KIND, MODEL_KINDS, model_kind
from predictor.models import TrainConfig, fit_forecaster
from vnstitch.northbound.cli import build_parser

TRACE = generate(GeneratorConfig(nodes=3, days=3, step_minutes=60, seed=7))
KNOWN = ", ".join(MODEL_KINDS)


def test_the_train_command_offers_exactly_the_registered_kinds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    assert exit_info.value.code == 0
    usage = capsys.readouterr().out
    offered = re.search(r"--model \{([^}]*)\}", usage)
    assert offered is not None
    assert offered.group(1).split(",") == list(MODEL_KINDS)
    assert all(f"{kind}:" in " ".join(usage.split()) for kind in MODEL_KINDS)  # the help lists them


@pytest.mark.parametrize("kind", list(MODEL_KINDS))
def test_the_vnstitch_cli_accepts_every_registered_kind(kind: str) -> None:
    args = build_parser().parse_args(["predictor", "train", "--trace", "t.npz", "--model", kind])
    assert args.model == kind


def test_the_default_kind_is_registered() -> None:
    args = build_parser().parse_args(["predictor", "train", "--trace", "t.npz"])
    assert args.model == DEFAULT_MODEL_KIND in MODEL_KINDS
    assert TrainConfig().kind == DEFAULT_MODEL_KIND


def test_the_cli_refuses_an_unknown_kind_naming_the_known_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--trace", "t.npz", "--model", "lstm"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "'lstm'" in error
    assert all(repr(kind) in error for kind in MODEL_KINDS)


def test_an_unknown_kind_is_refused_with_the_known_kinds() -> None:
    with pytest.raises(ValueError, match=f"unknown model kind 'lstm'; known kinds: {KNOWN}$"):
        model_kind("lstm")


def test_training_an_unknown_kind_is_refused_before_fitting() -> None:
    config = TrainConfig(kind="lstm", horizons=(1,))
    spec = FeatureSpec(TRACE.step_seconds)
    with pytest.raises(ValueError, match=f"known kinds: {KNOWN}"):
        fit_forecaster(TRACE.series(), TRACE.start, spec, TRACE.pair_names(), config)


@pytest.mark.parametrize("name", list(MODEL_KINDS))
def test_every_registered_kind_trains_and_forecasts(name: str) -> None:
    config = TrainConfig(kind=name, horizons=(1, 2), max_iter=5)
    rates, names = TRACE.series(), TRACE.pair_names()
    spec = FeatureSpec(TRACE.step_seconds)
    forecaster = fit_forecaster(rates, TRACE.start, spec, names, config)
    assert forecaster.kind == name and forecaster.horizons == [1, 2]
    has_upper = model_kind(name).upper is not None
    assert all((m.upper is not None) == has_upper for m in forecaster.models.values())
    central, upper = forecaster.predict(
        rates, TRACE.start, np.array([rates.shape[0] - 3]), 2, names
    )
    assert central.shape == upper.shape == (1, len(names))
    assert np.all(np.isfinite(central)) and np.all(upper >= central) and np.all(central >= 0)
