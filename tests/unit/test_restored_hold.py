"""Predicted reservations across a restart or takeover: stored with their plan, claimed again,
and kept as they are until the predictor's first batch reaches the new core."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from core_harness import HOSTS, Harness

from vnstitch.clock import Instant
from vnstitch.core.events import PredictorMessage, StatsTick
from vnstitch.messages import ForecastBatch, PairForecast, PairId
from vnstitch.northbound.config import ControllerOptions, load_config
from vnstitch.predictive.restored_hold import RESTORED_HOLD_STEPS, RestoredHold
from vnstitch.rules.cookies import KIND_PREDICTED, Cookie
from vnstitch.stitcher.install_jobs import FlowDelete
from vnstitch.stitcher.reservation import Origin, Reservation, State

H1, H4 = HOSTS[1][1], HOSTS[4][1]
STEP_S = ControllerOptions().stats_interval_s  # the harness's forecast step (time_scale 1)


def _batch(h: Harness, seq: int, upper: float = 6.0) -> PredictorMessage:
    start = h.now.wall
    fc = PairForecast(PairId(H1, H4), (upper,) * 3, (upper,) * 3, start, start + 600.0)
    return PredictorMessage(ForecastBatch("p1", seq, "m", 0.95, start, (fc,)))


def _predicted(h: Harness) -> list[Reservation]:
    return [r for r in h.core.stitcher.live() if r.request.origin is Origin.PREDICTED]


def _predicted_rules(h: Harness) -> set[tuple[int, int, object, int]]:
    return {
        (r.dpid, r.priority, r.match, r.cookie)
        for r in h.net.rules()
        if Cookie.decode(r.cookie).kind == KIND_PREDICTED
    }


def _rounds(h: Harness, count: int) -> None:
    for _ in range(count):
        h.advance(STEP_S)
        h.feed(StatsTick())


def test_the_hold_ends_with_the_first_batch_or_after_its_steps() -> None:
    hold = RestoredHold.starting(100.0, 60.0)
    assert hold.holds(100.0) and hold.holds(100.0 + RESTORED_HOLD_STEPS * 60.0 - 1)
    assert not hold.holds(100.0 + RESTORED_HOLD_STEPS * 60.0)
    hold.batch_taken()
    assert not hold.holds(100.0)


def test_a_restored_predicted_reservation_keeps_its_id_and_rules_until_forecasts_resume(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path, predictor=True)
    h.connect_square()
    h.feed(_batch(h, 0))
    (made,) = _predicted(h)
    rules = _predicted_rules(h)
    assert made.state is State.ACTIVE and rules

    again = h.restarted()  # the same store and switches: a restart, or a new leader
    again.connect_square(hosts=False)
    _rounds(again, RESTORED_HOLD_STEPS - 1)  # rounds provision: no forecast yet, kept
    again.audit()
    (kept,) = _predicted(again)
    assert kept.id == made.id and kept.state is State.ACTIVE
    assert kept.request.bandwidth_mbps == made.request.bandwidth_mbps
    again.feed(_batch(again, 1))  # the predictor's next batch: the same forecast
    _rounds(again, 2)
    again.audit()
    assert [r.id for r in _predicted(again)] == [made.id]  # not made a second time
    assert _predicted_rules(again) == rules
    deleted = [d.rule.cookie if isinstance(d, FlowDelete) else d.cookie for d in again.deletes()]
    assert not [c for c in deleted if Cookie.decode(c).kind == KIND_PREDICTED]


def test_without_forecasts_a_restored_predicted_reservation_goes_after_the_hold(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path, predictor=True)
    h.connect_square()
    h.feed(_batch(h, 0))
    (made,) = _predicted(h)
    again = h.restarted()
    again.connect_square(hosts=False)
    _rounds(again, RESTORED_HOLD_STEPS - 1)
    assert [r.id for r in _predicted(again)] == [made.id]
    _rounds(again, 2)  # the predictor never came back: released as before restarts kept them
    assert _predicted(again) == []
    assert again.core.stitcher.reservations[made.id].state is State.RELEASED


def test_instances_sharing_time_origin_wall_share_one_traffic_clock(tmp_path: Path) -> None:
    """A replay's traffic clock anchored at a configured wall time: a core started later (a
    new leader) reads the same traffic time as the first one, not ``time_origin`` again."""
    toml = tmp_path / "c.toml"
    toml.write_text(
        "[predictor]\ntime_scale = 30.0\ntime_origin = 1700000000\ntime_origin_wall = 1000\n"
    )
    anchored = load_config(str(toml)).predictor
    assert anchored.time_origin_wall == 1000.0
    first = Harness(tmp_path / "a", predictor=True)
    later = first.restarted(seconds=40.0)
    clocks = []
    for h in (first, later):
        prediction = h.core.prediction
        assert prediction is not None
        prediction.options = anchored
        clocks.append(prediction.traffic_time(Instant(1100.0, 0.0)))
    assert clocks == [1_700_000_000.0 + 100 * 30.0] * 2
    for h in (first, later):  # without the anchor each counts from its own start
        prediction = h.core.prediction
        assert prediction is not None
        prediction.options = replace(anchored, time_origin_wall=None)
        clocks.append(prediction.traffic_time(h.now))
    assert clocks[2:] == [1_700_000_000.0] * 2


def test_a_rounds_provisioning_is_one_store_transaction(tmp_path: Path) -> None:
    """Predicted reservations are stored: a batch that makes several commits them once."""
    h = Harness(tmp_path, predictor=True)
    h.connect_square()
    store = h.core.durable.store
    commits, depth = [], [0]
    atomic = store.atomic

    @contextmanager
    def counted() -> Iterator[None]:
        commits.extend([1] if depth[0] == 0 else [])  # an outermost block: one commit
        depth[0] += 1
        try:
            with atomic():
                yield
        finally:
            depth[0] -= 1

    store.atomic = counted  # type: ignore[method-assign]
    start = h.now.wall
    pairs = [PairId(H1, H4), PairId(H4, H1)]
    forecasts = tuple(PairForecast(p, (3.0,) * 3, (3.0,) * 3, start, start + 600.0) for p in pairs)
    h.feed(PredictorMessage(ForecastBatch("p1", 0, "m", 0.95, start, forecasts)))
    assert len(_predicted(h)) == 2
    assert len(commits) == 1
    stored = {r["id"] for r in h.core.durable.store.load().reservations}
    assert stored == {r.id for r in _predicted(h)}
