// What the page knows, and how each message of the live feed (or each polled answer) changes it.
// Pure: messages and the time in, the state changed in place and the names of what changed out.

import { edgeId, forecastKey, isAnomaly, linkKey, recordForecasts, topologyEventText } from "./viewmodel.mjs";

export const MAX_EVENTS = 300;

export function createState() {
  return {
    version: 0,
    switches: new Map(), // dpid -> switch
    links: new Map(), // directed link key -> link
    hosts: new Map(), // mac -> host
    usage: new Map(), // directed link key -> GET /v1/links entry
    downLinks: new Map(), // edge id -> {src, dst, since}: links seen, then gone
    reservations: new Map(), // id -> reservation
    intents: new Map(), // id -> intent
    forecasts: [],
    queue: null,
    stats: null,
    forecastHistory: new Map(),
    events: [], // newest first: {time, kind, text, ref}
    loaded: false,
  };
}

function note(state, time, kind, text, ref = null) {
  state.events.unshift({ time, kind, text, ref });
  if (state.events.length > MAX_EVENTS) state.events.length = MAX_EVENTS;
}

function stripEvent(event) {
  const { version, time, kind, restored, reason, ...rest } = event;
  return rest;
}

/** Mark an edge down when no direction of it is left. */
function linkGone(state, link, since) {
  const id = edgeId(link);
  const reverse = `${link.dst}:${link.dst_port}>${link.src}:${link.src_port}`;
  if (!state.links.has(reverse)) state.downLinks.set(id, { src: link.src, dst: link.dst, since });
}

function applyTopologyEvent(state, event) {
  switch (event.kind) {
    case "switch_add": {
      const old = state.switches.get(event.dpid) || { ports: [] };
      state.switches.set(event.dpid, { ...old, dpid: event.dpid, name: event.name, zone: event.zone });
      break;
    }
    case "switch_remove":
      state.switches.delete(event.dpid);
      break;
    case "link_add": {
      const link = stripEvent(event);
      state.links.set(linkKey(link), link);
      state.downLinks.delete(edgeId(link));
      break;
    }
    case "link_remove": {
      const key = linkKey(event);
      const link = state.links.get(key) || stripEvent(event);
      state.links.delete(key);
      state.usage.delete(key);
      linkGone(state, link, event.time);
      break;
    }
    case "link_latency": {
      const link = state.links.get(linkKey(event));
      if (link) link.latency_ms = event.latency_ms;
      break;
    }
    case "port_up":
    case "port_down": {
      const sw = state.switches.get(event.dpid);
      const port = sw && (sw.ports || []).find((p) => p.port_no === event.port);
      if (port) port.up = event.kind === "port_up";
      break;
    }
    case "host_add":
    case "host_move":
      state.hosts.set(event.mac, stripEvent(event));
      break;
    case "host_remove":
      state.hosts.delete(event.mac);
      break;
    default:
      break;
  }
}

function upsert(state, kind, item, nowIso) {
  const map = kind === "reservation" ? state.reservations : state.intents;
  const old = map.get(item.id);
  map.set(item.id, item);
  const name = `${kind} ${item.id}`;
  if (!old) {
    note(state, item.created_at || nowIso, kind, `${name} ${item.state}${item.reason ? `: ${item.reason}` : ""}`, item.id);
  } else if (old.state !== item.state) {
    const why = item.reason ? `: ${item.reason}` : "";
    note(state, item.updated_at || nowIso, kind, `${name} ${old.state} → ${item.state}${why}`, item.id);
  } else if ((old.path || []).join() !== (item.path || []).join() && item.path) {
    note(state, item.updated_at || nowIso, kind, `${name} moved to a new path`, item.id);
  }
}

function remove(state, kind, id, nowIso) {
  const map = kind === "reservation" ? state.reservations : state.intents;
  if (map.delete(id)) note(state, nowIso, kind, `${kind} ${id} released`, id);
}

function setForecasts(state, body, nowMs) {
  const before = new Set(state.forecasts.filter(isAnomaly).map((r) => forecastKey(r.pair)));
  state.forecasts = body.forecasts || [];
  state.queue = body.queue ?? null;
  recordForecasts(state.forecastHistory, state.forecasts, nowMs);
  for (const row of state.forecasts) {
    const key = forecastKey(row.pair);
    if (isAnomaly(row) && !before.has(key)) {
      const text = `anomaly: ${key} measured ${row.measured_mbps.toFixed(2)} Mbit/s above its forecast (upper ${row.upper_mbps.toFixed(2)})`;
      note(state, new Date(nowMs).toISOString(), "anomaly", text, key);
    }
  }
}

function setUsage(state, entries) {
  for (const entry of entries) state.usage.set(linkKey(entry), entry);
}

/** Replace everything with a snapshot (the stream's first message, or after a gap). */
export function applySnapshot(state, snap, nowMs) {
  const nowIso = new Date(nowMs).toISOString();
  const topo = snap.topology || {};
  const oldLinks = state.links;
  state.version = topo.version || 0;
  state.switches = new Map((topo.switches || []).map((s) => [s.dpid, s]));
  state.links = new Map((topo.links || []).map((l) => [linkKey(l), l]));
  state.hosts = new Map((topo.hosts || []).map((h) => [h.mac, h]));
  for (const [key, link] of oldLinks) if (!state.links.has(key)) linkGone(state, link, nowIso);
  for (const id of [...state.downLinks.keys()]) {
    if ([...state.links.values()].some((l) => edgeId(l) === id)) state.downLinks.delete(id);
  }
  state.usage = new Map();
  setUsage(state, snap.links || []);
  const firstLoad = !state.loaded;
  syncList(state, "reservation", snap.reservations || [], nowIso, firstLoad);
  syncList(state, "intent", snap.intents || [], nowIso, firstLoad);
  if (snap.forecasts) setForecasts(state, snap.forecasts, nowMs);
  state.stats = snap.stats ?? state.stats;
  state.loaded = true;
  return new Set(["topology", "names", "usage", "reservations", "intents", "forecasts", "stats", "events"]);
}

/** Make a list the whole truth: upserts and removals (quietly on the first load). */
function syncList(state, kind, items, nowIso, quiet) {
  const map = kind === "reservation" ? state.reservations : state.intents;
  if (quiet) {
    map.clear();
    for (const item of items) map.set(item.id, item);
    return;
  }
  const seen = new Set(items.map((i) => i.id));
  for (const item of items) if (map.get(item.id) !== item) upsert(state, kind, item, nowIso);
  for (const id of [...map.keys()]) if (!seen.has(id)) remove(state, kind, id, nowIso);
}

/** Apply one message of the live feed; returns the names of what changed. */
export function applyMessage(state, event, data, nowMs) {
  const nowIso = new Date(nowMs).toISOString();
  switch (event) {
    case "snapshot":
      return applySnapshot(state, data, nowMs);
    case "topology": {
      const changed = new Set(["topology", "usage", "events"]);
      for (const e of data.events || []) {
        if (e.version <= state.version) continue;
        applyTopologyEvent(state, e);
        if (e.kind === "switch_add" || e.kind === "switch_remove") changed.add("names");
        if (e.kind !== "link_latency") note(state, e.time, "topology", topologyEventText(e, state.switches));
        state.version = e.version;
      }
      state.version = Math.max(state.version, data.version || 0);
      return changed;
    }
    case "reservation":
    case "intent":
      upsert(state, event, data, nowIso);
      return new Set([`${event}s`, "events"]);
    case "reservation_removed":
    case "intent_removed": {
      const kind = event.replace("_removed", "");
      remove(state, kind, data.id, nowIso);
      return new Set([`${kind}s`, "events"]);
    }
    case "links":
      setUsage(state, data.changed || []);
      for (const key of data.removed || []) state.usage.delete(key);
      return new Set(["usage"]);
    case "forecasts":
      setForecasts(state, data, nowMs);
      return new Set(["forecasts", "events"]);
    case "stats":
      state.stats = data;
      return new Set(["stats"]);
    default:
      return new Set();
  }
}

/** Polling: what the answers of one round of GETs change (the same messages as the stream). */
export function applyPolled(state, polled, nowMs) {
  const changed = new Set();
  const add = (names) => names.forEach((n) => changed.add(n));
  const nowIso = new Date(nowMs).toISOString();
  if (polled.events) add(applyMessage(state, "topology", polled.events, nowMs));
  if (polled.reservations) {
    syncList(state, "reservation", polled.reservations.reservations || [], nowIso, false);
    add(["reservations", "events"]);
  }
  if (polled.intents) {
    syncList(state, "intent", polled.intents.intents || [], nowIso, false);
    add(["intents", "events"]);
  }
  if (polled.links) {
    state.usage = new Map();
    setUsage(state, polled.links.links || []);
    add(["usage"]);
  }
  if (polled.forecasts) add(applyMessage(state, "forecasts", polled.forecasts, nowMs));
  if (polled.stats) add(applyMessage(state, "stats", polled.stats, nowMs));
  return changed;
}

/** Summary counts for the header. */
export function counts(state) {
  const drawnUp = new Set([...state.links.values()].map(edgeId));
  return {
    switches: state.switches.size,
    links: drawnUp.size,
    down: [...state.downLinks.keys()].filter((id) => !drawnUp.has(id)).length,
    hosts: state.hosts.size,
    reservations: state.reservations.size,
    active: [...state.reservations.values()].filter((r) => r.state === "ACTIVE").length,
  };
}
