// The web view's view model, store and SSE parser under node's test runner (no browser).
// Run by tests/unit/test_ui_viewmodel.py (TZ=Europe/Berlin, so local time differs from UTC).

import assert from "node:assert/strict";
import { test } from "node:test";

import { createSseParser } from "../../vnstitch/northbound/ui/sse.mjs";
import { applyMessage, applyPolled, applySnapshot, counts, createState } from "../../vnstitch/northbound/ui/store.mjs";
import {
  backupPaths,
  edgeId,
  edgeRatio,
  forecastRows,
  geoPositions,
  graphElements,
  intentRows,
  isAnomaly,
  pathPairs,
  previewSummary,
  recordForecasts,
  refusalText,
  reservationBody,
  reservationRows,
  shortPath,
  timeCell,
  utilisationColour,
} from "../../vnstitch/northbound/ui/viewmodel.mjs";

const D1 = "0000000000000001";
const D2 = "0000000000000002";
const D3 = "0000000000000003";
const T0 = Date.parse("2026-11-29T21:00:00.000Z");

function link(src, sp, dst, dp, extra = {}) {
  return { src, src_port: sp, dst, dst_port: dp, capacity_mbps: 100, latency_ms: null, zone: "default", ...extra };
}

function usage(l, reserved, measured) {
  return { ...l, reserved_mbps: reserved, usable_mbps: 90 - reserved, measured_mbps: measured };
}

function snapshot() {
  const links = [link(D1, 2, D2, 1), link(D2, 1, D1, 2), link(D2, 2, D3, 1), link(D3, 1, D2, 2)];
  return {
    topology: {
      version: 10,
      switches: [D1, D2, D3].map((dpid, i) => ({ dpid, name: `s${i + 1}`, zone: i === 2 ? "blue" : "default", ports: [] })),
      links,
      hosts: [{ name: "h1", mac: "00:00:00:00:00:01", ip: "10.0.0.1", zone: "default", attachment: { dpid: D1, port: 1 } }],
    },
    reservations: [
      {
        id: "1",
        state: "ACTIVE",
        src: "h1",
        dst: "h3",
        path: [D1, D2, D3],
        reverse_path: [D3, D2, D1],
        bandwidth_mbps: 5,
        max_latency_ms: null,
        latency_ms: 1.23456,
        origin: "request",
        origin_ref: null,
        reason: null,
        created_at: "2026-11-29T20:59:00.000Z",
      },
    ],
    intents: [],
    links: [usage(links[0], 45, 10), usage(links[1], 5, null), usage(links[2], 0, null), usage(links[3], 0, null)],
    forecasts: { forecasts: [], queue: null },
    stats: { packet_in: { arp: 1 } },
  };
}

test("both directions of a link are one edge, coloured by the worse direction", () => {
  const state = createState();
  applySnapshot(state, snapshot(), T0);
  const elements = graphElements(state, { hosts: true, mode: "reserved" });
  const edges = elements.filter((e) => e.group === "edges" && e.classes !== "attachment");
  assert.equal(edges.length, 2);
  const first = edges.find((e) => e.data.pair === `${D1}|${D2}`);
  assert.equal(first.data.ratio, 0.45);
  assert.equal(first.data.colour, utilisationColour(0.45));
  const measured = graphElements(state, { hosts: false, mode: "measured" });
  assert.equal(measured.filter((e) => e.data.kind === "host").length, 0);
  assert.equal(measured.find((e) => e.data.pair === `${D2}|${D3}`).data.ratio, null); // not measured
  assert.equal(edgeId(link(D2, 1, D1, 2)), edgeId(link(D1, 2, D2, 1)));
});

test("utilisation colours go from green to red, grey when unknown", () => {
  assert.equal(utilisationColour(0), "hsl(130, 70%, 40%)");
  assert.equal(utilisationColour(1.7), "hsl(0, 70%, 40%)");
  assert.equal(utilisationColour(null), "#9aa5b1");
  assert.equal(edgeRatio({ capacity_mbps: 0, reserved_mbps: 3 }, null, "reserved"), null);
});

test("a link that goes down stays on the map as down until it comes back", () => {
  const state = createState();
  applySnapshot(state, snapshot(), T0);
  const down = (src, sp, dst, dp, version) => ({ version, time: "2026-11-29T21:00:01.000Z", kind: "link_remove", reason: "port_down", ...link(src, sp, dst, dp) });
  applyMessage(state, "topology", { version: 11, events: [down(D1, 2, D2, 1, 11)] }, T0);
  assert.equal(state.downLinks.size, 0); // one direction left: still up
  applyMessage(state, "topology", { version: 12, events: [down(D2, 1, D1, 2, 12)] }, T0);
  assert.deepEqual(counts(state), { switches: 3, links: 1, down: 1, hosts: 1, reservations: 1, active: 1 });
  const drawn = graphElements(state).find((e) => e.data.pair === `${D1}|${D2}`);
  assert.equal(drawn.classes, "down");
  assert.match(state.events[0].text, /down \(port_down\)/);
  const up = { version: 13, time: "2026-11-29T21:00:05.000Z", kind: "link_add", ...link(D1, 2, D2, 1) };
  applyMessage(state, "topology", { version: 13, events: [up] }, T0);
  assert.equal(counts(state).down, 0);
  assert.equal(state.version, 13);
  applyMessage(state, "topology", { version: 13, events: [up] }, T0); // seen: ignored
  assert.equal(state.events.filter((e) => e.text.includes("up")).length, 1);
});

test("reservation changes are applied and noted in the feed", () => {
  const state = createState();
  applySnapshot(state, snapshot(), T0);
  assert.equal(state.events.length, 0); // the first load is not news
  const res = { ...snapshot().reservations[0], state: "DEGRADED", reason: "no path", updated_at: "2026-11-29T21:00:02.000Z" };
  applyMessage(state, "reservation", res, T0);
  assert.equal(state.events[0].text, "reservation 1 ACTIVE → DEGRADED: no path");
  applyMessage(state, "reservation_removed", { id: "1" }, T0);
  assert.equal(state.reservations.size, 0);
  assert.equal(state.events[0].text, "reservation 1 released");
});

test("a polled round gives the same state as the stream", () => {
  const state = createState();
  applySnapshot(state, snapshot(), T0);
  const later = { ...snapshot().reservations[0], id: "2", state: "INSTALLING", created_at: "2026-11-29T21:00:01.000Z" };
  applyPolled(
    state,
    {
      events: { version: 10, events: [] },
      reservations: { reservations: [later] },
      intents: { intents: [] },
      links: { links: [] },
    },
    T0,
  );
  assert.deepEqual([...state.reservations.keys()], ["2"]);
  assert.equal(state.usage.size, 0);
  assert.deepEqual(
    state.events.map((e) => e.text),
    ["reservation 1 released", "reservation 2 INSTALLING"],
  );
});

test("reservation rows: names for dpids, bounds and ages, problems first", () => {
  const state = createState();
  applySnapshot(state, snapshot(), T0);
  state.reservations.set("2", { ...state.reservations.get("1"), id: "2", state: "FAILED", reason: "no path", path: [] });
  const rows = reservationRows(state.reservations, state.switches, T0);
  assert.deepEqual(rows.map((r) => r.id), ["2", "1"]);
  assert.equal(rows[1].path, "s1 → s2 → s3");
  assert.equal(rows[1].latency, "1.23 ms");
  assert.equal(rows[1].latencyBound, "—");
  assert.equal(rows[1].age, "60 s");
  assert.equal(rows[0].path, "—");
  const long = [D1, D2, D3, D1, D2, D3, D1].map((d) => d);
  assert.equal(shortPath(long, state.switches), "s1 → s2 → … → s1 (6 hops)");
});

test("a protected reservation's backup paths, none without protection", () => {
  const res = { backup: [{ direction: "forward", around: [D1, D2], path: [D1, D3, D2] }, { path: [D2] }] };
  assert.deepEqual(backupPaths(res), [[D1, D3, D2]]);
  assert.deepEqual(backupPaths({}), []);
  assert.deepEqual(backupPaths(null), []);
});

test("a path's hops are unordered switch pairs, as the map's edges name them", () => {
  assert.deepEqual(pathPairs([D3, D2, D1]), [`${D2}|${D3}`, `${D1}|${D2}`]);
  assert.deepEqual(pathPairs([D1]), []);
});

test("times are local with the UTC value for the hover", () => {
  const cell = timeCell("2026-11-29T21:17:35.123Z", Date.parse("2026-11-29T21:20:00Z"));
  assert.equal(cell.title, "2026-11-29 21:17:35.123 UTC");
  assert.equal(cell.text, "22:17:35"); // Europe/Berlin in November is UTC+1
  assert.equal(timeCell(null).text, "—");
  assert.match(timeCell("2026-11-28T08:00:00Z", Date.parse("2026-11-29T21:20:00Z")).text, /28.*09:00:00/);
});

test("the form's body leaves empty fields out and names bad ones", () => {
  const { body, errors } = reservationBody({
    src: " h1 ",
    dst: "h2",
    bandwidth_mbps: "10",
    max_latency_ms: "",
    zones: "blue, green,",
    avoid_zones: "",
    ip_proto: "6",
    dst_port: "",
    bidirectional: true,
    prefer_latency: false,
  });
  assert.deepEqual(errors, []);
  assert.deepEqual(body, {
    src: "h1",
    dst: "h2",
    bandwidth_mbps: 10,
    ip_proto: 6,
    zones: ["blue", "green"],
    bidirectional: true,
    prefer_latency: false,
  });
  const bad = reservationBody({ src: "", dst: "h2", dst_port: "80.5", cpu: "lots" });
  assert.deepEqual(bad.errors.map((e) => e.field), ["src", "dst_port", "cpu"]);
});

test("a dry run and a refusal read as sentences", () => {
  const state = createState();
  applySnapshot(state, snapshot(), T0);
  const ok = previewSummary(
    { satisfiable: true, paths: [{ path: [D1, D2], latency_ms: 2.5, meter_rate_mbps: 5.6 }], refusals: [] },
    state.switches,
  );
  assert.deepEqual([ok.ok, ok.text], [true, "s1 → s2 (2.50 ms, meter 5.60 Mbit/s)"]);
  const refused = { error: "no path with 50 Mbit/s free", constraint: "bandwidth", near_miss: { path: ["s1", "s2"], free_mbps: 20 } };
  assert.equal(refusalText(refused), "no path with 50 Mbit/s free · constraint: bandwidth · near miss: path s1 → s2, free_mbps 20");
  const none = previewSummary({ satisfiable: false, reason: "endpoint h9 unknown", paths: [], refusals: [] }, state.switches);
  assert.deepEqual([none.ok, none.text], [false, "endpoint h9 unknown"]);
});

test("forecasts: an hour of samples per pair, anomalies above the upper bound", () => {
  const rows = [{ pair: ["h1", "h2"], mean_mbps: 2, upper_mbps: 3, measured_mbps: 4, age_s: 1, model: "m1" }];
  assert.ok(isAnomaly(rows[0]));
  assert.ok(!isAnomaly({ ...rows[0], measured_mbps: null }));
  const history = new Map();
  recordForecasts(history, rows, T0);
  recordForecasts(history, [{ ...rows[0], measured_mbps: 1 }], T0 + 1800e3);
  recordForecasts(history, [{ ...rows[0], measured_mbps: 2 }], T0 + 3700e3); // the first is now too old
  const series = history.get("h1 → h2");
  assert.deepEqual(series.measured, [1, 2]);
  assert.deepEqual(series.anomaly, [null, null]);
  const reservations = new Map([["7", { id: "7", origin: "predicted", src: "h1", dst: "h2", state: "ACTIVE", bandwidth_mbps: 3 }]]);
  const [row] = forecastRows(rows, reservations);
  assert.equal(row.reservation, "7 (ACTIVE, 3.00 Mbit/s)");
  assert.ok(row.anomaly);
});

test("an anomaly is noted in the event feed once", () => {
  const state = createState();
  applySnapshot(state, snapshot(), T0);
  const body = { forecasts: [{ pair: ["h1", "h2"], mean_mbps: 2, upper_mbps: 3, measured_mbps: 4 }], queue: null };
  applyMessage(state, "forecasts", body, T0);
  applyMessage(state, "forecasts", body, T0 + 2000);
  assert.equal(state.events.filter((e) => e.kind === "anomaly").length, 1);
  assert.equal(state.forecastHistory.get("h1 → h2").t.length, 2);
});

test("geographic positions only when every switch has coordinates", () => {
  assert.equal(geoPositions([{ dpid: D1, name: "s1" }]), null);
  const placed = geoPositions([
    { dpid: D1, latitude: 40.7, longitude: -74.0 },
    { dpid: D2, latitude: 34.05, longitude: -118.25 },
  ]);
  assert.ok(placed[`sw:${D2}`].x < placed[`sw:${D1}`].x); // Los Angeles is west of New York
  assert.ok(placed[`sw:${D2}`].y > placed[`sw:${D1}`].y); // and south of it
});

test("server-sent events are parsed across chunks, comments skipped", () => {
  const parser = createSseParser();
  assert.deepEqual(parser.push("retry: 2000\n\nid: 1\nevent: snap"), []);
  assert.equal(parser.retryMs, 2000);
  const out = parser.push('shot\ndata: {"a":\r\n\r\n: heartbeat\n\nevent: links\ndata: 1\ndata: 2\n\n');
  assert.deepEqual(out, [
    { event: "snapshot", data: '{"a":', id: "1" },
    { event: "links", data: "1\n2", id: "1" },
  ]);
  assert.deepEqual(parser.push("data: x\r"), []);
  assert.deepEqual(parser.push("\n\n"), [{ event: "message", data: "x", id: "1" }]);
});

test("an intent whose last window ended, like a withdrawn one, offers no Withdraw", () => {
  const base = { kind: "connectivity", spec: { src: "h1", dst: "h2" }, created_at: "2026-11-30T08:00:00Z" };
  const rows = intentRows(
    [
      { ...base, id: "intent-1", state: "ENDED" },
      { ...base, id: "intent-2", state: "SCHEDULED" },
      { ...base, id: "intent-3", state: "WITHDRAWN" },
    ],
    Date.parse("2026-11-30T09:00:00Z"),
  );
  const live = Object.fromEntries(rows.map((r) => [r.id, r.live]));
  assert.deepEqual(live, { "intent-1": false, "intent-2": true, "intent-3": false });
});
