"""The engine: observations in, forecasts and anomalies out, retraining, restarts."""

from __future__ import annotations

import pytest

from predictor.classes import classifier_from_dict
from predictor.engine import FALLBACK_VERSION, EngineConfig, PredictorEngine
from predictor.generator import GeneratorConfig, generate
from predictor.model_updates import RecalibrationJob, TrainingJob
from predictor.models import Forecaster, TrainConfig
from predictor.trace import Trace
from predictor.training import train
from vnstitch.messages import (
    Anomaly,
    Endpoint,
    ForecastBatch,
    Message,
    Observations,
    PairId,
    PairSample,
    TopologyChange,
)

STEP = 3600.0
TRACE = generate(GeneratorConfig(nodes=3, days=4, step_minutes=60, seed=2))


def ip_pairs(trace: Trace) -> list[PairId]:
    return [
        PairId(f"10.0.0.{int(p.src[1:]) + 1}", f"10.0.0.{int(p.dst[1:]) + 1}")
        for p in trace.pairs()
    ]


PAIRS = ip_pairs(TRACE)


def observations(trace: Trace, t: int, scale: float = 1.0, source: str = "ctl") -> Observations:
    """Step t of the trace as one observation stamped with the trace's own time."""
    start = trace.start + t * trace.step_seconds
    rates = trace.series()[t] * scale
    samples = tuple(
        PairSample(p, round(r * 1e6 / 8 * trace.step_seconds), dscp=46 if k == 0 else None)
        for k, (p, r) in enumerate(zip(PAIRS, rates, strict=True))
    )
    return Observations(source, t, start, start + trace.step_seconds, samples)


def feed(engine: PredictorEngine, steps: range, **kwargs: float | str) -> list[Message]:
    out: list[Message] = []
    for t in steps:
        out.extend(engine.handle(observations(TRACE, t, **kwargs)))  # type: ignore[arg-type]
    return out


@pytest.fixture(scope="module")
def forecaster() -> Forecaster:
    names = [str(p) for p in PAIRS]
    config = TrainConfig(horizons=(1, 2), max_iter=10)
    return train(TRACE.series()[:72], TRACE.start, STEP, names, config)


def test_fallback_forecasts_every_step_from_the_stamped_times() -> None:
    engine = PredictorEngine("p", EngineConfig(horizon=2, step_seconds=STEP, retrain=False))
    out = feed(engine, range(5))
    batches = [m for m in out if isinstance(m, ForecastBatch)]
    assert len(batches) == 5
    last = batches[-1]
    assert last.model_version == FALLBACK_VERSION
    assert last.issued_at == TRACE.start + 5 * STEP
    by_pair = {f.pair: f for f in last.forecasts}
    assert set(by_pair) == set(PAIRS)
    forecast = by_pair[PAIRS[1]]
    assert (forecast.valid_from, forecast.valid_until) == (
        last.issued_at,
        last.issued_at + 2 * STEP,
    )
    assert forecast.mean_mbps[0] == pytest.approx(TRACE.series()[4, 1], rel=1e-6)
    assert [b.seq for b in batches] == sorted({b.seq for b in batches})


def test_traffic_class_and_zone_follow_the_configuration_and_topology() -> None:
    classes = classifier_from_dict(
        {"class": [{"name": "voice", "dscp": [46], "latency_bound_ms": 20, "zone": "red"}]}
    )
    engine = PredictorEngine("p", EngineConfig(step_seconds=STEP), classes)
    engine.handle(
        TopologyChange(
            "ctl", 0, TRACE.start, 1, tuple(Endpoint(f"10.0.0.{i}", "", "blue") for i in (1, 2, 3))
        )
    )
    (batch,) = [m for m in feed(engine, range(1)) if isinstance(m, ForecastBatch)]
    by_pair = {f.pair: f for f in batch.forecasts}
    voice, other = by_pair[PAIRS[0]], by_pair[PAIRS[1]]
    assert (voice.traffic_class, voice.latency_bound_ms, voice.zone) == ("voice", 20.0, "red")
    assert (other.traffic_class, other.latency_bound_ms, other.zone) == ("default", None, "blue")


def test_a_loaded_model_forecasts_and_reports_a_sustained_surge(forecaster: Forecaster) -> None:
    engine = PredictorEngine("p", EngineConfig(horizon=2, retrain=False), forecaster=forecaster)
    engine.model_version = "test-model"
    normal = feed(engine, range(72, 84))
    assert not [m for m in normal if isinstance(m, Anomaly)]
    batch = [m for m in normal if isinstance(m, ForecastBatch)][-1]
    assert batch.model_version == "test-model"
    assert all(len(f.mean_mbps) == 2 for f in batch.forecasts)
    assert all(
        u >= m for f in batch.forecasts for m, u in zip(f.mean_mbps, f.upper_mbps, strict=True)
    )
    surge = feed(engine, range(84, 88), scale=20.0)
    anomalies = [m for m in surge if isinstance(m, Anomaly)]
    assert anomalies and {a.direction for a in anomalies} == {"above"}
    assert all(a.steps_outside == 3 and a.observed_mbps > a.upper_mbps for a in anomalies)
    assert engine.status(0.0).anomalies == len(anomalies)


def test_retraining_is_offered_once_enough_history_is_in_and_installs() -> None:
    config = EngineConfig(horizon=1, step_seconds=STEP, min_train_days=2, retrain_every_days=1)
    engine = PredictorEngine("p", config)
    feed(engine, range(47))
    assert engine.next_job() is None
    feed(engine, range(47, 48))
    job = engine.next_job()
    assert isinstance(job, TrainingJob) and job.rates.shape == (48, len(PAIRS))
    assert engine.next_job() is None  # not twice while one runs
    fitted = train(
        job.rates,
        job.start,
        job.step_seconds,
        job.pair_names,
        TrainConfig(horizons=(1,), max_iter=5),
    )
    engine.install(fitted, "retrained")
    (batch,) = [m for m in feed(engine, range(48, 49)) if isinstance(m, ForecastBatch)]
    assert batch.model_version == "retrained"
    assert engine.next_job() is None  # next one a day later
    feed(engine, range(49, 72))
    assert isinstance(engine.next_job(), TrainingJob)


def test_upper_forecasts_are_recalibrated_for_the_pairs_actually_seen(
    forecaster: Forecaster,
) -> None:
    config = EngineConfig(horizon=2, retrain=False, recalibrate_every_hours=6)
    engine = PredictorEngine("p", config, forecaster=forecaster, model_version="m1")
    live = [PairId(f"192.168.0.{k}", "192.168.1.1") for k in range(len(PAIRS))]
    for t in range(40):  # same traffic, new pair names: the model's offsets do not know them
        start = TRACE.start + t * STEP
        samples = tuple(
            PairSample(p, round(r * 1e6 / 8 * STEP))
            for p, r in zip(live, TRACE.series()[t], strict=True)
        )
        engine.handle(Observations("ctl", t, start, start + STEP, samples))
    job = engine.next_job()
    assert isinstance(job, RecalibrationJob)
    assert engine.next_job() is None  # one job at a time
    engine.install_recalibration(job.run())
    assert engine.model_version == "m1+cal1"
    assert engine.forecaster is not None
    offsets = engine.forecaster.models[1].calibration.pair_offsets
    assert {str(p) for p in live} <= set(offsets)


def test_messages_meant_for_the_controller_are_counted_not_processed() -> None:
    engine = PredictorEngine("p", EngineConfig(step_seconds=STEP))
    assert engine.handle(ForecastBatch("x", 0, "v", 0.95, 0.0)) == []
    assert engine.drops.by_reason == {"unexpected_kind": 1}


def test_a_restarted_controller_replaying_from_the_start_resumes_forecasting() -> None:
    engine = PredictorEngine("p", EngineConfig(step_seconds=STEP, retrain=False))
    feed(engine, range(10))
    assert engine.history.rows == 10
    out = feed(engine, range(3), source="ctl-restarted")
    assert engine.history.rows == 3
    assert [m.issued_at for m in out if isinstance(m, ForecastBatch)][-1] == TRACE.start + 3 * STEP
    assert engine.aggregator.late == 0
