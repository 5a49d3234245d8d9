"""``/v1/cluster``, and what a follower answers instead of running a command.

A follower holds no controller core: it answers the reads of reservations and intents from
the store (``Resource.ask``, ``X-Vnstitch-Role: follower``); every other route's command is
answered ``307`` with the leader's URL in ``Location`` (the CLI and any HTTP client that
follows redirects re-send it there, method and body kept), or ``503`` while no leader is
known. ``GET /v1/cluster`` is
answered by every instance from its last look at the store.
"""

from __future__ import annotations

from typing import Any

from ryu.app.wsgi import route

from ryu_apps.cluster_member import ClusterMember
from ryu_apps.rest_common import MEMBER_KEY, Resource, guarded, json_response
from vnstitch.core.actions import Reply

__all__ = ["MEMBER_KEY", "ROUTES", "follower_reply"]


def follower_reply(member: ClusterMember) -> Reply:
    """307 to the leader (``Location`` is set from ``leader_url``), or 503 while none leads."""
    url = member.leader_url()
    if url:
        message = f"instance {member.instance} follows; the leader is {member.view.leader} at {url}"
        return Reply(0, 307, {"error": message, "field": None, "leader_url": url})
    body = {"error": "no leader is elected yet; retry in a second", "field": None}
    return Reply(0, 503, body)


class ClusterResource(Resource):
    """The cluster as this instance sees it."""

    @route("cluster", "/v1/cluster", methods=["GET"])
    @guarded(write=False)
    def cluster(self, req: Any, **_kwargs: Any) -> Any:
        """The leader, every instance with its role and last heartbeat, the store's members."""
        if self.member is None:
            body: dict[str, Any] = {
                "instance": None,
                "role": "single",
                "leader": None,
                "leader_url": None,
                "generation": 0,
                "leader_since": None,
                "instances": [],
                "store": [],
            }
            return json_response(body)
        return json_response(self.member.cluster_body())


ROUTES = ClusterResource
