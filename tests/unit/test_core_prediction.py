"""What the core refuses from the predictor link: far-future forecasts, oversized or non-finite
frames, and connections the CURVE handshake turned away — each counted, none acted on."""

from __future__ import annotations

import logging
from pathlib import Path

import msgpack
import pytest
from core_harness import Harness

from vnstitch.core.events import (
    REJECTED_HANDSHAKE,
    REJECTED_KEY,
    PredictorFrames,
    PredictorRejected,
)
from vnstitch.messages import ForecastBatch, PairForecast, PairId, encode
from vnstitch.northbound.config import PredictorOptions
from vnstitch.stitcher.reservation import Origin

H1, H4 = "10.0.0.1", "10.0.0.4"
HORIZON_S = PredictorOptions().max_forecast_horizon_s


def _frame(start: float, until: float, upper: float = 6.0) -> PredictorFrames:
    forecast = PairForecast(PairId(H1, H4), (upper,), (upper,), start, until)
    return PredictorFrames((encode(ForecastBatch("p1", 0, "m", 0.95, start, (forecast,))),))


def _predicted(h: Harness) -> list[object]:
    return [r for r in h.core.stitcher.live() if r.request.origin is Origin.PREDICTED]


def _queue(h: Harness) -> dict[str, object]:
    prediction = h.core.prediction
    assert prediction is not None
    return prediction.queue_status()


@pytest.mark.parametrize("ahead", [HORIZON_S + 1.0, 1e308])
def test_a_forecast_valid_beyond_the_horizon_is_dropped_and_counted(
    tmp_path: Path, ahead: float
) -> None:
    h = Harness(tmp_path, predictor=True)
    h.connect_square()
    h.feed(_frame(h.now.wall, h.now.wall + ahead))
    assert _predicted(h) == []
    assert _queue(h)["dropped"] == {"horizon": 1}
    assert _queue(h)["received"] == 0
    assert h.core.metrics.predictor_dropped.value(reason="horizon") == 1


def test_a_forecast_within_the_horizon_is_taken(tmp_path: Path) -> None:
    h = Harness(tmp_path, predictor=True)
    h.connect_square()
    h.feed(_frame(h.now.wall, h.now.wall + HORIZON_S - 1.0))
    assert len(_predicted(h)) == 1
    assert _queue(h)["dropped"] == {} and _queue(h)["received"] == 1


def test_non_finite_and_oversized_frames_are_dropped_by_decoding(tmp_path: Path) -> None:
    h = Harness(tmp_path, predictor=True)
    h.connect_square()
    good = msgpack.unpackb(_frame(h.now.wall, h.now.wall + 60).frames[0])
    good["forecasts"][0]["valid_until"] = float("inf")
    h.feed(PredictorFrames((msgpack.packb(good),)))
    limit = PredictorOptions().max_message_bytes
    h.feed(PredictorFrames((b"\x00" * (limit + 1),)))
    assert _predicted(h) == []
    assert _queue(h)["dropped"] == {"schema": 1, "too_large": 1}


def test_refused_connections_are_counted_and_logged_once_a_minute(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    h = Harness(tmp_path, predictor=True)
    caplog.set_level(logging.INFO, logger="vnstitch.predictor")
    for _ in range(3):
        h.feed(PredictorRejected(REJECTED_KEY, "127.0.0.1: client key K is not in /keys"))
    h.feed(PredictorRejected(REJECTED_HANDSHAKE, "forecasts socket: handshake_failed_protocol"))
    assert _queue(h)["rejected"] == {REJECTED_KEY: 3, REJECTED_HANDSHAKE: 1}
    assert h.core.metrics.predictor_rejected.value(reason=REJECTED_KEY) == 3
    lines = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(lines) == 1 and "client key K" in lines[0]
    h.advance(61.0)
    h.feed(PredictorRejected(REJECTED_KEY, "127.0.0.1: client key K is not in /keys"))
    lines = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(lines) == 2 and "3 more since the last report" in lines[1]
    assert all(r.levelno == logging.INFO for r in caplog.records if "refused" in r.getMessage())


def test_the_queue_status_says_whether_curve_is_on(tmp_path: Path) -> None:
    h = Harness(tmp_path, predictor=True)
    assert _queue(h)["curve"] is True
    assert _queue(h)["rejected"] == {}
