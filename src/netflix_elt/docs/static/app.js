/* netflix-elt docs: the lineage graph (cytoscape + dagre), the side panel and the search box.
 * Data comes from data.js (window.NETFLIX_ELT_DOCS), written by `netflix-elt docs generate`.
 * Text from the data is only ever set with textContent, never parsed as HTML. */
(function () {
  "use strict";
  var DOCS = window.NETFLIX_ELT_DOCS;
  var byName = {};
  DOCS.nodes.forEach(function (n) { byName[n.name] = n; });

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  var elements = [];
  DOCS.nodes.forEach(function (n) {
    var classes = ["k-" + n.kind, "l-" + n.layer, "m-" + n.materialized];
    if (!n.built && n.relation) classes.push("unbuilt");
    elements.push({ group: "nodes", data: { id: n.name, label: n.name, uid: n.unique_id }, classes: classes.join(" ") });
  });
  DOCS.nodes.forEach(function (n) {
    n.inputs.forEach(function (i) {
      elements.push({ group: "edges", data: { id: i + "->" + n.name, source: i, target: n.name } });
    });
  });

  var layerColor = {
    raw: "#5b8a72", seeds: "#2a9d8f", staging: "#4c78a8", core: "#7b5ea7",
    marts: "#e07b39", snapshots: "#9c6644", analyses: "#7f7f7f"
  };
  var style = [
    { selector: "node", style: {
      "label": "data(label)", "font-size": 11, "text-valign": "center", "text-halign": "center",
      "width": "label", "height": 26, "padding": "8px", "shape": "round-rectangle",
      "background-color": "#888", "color": "#fff", "border-width": 2, "border-color": "#ffffff",
      "text-outline-width": 0 } },
    { selector: "edge", style: {
      "width": 1.5, "line-color": "#b8b8b8", "target-arrow-color": "#b8b8b8",
      "target-arrow-shape": "triangle", "curve-style": "bezier", "arrow-scale": 0.8 } },
    { selector: ".k-source", style: { "shape": "barrel" } },
    { selector: ".k-seed", style: { "shape": "cut-rectangle" } },
    { selector: ".k-snapshot", style: { "shape": "hexagon", "border-style": "double", "border-width": 4, "border-color": "#3b2a1d" } },
    { selector: ".m-ephemeral", style: { "border-style": "dashed", "border-width": 3, "border-color": "#222",
      "background-opacity": 0.55, "color": "#111" } },
    { selector: ".m-analysis", style: { "border-style": "dotted", "border-color": "#222", "border-width": 2 } },
    { selector: ".unbuilt", style: { "background-opacity": 0.35, "color": "#222" } },
    { selector: "node.selected", style: { "border-color": "#ffd400", "border-width": 5, "z-index": 10 } },
    { selector: "node.upstream", style: { "border-color": "#1f77b4", "border-width": 4 } },
    { selector: "node.downstream", style: { "border-color": "#d62728", "border-width": 4 } },
    { selector: "edge.upstream", style: { "line-color": "#1f77b4", "target-arrow-color": "#1f77b4", "width": 3 } },
    { selector: "edge.downstream", style: { "line-color": "#d62728", "target-arrow-color": "#d62728", "width": 3 } },
    { selector: ".faded", style: { "opacity": 0.18 } },
    { selector: "node.match", style: { "border-color": "#ffd400", "border-width": 5 } }
  ];
  Object.keys(layerColor).forEach(function (l) {
    style.splice(2, 0, { selector: ".l-" + l, style: { "background-color": layerColor[l] } });
  });

  var cy = cytoscape({
    container: document.getElementById("graph"),
    elements: elements,
    style: style,
    layout: { name: "dagre", rankDir: "LR", nodeSep: 14, rankSep: 60, edgeSep: 8, fit: true, padding: 20 },
    wheelSensitivity: 0.3,
    minZoom: 0.2,
    maxZoom: 3
  });
  window.docsGraph = cy; // for tests and the browser console

  var panel = document.getElementById("panel");

  function nodeLink(name) {
    var a = el("a", { href: "#node=" + encodeURIComponent(name), "class": "node-link", "data-node": name }, name);
    a.addEventListener("click", function (ev) { ev.preventDefault(); select(name); });
    return a;
  }

  function linkList(label, names) {
    var p = el("p", { "class": "links" }, label + ": ");
    if (!names.length) p.appendChild(el("em", {}, "none"));
    names.forEach(function (n, i) { if (i) p.appendChild(document.createTextNode(", ")); p.appendChild(nodeLink(n)); });
    return p;
  }

  function renderPanel(n) {
    panel.textContent = "";
    panel.appendChild(el("h2", { id: "panel-title" }, n.name));
    var badges = el("p", { "class": "badges" });
    [n.kind, n.layer, n.materialized].filter(function (v, i, a) { return v && a.indexOf(v) === i; })
      .forEach(function (b) { badges.appendChild(el("span", { "class": "badge b-" + b }, b)); });
    panel.appendChild(badges);
    panel.appendChild(el("p", { "class": "description" }, n.description || "No description."));
    var facts = el("dl");
    [["relation", n.relation || "none (inlined where used)"],
     ["rows", n.row_count === null || n.row_count === undefined ? "–" : n.row_count.toLocaleString("en")],
     ["last build", n.last_build || "–"]].forEach(function (kv) {
      facts.appendChild(el("dt", {}, kv[0])); facts.appendChild(el("dd", {}, kv[1]));
    });
    panel.appendChild(facts);
    var page = el("a", { href: n.page, id: "page-link" }, "Full page: SQL, Python, expectations, lineage paths →");
    panel.appendChild(el("p")).appendChild(page);
    panel.appendChild(linkList("Upstream", n.inputs));
    panel.appendChild(linkList("Downstream", n.children));
    panel.appendChild(el("h3", {}, "Columns (" + n.columns.length + ")" + (n.contract ? ", contract enforced" : "")));
    var table = el("table", { "class": "columns" });
    var head = el("tr");
    var heads = n.contract ? ["column", "type", "contract", "description", "from"] : ["column", "type", "description", "from"];
    heads.forEach(function (h) { head.appendChild(el("th", {}, h)); });
    table.appendChild(el("thead")).appendChild(head);
    var body = el("tbody");
    n.columns.forEach(function (c) {
      var tr = el("tr");
      tr.appendChild(el("td", { "class": "col-name" }, c.name));
      tr.appendChild(el("td", { "class": "col-type" }, c.type || ""));
      if (n.contract) tr.appendChild(el("td", { "class": "col-contract" }, c.contract || ""));
      tr.appendChild(el("td", {}, c.description || ""));
      var from = el("td", { "class": "col-from", title: c.origins.length ? "origins: " + c.origins.join(", ") : "" },
        c.from.join(", "));
      tr.appendChild(from);
      body.appendChild(tr);
    });
    table.appendChild(body);
    panel.appendChild(table);
  }

  function clear() {
    cy.elements().removeClass("selected upstream downstream faded match");
  }

  function select(name) {
    var node = cy.getElementById(name);
    if (!node || node.empty()) return;
    clear();
    var up = node.predecessors(), down = node.successors();
    cy.elements().addClass("faded");
    node.removeClass("faded").addClass("selected");
    up.removeClass("faded").addClass("upstream");
    down.removeClass("faded").addClass("downstream");
    renderPanel(byName[name]);
    if (window.location.hash !== "#node=" + name) history.replaceState(null, "", "#node=" + name);
  }
  window.docsSelect = select;

  cy.on("tap", "node", function (ev) { select(ev.target.id()); });
  cy.on("tap", function (ev) { if (ev.target === cy) clear(); });

  // search: names, descriptions and column names; matches are highlighted and listed
  var search = document.getElementById("search");
  var results = document.getElementById("results");
  function matches(q) {
    q = q.trim().toLowerCase();
    if (!q) return [];
    return DOCS.nodes.filter(function (n) {
      return n.name.toLowerCase().indexOf(q) >= 0 || (n.description || "").toLowerCase().indexOf(q) >= 0 ||
        n.columns.some(function (c) { return c.name.toLowerCase().indexOf(q) >= 0; });
    });
  }
  search.addEventListener("input", function () {
    var found = matches(search.value);
    results.textContent = "";
    clear();
    if (!search.value.trim()) return;
    cy.elements().addClass("faded");
    found.forEach(function (n) {
      cy.getElementById(n.name).removeClass("faded").addClass("match");
      var li = el("li");
      li.appendChild(nodeLink(n.name));
      li.appendChild(el("span", { "class": "muted" }, " " + n.kind + " · " + n.layer));
      results.appendChild(li);
    });
    if (!found.length) results.appendChild(el("li", { "class": "muted" }, "no match"));
  });
  search.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter") {
      var found = matches(search.value);
      if (found.length) { select(found[0].name); results.textContent = ""; }
    } else if (ev.key === "Escape") {
      search.value = ""; results.textContent = ""; clear();
    }
  });
  results.addEventListener("click", function () { results.textContent = ""; });

  var m = /^#node=(.+)$/.exec(window.location.hash);
  if (m && byName[decodeURIComponent(m[1])]) select(decodeURIComponent(m[1]));
  document.body.setAttribute("data-ready", "true");
})();
