"""Saving and loading models under version tags."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from predictor.generator import GeneratorConfig, generate
from predictor.models import TrainConfig
from predictor.store import LATEST, latest_tag, load_model
from predictor.training import train_on_trace

TRACE = generate(GeneratorConfig(nodes=3, days=3, step_minutes=60, seed=5))
CONFIG = TrainConfig(horizons=(1, 2), max_iter=5)


def test_a_saved_model_loads_back_under_its_tag_and_predicts_the_same(tmp_path: Path) -> None:
    info = train_on_trace(TRACE, CONFIG, tmp_path)
    assert info.tag.startswith("hgb-h2-") and latest_tag(tmp_path) == info.tag
    loaded, loaded_info = load_model(tmp_path)
    assert loaded_info == info
    names = [str(p) for p in TRACE.pairs()]
    origins = np.array([60, 70])
    again = load_model(tmp_path, info.tag)[0]
    np.testing.assert_array_equal(
        loaded.predict(TRACE.series(), TRACE.start, origins, 2, names)[1],
        again.predict(TRACE.series(), TRACE.start, origins, 2, names)[1],
    )


def test_the_newest_model_becomes_latest_and_older_ones_stay_loadable(tmp_path: Path) -> None:
    first = train_on_trace(TRACE, CONFIG, tmp_path)
    second = train_on_trace(TRACE, TrainConfig(kind="ridge", horizons=(1,)), tmp_path, last_days=2)
    assert (tmp_path / LATEST).read_text() == second.tag and second.tag.startswith("ridge-h1-")
    assert second.trained_steps == 48
    assert load_model(tmp_path, first.tag)[0].kind == "hgb"


def test_an_incompatible_model_format_is_refused(tmp_path: Path) -> None:
    info = train_on_trace(TRACE, CONFIG, tmp_path)
    meta_path = tmp_path / f"{info.tag}.json"
    meta = json.loads(meta_path.read_text())
    meta["feature_version"] = 999
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="incompatible"):
        load_model(tmp_path)
