"""The NTD graph: switches, links, ports, hosts and the versioned event log."""

from __future__ import annotations

from topology.database import TopologyDatabase
from topology.model import Attachment, Host, LinkId, Port
from topology.zones import ZoneMap
from vnstitch.clock import parse_rfc3339, rfc3339

WALL = 1_795_000_000.25  # 2026-11-18T11:06:40.250Z: wall-clock times in tests look like this


def _db(zones: ZoneMap | None = None) -> TopologyDatabase:
    db = TopologyDatabase(zones, default_capacity_mbps=1000)
    db.add_switch(1, [Port(1), Port(2), Port(3, speed_mbps=100)], 0.0, "vns1")
    db.add_switch(2, [Port(1), Port(2)], 0.0, "vns2")
    return db


AB = LinkId(1, 2, 2, 2)


def test_link_appears_in_graph_with_unknown_latency_and_capacity() -> None:
    db = _db()
    db.link_seen(AB, 1.0, 1.0)
    edge = db.graph.edges[1, 2]
    assert edge["latency_ms"] is None and edge["capacity_mbps"] == 1000
    assert db.to_dict()["links"][0]["latency_ms"] is None
    db.set_link_latency(AB, 4.5, 2.0)
    assert db.graph.edges[1, 2]["latency_ms"] == 4.5


def test_capacity_from_config_else_port_speed() -> None:
    zones = ZoneMap()
    zones.set_link("vns1", "vns2", "blue", 20.0)
    db = _db(zones)
    db.link_seen(AB, 1.0, 1.0)
    db.link_seen(AB.reverse(), 1.0, 1.0)
    assert db.links[AB].capacity_mbps == 20 and db.links[AB].zone == "blue"
    db2 = _db()
    db2.link_seen(LinkId(1, 3, 2, 1), 1.0, 1.0)
    assert db2.links[LinkId(1, 3, 2, 1)].capacity_mbps == 100


def test_port_down_removes_links_at_once_and_emits_events() -> None:
    db = _db()
    db.link_seen(AB, 1.0, 1.0)
    db.link_seen(AB.reverse(), 1.0, 1.0)
    before = db.version
    events = db.set_port(1, Port(2, up=False), 2.0)
    kinds = [e.kind for e in events]
    assert kinds[0] == "port_down" and kinds.count("link_remove") == 2
    assert not db.graph.has_edge(1, 2) and not db.graph.has_edge(2, 1)
    assert [e.version for e in db.events_since(before)] == list(range(before + 1, db.version + 1))


def test_silent_link_loss_expires_after_timeout() -> None:
    db = _db()
    db.link_seen(AB, 1.0, 1.0)
    assert db.expire_links(3.0, 3.0, timeout_s=3.5) == []
    db.link_seen(AB, 4.0, 4.0)  # refreshed
    assert db.expire_links(7.0, 7.0, timeout_s=3.5) == []
    assert [e.kind for e in db.expire_links(8.0, 8.0, timeout_s=3.5)] == ["link_remove"]
    assert AB not in db.links


def test_a_wall_clock_jump_forward_expires_no_link() -> None:
    db = _db()
    db.link_seen(AB, WALL, 50.0)
    assert db.expire_links(WALL + 3600.0, 51.0, timeout_s=3.5) == []  # clock set an hour on
    assert AB in db.links


def test_a_wall_clock_jump_back_does_not_keep_a_dead_link() -> None:
    db = _db()
    db.link_seen(AB, WALL, 50.0)
    events = db.expire_links(WALL - 3600.0, 54.0, timeout_s=3.5)  # clock set an hour back
    assert [e.kind for e in events] == ["link_remove"]
    assert events[0].time == WALL - 3600.0  # events carry the wall time given


def test_hosts_learned_only_on_edge_ports_and_moves_are_events() -> None:
    db = _db()
    db.link_seen(AB, 1.0, 1.0)
    assert db.learn_host("00:00:00:00:00:09", "10.0.0.9", 1, 2, 1.0) is None  # inter-switch
    ev = db.learn_host("00:00:00:00:00:01", "10.0.0.1", 1, 1, 1.0)
    assert ev is not None and ev.kind == "host_add"
    assert db.learn_host("00:00:00:00:00:01", "10.0.0.1", 1, 1, 2.0) is None  # no change
    moved = db.learn_host("00:00:00:00:00:01", "10.0.0.1", 2, 1, 3.0)
    assert moved is not None and moved.kind == "host_move"
    host = db.find_host("10.0.0.1")
    assert host is not None and host.attachment == Attachment(2, 1)


def test_inventory_host_known_before_it_talks_and_zone_names_apply() -> None:
    zones = ZoneMap(host_zones={"h1": "pci"}, host_names={"10.0.0.1": "h1"})
    db = _db(zones)
    db.add_inventory_host(Host("h1", "00:00:00:00:00:01", "10.0.0.1", Attachment(1, 1), "pci"), 0)
    assert db.find_host("h1") is not None
    db.learn_host("00:00:00:00:00:05", "10.0.0.1", 2, 1, 1.0)  # same IP, learned: named h1
    learned = db.hosts["00:00:00:00:00:05"]
    assert learned.name == "h1" and learned.zone == "pci"


def test_switch_removal_takes_links_but_keeps_its_hosts() -> None:
    """A disconnected switch still has its hosts: they are gone only when seen elsewhere."""
    db = _db()
    db.link_seen(AB, 1.0, 1.0)
    db.learn_host("00:00:00:00:00:02", "10.0.0.2", 2, 1, 1.0)
    db.remove_switch(2, 5.0)
    assert 2 not in db.graph and AB not in db.links
    assert db.hosts["00:00:00:00:00:02"].attachment == Attachment(2, 1)
    doc = db.to_dict()
    assert [s["name"] for s in doc["switches"]] == ["vns1"]


def test_subscribers_see_every_event() -> None:
    db = _db()
    seen: list[str] = []
    db.subscribe(lambda e: seen.append(e.kind))
    db.link_seen(AB, 1.0, 1.0)
    db.set_port(1, Port(2, up=False), 2.0)
    assert seen == ["link_add", "port_down", "link_remove"]


def test_link_on_down_port_is_ignored() -> None:
    db = _db()
    db.set_port(1, Port(2, up=False), 1.0)
    assert db.link_seen(AB, 2.0, 2.0) is None and AB not in db.links


def test_graph_generation_moves_with_every_graph_change() -> None:
    db = _db()
    g0 = db.graph_generation
    db.link_seen(AB, 1.0, 1.0)
    g1 = db.graph_generation
    db.set_link_latency(AB, 2.0, 1.0)
    g2 = db.graph_generation
    db.link_seen(AB, 2.0, 2.0)  # a refresh changes nothing in the graph
    assert g0 < g1 < g2 == db.graph_generation
    db.set_port(1, Port(2, up=False), 3.0)
    assert db.graph_generation > g2


def test_times_users_see_are_rfc3339_of_the_wall_time_given() -> None:
    db = TopologyDatabase()
    db.add_switch(1, [Port(1), Port(2)], WALL, "vns1")
    db.add_switch(2, [Port(1), Port(2)], WALL + 1, "vns2")
    db.link_seen(AB, WALL + 2, 7.0)
    db.link_seen(AB, WALL + 3, 8.0)  # a refresh moves last_seen
    db.learn_host("00:00:00:00:00:01", "10.0.0.1", 1, 1, WALL + 4)
    db.add_inventory_host(Host("h9", "00:00:00:00:00:09", "10.0.0.9", Attachment(2, 1)), WALL + 5)
    doc = db.to_dict()
    assert [s["connected_at"] for s in doc["switches"]] == [rfc3339(WALL), rfc3339(WALL + 1)]
    assert doc["switches"][0]["connected_at"] == "2026-11-18T11:06:40.250Z"
    assert doc["links"][0]["last_seen"] == rfc3339(WALL + 3)
    assert "last_seen_mono" not in doc["links"][0]  # monotonic readings never leave the process
    seen = {h["name"]: h["last_seen"] for h in doc["hosts"]}
    assert seen == {"10.0.0.1": rfc3339(WALL + 4), "h9": None}  # inventory: not seen yet
    events = [e.to_dict() for e in db.events_since(0)]
    assert [parse_rfc3339(e["time"]) for e in events] == [
        WALL,
        WALL + 1,
        WALL + 2,
        WALL + 4,
        WALL + 5,
    ]
    assert events[0]["time"] == "2026-11-18T11:06:40.250Z"


def test_no_host_is_learned_on_a_port_that_carried_a_link_lately() -> None:
    """While the far switch is away, and for the hold time after, a link end is no host port."""
    db = _db()
    db.link_seen(AB, 1.0, 1.0)
    db.remove_switch(2, 5.0)  # the neighbour lost its controller connection
    mac = "00:00:00:00:00:22"
    assert db.learn_host(mac, "10.0.0.22", AB.src, AB.src_port, 500.0) is None
    assert mac not in db.hosts
    db.add_switch(2, [Port(1, "p1"), Port(2, "p2")], 501.0)  # back, link not yet re-probed
    assert db.learn_host(mac, "10.0.0.22", AB.src, AB.src_port, 502.0) is None
    later = 501.0 + db.link_port_hold_s + 1
    assert db.learn_host(mac, "10.0.0.22", AB.src, AB.src_port, later) is not None
    assert db.hosts[mac].attachment == Attachment(AB.src, AB.src_port)


def test_a_host_learned_on_a_link_end_is_forgotten_with_an_event() -> None:
    db = _db()
    events: list[str] = []
    db.subscribe(lambda e: events.append(e.kind))
    db.learn_host("00:00:00:00:00:05", "10.0.0.5", AB.src, AB.src_port, 1.0)
    db.link_seen(AB, 2.0, 2.0)
    assert "00:00:00:00:00:05" not in db.hosts
    assert events[-2:] == ["link_add", "host_remove"]
