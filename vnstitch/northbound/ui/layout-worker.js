// The force layout of the map, off the page's thread: Cytoscape.js headless runs cose on the
// switches and links it is sent and answers with their positions. A network of Kdl's size
// (754 switches) takes seconds to settle; in a worker the page stays usable meanwhile.
/* global cytoscape, importScripts */
importScripts("vendor/cytoscape/cytoscape.min.js");

self.onmessage = (event) => {
  const { nodes, edges, big, start } = event.data;
  const cy = cytoscape({
    headless: true,
    styleEnabled: true,
    style: [{ selector: "node", style: { width: 20, height: 20 } }],
    elements: [
      ...nodes.map((id) => ({ group: "nodes", data: { id }, position: { ...start[id] } })),
      ...edges.map(([source, target], i) => ({ group: "edges", data: { id: `e${i}`, source, target } })),
    ],
  });
  cy.layout({
    name: "cose",
    animate: false,
    // A small network refines the circle the page drew first (no new crossings); a big one
    // starts afresh: a circle of hundreds of switches is too tangled to refine.
    randomize: big,
    initialTemp: big ? 1000 : 200,
    fit: false,
    numIter: big ? 250 : 1000,
    nodeRepulsion: () => (big ? 20000 : 80000),
    nodeOverlap: 20,
    idealEdgeLength: () => (big ? 50 : 90),
    componentSpacing: 80,
  }).run();
  const positions = {};
  cy.nodes().forEach((node) => {
    positions[node.id()] = node.position();
  });
  self.postMessage({ positions });
};
