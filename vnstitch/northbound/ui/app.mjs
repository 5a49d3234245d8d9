// The web view: sign-in, the live connection, and rendering the state into the map and panes.
// Reads and writes go to the controller's REST API with the bearer token kept in this tab's
// sessionStorage; "/ui/#token=TOKEN" signs in directly and the token leaves the address bar.

import { Api, connectLive, errorText } from "./api.mjs";
import { createForecastChart } from "./charts.mjs";
import { createMap } from "./map.mjs";
import {
  el,
  refreshAges,
  renderEvents,
  renderForecasts,
  renderIntents,
  renderReservations,
  timeEl,
} from "./panels.mjs";
import { applyMessage, applyPolled, applySnapshot, counts, createState } from "./store.mjs";
import {
  backupPaths,
  edgeId,
  formatMbps,
  linkKey,
  previewSummary,
  refusalText,
  reservationBody,
  switchLabel,
  zoneColour,
} from "./viewmodel.mjs";

const TOKEN_KEY = "vnstitch.token";
const HOSTS_BY_DEFAULT_UP_TO = 200; // more hosts than this: the map starts without them
const $ = (id) => document.getElementById(id);

const ui = {
  state: createState(),
  api: null,
  live: null,
  selected: null, // reservation id
  editing: null, // {id, draft}: the open bandwidth editor
  preview: [], // dpids of a dry-run path
  forecast: null, // the charted pair
  details: null, // {id, kind} of the tapped map element
  tab: "reservations",
  dirty: new Set(),
  frame: null,
  hostsChosen: false,
};

const map = createMap($("map"), {
  onSelect(id, kind) {
    ui.details = id ? { id, kind } : null;
    renderDetails();
  },
});
const chart = createForecastChart($("forecast-chart"));
window.vnstitchView = { cy: map.cy, state: () => ui.state, ui }; // for the browser test and debugging

// ---- sign-in ----------------------------------------------------------------------------------
function takeTokenFromAddress() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.has("token")) {
    sessionStorage.setItem(TOKEN_KEY, params.get("token"));
    history.replaceState(null, "", location.pathname + location.search);
  }
}

function showLogin(message) {
  $("login-error").textContent = message || "";
  $("token").value = "";
  if (!$("login").open) $("login").showModal();
  $("token").focus();
}

$("login-form").addEventListener("submit", (evt) => {
  evt.preventDefault();
  const token = $("token").value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  $("login").close();
  start();
});

$("sign-out").addEventListener("click", () => {
  if (!sessionStorage.getItem(TOKEN_KEY)) {
    showLogin(""); // reads are open: signing in allows changes
    return;
  }
  sessionStorage.removeItem(TOKEN_KEY);
  start();
});

function setMode(mode, detail = "") {
  const badge = $("connection");
  const text = { live: "live", polling: "polling", connecting: "connecting", offline: "offline", "signed-out": "signed out" };
  badge.dataset.mode = mode;
  badge.textContent = text[mode] || mode;
  badge.title =
    {
      live: "updates arrive as server-sent events",
      polling: "the event stream is unavailable: polling every 2 s",
    }[mode] || detail;
}

function clearData() {
  if (ui.live) ui.live.stop();
  ui.live = null;
  ui.state = createState();
  ui.selected = null;
  ui.editing = null;
  ui.preview = [];
  ui.details = null;
  map.reset();
  markDirty(["topology", "usage", "reservations", "intents", "forecasts", "stats", "events"]);
}

/** (Re)connect with the token in this tab, if any: a probe first, then the live feed. */
async function start() {
  clearData();
  const token = sessionStorage.getItem(TOKEN_KEY);
  ui.api = new Api(token);
  $("sign-out").textContent = token ? "Sign out" : "Sign in";
  $("sign-out").hidden = true; // shown once the controller answered
  setMode("connecting");
  let probe;
  try {
    probe = await ui.api.request("GET", "/v1/topology");
  } catch (err) {
    setMode("offline", String(err));
    setTimeout(start, 3000);
    return;
  }
  if (probe.status === 401 || probe.status === 403) {
    setMode("signed-out");
    const refused =
      probe.status === 403
        ? "The token was refused (403): it is not this controller's API token."
        : token
          ? `The token was not accepted (${errorText(probe.body, 401)}).`
          : "";
    showLogin(refused);
    return;
  }
  if (probe.status !== 200) {
    setMode("offline", errorText(probe.body, probe.status));
    setTimeout(start, 3000);
    return;
  }
  if ($("login").open) $("login").close();
  $("sign-out").hidden = false;
  ui.live = connectLive(ui.api, {
    onMessage: (event, data) => markDirty(applyMessage(ui.state, event, data, Date.now())),
    onSnapshot: (snap) => markDirty(applySnapshot(ui.state, snap, Date.now())),
    onPolled: (polled) => markDirty(applyPolled(ui.state, polled, Date.now())),
    onMode: setMode,
    onAuthError: (err) => {
      clearData();
      setMode("signed-out");
      showLogin(`${err.message}: sign in again.`);
    },
    version: () => (ui.state.loaded ? ui.state.version : null),
  });
}

// ---- writes -----------------------------------------------------------------------------------
function notice(text, kind = "") {
  const box = $("notice");
  box.textContent = text;
  box.className = `notice ${kind}`;
  box.hidden = !text;
}

/** A call that changes something: needs the token even when reads are open. */
async function write(method, path, body) {
  if (!ui.api || !ui.api.token) {
    showLogin("Changes need the API token: sign in.");
    return null;
  }
  let answer;
  try {
    answer = await ui.api.request(method, path, body);
  } catch (err) {
    notice(`The controller did not answer: ${err}`, "error");
    return null;
  }
  if (answer.status === 401 || answer.status === 403) {
    showLogin(`${errorText(answer.body, answer.status)}: sign in again.`);
    return null;
  }
  return answer;
}

function selectReservation(id) {
  ui.selected = ui.selected === id ? null : id;
  ui.preview = [];
  markDirty(["reservations", "highlight"]);
}

const reservationActions = {
  select: selectReservation,
  edit(id) {
    const res = id && ui.state.reservations.get(id);
    ui.editing = res ? { id, draft: String(res.bandwidth_mbps ?? "") } : null;
    markDirty(["reservations"]);
  },
  draft(text) {
    if (ui.editing) ui.editing.draft = text;
  },
  async change(row, mbps) {
    if (!Number.isFinite(mbps) || mbps < 0) {
      notice("The bandwidth must be a number of Mbit/s, 0 or more.", "error");
      return;
    }
    const force = row.origin === "predicted" ? "?force=true" : "";
    const answer = await write("PATCH", `/v1/reservations/${row.id}${force}`, { bandwidth_mbps: mbps });
    if (!answer) return;
    ui.editing = null;
    if (answer.status === 200 || answer.status === 202) {
      markDirty(applyMessage(ui.state, "reservation", answer.body, Date.now()));
      notice(`Reservation ${row.id}: ${formatMbps(mbps)}, ${answer.body.state}.`, "ok");
    } else {
      notice(`Reservation ${row.id} was not changed: ${refusalText(answer.body || {})}`, "error");
      markDirty(["reservations"]);
    }
  },
  async withdraw(row) {
    const forecast = row.origin === "predicted";
    const question = `Withdraw reservation ${row.id} (${row.pair})?${
      forecast ? "\nIt is driven by forecasts: the next forecast may stitch it again." : ""
    }`;
    if (!window.confirm(question)) return;
    const answer = await write("DELETE", `/v1/reservations/${row.id}${forecast ? "?force=true" : ""}`);
    if (!answer) return;
    if (answer.status === 200) {
      markDirty(applyMessage(ui.state, "reservation_removed", { id: row.id }, Date.now()));
      notice(`Reservation ${row.id} withdrawn.`, "ok");
    } else {
      notice(`Reservation ${row.id} was not withdrawn: ${errorText(answer.body, answer.status)}`, "error");
    }
  },
  async withdrawIntent(row) {
    if (!window.confirm(`Withdraw ${row.id} (${row.kind}: ${row.summary})?`)) return;
    const answer = await write("DELETE", `/v1/intents/${row.id}`);
    if (!answer) return;
    if (answer.status === 200) {
      markDirty(applyMessage(ui.state, "intent", answer.body, Date.now()));
      notice(`${row.id} withdrawn.`, "ok");
    } else {
      notice(`${row.id} was not withdrawn: ${errorText(answer.body, answer.status)}`, "error");
    }
  },
};

// ---- the reservation form ---------------------------------------------------------------------
function formValues() {
  const form = $("create-form");
  const values = {};
  for (const input of form.querySelectorAll("input[name], select[name]")) {
    values[input.name] = input.type === "checkbox" ? input.checked : input.value;
  }
  return values;
}

function markInvalid(fields) {
  for (const input of $("create-form").querySelectorAll("[name]")) {
    input.classList.toggle("invalid", fields.includes(input.name));
  }
}

function formResult(text, kind) {
  const box = $("create-result");
  box.textContent = text;
  box.className = `result ${kind}`;
}

function checkedBody() {
  const { body, errors } = reservationBody(formValues());
  markInvalid(errors.map((e) => e.field));
  if (errors.length) {
    formResult(errors.map((e) => e.message).join("\n"), "error");
    return null;
  }
  return body;
}

$("preview").addEventListener("click", async () => {
  const body = checkedBody();
  if (!body) return;
  const answer = await write("POST", "/v1/intents?dry_run=true", { kind: "connectivity", ...body });
  if (!answer) return;
  if (answer.status !== 200) {
    markInvalid(answer.body && answer.body.field ? [answer.body.field] : []);
    formResult(errorText(answer.body, answer.status), "error");
    return;
  }
  const summary = previewSummary(answer.body, ui.state.switches);
  ui.preview = summary.path;
  markDirty(["highlight"]);
  formResult(summary.ok ? `Would take ${summary.text}` : `No path now: ${summary.text}`, summary.ok ? "ok" : "error");
});

$("create-form").addEventListener("submit", async (evt) => {
  evt.preventDefault();
  const body = checkedBody();
  if (!body) return;
  $("create").disabled = true;
  try {
    const answer = await write("POST", "/v1/reservations", body);
    if (!answer) return;
    const res = answer.body || {};
    if (answer.status === 201 || answer.status === 202) {
      markDirty(applyMessage(ui.state, "reservation", res, Date.now()));
      ui.preview = [];
      ui.selected = res.id;
      const failed = res.state === "FAILED";
      formResult(
        `Reservation ${res.id}: ${res.state}${res.reason ? ` (${res.reason})` : ""}`,
        failed ? "error" : "ok",
      );
      if (!failed) showTab("reservations");
      markDirty(["reservations", "highlight"]);
    } else if (answer.status === 409) {
      formResult(`No path: ${refusalText(res)}`, "error");
    } else {
      markInvalid(res.field ? [res.field] : []);
      formResult(errorText(res, answer.status), "error");
    }
  } finally {
    $("create").disabled = false;
  }
});

// ---- tabs, toggles ----------------------------------------------------------------------------
function showTab(name) {
  ui.tab = name;
  for (const button of document.querySelectorAll(".tabs button")) {
    button.setAttribute("aria-selected", String(button.dataset.tab === name));
  }
  for (const pane of document.querySelectorAll(".tab")) pane.hidden = pane.id !== `tab-${name}`;
  markDirty([name === "create" ? "highlight" : name]);
}

for (const button of document.querySelectorAll(".tabs button")) {
  button.addEventListener("click", () => showTab(button.dataset.tab));
}
$("colour-mode").addEventListener("change", () => markDirty(["usage"]));
$("show-hosts").addEventListener("change", () => {
  ui.hostsChosen = true;
  markDirty(["topology"]);
});
$("reservation-filter").addEventListener("input", () => markDirty(["reservations"]));

// ---- rendering --------------------------------------------------------------------------------
function markDirty(names) {
  for (const name of names) ui.dirty.add(name);
  if (ui.frame === null) ui.frame = requestAnimationFrame(render);
}

function render() {
  ui.frame = null;
  const state = ui.state;
  const nowMs = Date.now();
  const dirty = ui.dirty;
  ui.dirty = new Set();
  // A hidden tab is not drawn: opening it marks it dirty (showTab), and it is drawn then.
  const shown = (tab, ...names) => ui.tab === tab && names.some((n) => dirty.has(n));
  if (!ui.hostsChosen) $("show-hosts").checked = state.hosts.size <= HOSTS_BY_DEFAULT_UP_TO;
  if (dirty.has("topology") || dirty.has("usage")) {
    map.update(state, { hosts: $("show-hosts").checked, mode: $("colour-mode").value });
    renderZones();
    renderDetails();
  }
  if (dirty.has("reservations") || dirty.has("highlight") || dirty.has("topology")) {
    const res = ui.selected && state.reservations.get(ui.selected);
    if (ui.selected && !res && state.loaded) ui.selected = null;
    map.highlight({
      path: res ? res.path : [],
      reverse: res ? res.reverse_path : [],
      backups: backupPaths(res),
      preview: ui.preview,
    });
  }
  if (dirty.has("topology") || dirty.has("reservations")) renderCounts();
  if (shown("reservations", "reservations", "names")) {
    renderReservations($("reservations").tBodies[0], $("reservation-note"), state, {
      selected: ui.selected,
      editing: ui.editing,
      filter: $("reservation-filter").value.trim(),
      nowMs,
      actions: reservationActions,
    });
  }
  if (shown("intents", "intents")) {
    renderIntents($("intents").tBodies[0], state, { nowMs, actions: reservationActions });
  }
  if (shown("forecasts", "forecasts", "reservations")) {
    renderForecasts($("forecasts").tBodies[0], $("forecast-queue"), state, {
      selected: ui.forecast,
      nowMs,
      onSelect: (key) => {
        ui.forecast = key;
        markDirty(["forecasts"]);
      },
    });
    chart.show(ui.forecast, state.forecastHistory.get(ui.forecast));
  }
  if (shown("events", "events")) {
    renderEvents($("events"), state, {
      nowMs,
      onSelect: (id) => {
        showTab("reservations");
        if (ui.selected !== id) selectReservation(id);
      },
    });
  }
  if (dirty.has("stats")) renderStats();
}

function renderCounts() {
  const c = counts(ui.state);
  if (!ui.state.loaded) {
    $("counts").textContent = "";
    return;
  }
  $("counts").textContent =
    `${c.switches} switches · ${c.links} links${c.down ? ` (${c.down} down)` : ""} · ${c.hosts} hosts · ` +
    `${c.reservations} reservations (${c.active} active)`;
  $("counts").dataset.switches = c.switches;
  $("counts").dataset.links = c.links;
  $("counts").dataset.down = c.down;
}

function renderStats() {
  const stats = ui.state.stats;
  const packetIns = stats && stats.packet_in ? Object.entries(stats.packet_in) : [];
  $("packet-ins").textContent = packetIns.length
    ? `packet-ins: ${packetIns.map(([k, v]) => `${k} ${v}`).join(", ")}`
    : "";
}

function renderZones() {
  const zones = new Set([...ui.state.switches.values()].map((s) => s.zone).filter((z) => z && z !== "default"));
  $("zones").replaceChildren(
    ...[...zones].sort().map((zone) => {
      const swatch = el("i", { className: "swatch zone" });
      swatch.style.setProperty("--c", zoneColour(zone));
      return el("span", {}, swatch, `zone ${zone} `);
    }),
  );
}

function row(label, value) {
  return el("tr", {}, el("th", {}, label), el("td", {}, value ?? "—"));
}

function renderDetails() {
  const box = $("details");
  const chosen = ui.details;
  const state = ui.state;
  if (!chosen) {
    box.hidden = true;
    return;
  }
  const nowMs = Date.now();
  let content = null;
  if (chosen.id.startsWith("sw:")) {
    const sw = state.switches.get(chosen.id.slice(3));
    if (sw) {
      const ports = sw.ports || [];
      content = [
        el("h3", {}, `switch ${sw.name || sw.dpid}`),
        el(
          "table",
          {},
          row("dpid", sw.dpid),
          row("zone", sw.zone),
          row("ports", `${ports.filter((p) => p.up).length} up of ${ports.length}`),
          row("connected", timeEl(sw.connected_at, nowMs)),
        ),
      ];
    }
  } else if (chosen.id.startsWith("h:")) {
    const host = state.hosts.get(chosen.id.slice(2));
    if (host) {
      const at = host.attachment;
      content = [
        el("h3", {}, `host ${host.name}`),
        el(
          "table",
          {},
          row("IP", host.ip),
          row("MAC", host.mac),
          row("zone", host.zone),
          row("at", at ? `${switchLabel(state.switches, at.dpid)} port ${at.port}` : null),
          row("last seen", timeEl(host.last_seen, nowMs)),
        ),
      ];
    }
  } else if (chosen.id.startsWith("l:")) {
    const directions = [...state.links.values()].filter((l) => edgeId(l) === chosen.id);
    const down = state.downLinks.get(chosen.id);
    content = [el("h3", {}, down && !directions.length ? "link down" : "link")];
    if (down && !directions.length) content.push(el("p", {}, "since ", timeEl(down.since, nowMs)));
    for (const link of directions) {
      const usage = state.usage.get(linkKey(link)) || {};
      content.push(
        el("h3", {}, `${switchLabel(state.switches, link.src)}:${link.src_port} → ${switchLabel(state.switches, link.dst)}:${link.dst_port}`),
        el(
          "table",
          {},
          row("capacity", formatMbps(link.capacity_mbps)),
          row("reserved", formatMbps(usage.reserved_mbps)),
          row("usable", formatMbps(usage.usable_mbps)),
          row("measured", formatMbps(usage.measured_mbps)),
          row("latency", link.latency_ms === null ? "not measured yet" : `${link.latency_ms} ms`),
          row("zone", link.zone),
        ),
      );
    }
  }
  if (!content) {
    box.hidden = true;
    return;
  }
  box.replaceChildren(...content);
  box.hidden = false;
}

setInterval(() => refreshAges(document.getElementById("side"), Date.now()), 5000); // ages move on

takeTokenFromAddress();
start();
