"""Meter sizing and meter ids: one module says how big each meter is and which ids it takes."""

from __future__ import annotations

import pytest

from vnstitch.rules.meters import (
    BE_PORT_LIMIT,
    BEST_EFFORT_BURST_S,
    BEST_EFFORT_METER_IDS,
    MIN_METER_KBPS,
    RESERVATION_BURST_S,
    RESERVATION_METER_IDS,
    RESERVATION_METERS,
    SWITCH_METERS,
    best_effort_meter,
    best_effort_meter_id,
    burst_kb,
    meter_kbps,
    meter_rate_mbps,
    reservation_meter,
)
from vnstitch.rules.model import MeterSpec


def test_reservation_meter_runs_above_the_bandwidth_so_tcp_reaches_it() -> None:
    assert meter_rate_mbps(10.0) == pytest.approx(11.2)
    assert meter_rate_mbps(0.0) == 0.0
    meter = reservation_meter(1, 5, meter_rate_mbps(10.0), cookie=7)
    assert meter == MeterSpec(1, 5, rate_kbps=11_200, burst_kb=2_240, cookie=7)  # 0.2 s of rate


def test_best_effort_meter_has_the_shallower_bucket() -> None:
    meter = best_effort_meter(2, 3, 2.2)
    assert meter == MeterSpec(2, best_effort_meter_id(3), rate_kbps=2_200, burst_kb=220)
    assert BEST_EFFORT_BURST_S < RESERVATION_BURST_S
    assert burst_kb(10_000, BEST_EFFORT_BURST_S) < burst_kb(10_000, RESERVATION_BURST_S)


@pytest.mark.parametrize("rate_mbps", [0.0, 0.001, 0.05])
def test_tiny_rates_still_make_a_usable_meter(rate_mbps: float) -> None:
    assert meter_kbps(rate_mbps) == MIN_METER_KBPS
    for meter in (reservation_meter(1, 1, rate_mbps, 0), best_effort_meter(1, 1, rate_mbps)):
        assert (meter.rate_kbps, meter.burst_kb) == (MIN_METER_KBPS, MIN_METER_KBPS)


def test_reservation_and_best_effort_ids_never_overlap_and_fit_the_meter_table() -> None:
    reserved, best_effort = set(RESERVATION_METER_IDS), set(BEST_EFFORT_METER_IDS)
    assert not reserved & best_effort
    assert len(reserved) == RESERVATION_METERS
    assert min(reserved) >= 1 and min(best_effort) >= 1  # meter id 0 is not a meter
    assert max(reserved | best_effort) < SWITCH_METERS
    assert len(reserved) + len(best_effort) <= SWITCH_METERS


def test_every_edge_port_gets_a_best_effort_id_in_its_range() -> None:
    ids = [best_effort_meter_id(port) for port in (1, 2, BE_PORT_LIMIT - 1)]
    assert all(meter_id in BEST_EFFORT_METER_IDS for meter_id in ids)
    assert best_effort_meter_id(1) == BEST_EFFORT_METER_IDS[0]
    assert best_effort_meter_id(BE_PORT_LIMIT - 1) == BEST_EFFORT_METER_IDS[-1]
    for port in (0, BE_PORT_LIMIT):
        with pytest.raises(ValueError):
            best_effort_meter_id(port)
