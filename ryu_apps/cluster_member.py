"""This controller as a member of a cluster: the elector, role requests, takeover, step-down.

Only translation: the elector (``vnstitch.cluster.election``, a green thread here) posts what
it saw onto the app's event queue; ``vnstitch.core.leadership.Leadership`` decides; this turns
its actions into OpenFlow role requests and into starting or dropping the app's controller core
(``VnstitchApp.take_over`` / ``step_down``). Started by ``vnstitch controller --store ADDRESS
--instance NAME`` (environment ``VNSTITCH_STORE``, ``VNSTITCH_INSTANCE``, ``VNSTITCH_URL``);
without them the app runs alone on its SQLite file as before.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ryu.controller import event
from ryu.lib import hub

from vnstitch.cluster.availability import Availability
from vnstitch.cluster.election import ClusterView, Elector
from vnstitch.cluster.members import member_health
from vnstitch.cluster.ovsdb_store import ClusterStore
from vnstitch.core.actions import Reply
from vnstitch.core.commands import Command
from vnstitch.core.leadership import Leadership, LeadershipAction, SendRole, StepDown, TakeOver
from vnstitch.core.stored_reads import stored_reply
from vnstitch.store.records import StoredState
from vnstitch.store.schema import StoreError

if TYPE_CHECKING:
    from ryu_apps.vnstitch import VnstitchApp

LOG = logging.getLogger("vnstitch.cluster")
READ_TIMEOUT_S = 1.0  # a follower's read waits this long for the store before its last copy
REFRESH_S = 1.0  # the leader re-asserts its role on every switch this often


@dataclass(frozen=True)
class Elected:
    """The elector took over with this generation."""

    generation: int


@dataclass(frozen=True)
class Lost:
    """The elector lost the lead."""

    reason: str


@dataclass(frozen=True)
class Refresh:
    """Time to re-assert the leader's role."""


class LeadershipEvent(event.EventBase):
    """Something the elector saw, posted onto the app's queue."""

    def __init__(self, what: Elected | Lost | ClusterView | Refresh) -> None:
        super().__init__()
        self.what = what


class ClusterMember:
    """The elector, the leadership decisions and the role requests of one instance."""

    def __init__(self, app: VnstitchApp, address: str, instance: str, url: str) -> None:
        """Join the cluster whose store is at ``address`` as ``instance`` (REST at ``url``)."""
        self.app = app
        self.address = address
        self.instance = instance
        self.url = url
        self.leadership = Leadership(instance)
        self.view = ClusterView(0, None, None, None)
        self._last_read: StoredState | None = None  # the last state a follower's read loaded
        # whether the store commits, shared by the elector and the leader's store (fail fast)
        self.availability = Availability()
        self.store: ClusterStore | None = None  # the leader's
        self.elector = Elector(
            address,
            instance,
            url,
            on_elected=lambda g: self._post(Elected(g)),
            on_lost=lambda why: self._post(Lost(why)),
            on_seen=lambda view: self._post(view),
            availability=self.availability,
        )

    @classmethod
    def from_environment(cls, app: VnstitchApp) -> ClusterMember | None:
        """The member ``vnstitch controller --store`` asked for; None: a single controller."""
        address = os.environ.get("VNSTITCH_STORE")
        if not address:
            return None
        instance = os.environ.get("VNSTITCH_INSTANCE") or os.uname().nodename
        url = os.environ.get("VNSTITCH_URL", "")
        LOG.info("cluster member %s (%s), store %s", instance, url, address)
        return cls(app, address, instance, url)

    def start(self) -> None:
        """Start competing for the lead."""
        self.app.threads.append(hub.spawn(self.elector.run))
        self.app.threads.append(hub.spawn(self._refresh_clock))

    def open_store(self, generation: int) -> ClusterStore:
        """The store for a leader of ``generation``: every write fenced by it."""
        store = ClusterStore(self.address, availability=self.availability)
        store.fence = generation
        self.store = store
        return store

    def store_refusal(self) -> str | None:
        """Why a write command would be refused now (the store has no majority), or None.

        Asked before a write command runs, so a refused one changes nothing in the core; a
        short probe of the store at most once a second (``ClusterStore.refusal``).
        """
        return None if self.store is None else self.store.refusal()

    def _post(self, what: Elected | Lost | ClusterView | Refresh) -> None:
        self.app.send_event(self.app.name, LeadershipEvent(what))

    def _refresh_clock(self) -> None:
        while True:
            hub.sleep(REFRESH_S)
            self._post(Refresh())

    # ---- on the app's event loop ----------------------------------------------------------
    def handle(self, what: Elected | Lost | ClusterView | Refresh) -> None:
        """Decide on what the elector saw, and act."""
        match what:
            case Elected(generation):
                self._act(self.leadership.elected(generation))
            case Lost(reason):
                self._act(self.leadership.lost(reason))
            case ClusterView():
                self.view = what
                self._act(self.leadership.observed(what.generation, what.leader))
            case Refresh():
                self._act(self.leadership.refresh())
                if self.leadership.leading and self.app.core is not None:
                    self.app.bind_predictor()

    def switch_up(self, dpid: int) -> None:
        """A switch connected: our role goes first."""
        self._act(self.leadership.switch_up(dpid))

    def switch_down(self, dpid: int) -> None:
        """A switch's connection is gone."""
        self.leadership.switch_down(dpid)

    def role_reply(self, dpid: int, role: int, generation: int, ofp: Any) -> None:
        """A switch confirmed a role."""
        self.leadership.role_confirmed(dpid, role == ofp.OFPCR_ROLE_MASTER, generation)

    def role_error(self, dpid: int, code: int, ofp: Any) -> None:
        """A switch refused a role request (stale generation: we were replaced)."""
        LOG.warning("switch %016x refused our role request (code %d)", dpid, code)
        self._act(self.leadership.role_refused(dpid, code == ofp.OFPRRFC_STALE))

    def _act(self, actions: list[LeadershipAction]) -> None:
        for action in actions:
            match action:
                case TakeOver(generation):
                    self.app.take_over(self.open_store(generation))
                case StepDown(reason):
                    self.app.step_down(reason)
                case SendRole(dpid, master, generation):
                    self._send_role(dpid, master, generation)

    def _send_role(self, dpid: int, master: bool, generation: int) -> None:
        dp = self.app.datapaths.get(dpid)
        if dp is None:
            return
        ofp, parser = dp.ofproto, dp.ofproto_parser
        role = ofp.OFPCR_ROLE_MASTER if master else ofp.OFPCR_ROLE_SLAVE
        dp.send_msg(parser.OFPRoleRequest(dp, role, generation))

    # ---- what followers answer ------------------------------------------------------------
    def leader_url(self) -> str | None:
        """The leader's REST URL, if another instance leads."""
        if self.leadership.leading:
            return None
        return self.view.leader_url

    def following(self) -> bool:
        """True while this instance has no core (a follower, or not yet taken over)."""
        return self.app.core is None

    def stored_read(self, command: Command) -> tuple[Reply, bool]:
        """A read answered from the store, and whether it came from the last copy (stale).

        Without a majority the store cannot be read; the last state this instance loaded is
        served then (``stale``), or 503 if it never loaded one.
        """
        try:  # a session per read: REST greenthreads never share one
            with ClusterStore(self.address, timeout_s=READ_TIMEOUT_S) as store:
                self._last_read = store.load()
            stale = False
        except StoreError as exc:
            LOG.warning("follower read from the store failed: %s", exc)
            if self._last_read is None:
                body = {"error": f"the store cannot be read now: {exc}", "field": None}
                return Reply(0, 503, body), False
            stale = True
        return stored_reply(command, self._last_read), stale

    def cluster_body(self) -> dict[str, Any]:
        """``GET /v1/cluster``: the leader, every instance, the store's members."""
        view = self.view
        return {
            "instance": self.instance,
            "role": self.leadership.role.value,
            "leader": view.leader,
            "leader_url": view.leader_url,
            "generation": view.generation,
            "leader_since": view.since,
            "instances": [
                {
                    "name": i.name,
                    "url": i.url,
                    "role": i.role,
                    "generation": i.generation,
                    "last_heartbeat": i.heartbeat,
                }
                for i in view.instances
            ],
            "store": member_health(self.address),
        }
