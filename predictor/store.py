"""Saving and loading fitted forecasters under a version tag.

A model directory holds ``<tag>.pkl`` (the pickled forecaster), ``<tag>.json`` (what it is,
what it was trained on) and ``LATEST`` (the tag to load). Only load model directories you
trust: pickles run code.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sklearn

from predictor.features import FEATURE_VERSION
from predictor.models import Forecaster

STORE_FORMAT = 1
LATEST = "LATEST"


@dataclass(frozen=True)
class ModelInfo:
    """Metadata saved beside a model."""

    tag: str
    kind: str
    horizons: list[int]
    step_seconds: float
    quantile: float
    trained_until: float  # epoch seconds at the end of the training data
    trained_steps: int
    pairs: int
    store_format: int = STORE_FORMAT
    feature_version: int = FEATURE_VERSION
    sklearn_version: str = sklearn.__version__


def make_tag(forecaster: Forecaster, trained_until: float, payload: bytes) -> str:
    """Version tag ``<kind>-h<H>-<UTC end of training>-<digest>``: ``hgb-h3-20040310T2355-1a2b``."""
    moment = datetime.fromtimestamp(trained_until, UTC).strftime("%Y%m%dT%H%M")
    digest = hashlib.sha256(payload).hexdigest()[:8]
    return f"{forecaster.kind}-h{max(forecaster.horizons)}-{moment}-{digest}"


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def save_model(
    forecaster: Forecaster, directory: Path, trained_until: float, trained_steps: int, pairs: int
) -> ModelInfo:
    """Save under a new tag and make it the latest; returns its metadata."""
    directory.mkdir(parents=True, exist_ok=True)
    payload = pickle.dumps(forecaster, protocol=pickle.HIGHEST_PROTOCOL)
    tag = make_tag(forecaster, trained_until, payload)
    info = ModelInfo(
        tag,
        forecaster.kind,
        forecaster.horizons,
        forecaster.spec.step_seconds,
        forecaster.quantile,
        trained_until,
        trained_steps,
        pairs,
    )
    _write_atomically(directory / f"{tag}.pkl", payload)
    _write_atomically(directory / f"{tag}.json", json.dumps(info.__dict__, indent=2).encode())
    _write_atomically(directory / LATEST, tag.encode())
    return info


def load_model(directory: Path, tag: str | None = None) -> tuple[Forecaster, ModelInfo]:
    """Load a tagged model (the latest by default); raises ValueError if it is incompatible."""
    if tag is None:
        tag = (directory / LATEST).read_text().strip()
    meta: dict[str, Any] = json.loads((directory / f"{tag}.json").read_text())
    info = ModelInfo(**meta)
    if info.store_format != STORE_FORMAT or info.feature_version != FEATURE_VERSION:
        raise ValueError(f"model {tag} has an incompatible format; retrain it")
    forecaster = pickle.loads((directory / f"{tag}.pkl").read_bytes())
    if not isinstance(forecaster, Forecaster):
        raise ValueError(f"model {tag} does not hold a forecaster")
    return forecaster, info


def latest_tag(directory: Path) -> str | None:
    """The tag the directory's LATEST names, if any."""
    path = directory / LATEST
    return path.read_text().strip() if path.exists() else None
