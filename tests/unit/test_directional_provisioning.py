"""Directional predicted reservations: each direction its own forecast, size, rules and meter."""

from __future__ import annotations

from pathlib import Path

from core_harness import HOSTS, Harness, ipv4

from vnstitch.core.events import PredictorMessage
from vnstitch.messages import ForecastBatch, PairForecast, PairId
from vnstitch.rules.cookies import Cookie
from vnstitch.rules.meters import meter_rate_mbps
from vnstitch.stitcher.reservation import Origin, State

H1, H4 = HOSTS[1][1], HOSTS[4][1]


def _batch(seq: int, start: float, there: float, back: float) -> PredictorMessage:
    forecasts = (
        PairForecast(PairId(H1, H4), (there,), (there,), start, start + 600.0),
        PairForecast(PairId(H4, H1), (back,), (back,), start, start + 600.0),
    )
    return PredictorMessage(ForecastBatch("p1", seq, "hgb-1", 0.95, start, forecasts))


def _predicted(h: Harness) -> dict[tuple[str, str], object]:
    return {
        (r.request.src, r.request.dst): r
        for r in h.core.stitcher.live()
        if r.request.origin is Origin.PREDICTED
    }


def test_each_direction_is_sized_by_its_own_forecast_with_its_own_rules_and_meter(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path, predictor=True)
    h.connect_square()
    h.feed(_batch(0, h.now.wall, 20.0, 2.5))  # a busy direction and a quiet one
    held = _predicted(h)
    there, back = held[(H1, H4)], held[(H4, H1)]
    assert there.state is State.ACTIVE and back.state is State.ACTIVE  # type: ignore[attr-defined]
    assert there.request.bandwidth_mbps == 20.0  # type: ignore[attr-defined]
    assert back.request.bandwidth_mbps == 2.5  # type: ignore[attr-defined]  (not 20: not the max)
    assert not there.request.bidirectional and not back.request.bidirectional  # type: ignore
    # distinct owners in the cookies, one meter per direction at its own rate
    cookies = {Cookie.decode(r.cookie).owner for r in h.net.rules() if r.priority == 20000}
    assert cookies == {there.id, back.id}  # type: ignore[attr-defined]
    rates = sorted(
        m.rate_kbps
        for m in h.net.meters.values()
        if m.cookie in {r.cookie for r in h.net.rules() if r.priority == 20000}
    )
    assert rates == sorted(round(meter_rate_mbps(x) * 1000) for x in (2.5, 20.0))
    assert h.net.trace(1, 1, ipv4(H1, H4)).exits == [(4, 1)]
    assert h.net.trace(4, 1, ipv4(H4, H1)).exits == [(1, 1)]


def test_one_direction_falling_away_releases_only_that_direction(tmp_path: Path) -> None:
    h = Harness(tmp_path, predictor=True)
    h.connect_square()
    t = h.now.wall
    h.feed(_batch(0, t, 6.0, 3.0))
    h.feed(_batch(1, t + 60.0, 6.0, 0.1))  # the way back goes quiet
    held = _predicted(h)
    assert list(held) == [(H1, H4)]
    assert held[(H1, H4)].request.bandwidth_mbps == 6.0  # type: ignore[attr-defined]
    assert h.net.trace(1, 1, ipv4(H1, H4)).exits == [(4, 1)]
