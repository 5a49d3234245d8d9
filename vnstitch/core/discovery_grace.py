"""A refusal that only says the controller does not know the network yet: 503, not 409.

After a restart (it restored reservations, intents or learned hosts) or a takeover, the
controller rediscovers switches, links and hosts (LLDP probes, ARP); for the first seconds a
request can be refused "not attached" or "no path" only because of that. While it is still
discovering (inside the restore grace, and either a restored reservation still waits for its
path or one link timeout has not yet passed since the start) such a refusal is answered
``503`` with ``Retry-After``; a refusal for any other constraint, or after that, stays
``409``. A first start with nothing stored refuses ``409`` at once, as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vnstitch.core.actions import Reply

if TYPE_CHECKING:
    from vnstitch.core.controller import ControllerCore

UNKNOWN_NETWORK = ("endpoint", "connectivity")  # the constraints discovery has yet to meet
RETRY_AFTER_S = 1


def still_discovering(core: ControllerCore, now_wall: float) -> bool:
    """True while a just-(re)started controller may not know the whole network yet."""
    stitcher = core.stitcher
    if not core.rediscovering or now_wall >= stitcher.restore_until:
        return False
    started = core.started.wall
    return stitcher.restore_waiting() or now_wall < started + core.config.controller.link_timeout_s


def restored_anything(core: ControllerCore) -> bool:
    """True when the core started from stored state: it knew a network before (a restart)."""
    learned = any(h.source == "learned" for h in core.db.hosts.values())
    return learned or bool(core.stitcher.reservations) or bool(core.intents.intents)


def unless_discovering(core: ControllerCore, reply: Reply, now_wall: float) -> Reply:
    """``reply`` (a 409 refusal), or 503 with ``retry_after_s`` while still discovering."""
    body = reply.body
    if (
        reply.status != 409
        or not isinstance(body, dict)
        or body.get("constraint") not in UNKNOWN_NETWORK
        or not still_discovering(core, now_wall)
    ):
        return reply
    message = (
        "the controller is still discovering the network after a restart or takeover"
        f" ({body.get('error')}); retry in {RETRY_AFTER_S} s"
    )
    return Reply(
        reply.ticket,
        503,
        {**body, "error": message, "retry_after_s": RETRY_AFTER_S, "discovering": True},
    )
