// The side panes: reservations and intents tables with their actions, the forecasts table and
// the event feed. Rows come from the view model; this module only builds DOM (text, never HTML).

import { forecastRows, formatAge, intentRows, reservationRows, timeCell } from "./viewmodel.mjs";

const MAX_ROWS = 500; // a table longer than this shows the first ones (filter to find others)

/** An element with attributes (``on*`` functions become listeners) and children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "className") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** ``<time>``: local time shown, the UTC value on hover. */
export function timeEl(iso, nowMs) {
  const cell = timeCell(iso, nowMs);
  return el("time", { datetime: iso || undefined, title: cell.title }, cell.text);
}

/** An age ("42 s"), kept current by refreshAges; its creation time in local and UTC on hover. */
function ageEl(created, age, nowMs) {
  const cell = timeCell(created, nowMs);
  return el("span", { className: "age", dataset: { created }, title: `created ${cell.text} (${cell.title})` }, age);
}

/** Move every shown age on (cheaper than drawing the tables again). */
export function refreshAges(root, nowMs) {
  for (const span of root.querySelectorAll("span.age[data-created]")) {
    const text = formatAge((nowMs - Date.parse(span.dataset.created)) / 1000);
    if (span.textContent !== text) span.textContent = text;
  }
}

function stateEl(state) {
  return el("span", { className: `state state-${state}` }, state);
}

function matches(row, filter) {
  if (!filter) return true;
  const text = `${row.id} ${row.pair} ${row.state} ${row.origin} ${row.pathTitle}`.toLowerCase();
  return filter
    .toLowerCase()
    .split(/\s+/)
    .every((word) => text.includes(word));
}

/**
 * The reservations table. ``actions``: select(id), edit(id or null), draft(text), change(row,
 * mbps), withdraw(row). The selected row stays selected and an open bandwidth editor stays open
 * (with what was typed) across updates.
 */
export function renderReservations(tbody, note, state, { selected, editing, filter, nowMs, actions }) {
  const rows = reservationRows(state.reservations, state.switches, nowMs).filter((r) => matches(r, filter));
  note.textContent =
    rows.length > MAX_ROWS ? `showing ${MAX_ROWS} of ${rows.length}: filter to find others` : "";
  let focus = null;
  tbody.replaceChildren(
    ...rows.slice(0, MAX_ROWS).map((row) => {
      const owned = row.owner !== null;
      const stop = (fn) => (evt) => {
        evt.stopPropagation();
        fn();
      };
      let bandwidth = row.bandwidth;
      if (editing && editing.id === row.id) {
        const input = el("input", {
          type: "number",
          min: "0",
          step: "any",
          className: "bandwidth-input",
          "aria-label": "new bandwidth in Mbit/s",
          onclick: (evt) => evt.stopPropagation(),
          oninput: (evt) => actions.draft(evt.target.value),
          onkeydown: (evt) => {
            if (evt.key === "Enter") actions.change(row, Number(evt.target.value));
            if (evt.key === "Escape") actions.edit(null);
          },
        });
        input.value = editing.draft;
        focus = input;
        bandwidth = [
          input,
          el("button", { type: "button", onclick: stop(() => actions.change(row, Number(input.value))) }, "OK"),
          el("button", { type: "button", onclick: stop(() => actions.edit(null)) }, "Cancel"),
        ];
      }
      const change = el(
        "button",
        {
          type: "button",
          disabled: owned,
          title: owned ? `change it through ${row.owner}` : "change the bandwidth (make-before-break)",
          onclick: stop(() => actions.edit(row.id)),
        },
        "Change",
      );
      const withdraw = el(
        "button",
        {
          type: "button",
          disabled: owned,
          title: owned ? `withdraw it through ${row.owner}` : "withdraw: rules removed, resources freed",
          onclick: stop(() => actions.withdraw(row)),
        },
        "Withdraw",
      );
      return el(
        "tr",
        {
          dataset: { id: row.id, state: row.state },
          className: row.id === selected ? "selected" : "",
          onclick: () => actions.select(row.id),
        },
        el("td", {}, row.id),
        el("td", {}, stateEl(row.state)),
        el("td", { className: "path", title: row.pathTitle }, row.pair, el("div", { className: "hops" }, row.path)),
        el("td", { className: "bandwidth" }, bandwidth),
        el("td", {}, row.latencyBound),
        el("td", { title: row.owner || "" }, row.origin),
        el("td", {}, ageEl(row.created, row.age, nowMs)),
        el("td", { className: "actions" }, change, " ", withdraw),
        el("td", { className: "reason" }, row.reason),
      );
    }),
  );
  if (focus) focus.focus();
}

export function renderIntents(tbody, state, { nowMs, actions }) {
  const rows = intentRows(state.intents, nowMs);
  tbody.replaceChildren(
    ...rows.slice(0, MAX_ROWS).map((row) =>
      el(
        "tr",
        { dataset: { id: row.id } },
        el("td", {}, row.id),
        el("td", {}, row.kind),
        el("td", {}, stateEl(row.state)),
        el("td", {}, row.summary),
        el("td", {}, row.reservations),
        el("td", {}, ageEl(row.created, row.age, nowMs)),
        el("td", { className: "reason" }, row.reason),
        el(
          "td",
          { className: "actions" },
          row.live
            ? el("button", { type: "button", onclick: () => actions.withdrawIntent(row) }, "Withdraw")
            : null,
        ),
      ),
    ),
  );
}

export function renderForecasts(tbody, queueNote, state, { selected, nowMs, onSelect }) {
  const rows = forecastRows(state.forecasts, state.reservations);
  const queue = state.queue;
  queueNote.textContent = rows.length
    ? `${rows.length} pairs forecast${queue ? ` · predictor queue: ${JSON.stringify(queue)}` : ""}`
    : "No forecasts: the predictor has not sent any (or is not running).";
  tbody.replaceChildren(
    ...rows.slice(0, MAX_ROWS).map((row) =>
      el(
        "tr",
        {
          dataset: { key: row.key },
          className: [row.key === selected ? "selected" : "", row.anomaly ? "anomaly" : ""].join(" ").trim(),
          title: row.anomaly ? "measured above the forecast's upper bound" : undefined,
          onclick: () => onSelect(row.key),
        },
        el("td", {}, row.key),
        el("td", {}, row.mean),
        el("td", {}, row.upper),
        el("td", {}, row.measured),
        el("td", {}, row.reservation),
        el("td", {}, row.model),
        el("td", {}, row.age),
        el("td", {}, timeEl(row.validUntil, nowMs)),
      ),
    ),
  );
}

export function renderEvents(list, state, { nowMs, onSelect }) {
  list.replaceChildren(
    ...state.events.map((event) =>
      el(
        "li",
        { onclick: event.kind === "reservation" ? () => onSelect(event.ref) : undefined },
        timeEl(event.time, nowMs),
        el("span", { className: `kind kind-${event.kind}` }, event.kind),
        el("span", {}, event.text),
      ),
    ),
  );
}
