"""Aligned text tables: padding, numeric right alignment, cell formatting."""

from __future__ import annotations

from vnstitch.northbound.tables import cell, intent_text, render_table, short_dpid, utc_time


def test_columns_are_padded_and_numbers_right_aligned() -> None:
    text = render_table(("name", "mbps", "zone"), [("a", 5, None), ("long-name", 12.5, "blue")])
    assert text.splitlines() == [
        "name       mbps  zone",
        "---------  ----  ----",
        "a             5  -",
        "long-name  12.5  blue",
    ]


def test_cells_format_null_bool_float_and_lists() -> None:
    assert [cell(None), cell(True), cell(False)] == ["-", "yes", "no"]
    assert [cell(10.0), cell(1 / 3), cell(["red", "blue"]), cell([])] == [
        "10",
        "0.333333",
        "red, blue",
        "-",
    ]


def test_short_dpid_drops_leading_zeros_only() -> None:
    assert [short_dpid("000000000000000a"), short_dpid("0000000000000000")] == ["a", "0"]
    assert short_dpid("00000000000001a0") == "1a0"


def test_intent_with_reservation_ids_lists_them() -> None:
    text = intent_text({"id": "intent-1", "kind": "isolation", "reservations": ["3", "4"]})
    assert text.splitlines()[-1] == "reservations: 3, 4"
    assert "state: -" in text.splitlines()


def test_a_windowed_intent_shows_its_window_and_next_occurrence() -> None:
    doc = {
        "id": "intent-2",
        "state": "INSTALLED",
        "window": {"start": "2027-01-15T09:00:00+01:00", "end": "2027-01-15T08:20:00Z"},
        "next_occurrence": "2027-01-18T08:00:00Z",
    }
    lines = intent_text(doc).splitlines()
    assert "window: 2027-01-15T08:00:00.000Z - 2027-01-15T08:20:00.000Z" in lines
    assert "next_occurrence: 2027-01-18T08:00:00.000Z" in lines
    open_ended = intent_text({**doc, "window": {"start": "2027-01-15T08:00:00Z", "end": None}})
    assert "window: 2027-01-15T08:00:00.000Z - open-ended" in open_ended.splitlines()
    assert "window" not in intent_text({"id": "intent-1", "kind": "isolation"})


def test_times_show_as_rfc3339_utc_whatever_form_they_come_in() -> None:
    assert utc_time("2026-11-29T21:17:35.123Z") == "2026-11-29T21:17:35.123Z"
    assert utc_time("2026-11-29T22:17:35.123+01:00") == "2026-11-29T21:17:35.123Z"
    assert utc_time(1764088259.5) == "2025-11-25T16:30:59.500Z"  # a Unix time
    assert [utc_time(None), utc_time("soon"), utc_time(True)] == [None, "soon", True]
