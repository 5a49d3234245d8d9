"""Conflicts: an isolation and an intent connecting an isolated pair refuse each other."""

from __future__ import annotations

from topology.database import TopologyDatabase
from topology.model import Attachment, Host, Port
from vnstitch.intents.conflicts import find_conflicts
from vnstitch.intents.lifecycle import advance, new_intent
from vnstitch.intents.model import (
    ConnectivitySpec,
    Intent,
    IntentSpec,
    IntentState,
    IsolationSpec,
    LowLatencySpec,
    ZoneRef,
)
from vnstitch.intents.resolve import NtdDirectory


def _directory() -> NtdDirectory:
    db = TopologyDatabase()
    db.add_switch(1, [Port(p) for p in (1, 2, 3, 4)], 0.0, "s1")
    for n, zone in ((1, "blue"), (2, "blue"), (3, "pci"), (4, "pci")):
        mac = f"00:00:00:00:00:0{n}"
        db.add_inventory_host(Host(f"h{n}", mac, f"10.0.0.{n}", Attachment(1, n), zone), 0.0)
    return NtdDirectory(db)


def _intent(number: int, spec: IntentSpec) -> Intent:
    return new_intent(number, spec, 0.0)


ISOLATE = _intent(1, IsolationSpec(("h1", "h2"), ZoneRef("pci")))


def test_connectivity_across_an_isolation_names_the_isolation() -> None:
    new = _intent(2, ConnectivitySpec("10.0.0.1", "h3"))
    (conflict,) = find_conflicts(new, [ISOLATE], _directory())
    assert conflict.intent_id == "intent-1"
    assert "intent-1" in conflict.reason and "intent-2" in conflict.reason
    assert "h1 and h3" in conflict.reason
    assert conflict.to_dict() == {
        "intent": "intent-1",
        "reservation": None,
        "reason": conflict.reason,
    }


def test_isolation_across_an_existing_low_latency_intent_names_it() -> None:
    voip = _intent(3, LowLatencySpec(("h2", "h4", "h1"), "voip", (5060,)))
    new = _intent(4, IsolationSpec(("h4",), ("h1", "h2")))
    (conflict,) = find_conflicts(new, [voip], _directory())
    assert conflict.intent_id == "intent-3"
    assert "intent-4 isolates" in conflict.reason and "and 1 more pair" in conflict.reason


def test_pairs_outside_the_isolation_do_not_conflict() -> None:
    existing = [
        ISOLATE,
        _intent(5, ConnectivitySpec("h1", "h2")),
        _intent(6, LowLatencySpec(ZoneRef("pci"))),
    ]
    assert find_conflicts(_intent(7, ConnectivitySpec("h3", "h4")), existing, _directory()) == []
    assert find_conflicts(_intent(8, IsolationSpec(("h2",), ("h9",))), existing, _directory()) == []


def test_two_isolations_or_two_connections_never_conflict() -> None:
    other = _intent(9, IsolationSpec(("h1",), ("h3",)))
    assert find_conflicts(other, [ISOLATE], _directory()) == []
    conn = _intent(10, ConnectivitySpec("h1", "h3"))
    assert find_conflicts(conn, [_intent(11, ConnectivitySpec("h3", "h1"))], _directory()) == []


def test_withdrawing_and_withdrawn_intents_are_ignored() -> None:
    withdrawing = advance(ISOLATE, IntentState.WITHDRAWING, 1.0)
    withdrawn = advance(withdrawing, IntentState.WITHDRAWN, 2.0)
    failed = advance(advance(ISOLATE, IntentState.COMPILING, 1.0), IntentState.FAILED, 2.0, "x")
    new = _intent(2, ConnectivitySpec("h1", "h3"))
    assert find_conflicts(new, [withdrawing, withdrawn], _directory()) == []
    assert [c.intent_id for c in find_conflicts(new, [failed], _directory())] == ["intent-1"]


def test_unknown_endpoints_conflict_when_written_the_same_way() -> None:
    iso = _intent(1, IsolationSpec(("h1",), ("h9",)))
    assert find_conflicts(_intent(2, ConnectivitySpec("H9", "h1")), [iso], _directory())
    assert not find_conflicts(_intent(3, ConnectivitySpec("h8", "h1")), [iso], _directory())


def test_an_intent_does_not_conflict_with_its_own_stored_copy() -> None:
    assert find_conflicts(ISOLATE, [ISOLATE], _directory()) == []
