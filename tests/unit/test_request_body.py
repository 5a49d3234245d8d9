"""Reservation bodies: a PATCH checked on its own, blank names, errors that quote little."""

from __future__ import annotations

from typing import Any

import pytest

from vnstitch.stitcher.request_body import (
    AMOUNTS,
    SHOWN,
    check_patch,
    parse_request,
    shown,
    trimmed,
)
from vnstitch.stitcher.reservation import RequestError


def _field(call: Any, body: Any) -> str | None:
    with pytest.raises(RequestError) as err:
        call(body)
    return err.value.field


@pytest.mark.parametrize("amount", AMOUNTS)
def test_a_patch_cannot_null_an_amount(amount: str) -> None:
    assert _field(check_patch, {amount: None}) == amount
    assert check_patch({amount: 0}) == {amount: 0}


def test_a_patch_may_clear_a_constraint_and_names_unknown_fields() -> None:
    body = {"max_latency_ms": None, "zones": None, "avoid_zones": None, "dst_port": None}
    assert check_patch(body) is body
    assert check_patch({}) == {}
    assert _field(check_patch, {"origin": "config"}) == "origin"
    assert _field(check_patch, [1]) is None


def test_a_post_may_still_give_a_null_bandwidth_for_none() -> None:
    assert parse_request({"src": "h1", "dst": "h2", "bandwidth_mbps": None}).bandwidth_mbps == 0


def test_names_are_trimmed_of_ascii_white_space_only() -> None:
    assert trimmed(" \t\n\r\f\vh1 \t") == "h1"
    assert trimmed("\x1dh1\x1c") == "\x1dh1\x1c"  # str.strip() would take these: no regex does
    assert parse_request({"src": " h1 ", "dst": "\x1d"}).dst == "\x1d"
    assert _field(parse_request, {"src": "h1", "dst": " \t\v"}) == "dst"


def test_an_error_quotes_a_few_dozen_characters_of_the_value() -> None:
    assert shown("h1") == "'h1'"
    huge = shown(list(range(10_000)))
    assert len(huge) == SHOWN and huge.endswith("...")
    with pytest.raises(RequestError) as err:
        parse_request({"src": "h1", "dst": "h2", "x" * 50_000: 1})
    assert len(str(err.value)) < 100
