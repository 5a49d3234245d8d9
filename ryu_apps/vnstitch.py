"""The vnstitch Ryu application: the adapter between Ryu and the pure controller core.

Run with ``ryu-manager ryu_apps.vnstitch`` (or ``vnstitch controller``). It holds no policy:
each handler turns an OpenFlow event into a core event (``ryu_apps/ofp_events.py``), hands it
to :class:`vnstitch.core.controller.ControllerCore` with the time, and carries out the actions
it returns. REST requests, the ZeroMQ receiver and the timers do not touch state: they post
events onto this app's Ryu event queue, the one thread of control.
"""

from __future__ import annotations

import gc
import itertools
import logging
import os
import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eventlet.green import zmq
from ryu import cfg
from ryu.app.wsgi import WSGIApplication
from ryu.base import app_manager
from ryu.controller import event, ofp_event
from ryu.controller.handler import (
    CONFIG_DISPATCHER,
    DEAD_DISPATCHER,
    MAIN_DISPATCHER,
    set_ev_cls,
)
from ryu.lib import hub
from ryu.ofproto import ofproto_v1_3

from ryu_apps import ofp_events
from ryu_apps.cluster_member import ClusterMember, LeadershipEvent
from ryu_apps.ofp_translate import to_ofp
from ryu_apps.queue_bridge import CurveServer, QueueBridge
from ryu_apps.rest_api import RyuControllerApi, register_routes
from ryu_apps.rest_cluster import follower_reply
from vnstitch.clock import Instant
from vnstitch.core.actions import (
    Action,
    Publish,
    Reply,
    RoundWorkLater,
    SettleLater,
    SettleMoreLater,
    ToSwitch,
    VerifyLater,
    WakeAt,
)
from vnstitch.core.commands import WRITES, Command
from vnstitch.core.controller import ControllerCore
from vnstitch.core.events import (
    BarrierReply,
    EchoReply,
    EchoTick,
    Event,
    FlowStats,
    PortStats,
    PredictorFrames,
    PredictorRejected,
    ProbeTick,
    RoundWork,
    Settle,
    SettleMore,
    StatsTick,
    SwitchDown,
    SwitchError,
    SwitchFeatures,
    SwitchUp,
    VerifyMore,
    Wake,
)
from vnstitch.messages import encode
from vnstitch.northbound.auth import load_or_create_token
from vnstitch.northbound.config import Config, ConfigError, PredictorOptions, load_config
from vnstitch.northbound.wire_keys import (
    AUTHORIZED_DIR,
    DEFAULT_KEY_DIR,
    SERVER_NAME,
    AuthorizedKeys,
    load_or_create_keypair,
)
from vnstitch.store.interface import Store, StoreUnavailable

LOG = logging.getLogger("vnstitch")
STORE_RETRY_AFTER_S = 1  # a write refused for want of a store majority: try again after this

# Ryu binds its REST and OpenFlow servers to all addresses unless told otherwise; ours default
# to loopback (--wsapi-host / --ofp-listen-host, or `vnstitch controller --of-host`, open them).
cfg.CONF.set_default("wsapi_host", "127.0.0.1")
cfg.CONF.set_default("ofp_listen_host", "127.0.0.1")


def _now() -> Instant:
    return Instant(time.time(), time.monotonic())


def _load_config() -> Config:
    path = os.environ.get("VNSTITCH_CONFIG")
    try:
        return load_config(path)
    except ConfigError as exc:
        LOG.error("vnstitch: %s", exc)
        raise SystemExit(f"vnstitch: {exc}") from exc


def _curve_server(opts: PredictorOptions) -> CurveServer | None:
    """The controller's keypair (made at first start) and the authorized client keys."""
    if not opts.curve:
        LOG.warning(
            "predictor queue WITHOUT CURVE ([predictor] curve = false): any process that "
            "reaches the sockets can push forecasts"
        )
        return None
    key_dir = Path(opts.key_dir).expanduser() if opts.key_dir else DEFAULT_KEY_DIR
    authorized_dir = (
        Path(opts.authorized_keys_dir).expanduser()
        if opts.authorized_keys_dir
        else key_dir / AUTHORIZED_DIR
    )
    keys = load_or_create_keypair(key_dir, SERVER_NAME, zmq.curve_keypair)
    authorized_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    authorized = AuthorizedKeys(authorized_dir)
    LOG.info(
        "predictor queue: CURVE keypair %s; clients whose *.key is in %s may connect (%d now)",
        keys.source,
        authorized_dir,
        len(authorized.keys()),
    )
    return CurveServer(keys, authorized)


class CoreEvent(event.EventBase):
    """A core event posted onto the app's queue (by a timer, the queue or the core itself)."""

    def __init__(self, core_event: Event) -> None:
        super().__init__()
        self.core_event = core_event


class CoreCommand(event.EventBase):
    """A northbound command posted by a REST route; the reply goes to ``ticket``."""

    def __init__(self, ticket: int, command: Command) -> None:
        super().__init__()
        self.ticket = ticket
        self.command = command


class VnstitchApp(app_manager.RyuApp):
    """Translates between Ryu and the controller core."""

    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]
    _CONTEXTS = {"wsgi": WSGIApplication}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config = _load_config()
        if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
            # Ryu logs every REST request at INFO through ryu.lib.hub: quiet unless --verbose.
            logging.getLogger("ryu.lib.hub").setLevel(logging.WARNING)
        api_opts = self.config.api
        token_file = Path(api_opts.token_file) if api_opts.token_file else None
        token = load_or_create_token(api_opts.token, token_file)
        LOG.info("REST API bearer token: %s", token.source)
        self.datapaths: dict[int, Any] = {}
        self._flow_parts: dict[int, list[Any]] = {}
        self._meter_parts: dict[int, list[Any]] = {}
        self._group_parts: dict[int, list[Any]] = {}
        self._replies: dict[int, hub.Queue] = {}
        self._tickets = itertools.count(1)
        self.member = ClusterMember.from_environment(self)  # None: a single controller
        # in a cluster only the leader binds the predictor sockets (take_over, step_down)
        self.bridge = None if self.member else self._bind_predictor(self.config.predictor)
        self._bridge_threads: list[Any] = []
        self._retired_bridges: list[QueueBridge] = []
        self._bind_tries = 0
        predicting = self.bridge is not None or (
            self.member is not None and self.config.predictor.enabled
        )
        self._source = f"controller-{uuid.uuid4().hex[:8]}" if predicting else None
        self.core: ControllerCore | None = None  # a cluster follower has none
        if self.member is None:
            self._start_core(None)
        self.api = RyuControllerApi(self, token)
        register_routes(kwargs["wsgi"], self.api, self.member)
        if self.core is not None:
            self._carry_out(self.core.pending())
        if self.member is not None:
            self.member.start()
        opts = self.config.controller
        self._every(opts.probe_interval_s, ProbeTick)
        self._every(opts.echo_interval_s, EchoTick)
        self.threads.append(hub.spawn(self._stats_clock))
        for loop in self.bridge.loops if self.bridge is not None else ():
            self.threads.append(hub.spawn(loop))

    def _start_core(self, store: Store | None) -> ControllerCore:
        takeover = store is not None  # a new cluster leader claims the rules in place
        nonce = random.getrandbits(63)
        self.core = ControllerCore(self.config, _now(), nonce, self._source, store, takeover)
        # What was restored lives as long as the process: keep it out of the collector's full
        # passes, which otherwise walk every reservation's objects (over 1 s at 10,000).
        gc.collect()
        gc.freeze()
        return self.core

    # ---- cluster membership (ryu_apps/cluster_member.py decides when) -----------------------
    def take_over(self, store: Store) -> None:
        """Lead: load the state from the store, then claim connected switches as on a restart.

        The leader alone binds the predictor's sockets (the predictor connects to every
        instance's endpoints, so it follows the leader)."""
        self._bind_tries = 0
        self.bind_predictor()
        core = self._start_core(store)
        self._carry_out(core.pending())
        for dpid in sorted(self.datapaths):
            self._handle(SwitchFeatures(dpid))
            self._handle(SwitchUp(dpid))

    def bind_predictor(self) -> None:
        """As leader, bind the predictor's sockets if not yet bound (tried again each second
        for 30 s: the leader it replaced may hold them until it steps down)."""
        if self.bridge is not None or not self.config.predictor.enabled or self._bind_tries >= 30:
            return
        self._bind_tries += 1
        self.bridge = self._bind_predictor(self.config.predictor)
        for loop in self.bridge.loops if self.bridge is not None else ():
            self._bridge_threads.append(hub.spawn(loop))

    def step_down(self, reason: str) -> None:
        """Stop leading at once: the core goes, nothing more is written."""
        if self.core is not None:
            self.core.durable.store.close()
        self.core = None
        for thread in self._bridge_threads:
            hub.kill(thread)
        self._bridge_threads.clear()
        if self.bridge is not None:
            self.bridge.close()
            self._retired_bridges.append(self.bridge)  # its context is never terminated
            self.bridge = None
        LOG.warning("no longer the leader (%s): following", reason)

    @set_ev_cls(LeadershipEvent)
    def _leadership(self, ev: LeadershipEvent) -> None:
        if self.member is not None:
            self.member.handle(ev.what)

    @set_ev_cls(ofp_event.EventOFPRoleReply, MAIN_DISPATCHER)
    def _role_reply(self, ev: Any) -> None:
        if self.member is not None:
            msg = ev.msg
            self.member.role_reply(
                msg.datapath.id, msg.role, msg.generation_id, msg.datapath.ofproto
            )

    def _bind_predictor(self, opts: PredictorOptions) -> QueueBridge | None:
        if not opts.enabled:
            return None
        try:
            bridge = QueueBridge(
                opts.observations_endpoint,
                opts.forecasts_endpoint,
                self._from_predictor,
                opts.max_message_bytes,
                _curve_server(opts),
                self._predictor_rejected,
            )
        except Exception as exc:  # a taken port or a bad key file must not stop the controller
            LOG.error(
                "cannot bind the predictor queue (%s, %s): %s; running without forecasts "
                "(set [predictor] endpoints, or enabled = false)",
                opts.observations_endpoint,
                opts.forecasts_endpoint,
                exc,
            )
            return None
        LOG.info("predictor queue bound: %s, %s", *bridge.endpoints)
        return bridge

    # ---- posting onto the one thread of control ---------------------------------------------
    def post(self, core_event: Event) -> None:
        """Queue a core event for the app's event loop (from any greenthread)."""
        self._send_event(CoreEvent(core_event), None)

    def request(self, command: Command, timeout_s: float) -> Reply:
        """Run a command on the event loop and wait for its reply (from a REST greenthread)."""
        if self.member is not None and self.core is None:
            return follower_reply(self.member)
        ticket = next(self._tickets)
        answer: hub.Queue = hub.Queue(1)
        self._replies[ticket] = answer
        self._send_event(CoreCommand(ticket, command), None)
        try:
            reply: Reply = answer.get(timeout=timeout_s)
            return reply
        except hub.QueueEmpty:
            body = {
                "error": f"the controller did not answer within {timeout_s:.0f} s",
                "field": None,
            }
            return Reply(ticket, 503, body)
        finally:
            self._replies.pop(ticket, None)

    def _from_predictor(self, frames: tuple[bytes, ...]) -> None:
        self.post(PredictorFrames(frames))

    def _predictor_rejected(self, reason: str, detail: str) -> None:
        self.post(PredictorRejected(reason, detail))

    def _every(self, interval_s: float, make: Callable[[], Event]) -> None:
        def loop() -> None:
            while True:
                self.post(make())
                hub.sleep(interval_s)

        self.threads.append(hub.spawn(loop))

    def _stats_clock(self) -> None:
        """Rounds at the times the core names (just after each step boundary), so a round's
        work does not push the next one later."""
        while True:
            self.post(StatsTick())
            now = time.time()
            core = self.core  # a cluster follower has none: the plain interval
            due = (
                now + self.config.controller.stats_interval_s
                if core is None
                else core.next_stats_round(now)
            )
            hub.sleep(max(0.0, due - time.time()))

    def _wake_at(self, mono: float) -> None:
        hub.sleep(max(0.0, mono - time.monotonic()))
        self.post(Wake())

    # ---- the core in, actions out --------------------------------------------------------
    def _handle(self, core_event: Event) -> None:
        if self.core is not None:
            self._carry_out(self.core.handle(core_event, _now()))

    def _carry_out(self, actions: list[Action]) -> None:
        for action in actions:
            match action:
                case ToSwitch(message, xid):
                    dp = self.datapaths.get(action.dpid)
                    if dp is not None:
                        msg = to_ofp(dp, message)
                        msg.xid = xid
                        dp.send_msg(msg)
                case Publish(message):
                    if self.bridge is not None:
                        self.bridge.publish(encode(message))
                case Reply(ticket):
                    answer = self._replies.get(ticket)
                    if answer is not None:
                        answer.put(action)
                case WakeAt(mono):
                    hub.spawn(self._wake_at, mono)
                case SettleLater():
                    hub.spawn(self.post, Settle())
                case VerifyLater():
                    hub.spawn(self.post, VerifyMore())
                case SettleMoreLater():
                    hub.spawn(self.post, SettleMore())
                case RoundWorkLater():
                    hub.spawn(self.post, RoundWork())

    @set_ev_cls(CoreEvent)
    def _core_event(self, ev: CoreEvent) -> None:
        self._handle(ev.core_event)

    @set_ev_cls(CoreCommand)
    def _core_command(self, ev: CoreCommand) -> None:
        if self.core is None:  # stepped down while the command was queued
            answer = self._replies.get(ev.ticket)
            if answer is not None and self.member is not None:
                answer.put(follower_reply(self.member))
            return
        refusal = None
        if self.member is not None and isinstance(ev.command, WRITES):
            refusal = self.member.store_refusal()  # known without a majority: the core untouched
        try:
            if refusal is not None:
                raise StoreUnavailable(refusal)
            actions = self.core.call(ev.command, ev.ticket, _now())
        except StoreUnavailable as exc:  # a cluster store without a majority: say so
            LOG.error("command %s not stored: %s", type(ev.command).__name__, exc)
            body = {"error": str(exc), "field": None, "retry_after_s": STORE_RETRY_AFTER_S}
            actions = [Reply(ev.ticket, 503, body)]
        except Exception:  # a bug must not leave the caller waiting, nor stop the loop
            LOG.exception("command %s failed", type(ev.command).__name__)
            body = {"error": "internal error: see the controller log", "field": None}
            actions = [Reply(ev.ticket, 500, body)]
        self._carry_out(actions)

    # ---- OpenFlow events ------------------------------------------------------------------
    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def _features(self, ev: Any) -> None:
        dp = ev.msg.datapath
        self.datapaths[dp.id] = dp
        if self.member is not None:
            self.member.switch_up(dp.id)  # the role request goes before any other message
        self._handle(SwitchFeatures(dp.id))

    @set_ev_cls(ofp_event.EventOFPStateChange, [MAIN_DISPATCHER, DEAD_DISPATCHER])
    def _state_change(self, ev: Any) -> None:
        dp = ev.datapath
        if ev.state == MAIN_DISPATCHER:
            self.datapaths[dp.id] = dp
            self._handle(SwitchUp(dp.id))
        elif ev.state == DEAD_DISPATCHER:
            dpid = dp.id
            if dpid in self.datapaths and self.datapaths[dpid] is dp:
                del self.datapaths[dpid]
                if self.member is not None:
                    self.member.switch_down(dpid)
                self._handle(SwitchDown(dpid))

    @set_ev_cls(ofp_event.EventOFPPortDescStatsReply, MAIN_DISPATCHER)
    def _port_desc(self, ev: Any) -> None:
        self._handle(ofp_events.switch_ports(ev.msg.datapath, ev.msg.body))

    @set_ev_cls(ofp_event.EventOFPPortStatus, MAIN_DISPATCHER)
    def _port_status(self, ev: Any) -> None:
        changed = ofp_events.port_status(ev.msg)
        if changed is not None:
            self._handle(changed)

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def _packet_in(self, ev: Any) -> None:
        self._handle(ofp_events.packet_in(ev.msg))

    @set_ev_cls(ofp_event.EventOFPEchoReply, [MAIN_DISPATCHER, CONFIG_DISPATCHER])
    def _echo_reply(self, ev: Any) -> None:
        if ev.msg.data is not None:
            self._handle(EchoReply(ev.msg.datapath.id, bytes(ev.msg.data)))

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    def _barrier_reply(self, ev: Any) -> None:
        self._handle(BarrierReply(ev.msg.datapath.id, ev.msg.xid))

    @set_ev_cls(ofp_event.EventOFPErrorMsg, [MAIN_DISPATCHER, CONFIG_DISPATCHER])
    def _error(self, ev: Any) -> None:
        msg = ev.msg
        ofp = msg.datapath.ofproto
        if msg.type == ofp.OFPET_ROLE_REQUEST_FAILED and self.member is not None:
            self.member.role_error(msg.datapath.id, msg.code, ofp)
            return
        exists = msg.type == ofp.OFPET_METER_MOD_FAILED and msg.code == ofp.OFPMMFC_METER_EXISTS
        group = msg.type == ofp.OFPET_GROUP_MOD_FAILED and msg.code == ofp.OFPGMFC_GROUP_EXISTS
        reason = f"OpenFlow error type {msg.type} code {msg.code}"
        self._handle(SwitchError(msg.datapath.id, msg.xid, reason, exists, group))

    @set_ev_cls(ofp_event.EventOFPPortStatsReply, MAIN_DISPATCHER)
    def _port_stats(self, ev: Any) -> None:
        body = ofp_events.port_counters(ev.msg.body)
        self._handle(PortStats(ev.msg.datapath.id, body))

    @set_ev_cls(ofp_event.EventOFPFlowStatsReply, MAIN_DISPATCHER)
    def _flow_stats(self, ev: Any) -> None:
        msg = ev.msg
        dpid = msg.datapath.id
        parts = self._flow_parts.setdefault(dpid, [])
        parts.extend(msg.body)
        if msg.flags & msg.datapath.ofproto.OFPMPF_REPLY_MORE:
            return
        del self._flow_parts[dpid]
        self._handle(FlowStats(dpid, tuple(ofp_events.flow_counters(s) for s in parts)))

    @set_ev_cls(ofp_event.EventOFPMeterConfigStatsReply, MAIN_DISPATCHER)
    def _meter_configs(self, ev: Any) -> None:
        msg = ev.msg
        parts = self._gather(self._meter_parts, msg)
        if parts is not None:
            self._handle(ofp_events.meter_configs(msg.datapath.id, parts))

    @set_ev_cls(ofp_event.EventOFPGroupDescStatsReply, MAIN_DISPATCHER)
    def _group_descs(self, ev: Any) -> None:
        msg = ev.msg
        parts = self._gather(self._group_parts, msg)
        if parts is not None:
            self._handle(ofp_events.group_descs(msg.datapath.id, parts))

    @staticmethod
    def _gather(store: dict[int, list[Any]], msg: Any) -> list[Any] | None:
        """Every part of a multipart reply, once the last one came (None before)."""
        dpid = msg.datapath.id
        store.setdefault(dpid, []).extend(msg.body)
        if msg.flags & msg.datapath.ofproto.OFPMPF_REPLY_MORE:
            return None
        return store.pop(dpid)
