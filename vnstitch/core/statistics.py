"""Statistics rounds: port rates, flow counters for the predictor, and the audit.

Every round asks each switch for its port counters (measured link rates) and, when the
predictor is linked or an audit is due, its flow entries. The audit compares a switch's
entries with the rules the controller expects (policy in ``vnstitch.stitcher.audit``) and
repairs the difference — but never while rules are in flight. A reservation whose rules are
missing is not ACTIVE: it is DEGRADED, naming the switch and the rules, until the switch
confirmed the repair (its meters are re-added with its rules: a meter deleted by hand takes
its flows with it); a refused repair leaves it DEGRADED with the switch's reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from vnstitch.clock import Instant
from vnstitch.core.actions import (
    FlowStatsRequest,
    GroupDescRequest,
    MeterConfigRequest,
    MeterModify,
    Outbox,
    PortStatsRequest,
)
from vnstitch.core.events import FlowStats, GroupDescs, MeterConfigs, PortStats
from vnstitch.core.stitching import Stitching
from vnstitch.northbound.metrics import ControllerMetrics
from vnstitch.rules.cookies import KIND_ARP_RESPONDER, KIND_ISOLATION, Cookie
from vnstitch.rules.meters import BEST_EFFORT_METER_IDS, RESERVATION_METER_IDS
from vnstitch.rules.model import FlowRule, Group, GroupSpec, Match, MeterSpec
from vnstitch.stitcher.audit import (
    EntryKey,
    IdAuditResult,
    ObservedFlow,
    ObservedMeter,
    audit_groups,
    audit_meters,
    audit_switch,
)
from vnstitch.stitcher.install_jobs import (
    FlowAdd,
    FlowDelete,
    GroupAdd,
    GroupDelete,
    GroupModify,
    Job,
    JobKind,
    MeterAdd,
    MeterDelete,
    Op,
)

LOG = logging.getLogger("vnstitch")
JOB_TIMEOUT_S = 5.0  # a job whose barriers are not all back by then has failed
_MATCH_FIELDS = frozenset(Match.__dataclass_fields__)


class Statistics:
    """Port rates, flow-stats requests and the audit of every switch."""

    def __init__(
        self,
        stitching: Stitching,
        outbox: Outbox,
        metrics: ControllerMetrics,
        stats_interval_s: float,
        audit_interval_s: float,
    ) -> None:
        self.stitching = stitching
        self.outbox = outbox
        self.metrics = metrics
        self.stats_interval_s = stats_interval_s
        self.audit_interval_s = audit_interval_s
        self.port_rate_mbps: dict[tuple[int, int], float] = {}
        self.audit_repairs = 0
        self._port_bytes: dict[tuple[int, int], tuple[float, int]] = {}
        self._since_audit = 0.0
        self._audit_due: set[int] = set()
        self._orphans: dict[int, set[EntryKey]] = {}
        self.audit_requested = False  # the last round asked for the audit's tables
        self._meters_seen: dict[int, tuple[ObservedMeter, ...]] = {}
        self._meter_orphans: dict[int, set[int]] = {}
        self._meters_asked: dict[int, dict[int, MeterSpec]] = {}  # expected when requested
        self._groups_seen: dict[int, tuple[GroupSpec, ...]] = {}
        self._group_orphans: dict[int, set[int]] = {}
        self.expected_baseline_meters: Callable[[int], list[MeterSpec]] = lambda _d: []

    def tick(self, dpids: list[int], flows_wanted: bool, at: Instant) -> None:
        """A round: port stats from every switch, flow stats when wanted or an audit is due."""
        self._since_audit += self.stats_interval_s
        audit = self._since_audit >= self.audit_interval_s
        self.audit_requested = audit
        if audit:
            self._since_audit = 0.0
        for dpid in dpids:
            self.outbox.send(PortStatsRequest(dpid))
            if audit or flows_wanted:
                self.request_flows(dpid, audit)
        self.stitching.runner.expire(JOB_TIMEOUT_S, at)

    def request_flows(self, dpid: int, audit: bool = True) -> None:
        """Ask a switch for its flow entries (and audit them when they come)."""
        if audit:
            self._audit_due.add(dpid)
            self._meters_asked[dpid] = {m.meter_id: m for m in self._expected_meters(dpid)}
            self.outbox.send(MeterConfigRequest(dpid))  # for the data-plane verification
            self.outbox.send(GroupDescRequest(dpid))
        self.outbox.send(FlowStatsRequest(dpid))

    def port_stats(self, ev: PortStats, at: Instant) -> None:
        """Transmit rate of every port since the previous reply."""
        for stat in ev.ports:
            key = (ev.dpid, stat.port_no)
            prev = self._port_bytes.get(key)
            self._port_bytes[key] = (at.mono, stat.tx_bytes)
            if prev is not None and at.mono > prev[0]:
                rate = (stat.tx_bytes - prev[1]) * 8 / (at.mono - prev[0]) / 1e6
                self.port_rate_mbps[key] = round(max(rate, 0.0), 3)

    def meters_seen(self, ev: MeterConfigs) -> None:
        """A switch's meter table, audited with its flow table when that comes."""
        self._meters_seen[ev.dpid] = tuple(
            ObservedMeter(m.meter_id, m.rate_kbps, m.burst_kb, m.per_packet) for m in ev.meters
        )

    def groups_seen(self, ev: GroupDescs) -> None:
        """A switch's group table, audited with its flow table when that comes."""
        self._groups_seen[ev.dpid] = ev.groups

    def _audit_groups(self, dpid: int) -> list[Op]:
        """Group repairs of one switch (the table reported with this audit's flows)."""
        observed = self._groups_seen.pop(dpid, None)
        if observed is None:
            return []
        stitcher = self.stitching.stitcher
        result = audit_groups(
            stitcher.expected_groups(dpid),
            observed,
            self._group_orphans.get(dpid, set()),
            lambda g: stitcher.claims_group(dpid, g),
        )
        self._group_orphans[dpid] = result.orphans
        ops: list[Op] = [GroupAdd(g) for g in result.missing]
        ops += [GroupModify(g) for g in result.modify]
        ops += [GroupDelete(dpid, g) for g in result.delete]
        _log_repairs("group", dpid, result)
        return ops

    def _audit_meters(self, dpid: int) -> list[Op]:
        """Meter repairs of one switch (the table reported with this audit's flows)."""
        observed = self._meters_seen.pop(dpid, None)
        if observed is None:
            return []
        stitcher = self.stitching.stitcher
        asked = self._meters_asked.pop(dpid, {})
        # A meter whose expected form changed since the request was sent with the change
        # itself (e.g. best-effort rates follow every reservation): the report is older.
        now = self._expected_meters(dpid)
        moved = {m.meter_id for m in now if asked.get(m.meter_id) != m}
        result = audit_meters(
            [m for m in now if m.meter_id not in moved],
            observed,
            self._meter_orphans.get(dpid, set()),
            lambda m: m in RESERVATION_METER_IDS or m in BEST_EFFORT_METER_IDS,
            lambda m: m in moved or stitcher.claims_meter(dpid, m),
        )
        self._meter_orphans[dpid] = result.orphans
        ops: list[Op] = [MeterAdd(m) for m in result.missing]
        ops += [MeterModify(m) for m in result.modify]
        ops += [MeterDelete(dpid, m) for m in result.delete]
        _log_repairs("meter", dpid, result)
        return ops

    def _expected_meters(self, dpid: int) -> list[MeterSpec]:
        stitcher = self.stitching.stitcher
        return stitcher.expected_meters(dpid) + self.expected_baseline_meters(dpid)

    def audit_if_due(self, ev: FlowStats, at: Instant) -> None:
        """Audit a switch whose entries arrived, if an audit is due and nothing is in flight."""
        if ev.dpid not in self._audit_due or self.stitching.runner.busy():
            return  # not due, or rules in flight: audit next round
        self._audit_due.discard(ev.dpid)
        stitching = self.stitching
        expected = stitching.stitcher.expected_rules(ev.dpid)
        expected += stitching.intents.expected_drops(ev.dpid)
        observed = [
            ObservedFlow(
                f.priority,
                Match(**{k: v for k, v in f.match.items() if k in _MATCH_FIELDS}),
                f.cookie,
            )
            for f in ev.flows
        ]
        previous = self._orphans.get(ev.dpid, set())
        result = audit_switch(ev.dpid, expected, observed, previous, self._claimed)
        self._orphans[ev.dpid] = result.orphans
        meter_ops = self._audit_meters(ev.dpid) + self._audit_groups(ev.dpid)
        count = len(result.delete) + len(result.missing) + len(meter_ops)
        if not count:
            return
        self.audit_repairs += count
        self.metrics.audit_repairs.inc(count)
        LOG.info("audit of %016x: %d repairs", ev.dpid, count)
        plain: list[Op] = [*meter_ops, *(FlowDelete(r) for r in result.delete)]
        by_owner: dict[int, list[FlowRule]] = {}
        for rule in result.missing:
            cookie = Cookie.decode(rule.cookie)
            if cookie.kind == KIND_ISOLATION:
                plain.append(FlowAdd(rule))
            else:
                by_owner.setdefault(cookie.owner, []).append(rule)
        jobs = [self._repair(ev.dpid, owner, rules, at) for owner, rules in by_owner.items()]
        for job in jobs:
            if job.reservation_id == 0:
                plain += job.phases[0]
        jobs = [j for j in jobs if j.reservation_id != 0]
        if plain:  # first: meters and groups the re-added rules may send to
            jobs.insert(0, Job(0, 0, JobKind.AUDIT, [plain]))
        stitching.run(jobs, at)

    def _claimed(self, cookie: Cookie) -> bool:
        """True when the cookie's owner claims its rules (installing, moving, restored)."""
        if cookie.kind == KIND_ISOLATION:
            return self.stitching.intents.claims_rules(cookie.owner)
        if cookie.kind == KIND_ARP_RESPONDER:  # shared: kept while restored ones wait
            return self.stitching.stitcher.restore_waiting()
        return self.stitching.stitcher.claims_rules(cookie.owner)

    def _repair(self, dpid: int, owner: int, rules: list[FlowRule], at: Instant) -> Job:
        """Re-add a reservation's missing rules (and meters); it is DEGRADED until confirmed."""
        stitcher = self.stitching.stitcher
        first = rules[0]
        reason = (
            f"audit: {len(rules)} rule(s) missing on switch {dpid:016x}"
            f" (cookie {first.cookie:#x}, priority {first.priority},"
            f" match {first.match.to_dict()}); re-installing"
        )
        version = stitcher.mark_repairing(owner, reason, at.wall)
        adds: list[Op] = [FlowAdd(r) for r in rules]
        res = stitcher.reservations.get(owner)
        if version is None or res is None or res.plan is None:
            return Job(0, 0, JobKind.AUDIT, [adds])
        metered = {r.meter_id for r in rules if r.meter_id is not None}
        meters: list[Op] = [
            MeterAdd(m) for m in res.plan.meters if m.dpid == dpid and m.meter_id in metered
        ]
        grouped = {a.group_id for r in rules for a in r.actions if isinstance(a, Group)}
        meters += [GroupAdd(g) for g in res.plan.groups if g.dpid == dpid and g.group_id in grouped]
        self.stitching.intents.refresh_states(at.wall)
        return Job(owner, version, JobKind.AUDIT, [meters + adds], confirm_phase=0)

    def forget_switch(self, dpid: int) -> None:
        """A switch went away: its counters start again."""
        self._meters_seen.pop(dpid, None)
        self._meter_orphans.pop(dpid, None)
        self._groups_seen.pop(dpid, None)
        self._group_orphans.pop(dpid, None)
        for key in [k for k in self._port_bytes if k[0] == dpid]:
            del self._port_bytes[key]
            self.port_rate_mbps.pop(key, None)


def _log_repairs(table: str, dpid: int, result: IdAuditResult[Any]) -> None:
    if result.missing or result.modify or result.delete:
        LOG.info(
            "%s audit of %016x: %d missing, %d changed, %d orphans deleted",
            table,
            dpid,
            len(result.missing),
            len(result.modify),
            len(result.delete),
        )
