"""PATCH bodies are checked by the core: a bad one is a 400 naming its field, before a 404.

The REST layer hands the body to the core as sent (``tests/unit/test_rest_api.py``); here the
whole core, on the fake switches, answers it and nothing changes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from core_harness import HOSTS, Harness

from vnstitch.core.commands import CreateReservation, ModifyReservation
from vnstitch.stitcher.reservation import State

H1, H4 = HOSTS[1][1], HOSTS[4][1]


@pytest.fixture
def active(tmp_path: Path) -> tuple[Harness, str]:
    h = Harness(tmp_path)
    h.connect_square()
    reply = h.call(CreateReservation({"src": H1, "dst": H4, "bandwidth_mbps": 5}), 1)
    assert reply is not None and reply.status == 201, reply
    return h, reply.body["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"bandwidth_mbps": None}, "bandwidth_mbps"),
        ({"cpu": None}, "cpu"),
        ({"memory_mb": None}, "memory_mb"),
        ({"storage_gb": None}, "storage_gb"),
        ({"origin": "config"}, "origin"),
    ],
)
def test_a_bad_patch_is_a_400_naming_the_field_and_changes_nothing(
    active: tuple[Harness, str], body: dict[str, object], field: str
) -> None:
    h, res_id = active
    res = h.core.stitcher.reservations[int(res_id)]
    rules = set(h.net.rules())
    version = res.version
    reply = h.call(ModifyReservation(res_id, body), 2)
    assert reply is not None and (reply.status, reply.body["field"]) == (400, field), reply
    assert res.state is State.ACTIVE and res.version == version
    assert res.request.bandwidth_mbps == 5
    assert set(h.net.rules()) == rules


def test_a_bad_patch_of_an_unknown_reservation_is_a_400_first(
    active: tuple[Harness, str],
) -> None:
    h, _ = active
    reply = h.call(ModifyReservation("999", {"bandwidth_mbps": None}), 2)
    assert reply is not None and reply.status == 400
    good = h.call(ModifyReservation("999", {"bandwidth_mbps": 1}), 3)
    assert good is not None and good.status == 404
