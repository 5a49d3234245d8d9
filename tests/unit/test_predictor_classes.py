"""Traffic classes by DSCP, L4 port and endpoint group."""

from __future__ import annotations

from pathlib import Path

import pytest

from predictor.classes import classifier_from_dict, load_classifier
from vnstitch.messages import PairId, PairSample

CONFIG = """
[groups]
storage = ["10.0.1.0/24"]

[[class]]
name = "voice"
dscp = [46]
latency_bound_ms = 20

[[class]]
name = "storage"
dst_group = "storage"
ports = [3260, 2049]
latency_bound_ms = 50
zone = "secure"

[default]
name = "best_effort"
latency_bound_ms = 500
"""


def sample(dst: str, dscp: int | None = None, port: int | None = None) -> PairSample:
    return PairSample(PairId("10.0.0.9", dst), 1000, dscp, port)


def test_classes_match_in_file_order_on_every_given_criterion(tmp_path: Path) -> None:
    path = tmp_path / "classes.toml"
    path.write_text(CONFIG)
    classifier = load_classifier(path)

    def name(s: PairSample) -> str:
        return classifier.by_rank(classifier.rank(s)).name

    assert name(sample("10.0.1.5", dscp=46, port=3260)) == "voice"
    assert name(sample("10.0.1.5", port=3260)) == "storage"
    assert name(sample("10.0.2.5", port=3260)) == "best_effort"  # not in the group
    assert name(sample("10.0.1.5", port=80)) == "best_effort"  # wrong port
    storage = classifier.by_rank(1)
    assert (storage.latency_bound_ms, storage.zone) == (50.0, "secure")
    assert classifier.default.latency_bound_ms == 500.0


def test_no_file_puts_everything_in_the_default_class() -> None:
    classifier = load_classifier(None)
    assert classifier.by_rank(classifier.rank(sample("10.0.0.1", dscp=46))).name == "default"


def test_an_unknown_group_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="unknown group"):
        classifier_from_dict({"class": [{"name": "x", "src_group": "nope"}]})
