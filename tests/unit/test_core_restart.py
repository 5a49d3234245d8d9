"""A controller killed and restarted on the same switches claims its rules again.

The switches keep every rule across the restart (as real ones do); the new controller reads
the state file the old one wrote and must neither delete a reservation's rules nor lie about
its state. Defects of issue #14 (items 1-4) are pinned here on fake switches.
"""

from __future__ import annotations

from pathlib import Path

from core_harness import HOSTS, Harness, ipv4

from vnstitch.core.actions import Reply
from vnstitch.core.commands import (
    CreateIntent,
    CreateReservation,
    DeleteReservation,
    ModifyReservation,
)
from vnstitch.intents.model import IntentState
from vnstitch.rules.cookies import KIND_INTENT, KIND_RESERVATION, Cookie
from vnstitch.stitcher.reservation import State

H1, H4 = HOSTS[1][1], HOSTS[4][1]
WEB = {"ip_proto": 6, "dst_port": 80}


def _installed(h: Harness) -> tuple[str, str]:
    """A requested reservation and a connectivity intent, both confirmed."""
    reply = h.call(CreateReservation({"src": H1, "dst": H4, "bandwidth_mbps": 5}), 1)
    assert reply is not None and reply.status == 201, reply
    body = {"kind": "connectivity", "src": H4, "dst": H1, "bandwidth_mbps": 3, **WEB}
    intent = h.call(CreateIntent(body), 2)
    assert intent is not None and intent.status == 201, intent
    assert intent.body["state"] == "INSTALLED"
    return reply.body["id"], intent.body["id"]


def _owned_rules(h: Harness) -> set[tuple[int, int, object, int]]:
    kinds = {KIND_RESERVATION, KIND_INTENT}
    return {
        (r.dpid, r.priority, r.match, r.cookie)
        for r in h.net.rules()
        if Cookie.decode(r.cookie).kind in kinds
    }


def test_learned_hosts_survive_a_restart_and_no_rule_is_deleted(tmp_path: Path) -> None:
    """kill -9 + restart with hosts learned from ARP only: every rule stays, all ACTIVE."""
    h = Harness(tmp_path)
    h.connect_square()
    res_id, intent_id = _installed(h)
    before = _owned_rules(h)
    path = h.core.stitcher.reservations[int(res_id)].plan.path

    again = h.restarted()
    again.connect_square(hosts=False)  # nobody sends a packet after the restart
    for _ in range(3):
        again.advance(10.0)
        again.audit()
    assert again.deletes() == [] or all(
        Cookie.decode(d.rule.cookie).kind not in (KIND_RESERVATION, KIND_INTENT)
        for d in again.deletes()
        if hasattr(d, "rule")
    )
    assert _owned_rules(again) == before
    res = again.core.stitcher.reservations[int(res_id)]
    assert res.state is State.ACTIVE and res.plan is not None and res.plan.path == path
    intent = again.core.intents.intents[intent_id]
    assert intent.state is IntentState.INSTALLED, intent.history
    assert again.core.db.hosts[HOSTS[1][0]].source == "learned"
    assert again.net.trace(1, 1, ipv4(H1, H4)).exits == [(4, 1)]


def test_restored_reservations_wait_for_their_path_and_keep_their_rules(tmp_path: Path) -> None:
    """Until every switch of its path is back, a restored reservation waits; its rules stay."""
    h = Harness(tmp_path)
    h.connect_square()
    res_id, _ = _installed(h)
    before = _owned_rules(h)
    again = h.restarted()
    again.feed()
    for _ in range(3):
        again.advance(1.0)
        again.audit()  # no switch connected yet: nothing to audit, nothing deleted
    res = again.core.stitcher.reservations[int(res_id)]
    assert res.state is State.PENDING and "restored" in (res.reason or "")
    again.connect_square(hosts=False)
    again.audit()
    again.audit()
    assert _owned_rules(again) == before
    assert again.core.stitcher.reservations[int(res_id)].state is State.ACTIVE


def test_ids_are_never_handed_out_twice_across_restarts(tmp_path: Path) -> None:
    """An intent's reservation id is durable: a restart never reuses it (defect 3's cause)."""
    h = Harness(tmp_path)
    h.connect_square()
    _res_id, intent_id = _installed(h)
    held = set(h.core.intents.intents[intent_id].reservation_ids)
    again = h.restarted()
    again.connect_square(hosts=False)
    reply = again.call(CreateReservation({"src": H1, "dst": H4, "bandwidth_mbps": 1, **WEB}), 9)
    assert reply is not None and reply.status == 201, reply
    assert int(reply.body["id"]) not in held
    assert again.core.intents.intents[intent_id].state is IntentState.INSTALLED


def test_every_restored_intent_reaches_a_final_state(tmp_path: Path) -> None:
    """Killed while installing (barriers never answered): after the restart, all final."""
    h = Harness(tmp_path)
    h.connect_square()
    h.answer_barriers = False
    for n, port in enumerate((80, 81, 82)):
        body = {"kind": "connectivity", "src": H4, "dst": H1, "ip_proto": 6, "dst_port": port}
        h.call(CreateIntent({**body, "bandwidth_mbps": 1}), 10 + n)
    assert {i.state for i in h.core.intents.intents.values()} == {IntentState.INSTALLING}
    again = h.restarted()
    again.connect_square(hosts=False)
    again.advance(30.0)
    again.audit()
    states = {i.id: i.state for i in again.core.intents.intents.values()}
    assert set(states.values()) == {IntentState.INSTALLED}, states


def test_a_hand_deleted_meter_degrades_the_reservation_until_repaired(tmp_path: Path) -> None:
    """The switch drops the flows with the meter: DEGRADED naming them, ACTIVE once repaired."""
    h = Harness(tmp_path)
    h.connect_square()
    reply = h.call(CreateReservation({"src": H1, "dst": H4, "bandwidth_mbps": 5}), 1)
    assert reply is not None
    res = h.core.stitcher.reservations[int(reply.body["id"])]
    meter = res.plan.meters[0]
    h.answer_barriers = False
    h.net.delete_meter(meter.dpid, meter.meter_id)
    h.audit()
    assert res.state is State.DEGRADED
    assert f"{meter.dpid:016x}" in (res.reason or "") and "missing" in (res.reason or "")
    h.release_barriers()
    assert res.state is State.ACTIVE and (meter.dpid, meter.meter_id) in h.net.meters
    assert h.net.trace(1, 1, ipv4(H1, H4)).meters


def test_a_refused_repair_leaves_the_reservation_degraded_with_the_switch_reason(
    tmp_path: Path,
) -> None:
    from vnstitch.core.events import SwitchError

    h = Harness(tmp_path)
    h.connect_square()
    reply = h.call(CreateReservation({"src": H1, "dst": H4, "bandwidth_mbps": 5}), 1)
    assert reply is not None
    res = h.core.stitcher.reservations[int(reply.body["id"])]
    meter = res.plan.meters[0]
    h.answer_barriers = False
    h.net.delete_meter(meter.dpid, meter.meter_id)
    h.audit()
    flow_add = [a for a in h.sent if type(a.message).__name__ == "FlowAdd"][-1]
    h.feed(SwitchError(flow_add.message.rule.dpid, flow_add.xid, "METER_MOD_FAILED 12/2", False))
    assert res.state is State.DEGRADED and "refused the repair" in (res.reason or "")
    assert "12/2" in (res.reason or "")


def _status(reply: Reply | None) -> int:
    assert reply is not None
    return reply.status


def test_an_intent_s_reservation_cannot_be_deleted_or_changed_directly(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    _, intent_id = _installed(h)
    owned = str(h.core.intents.intents[intent_id].reservation_ids[0])
    deleted = h.call(DeleteReservation(owned), 20)
    assert _status(deleted) == 409 and intent_id in deleted.body["error"]
    changed = h.call(ModifyReservation(owned, {"bandwidth_mbps": 1}), 21)
    assert _status(changed) == 409 and intent_id in changed.body["error"]
    assert h.core.stitcher.reservations[int(owned)].state is State.ACTIVE
    assert h.core.intents.intents[intent_id].state is IntentState.INSTALLED


def test_src_and_dst_naming_one_host_are_refused(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.connect_square()
    mac = HOSTS[1][0]
    reply = h.call(CreateReservation({"src": mac, "dst": H1, "bandwidth_mbps": 1}), 1)
    assert _status(reply) == 400 and reply.body["field"] == "dst"
    assert not h.core.stitcher.reservations


def test_a_forecast_driven_reservation_is_withdrawn_only_when_forced(tmp_path: Path) -> None:
    from vnstitch.core.events import PredictorMessage
    from vnstitch.messages import ForecastBatch, PairForecast, PairId
    from vnstitch.stitcher.reservation import Origin

    h = Harness(tmp_path, predictor=True)
    h.connect_square()
    start = h.now.wall
    fc = PairForecast(PairId(H1, H4), (6.0,), (6.0,), start, start + 600.0)
    h.feed(PredictorMessage(ForecastBatch("p1", 0, "hgb-1", 0.95, start, (fc,))))
    (res,) = [r for r in h.core.stitcher.live() if r.request.origin is Origin.PREDICTED]
    refused = h.call(DeleteReservation(str(res.id)), 30)
    assert _status(refused) == 409 and "force" in refused.body["error"]
    assert res.state is State.ACTIVE
    assert _status(h.call(ModifyReservation(str(res.id), {"bandwidth_mbps": 2}), 31)) == 409
    assert _status(h.call(DeleteReservation(str(res.id), force=True), 32)) == 200
    assert res.state is State.RELEASED


def test_two_reservations_of_one_pair_share_the_arp_responder(tmp_path: Path) -> None:
    """One entry answers a pair's ARP for all its reservations; releasing one keeps it."""
    from vnstitch.rules.cookies import ARP_RESPONDER_COOKIE
    from vnstitch.rules.priorities import ARP_RESPONDER

    h = Harness(tmp_path)
    h.connect_square()
    first = h.call(CreateReservation({"src": H1, "dst": H4, "bandwidth_mbps": 2}), 1)
    second = h.call(CreateReservation({"src": H1, "dst": H4, "bandwidth_mbps": 1, **WEB}), 2)
    assert _status(first) == 201 and _status(second) == 201

    def responders() -> list[object]:
        return [r for r in h.net.rules() if r.priority == ARP_RESPONDER]

    assert len(responders()) == 2  # one per end, not one per reservation
    assert {r.cookie for r in responders()} == {ARP_RESPONDER_COOKIE}
    assert _status(h.call(DeleteReservation(first.body["id"]), 3)) == 200
    assert len(responders()) == 2  # the second reservation still needs them
    h.audit()
    h.audit()
    assert h.core.statistics.audit_repairs == 0
    assert h.core.stitcher.reservations[int(second.body["id"])].state is State.ACTIVE
    assert _status(h.call(DeleteReservation(second.body["id"]), 4)) == 200
    assert responders() == []
