"""Controller configuration: a TOML file, validated strictly (unknown keys are errors).

Example::

    [controller]
    probe_interval_s = 1.0      # discovery/latency probes per port
    link_timeout_s = 3.5        # a link not seen for this long is gone
    default_capacity_mbps = 1000
    host_idle_timeout_s = 60    # idle timeout of baseline unicast rules (0 = none)
    link_headroom = 0.1         # share of each link never booked by reservations
    best_effort_policing = true # meter unreserved traffic at edge ports (the guarantee)
    audit_interval_s = 10       # compare flow tables with the expected rules
    reservation_lead_s = 3      # advance reservations are installed this long before start

    [api]
    token_file = "/var/lib/vnstitch/api-token"  # or token = "...", or env VNSTITCH_API_TOKEN
    open_reads = false          # true: GETs need no token
    state_db = "/var/lib/vnstitch/state.db"     # durable intents, reservations, inventory

    [predictor]
    observations_endpoint = "tcp://127.0.0.1:5561"   # PUB, bound by the controller
    forecasts_endpoint = "tcp://127.0.0.1:5562"      # PULL, bound by the controller
    curve = true                # CURVE on both sockets; false: plain TCP, anyone local may push
    key_dir = "/var/lib/vnstitch/curve"  # controller.key(_secret) made here at first start
    authorized_keys_dir = "/var/lib/vnstitch/curve/authorized"  # client *.key files let in
    max_message_bytes = 4194304 # larger frames are refused by ZeroMQ before they are read
    max_forecast_horizon_s = 21600  # a batch valid further ahead than this is dropped
    floor_mbps = 0              # > 0: every forecast pair holds at least this (rules in place)

    [adjustment]
    enabled = true              # move reservations off congested links, back when worth it
    congestion_threshold = 0.9  # measured share of capacity ...
    congestion_rounds = 3       # ... for this many statistics rounds: congested (and recovered)
    reoptimise_interval_s = 0   # also re-optimise this often (0: only after a recovery)
    reoptimise_min_gain_ms = 1  # path-cost gain a move back must bring (vnstitch.stitcher.cost)
    anomaly_growth = 0.2        # an anomaly grows its pair's reservation to measured * 1.2
    anomaly_hold_s = 300        # ... and forecasts leave it alone for this long

    [[switch]]
    name = "vns1"               # or dpid = "0000000000000001"
    zone = "blue"

    [[link]]
    a = "vns1"
    b = "vns2"
    capacity_mbps = 20
    zone = "blue"

    [[host]]
    name = "h1"
    mac = "00:00:00:00:00:01"
    ip = "10.0.0.1"
    switch = "vns1"
    port = 1
    zone = "pci"
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from topology.model import DEFAULT_ZONE
from topology.zones import ZoneMap
from vnstitch.messages import DEFAULT_MAX_MESSAGE_BYTES
from vnstitch.stitcher.request_body import parse_request
from vnstitch.stitcher.reservation import Origin, RequestError, ReservationRequest

MIN_MESSAGE_BYTES = 64 * 1024  # a forecast batch for a few hundred pairs must fit
_MAC = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
_DPID = re.compile(r"^[0-9a-f]{1,16}$")


class ConfigError(ValueError):
    """A config file is wrong; the message names the field and what to do."""

    def __init__(self, message: str, field_name: str | None = None):
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class SwitchSpec:
    """A configured switch, named by bridge name or dpid."""

    name: str | None
    dpid: int | None
    zone: str
    location: tuple[float, float] | None = None  # (latitude, longitude), degrees


@dataclass(frozen=True)
class LinkSpec:
    """Configured attributes of the cable between two switches."""

    a: str
    b: str
    capacity_mbps: float | None
    zone: str | None


@dataclass(frozen=True)
class HostSpec:
    """A host from the inventory: known before it sends a packet."""

    name: str
    mac: str
    ip: str | None
    switch: str
    port: int
    zone: str
    cpu: float = 0.0
    memory_mb: float = 0.0
    storage_gb: float = 0.0


@dataclass(frozen=True)
class ControllerOptions:
    """Tunables of the controller."""

    probe_interval_s: float = 1.0
    link_timeout_s: float = 3.5
    default_capacity_mbps: float = 1000.0
    host_idle_timeout_s: int = 60
    echo_interval_s: float = 1.0
    link_headroom: float = 0.1
    stats_interval_s: float = 2.0
    audit_interval_s: float = 10.0
    best_effort_policing: bool = True
    best_effort_floor_mbps: float = 0.0
    reservation_lead_s: float = 3.0  # an advance reservation is installed this long before


@dataclass(frozen=True)
class ApiOptions:
    """REST API access: the bearer token and whether reads need it."""

    token: str | None = None
    token_file: str | None = None
    open_reads: bool = False
    state_db: str | None = None


@dataclass(frozen=True)
class PredictorOptions:
    """The queue to the predictor and how forecasts become reservations."""

    enabled: bool = True
    observations_endpoint: str = "tcp://127.0.0.1:5561"
    forecasts_endpoint: str = "tcp://127.0.0.1:5562"
    threshold_mbps: float = 1.0
    hysteresis: float = 0.2
    # asymmetric: grow at once, shrink only past a band (te-backtest's choice; None: hysteresis)
    grow_hysteresis: float | None = 0.0
    shrink_hysteresis: float | None = 0.1
    max_shrink: float = 1.0  # a shrink takes at most this share of the reserved rate
    floor_mbps: float = 0.0  # standing reservation of every forecast pair (0: none)
    counter_lag_s: float = 0.0  # flow counters are this old when read (OVS: its revalidators)
    max_latency_ms: float | None = None
    time_scale: float = 1.0  # replay: traffic seconds per wall second
    time_origin: float | None = None  # replay: traffic time (epoch s) at controller start
    # replay: the wall time (epoch s) at which traffic time is time_origin (None: the start);
    # a cluster's instances share it, so a new leader's traffic clock goes on where it was
    time_origin_wall: float | None = None
    curve: bool = True  # CURVE on both sockets (false only for tests of plain TCP)
    key_dir: str | None = None  # None: vnstitch.northbound.wire_keys.DEFAULT_KEY_DIR
    authorized_keys_dir: str | None = None  # None: key_dir / "authorized"
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_forecast_horizon_s: float = 6 * 3600.0  # traffic seconds past now


@dataclass(frozen=True)
class AdjustmentOptions:
    """Dynamic adjustment (``vnstitch.core.adjustment``): congestion moves, re-optimisation,
    anomaly mitigation."""

    enabled: bool = False
    congestion_threshold: float = 0.9  # measured share of a link's capacity that is congested
    congestion_rounds: int = 3  # statistics rounds above it (and below it to recover)
    congestion_utilisation_ms: float = 300.0  # path cost of a full link when moving away
    reoptimise_interval_s: float = 0.0  # 0: re-optimise only after a congested link recovers
    reoptimise_min_gain_ms: float = 1.0  # path-cost gain (ms-equivalents) worth a move back
    reoptimise_utilisation_ms: float = 1.0  # path cost of a full link when moving back
    anomaly_growth: float = 0.2  # an anomaly grows the pair's reservation to measured * (1 + it)
    anomaly_hold_s: float = 300.0  # and forecasts do not shrink or release it for this long


@dataclass(frozen=True)
class Config:
    """The whole controller configuration."""

    controller: ControllerOptions = ControllerOptions()
    switches: tuple[SwitchSpec, ...] = ()
    links: tuple[LinkSpec, ...] = ()
    hosts: tuple[HostSpec, ...] = field(default_factory=tuple)
    reservations: tuple[ReservationRequest, ...] = ()
    api: ApiOptions = ApiOptions()
    predictor: PredictorOptions = PredictorOptions()
    adjustment: AdjustmentOptions = AdjustmentOptions()

    def zone_map(self) -> ZoneMap:
        """The zones, capacities and host names this config declares."""
        zones = ZoneMap()
        for sw in self.switches:
            if sw.name:
                zones.switch_zones[sw.name] = sw.zone
            if sw.dpid is not None:
                zones.switch_zones[f"{sw.dpid:016x}"] = sw.zone
            if sw.location is not None:
                for key in (sw.name, None if sw.dpid is None else f"{sw.dpid:016x}"):
                    if key:
                        zones.switch_locations[key] = sw.location
        for lk in self.links:
            zones.set_link(lk.a, lk.b, lk.zone, lk.capacity_mbps)
        for h in self.hosts:
            zones.host_zones[h.name] = h.zone
            zones.host_names[h.mac] = h.name
            if h.ip:
                zones.host_names[h.ip] = h.name
        return zones


def _check_keys(table: dict[str, Any], allowed: set[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(
                f"{where}: unknown option {key!r} (allowed: {', '.join(sorted(allowed))})",
                f"{where}.{key}",
            )


def _number(table: dict[str, Any], key: str, where: str, default: float, minimum: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise ConfigError(f"{where}.{key} must be a number >= {minimum}, got {value!r}", key)
    return float(value)


def _bool(table: dict[str, Any], key: str, where: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}.{key} must be true or false, got {value!r}", key)
    return value


def _string(table: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}.{key} must be a non-empty string, got {value!r}", key)
    return value


def _controller(raw: dict[str, Any]) -> ControllerOptions:
    where = "[controller]"
    defaults = ControllerOptions()
    _check_keys(raw, set(defaults.__dataclass_fields__), where)
    return ControllerOptions(
        probe_interval_s=_number(raw, "probe_interval_s", where, defaults.probe_interval_s, 0.05),
        link_timeout_s=_number(raw, "link_timeout_s", where, defaults.link_timeout_s, 0.1),
        default_capacity_mbps=_number(
            raw, "default_capacity_mbps", where, defaults.default_capacity_mbps, 0.001
        ),
        host_idle_timeout_s=int(
            _number(raw, "host_idle_timeout_s", where, defaults.host_idle_timeout_s, 0)
        ),
        echo_interval_s=_number(raw, "echo_interval_s", where, defaults.echo_interval_s, 0.05),
        link_headroom=_number(raw, "link_headroom", where, defaults.link_headroom, 0.0),
        stats_interval_s=_number(raw, "stats_interval_s", where, defaults.stats_interval_s, 0.1),
        audit_interval_s=_number(raw, "audit_interval_s", where, defaults.audit_interval_s, 0.5),
        best_effort_policing=_bool(raw, "best_effort_policing", where, True),
        best_effort_floor_mbps=_number(raw, "best_effort_floor_mbps", where, 0.0, 0.0),
        reservation_lead_s=_number(
            raw, "reservation_lead_s", where, defaults.reservation_lead_s, 0.0
        ),
    )


def _switch(raw: dict[str, Any], i: int) -> SwitchSpec:
    where = f"[[switch]] #{i + 1}"
    _check_keys(raw, {"name", "dpid", "zone", "latitude", "longitude"}, where)
    name = _string(raw, "name", where) if "name" in raw else None
    dpid = None
    if "dpid" in raw:
        text = str(raw["dpid"]).lower().replace(":", "")
        if not _DPID.match(text):
            raise ConfigError(f"{where}.dpid must be up to 16 hex digits, got {raw['dpid']!r}")
        dpid = int(text, 16)
    if name is None and dpid is None:
        raise ConfigError(f"{where} needs a name or a dpid", "switch")
    location = None
    if "latitude" in raw or "longitude" in raw:
        if "latitude" not in raw or "longitude" not in raw:
            raise ConfigError(f"{where} needs both latitude and longitude, or neither", "latitude")
        lat = _number(raw, "latitude", where, 0.0, -90.0)
        lon = _number(raw, "longitude", where, 0.0, -180.0)
        if lat > 90.0 or lon > 180.0:
            raise ConfigError(
                f"{where}: latitude must be in -90..90 and longitude in -180..180 degrees,"
                f" got {lat}, {lon}",
                "latitude",
            )
        location = (lat, lon)
    return SwitchSpec(name, dpid, _string(raw, "zone", where, DEFAULT_ZONE), location)


def _link(raw: dict[str, Any], i: int) -> LinkSpec:
    where = f"[[link]] #{i + 1}"
    _check_keys(raw, {"a", "b", "capacity_mbps", "zone"}, where)
    cap = _number(raw, "capacity_mbps", where, 0, 0.001) if "capacity_mbps" in raw else None
    zone = _string(raw, "zone", where) if "zone" in raw else None
    return LinkSpec(_string(raw, "a", where), _string(raw, "b", where), cap, zone)


def _host(raw: dict[str, Any], i: int) -> HostSpec:
    where = f"[[host]] #{i + 1}"
    allowed = {"name", "mac", "ip", "switch", "port", "zone", "cpu", "memory_mb", "storage_gb"}
    _check_keys(raw, allowed, where)
    mac = _string(raw, "mac", where).lower()
    if not _MAC.match(mac):
        raise ConfigError(f"{where}.mac is not a MAC address: {raw['mac']!r}", "mac")
    ip = raw.get("ip")
    if ip is not None:
        try:
            ip = str(ipaddress.IPv4Address(ip))
        except ValueError as exc:
            raise ConfigError(f"{where}.ip is not an IPv4 address: {ip!r}", "ip") from exc
    port = raw.get("port")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port < 0xFFFFFF00:
        raise ConfigError(f"{where}.port must be a switch port number >= 1, got {port!r}", "port")
    return HostSpec(
        name=_string(raw, "name", where),
        mac=mac,
        ip=ip,
        switch=_string(raw, "switch", where),
        port=port,
        zone=_string(raw, "zone", where, DEFAULT_ZONE),
        cpu=_number(raw, "cpu", where, 0, 0),
        memory_mb=_number(raw, "memory_mb", where, 0, 0),
        storage_gb=_number(raw, "storage_gb", where, 0, 0),
    )


def _tables(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{key!r} must be an array of tables ([[{key}]])", key)
    return value


def parse_config(doc: dict[str, Any]) -> Config:
    """Validate a parsed TOML document into a :class:`Config`."""
    sections = {
        "controller",
        "switch",
        "link",
        "host",
        "reservation",
        "api",
        "predictor",
        "adjustment",
    }
    _check_keys(doc, sections, "config")
    raw_ctl = doc.get("controller", {})
    if not isinstance(raw_ctl, dict):
        raise ConfigError("[controller] must be a table", "controller")
    switches = tuple(_switch(t, i) for i, t in enumerate(_tables(doc, "switch")))
    links = tuple(_link(t, i) for i, t in enumerate(_tables(doc, "link")))
    hosts = tuple(_host(t, i) for i, t in enumerate(_tables(doc, "host")))
    known = {s.name for s in switches if s.name} | {f"{s.dpid:016x}" for s in switches if s.dpid}
    for h in hosts:
        if h.switch not in known:
            raise ConfigError(
                f"host {h.name!r} is attached to switch {h.switch!r}, which no [[switch]] "
                "declares: add it to the [[switch]] list or fix the name",
                "switch",
            )
    for kind, values in (("name", [h.name for h in hosts]), ("mac", [h.mac for h in hosts])):
        dupes = {v for v in values if values.count(v) > 1}
        if dupes:
            raise ConfigError(f"duplicate host {kind}: {', '.join(sorted(dupes))}", kind)
    reservations = []
    for i, raw in enumerate(_tables(doc, "reservation")):
        try:
            reservations.append(parse_request(raw, Origin.CONFIG, f"config#{i + 1}"))
        except RequestError as exc:
            raise ConfigError(f"[[reservation]] #{i + 1}: {exc}", exc.field) from exc
    ctl = _controller(raw_ctl)
    if ctl.link_headroom >= 1:
        raise ConfigError("[controller].link_headroom must be below 1", "link_headroom")
    return Config(
        ctl,
        switches,
        links,
        hosts,
        tuple(reservations),
        _api(doc.get("api", {})),
        _predictor(doc.get("predictor", {})),
        _adjustment(doc.get("adjustment", {})),
    )


def _endpoint(raw: dict[str, Any], key: str, where: str, default: str) -> str:
    value = _string(raw, key, where, default)
    if not value.startswith(("tcp://", "ipc://", "inproc://")):
        raise ConfigError(f"{where}.{key} must be a ZeroMQ endpoint like tcp://127.0.0.1:5561", key)
    return value


def _predictor(raw: Any) -> PredictorOptions:
    where = "[predictor]"
    if not isinstance(raw, dict):
        raise ConfigError("[predictor] must be a table", "predictor")
    d = PredictorOptions()
    _check_keys(raw, set(d.__dataclass_fields__), where)
    hysteresis = _number(raw, "hysteresis", where, d.hysteresis, 0.0)
    if _number(raw, "max_shrink", where, d.max_shrink, 0.01) > 1.0:
        raise ConfigError(f"{where}.max_shrink must be at most 1, got {raw['max_shrink']!r}")
    return PredictorOptions(
        enabled=_bool(raw, "enabled", where, d.enabled),
        observations_endpoint=_endpoint(
            raw, "observations_endpoint", where, d.observations_endpoint
        ),
        forecasts_endpoint=_endpoint(raw, "forecasts_endpoint", where, d.forecasts_endpoint),
        threshold_mbps=_number(raw, "threshold_mbps", where, d.threshold_mbps, 0.0),
        hysteresis=hysteresis,
        grow_hysteresis=_number(raw, "grow_hysteresis", where, 0, 0.0)
        if "grow_hysteresis" in raw
        else d.grow_hysteresis,
        shrink_hysteresis=_number(raw, "shrink_hysteresis", where, 0, 0.0)
        if "shrink_hysteresis" in raw
        else d.shrink_hysteresis,
        max_shrink=_number(raw, "max_shrink", where, d.max_shrink, 0.01),
        floor_mbps=_number(raw, "floor_mbps", where, d.floor_mbps, 0.0),
        counter_lag_s=_number(raw, "counter_lag_s", where, d.counter_lag_s, 0.0),
        max_latency_ms=_number(raw, "max_latency_ms", where, 0, 0.001)
        if "max_latency_ms" in raw
        else None,
        time_scale=_number(raw, "time_scale", where, d.time_scale, 0.001),
        time_origin=_number(raw, "time_origin", where, 0, 0.0) if "time_origin" in raw else None,
        time_origin_wall=_number(raw, "time_origin_wall", where, 0, 0.0)
        if "time_origin_wall" in raw
        else None,
        curve=_bool(raw, "curve", where, d.curve),
        key_dir=_string(raw, "key_dir", where) if "key_dir" in raw else None,
        authorized_keys_dir=_string(raw, "authorized_keys_dir", where)
        if "authorized_keys_dir" in raw
        else None,
        max_message_bytes=int(
            _number(raw, "max_message_bytes", where, d.max_message_bytes, MIN_MESSAGE_BYTES)
        ),
        max_forecast_horizon_s=_number(
            raw, "max_forecast_horizon_s", where, d.max_forecast_horizon_s, 1.0
        ),
    )


def _adjustment(raw: Any) -> AdjustmentOptions:
    where = "[adjustment]"
    if not isinstance(raw, dict):
        raise ConfigError("[adjustment] must be a table", "adjustment")
    d = AdjustmentOptions()
    _check_keys(raw, set(d.__dataclass_fields__), where)
    threshold = _number(raw, "congestion_threshold", where, d.congestion_threshold, 0.01)
    if threshold > 1.0:
        raise ConfigError(
            f"{where}.congestion_threshold is a share of capacity in (0, 1], got {threshold!r}",
            "congestion_threshold",
        )
    rounds = _number(raw, "congestion_rounds", where, d.congestion_rounds, 1)
    if rounds != int(rounds):
        raise ConfigError(
            f"{where}.congestion_rounds must be a whole number of rounds, got {rounds!r}",
            "congestion_rounds",
        )
    return AdjustmentOptions(
        enabled=_bool(raw, "enabled", where, d.enabled),
        congestion_threshold=threshold,
        congestion_rounds=int(rounds),
        congestion_utilisation_ms=_number(
            raw, "congestion_utilisation_ms", where, d.congestion_utilisation_ms, 0.0
        ),
        reoptimise_interval_s=_number(
            raw, "reoptimise_interval_s", where, d.reoptimise_interval_s, 0.0
        ),
        reoptimise_min_gain_ms=_number(
            raw, "reoptimise_min_gain_ms", where, d.reoptimise_min_gain_ms, 0.0
        ),
        reoptimise_utilisation_ms=_number(
            raw, "reoptimise_utilisation_ms", where, d.reoptimise_utilisation_ms, 0.0
        ),
        anomaly_growth=_number(raw, "anomaly_growth", where, d.anomaly_growth, 0.0),
        anomaly_hold_s=_number(raw, "anomaly_hold_s", where, d.anomaly_hold_s, 0.0),
    )


def _api(raw: Any) -> ApiOptions:
    where = "[api]"
    if not isinstance(raw, dict):
        raise ConfigError("[api] must be a table", "api")
    _check_keys(raw, {"token", "token_file", "open_reads", "state_db"}, where)
    return ApiOptions(
        token=_string(raw, "token", where) if "token" in raw else None,
        token_file=_string(raw, "token_file", where) if "token_file" in raw else None,
        open_reads=_bool(raw, "open_reads", where, False),
        state_db=_string(raw, "state_db", where) if "state_db" in raw else None,
    )


def load_config(path: str | Path | None) -> Config:
    """Read and validate a TOML config file; no path means all defaults."""
    if path is None:
        return Config()
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc.strerror}") from exc
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {p} is not valid TOML: {exc}") from exc
    try:
        return parse_config(doc)
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}", exc.field) from exc
