"""Statistics rounds: port and flow counters, traffic observations and the audit.

A mixin of :class:`ryu_apps.vnstitch.VnstitchApp`: it uses the app's services and state.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ryu.controller import ofp_event
from ryu.controller.handler import (
    MAIN_DISPATCHER,
    set_ev_cls,
)
from ryu.lib import hub

from ryu_apps.packets import match_from_ofp
from vnstitch.stitcher.audit import ObservedFlow, audit_switch
from vnstitch.stitcher.install_jobs import FlowAdd, FlowDelete, Job, JobKind

LOG = logging.getLogger("vnstitch")


class StatsMixin:
    """Statistics rounds: port and flow counters, traffic observations and the audit."""

    def _stats_loop(self) -> None:
        """Fixed-rate rounds (a round's work does not push the next one later)."""
        since_audit = 0.0
        next_tick = time.monotonic()
        while True:
            opts = self.config.controller
            since_audit += opts.stats_interval_s
            audit = since_audit >= opts.audit_interval_s
            if audit:
                since_audit = 0.0
            dps = list(self.datapaths.values())
            if self.predictor is not None:
                self.predictor.begin_round(self._traffic_clock(), [dp.id for dp in dps])
                self.predictor.expire(self._traffic_clock())
                self._provision()
            for dp in dps:
                dp.send_msg(dp.ofproto_parser.OFPPortStatsRequest(dp, 0, dp.ofproto.OFPP_ANY))
                if audit or self.predictor is not None:
                    self._request_flow_stats(dp, audit)
            self.runner.expire(timeout_s=5.0)
            next_tick = max(next_tick + opts.stats_interval_s, time.monotonic())
            hub.sleep(next_tick - time.monotonic())

    @set_ev_cls(ofp_event.EventOFPPortStatsReply, MAIN_DISPATCHER)
    def _port_stats(self, ev: Any) -> None:
        now = self._now()
        dpid = ev.msg.datapath.id
        for stat in ev.msg.body:
            key = (dpid, stat.port_no)
            prev = self._port_bytes.get(key)
            self._port_bytes[key] = (now, stat.tx_bytes)
            if prev is not None and now > prev[0]:
                rate = (stat.tx_bytes - prev[1]) * 8 / (now - prev[0]) / 1e6
                self.port_rate_mbps[key] = round(max(rate, 0.0), 3)

    def _request_flow_stats(self, dp: Any, audit: bool = True) -> None:
        parser = dp.ofproto_parser
        if audit:
            self._audit_due.add(dp.id)
        self._flow_stats[dp.id] = []
        dp.send_msg(parser.OFPFlowStatsRequest(dp, table_id=0))

    @set_ev_cls(ofp_event.EventOFPFlowStatsReply, MAIN_DISPATCHER)
    def _flow_stats_reply(self, ev: Any) -> None:
        msg = ev.msg
        dpid = msg.datapath.id
        parts = self._flow_stats.setdefault(dpid, [])
        parts.extend(msg.body)
        if msg.flags & msg.datapath.ofproto.OFPMPF_REPLY_MORE:
            return
        observed = self._flow_stats.pop(dpid, [])
        if self.predictor is not None:
            self.predictor.flow_stats(
                dpid,
                observed,
                self._is_host_port,
                self._ip_of_mac,
                self.config.controller.stats_interval_s,
            )
        if dpid not in self._audit_due or self.runner.busy():
            return  # not due, or rules in flight: audit next round
        self._audit_due.discard(dpid)
        self._audit(msg.datapath, observed)

    def _is_host_port(self, dpid: int, port: int) -> bool:
        return any(
            h.attachment is not None and h.attachment.dpid == dpid and h.attachment.port == port
            for h in self.db.hosts.values()
        )

    def _ip_of_mac(self, mac: str) -> str | None:
        host = self.db.hosts.get(mac)
        return host.ip if host is not None else None

    def _audit(self, dp: Any, observed: list[Any]) -> None:
        """Repair one switch against the expected rules (policy in ``vnstitch.stitcher.audit``)."""
        expected = self.stitcher.expected_rules(dp.id) + self.intents.expected_drops(dp.id)
        flows = [ObservedFlow(s.priority, match_from_ofp(s.match), s.cookie) for s in observed]
        settled = self.stitcher.settled() and self.intents.settled()
        result = audit_switch(dp.id, expected, flows, self._orphans.get(dp.id, set()), settled)
        self._orphans[dp.id] = result.orphans
        ops: list[Any] = [FlowDelete(r) for r in result.delete]
        ops += [FlowAdd(r) for r in result.missing]
        if ops:
            self.audit_repairs += len(ops)
            self.metrics.audit_repairs.inc(len(ops))
            LOG.info("audit of %016x: %d repairs", dp.id, len(ops))
            self.runner.run(Job(0, 0, JobKind.REPAIR, [ops]))
