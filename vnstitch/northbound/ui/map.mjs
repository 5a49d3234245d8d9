// The topology map: Cytoscape.js (vendored, a global) draws what viewmodel.graphElements shapes.
// Switches are laid out once (geographic coordinates when the API gives them, else a force
// layout) and keep their places; later updates only change data and classes, so the map stays
// responsive with hundreds of switches.

import { geoPositions, graphElements, pathPairs, switchNodeId } from "./viewmodel.mjs";

// Later rules win: a link that is down stays drawn down even on a highlighted path.
const STYLE = [
  {
    selector: "node",
    style: {
      label: "data(label)",
      "font-size": 10,
      "text-valign": "bottom",
      "text-margin-y": 3,
      color: "#1d2530",
      "background-color": "data(colour)",
      width: 20,
      height: 20,
      shape: "round-rectangle",
      "min-zoomed-font-size": 7,
    },
  },
  {
    selector: "node.host",
    style: {
      shape: "ellipse",
      width: 9,
      height: 9,
      "background-color": "#fff",
      "border-width": 2,
      "border-color": "data(colour)",
      "font-size": 8,
      "text-valign": "top",
      "text-margin-y": -2,
      color: "#5f6b7a",
    },
  },
  {
    selector: "edge",
    style: {
      width: 4,
      "line-color": "data(colour)",
      "curve-style": "bezier",
    },
  },
  { selector: "edge.oneway", style: { "line-style": "dotted" } },
  { selector: "edge.attachment", style: { width: 1, "line-color": "#c5ccd3" } },
  { selector: "edge.preview", style: { width: 7, "line-color": "#f39c12", "z-index": 9 } },
  { selector: "edge.backup", style: { width: 6, "line-color": "#7fb0ff", "line-style": "dashed", "z-index": 8 } },
  { selector: "edge.reverse", style: { width: 7, "line-color": "#8e44ad", "z-index": 9 } },
  { selector: "edge.highlight", style: { width: 8, "line-color": "#1f6feb", "z-index": 10 } },
  { selector: "node.on-path", style: { "border-width": 3, "border-color": "#1f6feb" } },
  {
    selector: "edge.down",
    style: {
      "line-style": "dashed",
      "line-color": "#d1342f",
      width: 3,
      label: "down",
      "font-size": 9,
      color: "#d1342f",
      "text-background-color": "#fff",
      "text-background-opacity": 0.8,
    },
  },
  { selector: ":selected", style: { "overlay-color": "#1f6feb", "overlay-opacity": 0.15 } },
];

const BIG = 200; // switches: beyond this the force layout is coarser (faster)
const BASE_CLASSES = ["host", "attachment", "oneway", "down"]; // what graphElements sets

export function createMap(container, { onSelect }) {
  // eslint-disable-next-line no-undef
  const cy = cytoscape({
    container,
    style: STYLE,
    elements: [],
    minZoom: 0.05,
    maxZoom: 4,
    textureOnViewport: true,
    hideEdgesOnViewport: false,
  });
  let laidOut = new Set(); // switches that have a place
  let layoutGeneration = 0; // a worker's answer for an older map is ignored
  let highlighted = { path: [], reverse: [], preview: [], backups: [] };

  cy.on("tap", "node, edge", (evt) => onSelect(evt.target.id(), evt.target.isNode() ? "node" : "edge"));
  cy.on("tap", (evt) => {
    if (evt.target === cy) onSelect(null, null);
  });

  function fitSmall() {
    cy.fit(undefined, 30);
    if (cy.zoom() > 1.5) {
      cy.zoom(1.5); // a small network is not blown up to fill the pane
      cy.center();
    }
  }

  /** The first layout: a circle at once, then the force layout's positions from the worker. */
  function layOutAll(switches) {
    if (switches.length > BIG) {
      // Straight edges draw several times faster than curves: what keeps a big map fluid.
      cy.style().selector("edge").style({ "curve-style": "haystack", "haystack-radius": 0 }).update();
    }
    switches.layout({ name: "circle", animate: false, fit: false }).run();
    placeHosts(cy.nodes(".host"));
    fitSmall();
    const nodes = switches.map((n) => n.id());
    const known = new Set(nodes);
    const edges = cy
      .edges()
      .not(".attachment")
      .map((e) => [e.data("source"), e.data("target")])
      .filter(([a, b]) => known.has(a) && known.has(b));
    const apply = (positions) => {
      cy.batch(() => {
        switches.forEach((n) => {
          if (n.inside() && positions[n.id()]) n.position(positions[n.id()]);
        });
      });
      placeHosts(cy.nodes(".host"));
      fitSmall();
    };
    let worker;
    try {
      worker = new Worker("layout-worker.js");
    } catch {
      worker = null; // no workers: lay out here (the page waits)
    }
    if (!worker) {
      const layout = switches.union(cy.edges().not(".attachment")).layout({ name: "cose", animate: false, fit: false });
      layout.run();
      placeHosts(cy.nodes(".host"));
      fitSmall();
      return;
    }
    const generation = (layoutGeneration += 1);
    container.dataset.layout = "running"; // the page says so while the circle stands in
    const done = () => {
      worker.terminate();
      if (generation === layoutGeneration) container.dataset.layout = "done";
    };
    worker.onmessage = (event) => {
      if (generation === layoutGeneration) apply(event.data.positions);
      done();
    };
    worker.onerror = done; // the circle stays: still a usable map
    const start = {};
    switches.forEach((n) => {
      start[n.id()] = { ...n.position() };
    });
    worker.postMessage({ nodes, edges, big: nodes.length > BIG, start });
  }

  /** A switch that came later: next to its neighbours; the others keep their places. */
  function placeNewcomer(node) {
    const neighbours = node.neighborhood('node[kind = "switch"]').filter((n) => laidOut.has(n.id()));
    if (neighbours.empty()) {
      const box = cy.nodes('[kind = "switch"]').boundingBox();
      node.position({ x: box.x2 + 60, y: box.y1 + 60 * Math.random() });
      return;
    }
    const x = neighbours.reduce((sum, n) => sum + n.position("x"), 0) / neighbours.length;
    const y = neighbours.reduce((sum, n) => sum + n.position("y"), 0) / neighbours.length;
    node.position({ x: x + 40 * (Math.random() - 0.5), y: y + 40 * (Math.random() - 0.5) });
  }

  function placeSwitches(state) {
    const switches = cy.nodes('[kind = "switch"]');
    const geo = geoPositions([...state.switches.values()]);
    if (geo) {
      switches.positions((node) => geo[node.id()] || node.position());
      placeHosts(cy.nodes(".host"));
      cy.fit(undefined, 30);
      return;
    }
    if (laidOut.size === 0) {
      layOutAll(switches);
      return;
    }
    switches.filter((n) => !laidOut.has(n.id())).forEach(placeNewcomer);
    placeHosts(cy.nodes(".host"));
  }

  /** Hosts around their switch, on the side away from its links. */
  function placeHosts(hosts) {
    const bySwitch = new Map();
    hosts.forEach((host) => {
      const edge = cy.getElementById(`a:${host.id().slice(2)}`);
      if (edge.empty()) return;
      const sw = edge.target();
      bySwitch.set(sw.id(), [...(bySwitch.get(sw.id()) || []), host]);
    });
    for (const [swId, mine] of bySwitch) {
      const sw = cy.getElementById(swId);
      const at = sw.position();
      const peers = sw.neighborhood('node[kind = "switch"]');
      let dx = 0;
      let dy = 0;
      peers.forEach((p) => {
        dx += p.position("x") - at.x;
        dy += p.position("y") - at.y;
      });
      const away = peers.empty() || (dx === 0 && dy === 0) ? -Math.PI / 2 : Math.atan2(-dy, -dx);
      const siblings = sw.connectedEdges(".attachment").sources().map((n) => n.id()).sort();
      const spread = Math.min(Math.PI / 5, (1.6 * Math.PI) / Math.max(1, siblings.length));
      for (const host of mine) {
        const i = siblings.indexOf(host.id());
        const angle = away + (i - (siblings.length - 1) / 2) * spread;
        host.position({ x: at.x + 40 * Math.cos(angle), y: at.y + 40 * Math.sin(angle) });
      }
    }
  }

  /** Change only what differs: setting data or classes restyles an element. */
  function refresh(existing, el) {
    const now = existing.data();
    if (Object.keys(el.data).some((k) => now[k] !== el.data[k])) existing.data(el.data);
    const wanted = new Set((el.classes || "").split(" ").filter(Boolean));
    for (const cls of BASE_CLASSES) {
      if (existing.hasClass(cls) !== wanted.has(cls)) existing.toggleClass(cls, wanted.has(cls));
    }
  }

  let marked = cy.collection(); // elements carrying a highlight class now
  let markedKey = "";

  return {
    cy,
    /** Bring the drawing up to date with the state (adds, removes, recolours). */
    update(state, options) {
      const wanted = graphElements(state, options);
      const ids = new Set(wanted.map((e) => e.data.id));
      let newSwitches = false;
      let added = false;
      const moved = new Set(); // hosts added or attached elsewhere
      cy.batch(() => {
        cy.elements().forEach((el) => {
          if (!ids.has(el.id())) el.remove();
        });
        const nodes = wanted.filter((e) => e.group === "nodes");
        const edges = wanted.filter((e) => e.group === "edges");
        for (const el of [...nodes, ...edges]) {
          let existing = cy.getElementById(el.data.id);
          const ends = el.group === "edges" && existing.nonempty();
          if (ends && (existing.data("source") !== el.data.source || existing.data("target") !== el.data.target)) {
            existing.remove(); // an edge's ends cannot change: draw it anew
            existing = cy.collection();
          }
          if (existing.nonempty()) {
            refresh(existing, el);
            continue;
          }
          cy.add(el);
          added = true;
          if (el.data.kind === "switch") newSwitches = true;
          if (el.data.kind === "host") moved.add(el.data.id);
          if (el.classes === "attachment") moved.add(el.data.source);
        }
      });
      if (newSwitches) {
        placeSwitches(state);
        cy.nodes('[kind = "switch"]').forEach((n) => laidOut.add(n.id()));
      }
      if (moved.size) placeHosts(cy.nodes(".host").filter((n) => moved.has(n.id())));
      if (added) markedKey = ""; // new elements may lie on the highlighted path
      this.highlight(highlighted);
    },
    /** Draw a reservation's path (and its reverse path when it differs), or a preview. */
    highlight({ path = [], reverse = [], preview = [], backups = [] }) {
      highlighted = { path, reverse, preview, backups };
      const key = JSON.stringify([path, reverse, preview, backups]);
      if (key === markedKey) return; // already drawn
      markedKey = key;
      cy.batch(() => {
        marked.removeClass("highlight reverse preview backup on-path");
        marked = cy.collection();
        const mark = (dpids, cls) => {
          const pairs = new Set(pathPairs(dpids));
          const edges = cy.edges().filter((e) => pairs.has(e.data("pair")));
          edges.addClass(cls);
          marked = marked.union(edges);
          for (const dpid of dpids) {
            const node = cy.getElementById(switchNodeId(dpid));
            node.addClass("on-path");
            marked = marked.union(node);
          }
        };
        for (const backup of backups) mark(backup, "backup");
        const same = reverse.length && [...reverse].reverse().join() === path.join();
        if (reverse.length && !same) mark(reverse, "reverse");
        mark(path, "highlight");
        mark(preview, "preview");
      });
    },
    reset() {
      cy.elements().remove();
      laidOut = new Set();
      layoutGeneration += 1;
      highlighted = { path: [], reverse: [], preview: [], backups: [] };
      marked = cy.collection();
      markedKey = "";
    },
  };
}
