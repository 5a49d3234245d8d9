// The view model: API documents shaped for the page (graph elements, colours, table rows,
// times, form bodies, forecast series). Pure functions of their arguments: no DOM, no network,
// no clock (the time is passed in), so node's test runner checks them (tests/ui/).

export const UNKNOWN_COLOUR = "#9aa5b1";
export const DOWN_COLOUR = "#d1342f";
const ZONE_PALETTE = ["#3b6fd4", "#8e44ad", "#16a085", "#d35400", "#c0392b", "#2c3e50", "#7f8c8d"];

/** A directed link's key as the server writes it: ``src:port>dst:port``. */
export function linkKey(link) {
  return `${link.src}:${link.src_port}>${link.dst}:${link.dst_port}`;
}

/** The drawn (undirected) edge both directions of a link share. */
export function edgeId(link) {
  const a = `${link.src}:${link.src_port}`;
  const b = `${link.dst}:${link.dst_port}`;
  return a < b ? `l:${a}|${b}` : `l:${b}|${a}`;
}

/** Two switches, in either order: what a path's hop names. */
export function pairKey(a, b) {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

export function switchNodeId(dpid) {
  return `sw:${dpid}`;
}

export function hostNodeId(mac) {
  return `h:${mac}`;
}

/** Used capacity of one direction (0..), or null when unknown. */
export function ratio(usage, mode) {
  if (!usage || !(usage.capacity_mbps > 0)) return null;
  const value = mode === "measured" ? usage.measured_mbps : usage.reserved_mbps;
  if (value === null || value === undefined) return null;
  return value / usage.capacity_mbps;
}

/** The worse of two directions; null only when neither is known. */
export function edgeRatio(forward, backward, mode) {
  const known = [ratio(forward, mode), ratio(backward, mode)].filter((r) => r !== null);
  return known.length ? Math.max(...known) : null;
}

/** Green (idle) through yellow to red (full); grey when unknown. */
export function utilisationColour(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return UNKNOWN_COLOUR;
  const clamped = Math.min(1, Math.max(0, value));
  const hue = Math.round(130 * (1 - clamped));
  return `hsl(${hue}, 70%, 40%)`;
}

/** A stable colour per zone name (the default zone has none). */
export function zoneColour(zone) {
  if (!zone || zone === "default") return "#5f6b7a";
  let hash = 0;
  for (const ch of zone) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return ZONE_PALETTE[hash % ZONE_PALETTE.length];
}

/** Screen positions from geographic coordinates when every switch has them, else null. */
export function geoPositions(switches, width = 1000) {
  if (!switches.length) return null;
  const coords = switches.map((sw) => [sw.latitude ?? sw.lat, sw.longitude ?? sw.lon]);
  if (coords.some(([lat, lon]) => typeof lat !== "number" || typeof lon !== "number")) return null;
  const project = ([lat, lon]) => {
    const phi = (Math.max(-85, Math.min(85, lat)) * Math.PI) / 180;
    return [lon, (-Math.log(Math.tan(Math.PI / 4 + phi / 2)) * 180) / Math.PI]; // Mercator
  };
  const points = coords.map(project);
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const span = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys), 1e-9);
  const scale = width / span;
  const out = {};
  switches.forEach((sw, i) => {
    out[switchNodeId(sw.dpid)] = {
      x: (points[i][0] - Math.min(...xs)) * scale,
      y: (points[i][1] - Math.min(...ys)) * scale,
    };
  });
  return out;
}

/**
 * Cytoscape elements for the topology: switches, hosts (optional), one edge per link (both
 * directions), and the links that went down since the page saw them (class ``down``).
 */
export function graphElements(state, { hosts = true, mode = "reserved" } = {}) {
  const nodes = [];
  const edges = [];
  for (const sw of state.switches.values()) {
    nodes.push({
      group: "nodes",
      data: {
        id: switchNodeId(sw.dpid),
        label: sw.name || sw.dpid.replace(/^0+/, ""),
        kind: "switch",
        zone: sw.zone,
        colour: zoneColour(sw.zone),
      },
    });
  }
  const drawn = new Map();
  for (const link of state.links.values()) {
    const id = edgeId(link);
    const entry = drawn.get(id) || { link, directions: [] };
    entry.directions.push(state.usage.get(linkKey(link)) || link);
    drawn.set(id, entry);
  }
  for (const [id, { link, directions }] of drawn) {
    const value = edgeRatio(directions[0], directions[1], mode);
    edges.push({
      group: "edges",
      data: {
        id,
        source: switchNodeId(link.src),
        target: switchNodeId(link.dst),
        pair: pairKey(link.src, link.dst),
        colour: utilisationColour(value),
        ratio: value,
        label: value === null ? "" : `${Math.round(value * 100)} %`,
      },
      classes: directions.length < 2 ? "oneway" : "",
    });
  }
  for (const [id, gone] of state.downLinks) {
    if (drawn.has(id) || !state.switches.has(gone.src) || !state.switches.has(gone.dst)) continue;
    edges.push({
      group: "edges",
      data: {
        id,
        source: switchNodeId(gone.src),
        target: switchNodeId(gone.dst),
        pair: pairKey(gone.src, gone.dst),
        colour: DOWN_COLOUR,
        ratio: null,
        label: "down",
      },
      classes: "down",
    });
  }
  if (hosts) {
    for (const host of state.hosts.values()) {
      const at = host.attachment;
      if (!at || !state.switches.has(at.dpid)) continue;
      const id = hostNodeId(host.mac);
      nodes.push({
        group: "nodes",
        data: { id, label: host.name, kind: "host", zone: host.zone, colour: zoneColour(host.zone) },
        classes: "host",
      });
      edges.push({
        group: "edges",
        data: { id: `a:${host.mac}`, source: id, target: switchNodeId(at.dpid), colour: "#c5ccd3" },
        classes: "attachment",
      });
    }
  }
  return [...nodes, ...edges];
}

/** The switch pairs a path crosses, in order. */
export function pathPairs(path) {
  const out = [];
  for (let i = 1; i < (path || []).length; i += 1) out.push(pairKey(path[i - 1], path[i]));
  return out;
}

/**
 * A reservation's backup paths (protection: a detour around each link of its path), as lists of
 * dpids; none when the reservation has no ``backup`` (unprotected, or an older controller).
 */
export function backupPaths(reservation) {
  const detours = (reservation && reservation.backup) || [];
  return detours.map((d) => d && d.path).filter((p) => Array.isArray(p) && p.length > 1);
}

/** A dpid as a person reads it: the switch's name, else the dpid without leading zeros. */
export function switchLabel(switches, dpid) {
  const sw = switches.get(dpid);
  return (sw && sw.name) || String(dpid).replace(/^0+(?=.)/, "");
}

// Formatters are costly to make: one of each, in the browser's locale and time zone.
const LOCAL_TIME = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
const LOCAL_DATE = new Intl.DateTimeFormat([], { year: "numeric", month: "2-digit", day: "2-digit" });
const LOCAL_DAY = new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit" });

/** Local time for the page (the date too unless it is today), with the UTC value for the hover. */
export function timeCell(iso, now = null) {
  if (!iso) return { text: "—", title: "" };
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return { text: String(iso), title: "" };
  const sameDay = now !== null && LOCAL_DAY.format(new Date(now)) === LOCAL_DAY.format(at);
  const time = LOCAL_TIME.format(at);
  const text = sameDay ? time : `${LOCAL_DATE.format(at)} ${time}`;
  return { text, title: `${at.toISOString().replace("T", " ").replace("Z", "")} UTC` };
}

/** "42 s", "5 min", "3 h", "2 d". */
export function formatAge(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "—";
  const s = Math.max(0, seconds);
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

export function formatMs(value) {
  if (value === null || value === undefined) return "—";
  return `${Number(value).toFixed(value >= 10 ? 1 : 2)} ms`;
}

export function formatMbps(value) {
  if (value === null || value === undefined) return "—";
  return `${Number(value).toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} Mbit/s`;
}

/** A path as a table shows it: every hop when short, else both ends and the hop count. */
export function shortPath(path, switches, most = 5) {
  const names = (path || []).map((d) => switchLabel(switches, d));
  if (!names.length) return "—";
  if (names.length <= most) return names.join(" → ");
  return `${names.slice(0, 2).join(" → ")} → … → ${names.at(-1)} (${names.length - 1} hops)`;
}

const STATE_ORDER = {
  FAILED: 0, DEGRADED: 1, INSTALLING: 2, PENDING: 3, ACTIVE: 4, SCHEDULED: 5, RELEASED: 6, ENDED: 7,
};

/** The reservations table: problems first, then newest first. */
export function reservationRows(reservations, switches, nowMs) {
  const rows = [...reservations.values()].map((r) => ({
    id: r.id,
    state: r.state,
    pair: `${r.src} → ${r.dst}`,
    path: shortPath(r.path, switches),
    pathTitle: (r.path || []).map((d) => switchLabel(switches, d)).join(" → "),
    bandwidth: formatMbps(r.bandwidth_mbps),
    latencyBound: formatMs(r.max_latency_ms),
    latency: formatMs(r.latency_ms),
    origin: r.origin,
    owner: r.origin === "intent" ? r.origin_ref : null,
    age: formatAge((nowMs - Date.parse(r.created_at)) / 1000),
    created: r.created_at,
    reason: r.reason || "",
  }));
  rows.sort(
    (a, b) => (STATE_ORDER[a.state] ?? 9) - (STATE_ORDER[b.state] ?? 9) || Number(b.id) - Number(a.id),
  );
  return rows;
}

/** The intents table, newest first. */
export function intentRows(intents, nowMs) {
  return [...intents.values()]
    .map((i) => ({
      id: i.id,
      kind: i.kind,
      state: i.state,
      summary: intentSummary(i),
      reservations: (i.reservations || []).join(", ") || "—",
      age: formatAge((nowMs - Date.parse(i.created_at)) / 1000),
      created: i.created_at,
      reason: i.reason || "",
      live: !["WITHDRAWN", "WITHDRAWING", "ENDED"].includes(i.state), // ENDED: its last window is over
    }))
    .sort((a, b) => Date.parse(b.created) - Date.parse(a.created));
}

function intentSummary(intent) {
  const spec = intent.spec || {};
  if (intent.kind === "isolation") return `${[].concat(spec.a).join(", ")} ⟂ ${[].concat(spec.b).join(", ")}`;
  if (intent.kind === "low_latency") return `${spec.app || ""}: ${(spec.endpoints || []).join(", ")}`;
  return `${spec.src} → ${spec.dst}`;
}

const NUMBER_FIELDS = ["bandwidth_mbps", "max_latency_ms", "dst_port", "ip_proto", "cpu", "memory_mb", "storage_gb"];
const INTEGER_FIELDS = new Set(["dst_port", "ip_proto"]);
const LIST_FIELDS = ["zones", "avoid_zones"];
const FLAG_FIELDS = ["bidirectional", "prefer_latency"];

/**
 * The REST body of ``POST /v1/reservations`` from the form's values (strings and booleans);
 * empty fields are left out so the server's defaults apply. ``errors`` name the field.
 */
export function reservationBody(values) {
  const body = {};
  const errors = [];
  for (const key of ["src", "dst"]) {
    const text = String(values[key] ?? "").trim();
    if (!text) errors.push({ field: key, message: `${key} is required` });
    else body[key] = text;
  }
  for (const key of NUMBER_FIELDS) {
    const text = String(values[key] ?? "").trim();
    if (!text) continue;
    const value = Number(text);
    if (!Number.isFinite(value) || (INTEGER_FIELDS.has(key) && !Number.isInteger(value))) {
      errors.push({ field: key, message: `${key} must be a ${INTEGER_FIELDS.has(key) ? "whole " : ""}number` });
    } else {
      body[key] = value;
    }
  }
  for (const key of LIST_FIELDS) {
    const items = String(values[key] ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    if (items.length) body[key] = items;
  }
  for (const key of FLAG_FIELDS) {
    if (values[key] !== undefined) body[key] = Boolean(values[key]);
  }
  return { body, errors };
}

/** What a dry run (``POST /v1/intents?dry_run=true``, kind connectivity) says about a request. */
export function previewSummary(dryRun, switches) {
  const planned = (dryRun.paths || [])[0];
  if (dryRun.satisfiable && planned) {
    const hops = planned.path.map((d) => switchLabel(switches, d)).join(" → ");
    const latency = planned.latency_ms === null ? "latency not measured yet" : formatMs(planned.latency_ms);
    return { ok: true, path: planned.path, text: `${hops} (${latency}, meter ${formatMbps(planned.meter_rate_mbps)})` };
  }
  const refusal = (dryRun.refusals || [])[0];
  return { ok: false, path: [], text: refusalText(refusal || { reason: dryRun.reason || "not satisfiable" }) };
}

/** A refusal (409 body or dry-run refusal) in words: reason, blamed constraint, near miss. */
export function refusalText(refusal) {
  const parts = [refusal.reason || refusal.error || "refused"];
  if (refusal.constraint) parts.push(`constraint: ${refusal.constraint}`);
  const miss = refusal.near_miss;
  if (miss && typeof miss === "object") {
    const shown = Object.entries(miss)
      .map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(" → ") : JSON.stringify(v)}`)
      .join(", ");
    parts.push(`near miss: ${shown}`);
  }
  return parts.join(" · ");
}

/** The forecast pair's key. */
export function forecastKey(pair) {
  return `${pair[0]} → ${pair[1]}`;
}

/** True when the measured rate left the forecast interval (above its upper bound). */
export function isAnomaly(row) {
  return (
    typeof row.measured_mbps === "number" &&
    typeof row.upper_mbps === "number" &&
    row.measured_mbps > row.upper_mbps
  );
}

/**
 * Append one sample per pair to ``history`` (a Map of key -> {t, mean, upper, measured}) at
 * ``nowMs`` and drop samples older than ``windowMs``. Returns the same Map.
 */
export function recordForecasts(history, forecasts, nowMs, windowMs = 3600 * 1000) {
  for (const row of forecasts || []) {
    const key = forecastKey(row.pair);
    const series = history.get(key) || { t: [], mean: [], upper: [], measured: [], anomaly: [] };
    series.t.push(nowMs / 1000);
    series.mean.push(row.mean_mbps ?? null);
    series.upper.push(row.upper_mbps ?? null);
    series.measured.push(row.measured_mbps ?? null);
    series.anomaly.push(isAnomaly(row) ? row.measured_mbps : null);
    history.set(key, series);
  }
  const oldest = (nowMs - windowMs) / 1000;
  for (const series of history.values()) {
    let drop = 0;
    while (drop < series.t.length && series.t[drop] < oldest) drop += 1;
    if (drop) for (const k of Object.keys(series)) series[k].splice(0, drop);
  }
  return history;
}

/** The forecasts table: each pair, its numbers, the reservation it produced, anomalies. */
export function forecastRows(forecasts, reservations) {
  const predicted = [...reservations.values()].filter((r) => r.origin === "predicted");
  return (forecasts || []).map((row) => {
    const made = predicted.find((r) => r.src === row.pair[0] && r.dst === row.pair[1]);
    return {
      key: forecastKey(row.pair),
      mean: formatMbps(row.mean_mbps),
      upper: formatMbps(row.upper_mbps),
      measured: formatMbps(row.measured_mbps),
      model: row.model || "—",
      age: formatAge(row.age_s),
      validUntil: row.valid_until,
      reservation: made ? `${made.id} (${made.state}, ${formatMbps(made.bandwidth_mbps)})` : "—",
      anomaly: isAnomaly(row),
    };
  });
}

/** One line of the event feed for a topology event. */
export function topologyEventText(event, switches) {
  const sw = (dpid) => switchLabel(switches, dpid);
  switch (event.kind) {
    case "switch_add":
      return `switch ${event.name || sw(event.dpid)} connected`;
    case "switch_remove":
      return `switch ${sw(event.dpid)} disconnected`;
    case "link_add":
      return `link ${sw(event.src)}:${event.src_port} → ${sw(event.dst)}:${event.dst_port} up`;
    case "link_remove":
      return `link ${sw(event.src)}:${event.src_port} → ${sw(event.dst)}:${event.dst_port} down (${event.reason})`;
    case "link_latency":
      return `link ${sw(event.src)} → ${sw(event.dst)} latency ${event.latency_ms} ms`;
    case "port_up":
    case "port_down":
      return `port ${sw(event.dpid)}:${event.port} ${event.kind === "port_up" ? "up" : "down"}`;
    case "host_add":
      return `host ${event.name} (${event.ip || event.mac}) ${event.restored ? "restored" : "learned"}`;
    case "host_move":
      return `host ${event.name} moved to ${sw(event.attachment?.dpid)}:${event.attachment?.port}`;
    case "host_remove":
      return `host ${event.name} forgotten (${event.reason})`;
    default:
      return `${event.kind}`;
  }
}
