// The journey editor: draws a journey's definition as a top-down flow diagram (SVG, laid out automatically:
// branches side by side, labelled edges) and, for managers, edits it. A node opens its form in the side panel; the
// "+" on an edge or a free exit inserts a step there; a step can be deleted (its successor takes its place, or for
// a branching step the branch the manager keeps). The trigger and the settings have their own panel. "Save draft"
// submits the definition as JSON in an ordinary form, so the server validates it and answers with the page again
// (errors by path, highlighted on their nodes). Everything the page says comes from the JSON blob the server renders
// in the page's language; nothing here is loaded from elsewhere.
(function () {
  "use strict";
  var root = document.querySelector("[data-journey-editor]");
  var blob = document.getElementById("journey-data");
  if (!root || !blob) { return; }
  var data = JSON.parse(blob.textContent);
  var T = data.strings;
  var options = data.options || {};
  var editable = Boolean(data.editable);
  var stats = data.stats || null;
  var errors = data.errors || {};
  var def = normalise(data.definition);

  var SVG = "http://www.w3.org/2000/svg";
  var NODE_W = 210;
  var COL = 250;
  var NODE_H = stats ? 128 : 74;
  var ROW = NODE_H + 86;
  var TOP = 28;
  var TRIGGER = "trigger";
  var BRANCHING = { wait_event: true, condition: true, split: true };
  var TYPES = ["send", "delay", "wait_event", "condition", "split", "update_profile", "coupon", "task", "notify",
               "webhook", "exit"];
  var CHANNELS = data.channels || ["zalo", "messenger", "whatsapp", "sms", "email"];
  var OPERATORS = { eq: "=", ne: "≠", gt: ">", gte: "≥", lt: "<", lte: "≤", exists: T.op_exists };

  var canvas = root.querySelector("[data-canvas]");
  var panel = root.querySelector("[data-panel]");
  var field = document.getElementById(root.getAttribute("data-definition-field") || "");
  var form = field ? field.form : null;
  var selected = null;        // the id of the node whose form is open, TRIGGER, or null
  var lastFocus = null;
  var badJson = {};           // the JSON inputs whose text does not parse: key -> true

  // The definition ----------------------------------------------------------------------------------------------

  function normalise(value) {
    var d = value && typeof value === "object" ? value : {};
    d.trigger = d.trigger && typeof d.trigger === "object" ? d.trigger : { type: "event", event: "", where: {} };
    d.settings = d.settings && typeof d.settings === "object" ? d.settings : {};
    var s = d.settings;
    if (s.entry !== "again") { s.entry = "once"; }
    if (!("filter" in s)) { s.filter = null; }
    if (!("goal" in s)) { s.goal = null; }
    if (typeof s.holdout_percent !== "number") { s.holdout_percent = 0; }
    if (typeof s.conversion_days !== "number") { s.conversion_days = 7; }
    d.nodes = d.nodes && typeof d.nodes === "object" ? d.nodes : {};
    if (!("start" in d)) { d.start = null; }
    return d;
  }

  function exitsOf(node) {
    if (!node) { return []; }
    switch (node.type) {
      case "exit": return [];
      case "wait_event": return [{ key: "next", label: T.edge_event }, { key: "timeout_next", label: T.edge_timeout }];
      case "condition": return [{ key: "yes", label: T.edge_yes }, { key: "no", label: T.edge_no }];
      case "split":
        return (Array.isArray(node.branches) ? node.branches : []).map(function (branch, index) {
          return { key: "branches." + index, label: (branch.label || "?") + " " + (branch.percent || 0) + " %" };
        });
      default: return [{ key: "next", label: "" }];
    }
  }

  function target(from, key) {
    if (from === TRIGGER) { return def.start || null; }
    var node = def.nodes[from];
    if (key.indexOf("branches.") === 0) {
      var branch = (node.branches || [])[Number(key.split(".")[1])];
      return branch ? branch.next || null : null;
    }
    return node[key] || null;
  }

  function setTarget(from, key, id) {
    if (from === TRIGGER) { def.start = id; return; }
    link(def.nodes[from], key, id);
  }

  function everyExit(visit) {
    visit(TRIGGER, "start");
    Object.keys(def.nodes).forEach(function (id) {
      exitsOf(def.nodes[id]).forEach(function (exit) { visit(id, exit.key); });
    });
  }

  function newId() {
    for (var number = 1; ; number += 1) {
      if (!def.nodes["n" + number]) { return "n" + number; }
    }
  }

  function duration(days, hours, minutes) { return { days: days, hours: hours, minutes: minutes }; }

  function fresh(type) {
    var first = function (list) { return list && list.length ? list[0].id : null; };
    switch (type) {
      case "delay": return { type: type, "for": duration(1, 0, 0), next: null };
      case "wait_event": return { type: type, event: "Order Completed", where: {}, timeout: duration(1, 0, 0),
                                  next: null, timeout_next: null };
      case "condition": return { type: type, rule: { all: [{ did: "Order Completed", days: 30 }] }, yes: null,
                                 no: null };
      case "split": return { type: type, branches: [{ label: "A", percent: 50, next: null },
                                                    { label: "B", percent: 50, next: null }] };
      case "send": return { type: type, template_id: first(options.templates), channel: null, purpose: "marketing",
                            on_cap: "defer", next: null };
      case "update_profile": return { type: type, traits: {}, next: null };
      case "coupon": return { type: type, promotion_id: first(options.promotions), next: null };
      case "task": return { type: type, title: "", kind: "call", due_in: duration(0, 4, 0), assign: "store_manager",
                            next: null };
      case "notify": return { type: type, text: "", to: "managers", next: null };
      case "webhook": return { type: type, url: "https://", next: null };
      default: return { type: "exit" };
    }
  }

  function insert(from, key, type) {
    var id = newId();
    var node = fresh(type);
    var after = target(from, key);
    var exits = exitsOf(node);
    if (exits.length) { link(node, exits[0].key, after); }
    def.nodes[id] = node;
    setTarget(from, key, id);
    if (!exits.length) { collect(); }
    return id;
  }

  function link(node, key, id) {
    if (key.indexOf("branches.") === 0) { node.branches[Number(key.split(".")[1])].next = id; } else { node[key] = id; }
  }

  function remove(id, keepKey) {
    var node = def.nodes[id];
    var exits = exitsOf(node);
    var successor = null;
    if (exits.length === 1) { successor = target(id, exits[0].key); }
    if (exits.length > 1) { successor = target(id, keepKey || exits[0].key); }
    everyExit(function (from, key) {
      if (from !== id && target(from, key) === id) { setTarget(from, key, successor); }
    });
    delete def.nodes[id];
    if (def.layout) { delete def.layout[id]; }
    collect();
  }

  // Steps no longer reachable from the start (the branches a deletion dropped) go with it.
  function collect() {
    var seen = {};
    (function walk(id) {
      if (!id || seen[id] || !def.nodes[id]) { return; }
      seen[id] = true;
      exitsOf(def.nodes[id]).forEach(function (exit) { walk(target(id, exit.key)); });
    }(def.start));
    Object.keys(def.nodes).forEach(function (id) {
      if (!seen[id]) { delete def.nodes[id]; if (def.layout) { delete def.layout[id]; } }
    });
  }

  // Layout: rows by the longest path from the trigger, columns by each step's own subtree ----------------------

  function computeLayout() {
    var depth = {};
    var owner = {};
    var onPath = {};
    function deepen(id, level) {
      if (!id || !def.nodes[id] || onPath[id]) { return; }
      if (depth[id] !== undefined && depth[id] >= level) { return; }
      depth[id] = level;
      onPath[id] = true;
      exitsOf(def.nodes[id]).forEach(function (exit) { deepen(target(id, exit.key), level + 1); });
      onPath[id] = false;
    }
    deepen(def.start, 1);
    function own(id) {
      exitsOf(def.nodes[id]).forEach(function (exit) {
        var next = target(id, exit.key);
        if (next && def.nodes[next] && owner[next] === undefined) {
          owner[next] = id;
          own(next);
        }
      });
    }
    if (def.start && def.nodes[def.start]) {
      owner[def.start] = TRIGGER;
      own(def.start);
    }

    var widths = {};
    function slots(id) {
      var node = def.nodes[id];
      return exitsOf(node).map(function (exit) {
        var next = target(id, exit.key);
        if (!next || !def.nodes[next]) { return { exit: exit, end: true, width: 1 }; }
        if (owner[next] === id) { return { exit: exit, child: next, width: width(next) }; }
        return { exit: exit, link: next, width: 0 };
      });
    }
    function width(id) {
      if (widths[id] !== undefined) { return widths[id]; }
      var total = slots(id).reduce(function (sum, slot) { return sum + slot.width; }, 0);
      widths[id] = Math.max(1, total);
      return widths[id];
    }
    var place = {};
    var ends = [];
    var edges = [];
    function put(id, left) {
      var w = width(id);
      place[id] = { x: (left + w / 2) * COL, y: TOP + depth[id] * ROW };
      var used = slots(id);
      var room = used.reduce(function (sum, slot) { return sum + slot.width; }, 0);
      var cursor = left + (w - room) / 2;
      used.forEach(function (slot) {
        if (slot.child) { put(slot.child, cursor); }
        if (slot.end) {
          var end = { from: id, key: slot.exit.key, x: (cursor + 0.5) * COL, y: TOP + (depth[id] + 1) * ROW };
          ends.push(end);
        }
        edges.push({ from: id, key: slot.exit.key, label: slot.exit.label, to: slot.child || slot.link || null,
                     end: slot.end ? ends[ends.length - 1] : null });
        cursor += slot.width;
      });
    }
    var total = 1;
    var triggerPlace;
    if (def.start && def.nodes[def.start]) {
      total = width(def.start);
      put(def.start, 0);
      triggerPlace = { x: place[def.start].x, y: TOP };
      edges.push({ from: TRIGGER, key: "start", label: "", to: def.start, end: null });
    } else {
      triggerPlace = { x: COL / 2, y: TOP };
      var end = { from: TRIGGER, key: "start", x: COL / 2, y: TOP + ROW };
      ends.push(end);
      edges.push({ from: TRIGGER, key: "start", label: "", to: null, end: end });
    }
    // Steps that nothing leads to (only from a hand-written definition) wait in a row of their own at the bottom.
    var bottom = Math.max.apply(null, [1].concat(Object.keys(depth).map(function (id) { return depth[id]; }))) + 2;
    var stray = 0;
    Object.keys(def.nodes).forEach(function (id) {
      if (place[id]) { return; }
      place[id] = { x: (stray + 0.5) * COL, y: TOP + bottom * ROW, stray: true };
      stray += 1;
    });
    Object.keys(def.nodes).forEach(function (id) {
      if (!place[id].stray || !def.nodes[id]) { return; }
      exitsOf(def.nodes[id]).forEach(function (exit) {
        var next = target(id, exit.key);
        if (next && place[next]) { edges.push({ from: id, key: exit.key, label: exit.label, to: next, end: null }); }
      });
    });
    var lowest = TOP + (stray ? bottom : bottom - 1) * ROW + NODE_H;
    ends.forEach(function (item) { lowest = Math.max(lowest, item.y + 40); });
    return { place: place, trigger: triggerPlace, ends: ends, edges: edges,
             width: Math.max(total, stray, 1) * COL, height: lowest + 24 };
  }

  // Drawing --------------------------------------------------------------------------------------------------------

  function el(name, attributes, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attributes || {}).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function text(parent, x, y, content, className) {
    var node = el("text", { x: x, y: y, "class": className || "" }, parent);
    node.textContent = shorten(content, 30);
    return node;
  }

  function shorten(value, length) {
    var s = String(value === undefined || value === null ? "" : value);
    return s.length > length ? s.slice(0, length - 1) + "…" : s;
  }

  function nameOf(list, id) {
    var found = (list || []).filter(function (item) { return String(item.id) === String(id); })[0];
    return found ? found.name : (id === null || id === undefined || id === "" ? "—" : "#" + id);
  }

  function spell(span) {
    if (!span) { return "—"; }
    var parts = [];
    if (span.days) { parts.push(span.days + " " + T.short_days); }
    if (span.hours) { parts.push(span.hours + " " + T.short_hours); }
    if (span.minutes) { parts.push(span.minutes + " " + T.short_minutes); }
    return parts.length ? parts.join(" ") : "0 " + T.short_minutes;
  }

  function whom(value) {
    if (value && typeof value === "object") { return nameOf(options.users, value.user_id); }
    return T["to_" + value] || String(value || "—");
  }

  function summary(node) {
    switch (node.type) {
      case "delay":
        if (node.until_time) { return T.until_time + " " + node.until_time; }
        if (node.until_date) { return T.until_date + " " + String(node.until_date).replace("T", " "); }
        return spell(node["for"]);
      case "wait_event": return (node.event || "—") + " · " + spell(node.timeout);
      case "condition":
        if (node.event && typeof node.event === "object") {
          return (node.event.property || "—") + " " + (OPERATORS[node.event.op] || node.event.op || "") +
                 (node.event.op === "exists" ? "" : " " + String(node.event.value));
        }
        return T.rule_summary;
      case "split": return (Array.isArray(node.branches) ? node.branches : []).map(function (b) {
        return b.percent + " %";
      }).join(" / ");
      case "send": return nameOf(options.templates, node.template_id) + " · " +
                          (node.channel ? T["channel_" + node.channel] || node.channel : T.channel_auto);
      case "update_profile": return Object.keys(node.traits || {}).join(", ") || "—";
      case "coupon": return nameOf(options.promotions, node.promotion_id);
      case "task": return (node.title || "—") + " · " + whom(node.assign);
      case "notify": return (node.text || "—") + " · " + whom(node.to);
      case "webhook": return node.url || "—";
      case "exit": return T.about_exit;
      default: return "";
    }
  }

  function triggerSummary(trigger) {
    switch (trigger.type) {
      case "event": return trigger.event || "—";
      case "segment_entered": case "broadcast": return nameOf(options.segments, trigger.segment_id);
      case "date": return (trigger.trait || "—") + " " + (trigger.offset_days ? "(" + trigger.offset_days + ") " : "") +
                          (trigger.at || "");
      default: return "";
    }
  }

  function errorsAt(id) {
    var prefix = id === TRIGGER ? null : "nodes." + id;
    return Object.keys(errors).filter(function (path) {
      if (prefix) { return path === prefix || path.indexOf(prefix + ".") === 0; }
      return /^(trigger|settings|start)(\.|$)/.test(path) || path === "nodes";
    });
  }

  function button(group, label, activate) {
    group.setAttribute("tabindex", "0");
    group.setAttribute("role", "button");
    group.setAttribute("aria-label", label);
    group.addEventListener("click", function (event) { event.stopPropagation(); activate(); });
    group.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); activate(); }
    });
  }

  function drawBox(svg, id, x, y, kind, title, line, extra) {
    var group = el("g", { "class": "je-node je-node--" + kind, "data-node": id,
                         transform: "translate(" + (x - NODE_W / 2) + "," + y + ")" }, svg);
    if (errorsAt(id).length) { group.classList.add("je-node--error"); }
    if (selected === id) { group.classList.add("je-node--selected"); }
    el("rect", { width: NODE_W, height: id === TRIGGER ? 74 : NODE_H, rx: 10, "class": "je-node__box" }, group);
    text(group, 12, 22, title, "je-node__type");
    text(group, 12, 44, line[0], "je-node__label");
    if (line[1]) { text(group, 12, 63, line[1], "je-node__detail"); }
    (extra || []).forEach(function (row, index) {
      var t = text(group, 12, 80 + index * 16, row.text, "je-node__stat");
      if (row.key) { t.setAttribute("data-stats", row.key); }
    });
    var tip = el("title", {}, group);
    tip.textContent = title + " — " + line.filter(Boolean).join(" · ");
    button(group, title + ": " + line.filter(Boolean).join(" · "), function () { open(id); });
    return group;
  }

  function statRows(id, node) {
    if (!stats) { return []; }
    var figures = stats[id] || {};
    var get = function (key) { return figures[key] !== undefined ? figures[key] : "0"; };
    var rows = [{ key: id + ":flow", text: T.stat_entered + " " + get("entered") + " · " + T.stat_waiting + " " +
                  get("waiting") }];
    if (node.type === "send") {
      rows.push({ key: id + ":sent", text: T.stat_sent + " " + get("sent") + " · " + T.stat_delivered + " " +
                  get("delivered") });
      rows.push({ key: id + ":opened", text: T.stat_opened + " " + get("opened") + " · " + T.stat_clicked + " " +
                  get("clicked") });
      rows.push({ key: id + ":converted", text: T.stat_converted + " " + get("converted") + " · " +
                  get("revenue") });
    }
    return rows;
  }

  function curve(x1, y1, x2, y2) {
    var middle = (y1 + y2) / 2;
    return "M" + x1 + " " + y1 + " C" + x1 + " " + middle + " " + x2 + " " + middle + " " + x2 + " " + y2;
  }

  function exitX(from, key, x) {
    if (from === TRIGGER) { return x; }
    var exits = exitsOf(def.nodes[from]);
    if (exits.length < 2) { return x; }
    var index = exits.map(function (e) { return e.key; }).indexOf(key);
    return x - NODE_W / 2 + (index + 0.5) * NODE_W / exits.length;
  }

  function draw() {
    var layout = computeLayout();
    var svg = el("svg", { "class": "je-diagram", width: layout.width, height: layout.height,
                          viewBox: "0 0 " + layout.width + " " + layout.height, role: "group",
                          "aria-label": T.diagram });
    var edgeLayer = el("g", { "class": "je-edges" }, svg);
    var nodeLayer = el("g", { "class": "je-nodes" }, svg);
    var addLayer = el("g", { "class": "je-adds" }, svg);
    layout.edges.forEach(function (edge) {
      var start = edge.from === TRIGGER ? layout.trigger : layout.place[edge.from];
      var startH = edge.from === TRIGGER ? 74 : NODE_H;
      var x1 = exitX(edge.from, edge.key, start.x);
      var y1 = start.y + startH;
      var end = edge.to ? layout.place[edge.to] : edge.end;
      var x2 = end.x;
      var y2 = edge.to ? end.y : end.y - 12;
      el("path", { d: curve(x1, y1, x2, y2), "class": "je-edge" + (edge.to ? "" : " je-edge--open"),
                   "marker-end": edge.to ? "url(#je-arrow)" : "" }, edgeLayer);
      if (edge.label) {
        var label = el("g", { "class": "je-edge__label" }, edgeLayer);
        var lx = x1;
        var ly = y1 + 16;
        var room = Math.min(74, NODE_W / exitsOf(def.nodes[edge.from]).length - 4);
        el("rect", { x: lx - room / 2, y: ly - 12, width: room, height: 18, rx: 9 }, label);
        var t = el("text", { x: lx, y: ly + 1, "text-anchor": "middle" }, label);
        t.textContent = shorten(edge.label, 12);
      }
      if (editable) {
        var px = (x1 + x2) / 2;
        var py = edge.to ? (y1 + y2) / 2 + 6 : y2 - 26;
        var add = el("g", { "class": "je-add", "data-add": edge.from + ":" + edge.key,
                            transform: "translate(" + px + "," + py + ")" }, addLayer);
        el("circle", { r: 11 }, add);
        el("path", { d: "M-5 0 H5 M0 -5 V5" }, add);
        var where = edge.label ? " (" + edge.label + ")" : "";
        button(add, T.add_step_after + " " + titleOf(edge.from) + where, function () {
          openAdd(edge.from, edge.key, edge.to === null);
        });
      }
    });
    layout.ends.forEach(function (end) {
      var group = el("g", { "class": "je-end", transform: "translate(" + end.x + "," + end.y + ")" }, nodeLayer);
      el("rect", { x: -34, y: -12, width: 68, height: 24, rx: 12 }, group);
      var t = el("text", { x: 0, y: 5, "text-anchor": "middle" }, group);
      t.textContent = T.end;
    });
    var trigger = drawBox(nodeLayer, TRIGGER, layout.trigger.x, layout.trigger.y, "trigger", T.trigger,
                          [T["trigger_" + def.trigger.type] || def.trigger.type, triggerSummary(def.trigger)]);
    trigger.classList.add("je-node--trigger");
    Object.keys(def.nodes).forEach(function (id) {
      var node = def.nodes[id];
      var at = layout.place[id];
      var box = drawBox(nodeLayer, id, at.x, at.y, node.type, (T["type_" + node.type] || node.type),
                        [node.label || summary(node), node.label ? summary(node) : ""], statRows(id, node));
      if (at.stray) { box.classList.add("je-node--stray"); }
    });
    var defs = el("defs", {}, svg);
    var marker = el("marker", { id: "je-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7,
                                markerHeight: 7, orient: "auto-start-reverse" }, defs);
    el("path", { d: "M0 0 L10 5 L0 10 z", "class": "je-arrow" }, marker);
    canvas.replaceChildren(svg);
  }

  function titleOf(id) {
    if (id === TRIGGER) { return T.trigger; }
    var node = def.nodes[id];
    return node ? (node.label || T["type_" + node.type] || node.type) : id;
  }

  // The side panel -------------------------------------------------------------------------------------------------

  function h(name, attributes, children) {
    var node = document.createElement(name);
    Object.keys(attributes || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attributes[key]; } else { node.setAttribute(key, attributes[key]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  var fieldCount = 0;

  function row(label, input, hint, key) {
    fieldCount += 1;
    var id = "je-field-" + fieldCount;
    input.id = id;
    var wrap = h("div", { "class": "field", "data-key": key || "" }, [h("label", { "for": id, text: label }), input]);
    if (hint) {
      var note = h("p", { "class": "hint", id: id + "-hint", text: hint });
      input.setAttribute("aria-describedby", note.id);
      wrap.appendChild(note);
    }
    return wrap;
  }

  function textInput(value, onChange, attributes) {
    var input = h("input", Object.assign({ type: "text" }, attributes || {}));
    input.value = value === undefined || value === null ? "" : String(value);
    input.addEventListener("input", function () { onChange(input.value); changed(); });
    return input;
  }

  function numberInput(value, min, max, onChange) {
    var input = h("input", { type: "number", min: String(min), max: String(max), step: "1", inputmode: "numeric" });
    input.value = value === undefined || value === null ? "" : String(value);
    input.addEventListener("input", function () {
      var n = parseInt(input.value, 10);
      onChange(isNaN(n) ? 0 : n);
      changed();
    });
    return input;
  }

  function select(choices, value, onChange) {
    var input = h("select");
    choices.forEach(function (choice) {
      var option = h("option", { value: String(choice[0]), text: choice[1] });
      if (String(choice[0]) === String(value === null || value === undefined ? "" : value)) { option.selected = true; }
      input.appendChild(option);
    });
    input.addEventListener("change", function () { onChange(input.value); changed(); });
    return input;
  }

  function picker(list, value, onChange) {
    var choices = [["", T.choose]].concat((list || []).map(function (item) { return [item.id, item.name]; }));
    if (value !== null && value !== undefined && value !== "" &&
        !(list || []).some(function (item) { return String(item.id) === String(value); })) {
      choices.push([value, "#" + value]);
    }
    return select(choices, value, function (chosen) { onChange(chosen === "" ? null : Number(chosen)); });
  }

  function eventInput(value, onChange) {
    var input = textInput(value, onChange, { list: "je-event-names", autocomplete: "off", maxlength: "200" });
    return input;
  }

  function durationInputs(span, onChange, label, key) {
    var value = Object.assign({ days: 0, hours: 0, minutes: 0 }, span || {});
    var box = h("fieldset", { "class": "je-duration", "data-key": key || "" }, [h("legend", { text: label })]);
    [["days", T.unit_days, 365], ["hours", T.unit_hours, 23], ["minutes", T.unit_minutes, 59]].forEach(function (part) {
      fieldCount += 1;
      var input = numberInput(value[part[0]], 0, part[2], function (n) { value[part[0]] = n; onChange(value); });
      input.id = "je-field-" + fieldCount;
      box.appendChild(h("span", { "class": "je-duration__part" }, [input, h("label", { "for": input.id,
                                                                                             text: part[1] })]));
    });
    return box;
  }

  function scalar(text) {
    var t = text.trim();
    if (/^-?\d+(\.\d+)?$/.test(t)) { return Number(t); }
    if (t === "true") { return true; }
    if (t === "false") { return false; }
    return t;
  }

  function pairsInput(object, onChange, key) {
    var area = h("textarea", { rows: "3", spellcheck: "false" });
    area.value = Object.keys(object || {}).map(function (name) { return name + " = " + object[name]; }).join("\n");
    area.addEventListener("input", function () {
      var parsed = {};
      area.value.split("\n").forEach(function (line) {
        var at = line.indexOf("=");
        if (at > 0 && line.slice(0, at).trim()) { parsed[line.slice(0, at).trim()] = scalar(line.slice(at + 1)); }
      });
      onChange(parsed);
      changed();
    });
    area.setAttribute("data-json-key", key);
    return area;
  }

  function jsonInput(value, onChange, key, allowEmpty) {
    var area = h("textarea", { rows: "6", spellcheck: "false", "class": "je-json" });
    area.value = value === null || value === undefined ? "" : JSON.stringify(value, null, 2);
    var note = h("p", { "class": "field-error", role: "alert", hidden: "" });
    area.addEventListener("input", function () {
      var textValue = area.value.trim();
      if (!textValue && allowEmpty) { delete badJson[key]; note.hidden = true; onChange(null); changed(); return; }
      try {
        var parsed = JSON.parse(textValue);
        delete badJson[key];
        note.hidden = true;
        area.removeAttribute("aria-invalid");
        onChange(parsed);
        changed();
      } catch (problem) {
        badJson[key] = true;
        note.textContent = T.bad_json;
        note.hidden = false;
        area.setAttribute("aria-invalid", "true");
      }
    });
    var wrap = h("div", {}, [area, note]);
    wrap.area = area;
    return wrap;
  }

  function labelled(label, wrap, hint, key) {
    var input = wrap.area || wrap;
    var result = row(label, input, hint, key);
    if (wrap.area) { result.appendChild(wrap.lastChild); }
    return result;
  }

  function nodeForm(id, node) {
    var parts = [row(T.field_label, textInput(node.label, function (v) {
      if (v) { node.label = v; } else { delete node.label; }
    }, { maxlength: "120" }), T.hint_label, "label")];
    var set = function (key) { return function (value) { node[key] = value; }; };
    switch (node.type) {
      case "delay": parts = parts.concat(delayFields(node)); break;
      case "wait_event":
        parts.push(row(T.field_event, eventInput(node.event, set("event")), T.hint_event, "event"));
        parts.push(row(T.field_where, pairsInput(node.where, set("where"), "where"), T.hint_where, "where"));
        parts.push(durationInputs(node.timeout, set("timeout"), T.field_timeout, "timeout"));
        break;
      case "condition": parts = parts.concat(conditionFields(id, node)); break;
      case "split": parts = parts.concat(splitFields(id, node)); break;
      case "send":
        parts.push(row(T.field_template, picker(options.templates, node.template_id, set("template_id")),
                       templateChannels(node.template_id), "template_id"));
        parts.push(row(T.field_channel, select([["", T.channel_auto]].concat(CHANNELS.map(function (c) {
          return [c, T["channel_" + c] || c];
        })), node.channel, function (v) { node.channel = v || null; }), T.hint_channel, "channel"));
        parts.push(row(T.field_purpose, select([["marketing", T.purpose_marketing], ["care", T.purpose_care],
                                                ["transactional", T.purpose_transactional]], node.purpose,
                                               set("purpose")), "", "purpose"));
        parts.push(row(T.field_on_cap, select([["defer", T.on_cap_defer], ["skip", T.on_cap_skip]], node.on_cap,
                                              set("on_cap")), T.hint_on_cap, "on_cap"));
        break;
      case "update_profile":
        parts.push(row(T.field_traits, pairsInput(node.traits, set("traits"), "traits"), T.hint_traits, "traits"));
        break;
      case "coupon":
        parts.push(row(T.field_promotion, picker(options.promotions, node.promotion_id, set("promotion_id")),
                       T.hint_coupon, "promotion_id"));
        break;
      case "task":
        parts.push(row(T.field_title, textInput(node.title, set("title"), { maxlength: "200" }), "", "title"));
        parts.push(row(T.field_kind, select([["call", T.kind_call], ["meeting", T.kind_meeting],
                                             ["follow_up", T.kind_follow_up]], node.kind, set("kind")), "", "kind"));
        parts.push(durationInputs(node.due_in, set("due_in"), T.field_due_in, "due_in"));
        parts.push(row(T.field_assign, personPicker(["store_manager", "owner", "managers"], node.assign, set("assign")), "",
                       "assign"));
        break;
      case "notify":
        parts.push(row(T.field_text, textInput(node.text, set("text"), { maxlength: "500" }), "", "text"));
        parts.push(row(T.field_to, personPicker(["store_manager", "owner", "managers"], node.to, set("to")), T.hint_notify,
                       "to"));
        break;
      case "webhook":
        parts.push(row(T.field_url, textInput(node.url, set("url"), { type: "url", maxlength: "2000" }), T.hint_webhook,
                       "url"));
        break;
      case "exit": parts.push(h("p", { "class": "hint", text: T.hint_exit })); break;
      default: break;
    }
    return parts;
  }

  function templateChannels(templateId) {
    var found = (options.templates || []).filter(function (t) { return String(t.id) === String(templateId); })[0];
    return found && found.channels && found.channels.length ? T.template_channels + " " +
      found.channels.map(function (c) { return T["channel_" + c] || c; }).join(", ") : "";
  }

  function personPicker(roles, value, onChange) {
    var choices = roles.map(function (role) { return [role, T["to_" + role] || role]; })
      .concat((options.users || []).map(function (user) { return ["user:" + user.id, user.name]; }));
    var current = value && typeof value === "object" ? "user:" + value.user_id : value;
    return select(choices, current, function (chosen) {
      onChange(chosen.indexOf("user:") === 0 ? { user_id: Number(chosen.slice(5)) } : chosen);
    });
  }

  function delayFields(node) {
    var mode = node.until_time ? "until_time" : node.until_date ? "until_date" : "for";
    var holder = h("div");
    var choose = select([["for", T.delay_for], ["until_time", T.delay_until_time], ["until_date", T.delay_until_date]],
                        mode, function (chosen) {
                          delete node["for"]; delete node.until_time; delete node.until_date;
                          if (chosen === "for") { node["for"] = duration(1, 0, 0); }
                          if (chosen === "until_time") { node.until_time = "09:00"; }
                          if (chosen === "until_date") { node.until_date = ""; }
                          fill(chosen);
                        });
    function fill(current) {
      holder.replaceChildren();
      if (current === "for") {
        holder.appendChild(durationInputs(node["for"], function (v) { node["for"] = v; }, T.field_wait, "for"));
      } else if (current === "until_time") {
        holder.appendChild(row(T.field_time, textInput(node.until_time, function (v) { node.until_time = v; },
                                                       { type: "time" }), T.hint_local, "until_time"));
      } else {
        holder.appendChild(row(T.field_date, textInput(node.until_date, function (v) { node.until_date = v; },
                                                       { type: "datetime-local" }), T.hint_local, "until_date"));
      }
    }
    fill(mode);
    return [row(T.field_delay, choose, "", "delay"), holder];
  }

  function conditionFields(id, node) {
    var holder = h("div");
    var mode = node.event && typeof node.event === "object" ? "event" : "rule";
    var choose = select([["rule", T.test_rule], ["event", T.test_event]], mode, function (chosen) {
      if (chosen === "event") {
        delete node.rule;
        node.event = { property: "total", op: "gte", value: 1000000 };
      } else {
        delete node.event;
        delete badJson[id + ".rule"];
        node.rule = { all: [{ did: "Order Completed", days: 30 }] };
      }
      fill(chosen);
    });
    function fill(current) {
      holder.replaceChildren();
      if (current === "rule") {
        holder.appendChild(labelled(T.field_rule, jsonInput(node.rule, function (v) { node.rule = v; }, id + ".rule",
                                                            false), T.hint_rule, "rule"));
        return;
      }
      var test = node.event;
      holder.appendChild(row(T.field_property, textInput(test.property, function (v) { test.property = v; },
                                                         { maxlength: "100" }), T.hint_property, "event.property"));
      var value = row(T.field_value, textInput(test.value === undefined || test.value === null ? "" : test.value,
                                               function (v) { test.value = scalar(v); }, { maxlength: "200" }),
                      T.hint_value, "event.value");
      value.hidden = test.op === "exists";
      holder.appendChild(row(T.field_op, select(Object.keys(OPERATORS).map(function (op) {
        return [op, OPERATORS[op]];
      }), test.op, function (v) {
        test.op = v;
        value.hidden = v === "exists";
        if (v === "exists") { delete test.value; }
      }), "", "event.op"));
      holder.appendChild(value);
    }
    fill(mode);
    return [row(T.field_test, choose, "", "test"), holder];
  }

  function splitFields(id, node) {
    var list = h("div", { "class": "je-branches", "data-key": "branches" });
    function fill() {
      list.replaceChildren();
      (node.branches || []).forEach(function (branch, index) {
        var line = h("fieldset", { "class": "je-branch" }, [h("legend", { text: T.branch + " " + (index + 1) })]);
        line.appendChild(row(T.field_branch_label, textInput(branch.label, function (v) { branch.label = v; },
                                                             { maxlength: "40" })));
        line.appendChild(row(T.field_percent, numberInput(branch.percent, 0, 100, function (v) { branch.percent = v; })));
        if (node.branches.length > 2) {
          var drop = h("button", { type: "button", "class": "button button--quiet", text: T.remove_branch });
          drop.addEventListener("click", function () {
            node.branches.splice(index, 1);
            collect();
            changed();
            fill();
          });
          line.appendChild(drop);
        }
        list.appendChild(line);
      });
      if (node.branches.length < 5) {
        var more = h("button", { type: "button", "class": "button button--quiet", text: T.add_branch });
        more.addEventListener("click", function () {
          node.branches.push({ label: String.fromCharCode(65 + node.branches.length), percent: 0, next: null });
          changed();
          fill();
        });
        list.appendChild(more);
      }
      list.appendChild(h("p", { "class": "hint", text: T.hint_split }));
    }
    fill();
    return [list];
  }

  function triggerForm() {
    var trigger = def.trigger;
    var settings = def.settings;
    var holder = h("div");
    var kinds = ["event", "segment_entered", "date", "broadcast"];
    var type = select(kinds.map(function (kind) { return [kind, T["trigger_" + kind]]; }), trigger.type, function (v) {
      def.trigger = v === "event" ? { type: v, event: "", where: {} }
        : v === "date" ? { type: v, trait: "birthday", offset_days: 0, at: "09:00" }
        : { type: v, segment_id: options.segments && options.segments.length ? options.segments[0].id : null };
      trigger = def.trigger;
      fill();
    });
    function fill() {
      holder.replaceChildren();
      var set = function (key) { return function (value) { trigger[key] = value; }; };
      if (trigger.type === "event") {
        holder.appendChild(row(T.field_event, eventInput(trigger.event, set("event")), T.hint_event, "trigger.event"));
        holder.appendChild(row(T.field_where, pairsInput(trigger.where, set("where"), "trigger.where"), T.hint_where,
                               "trigger.where"));
      } else if (trigger.type === "date") {
        holder.appendChild(row(T.field_trait, textInput(trigger.trait, set("trait"), { maxlength: "100" }),
                               T.hint_trait, "trigger.trait"));
        holder.appendChild(row(T.field_offset, numberInput(trigger.offset_days, -30, 30, set("offset_days")),
                               T.hint_offset, "trigger.offset_days"));
        holder.appendChild(row(T.field_time, textInput(trigger.at, set("at"), { type: "time" }), T.hint_local,
                               "trigger.at"));
      } else {
        holder.appendChild(row(T.field_segment, picker(options.segments, trigger.segment_id, set("segment_id")),
                               trigger.type === "broadcast" ? T.hint_broadcast : "", "trigger.segment_id"));
      }
    }
    fill();
    var reentry = row(T.field_reentry, numberInput(settings.reentry_days || 30, 1, 3650, function (v) {
      settings.reentry_days = v;
    }), "", "settings.reentry_days");
    reentry.hidden = settings.entry !== "again";
    var entry = select([["once", T.entry_once], ["again", T.entry_again]], settings.entry, function (v) {
      settings.entry = v;
      if (v === "again" && !settings.reentry_days) { settings.reentry_days = 30; }
      if (v === "once") { delete settings.reentry_days; }
      reentry.hidden = v !== "again";
    });
    var goal = settings.goal || { event: "", where: {} };
    var goalEvent = eventInput(goal.event, function (v) {
      if (v.trim()) { goal.event = v; settings.goal = goal; } else { settings.goal = null; }
    });
    var goalWhere = pairsInput(goal.where, function (v) { goal.where = v; }, "settings.goal.where");
    return [
      h("h3", { text: T.trigger }), row(T.field_trigger, type, "", "trigger.type"), holder,
      h("h3", { text: T.settings }),
      row(T.field_entry, entry, "", "settings.entry"), reentry,
      row(T.field_goal, goalEvent, T.hint_goal, "settings.goal"),
      row(T.field_goal_where, goalWhere, T.hint_where, "settings.goal.where"),
      row(T.field_holdout, numberInput(settings.holdout_percent, 0, 50, function (v) { settings.holdout_percent = v; }),
          T.hint_holdout, "settings.holdout_percent"),
      row(T.field_conversion, numberInput(settings.conversion_days, 1, 90, function (v) {
        settings.conversion_days = v;
      }), T.hint_conversion, "settings.conversion_days"),
      labelled(T.field_filter, jsonInput(settings.filter, function (v) { settings.filter = v; }, "settings.filter",
                                         true), T.hint_filter, "settings.filter")
    ];
  }

  function deleteControls(id, node) {
    var exits = exitsOf(node);
    var box = h("div", { "class": "je-delete" });
    var keep = null;
    if (exits.length > 1) {
      keep = select(exits.map(function (exit) {
        var next = target(id, exit.key);
        return [exit.key, exit.label + " → " + (next ? titleOf(next) : T.end)];
      }), exits[0].key, function () { return undefined; });
      box.appendChild(row(T.keep_branch, keep, T.hint_keep_branch));
    }
    var go = h("button", { type: "button", "class": "button button--danger", text: T.delete_step });
    go.addEventListener("click", function () {
      remove(id, keep ? keep.value : null);
      close();
      changed();
    });
    box.appendChild(go);
    return box;
  }

  function showPanel(heading, parts, id) {
    var close_ = h("button", { type: "button", "class": "button button--quiet je-panel__close", text: T.close });
    close_.addEventListener("click", close);
    var head = h("div", { "class": "je-panel__head" }, [h("h2", { id: "je-panel-title", text: heading }), close_]);
    var body = h("div", { "class": "form je-panel__body" });
    if (id) {
      var problems = errorsAt(id);
      if (problems.length) {
        var list = h("ul", { "class": "alert alert--error je-panel__errors", role: "alert" });
        problems.forEach(function (path) { list.appendChild(h("li", { text: errors[path] })); });
        body.appendChild(list);
      }
    }
    parts.forEach(function (part) { body.appendChild(part); });
    panel.replaceChildren(head, body);
    if (id) { markInvalid(id); }
    if (!editable) {
      panel.querySelectorAll("input, select, textarea").forEach(function (input) { input.disabled = true; });
      panel.querySelectorAll(".je-panel__body button").forEach(function (b) { b.remove(); });
    }
    panel.hidden = false;
    root.classList.add("je--panel-open");
    var first = panel.querySelector(".je-panel__body input:not([disabled]), .je-panel__body select:not([disabled]), " +
                                    ".je-panel__body textarea:not([disabled]), .je-panel__body button");
    (first || close_).focus();
  }

  function markInvalid(id) {
    errorsAt(id).forEach(function (path) {
      var key = id === TRIGGER ? path : path.split(".").slice(2).join(".");
      while (key) {
        var wrap = panel.querySelector('[data-key="' + key + '"]');
        if (wrap) {
          wrap.classList.add("field--invalid");
          var input = wrap.querySelector("input, select, textarea");
          if (input) { input.setAttribute("aria-invalid", "true"); }
          return;
        }
        key = key.indexOf(".") > 0 ? key.slice(0, key.lastIndexOf(".")) : "";
      }
    });
  }

  function open(id) {
    lastFocus = id;
    selected = id;
    if (id === TRIGGER) {
      showPanel(T.trigger_and_settings, triggerForm(), TRIGGER);
    } else {
      var node = def.nodes[id];
      if (!node) { return; }
      var parts = nodeForm(id, node);
      parts.unshift(h("p", { "class": "muted", text: T.step_id + " " + id }));
      if (editable) { parts.push(deleteControls(id, node)); }
      showPanel(T["type_" + node.type] || node.type, parts, id);
    }
    draw();
  }

  function openAdd(from, key, atEnd) {
    lastFocus = from;
    selected = null;
    var grid = h("div", { "class": "je-types" });
    TYPES.forEach(function (type) {
      if (type === "exit" && !atEnd) { return; }
      var choose = h("button", { type: "button", "class": "je-type je-type--" + type, "data-type": type }, [
        h("strong", { text: T["type_" + type] }), h("span", { text: T["about_" + type] })]);
      choose.addEventListener("click", function () {
        var id = insert(from, key, type);
        changed();
        open(id);
      });
      grid.appendChild(choose);
    });
    showPanel(T.add_step + " — " + titleOf(from), [grid], null);
    draw();
  }

  function close() {
    panel.hidden = true;
    panel.replaceChildren();
    root.classList.remove("je--panel-open");
    selected = null;
    draw();
    var back = lastFocus ? canvas.querySelector('[data-node="' + lastFocus + '"]') : null;
    if (back) { back.focus(); }
  }

  // Keeping the form's JSON field in step with the diagram -----------------------------------------------------------

  function changed() {
    if (field) { field.value = JSON.stringify(def, null, 2); }
    root.classList.add("je--changed");
    draw();
  }

  if (field) {
    field.addEventListener("change", function () {
      try {
        def = normalise(JSON.parse(field.value));
        draw();
      } catch (problem) {
        window.alert(T.bad_json);
      }
    });
  }

  if (form) {
    form.addEventListener("submit", function (event) {
      if (Object.keys(badJson).length) {
        event.preventDefault();
        window.alert(T.fix_json_first);
        return;
      }
      field.value = JSON.stringify(def);
      root.classList.remove("je--changed");
    });
  }

  window.addEventListener("beforeunload", function (event) {
    if (root.classList.contains("je--changed")) { event.preventDefault(); event.returnValue = ""; }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) { close(); }
  });

  document.querySelectorAll("[data-error-path]").forEach(function (item) {
    var path = item.getAttribute("data-error-path");
    var id = /^nodes\.([^.]+)/.test(path) ? path.split(".")[1] : TRIGGER;
    if (id !== TRIGGER && !def.nodes[id]) { return; }
    var go = h("button", { type: "button", "class": "button button--quiet", text: T.show_step });
    go.addEventListener("click", function () { open(id); });
    item.appendChild(go);
  });

  var settingsButton = document.querySelector("[data-open-settings]");
  if (settingsButton) { settingsButton.addEventListener("click", function () { open(TRIGGER); }); }

  var datalist = h("datalist", { id: "je-event-names" });
  (options.events || []).forEach(function (name) { datalist.appendChild(h("option", { value: name })); });
  root.appendChild(datalist);

  draw();
}());
