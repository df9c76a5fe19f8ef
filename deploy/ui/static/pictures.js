/* RoboOS pictures: the scene graph, a task timeline and a time slider, drawn as SVG.
 *
 * Plain ES2020, no dependencies. Inputs are the master's JSON as it comes: the `data` of
 * GET /scene ({version, nodes}), of GET /robots (a list), of GET /tasks/<id>, and the events of
 * GET /events (each {id, ts, kind, robot, task_id, data}). Names are set with textContent and
 * setAttribute only, so a name like <img src=x onerror=alert(1)> shows as text.
 *
 *   RoboPictures.drawScene(svg, scene, robots)
 *   RoboPictures.sceneAt(events, t)            -> {version, nodes} as GET /scene
 *   RoboPictures.advance(scene, event)         -> the scene after one event, or null
 *   RoboPictures.drawTimeline(svg, task, events, now?)
 *   RoboPictures.attachSlider(input, events, onScene) -> {setEvents(events), detach()}
 *
 * Layout is computed from the data alone (character counts, not measured text), so the same
 * input gives the same drawing.
 */
(function () {
  "use strict";

  const SVG_NS = "http://www.w3.org/2000/svg";
  const CHAR_W = 7; // estimated width of one character at FONT_PX
  const FONT_PX = 12;
  const MAX_LABEL = 32; // longer names are cut, the full name is in the <title>
  const PAD = 6;
  const LINE_H = 18;
  const PLACE_W = 380; // a place's box width; its contents flow in rows within it

  // -- SVG helpers -----------------------------------------------------------------------------

  function el(tag, attrs, parent) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    if (parent) parent.appendChild(node);
    return node;
  }

  function text(parent, x, y, content, cls) {
    const node = el("text", { x, y, class: cls || "label", "font-size": FONT_PX }, parent);
    node.textContent = content;
    return node;
  }

  function title(parent, content) {
    el("title", {}, parent).textContent = content;
  }

  function clear(svg) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
  }

  function shortName(name) {
    const s = String(name);
    return s.length > MAX_LABEL ? s.slice(0, MAX_LABEL - 1) + "\u2026" : s;
  }

  function labelWidth(content) {
    return Math.min(String(content).length, MAX_LABEL) * CHAR_W + 2 * PAD;
  }

  function byName(a, b) {
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  }

  // -- Replay -----------------------------------------------------------------------------------

  function copyNode(node) {
    return {
      name: node.name,
      kind: node.kind,
      parent: node.parent ?? null,
      relation: node.relation ?? null,
      props: { ...(node.props || {}) },
    };
  }

  function applyEffect(nodes, effect, robot) {
    let node = nodes.get(effect.node);
    if (node === undefined) {
      // The history was capped before this node appeared: keep what the effect says.
      node = copyNode({ name: effect.node, kind: effect.node === robot ? "robot" : "unknown" });
      nodes.set(node.name, node);
    }
    if (effect.op === "move") {
      node.parent = effect.parent;
      node.relation = effect.relation || node.relation;
    } else if (effect.op === "set" && effect.props && typeof effect.props === "object") {
      node.props = { ...node.props, ...effect.props };
    }
  }

  function applyEvent(nodes, event) {
    const data = event.data || {};
    if (event.kind === "scene_loaded") {
      nodes.clear();
      for (const node of data.nodes || []) nodes.set(node.name, copyNode(node));
    } else if (event.kind === "effects") {
      for (const effect of data.effects || []) applyEffect(nodes, effect, event.robot);
    } else if (event.kind === "robot_registered" && data.node && typeof data.node === "object") {
      if (!nodes.has(data.node.name)) nodes.set(data.node.name, copyNode(data.node));
    } else {
      return false;
    }
    return true;
  }

  /** The scene at time t (seconds, as events' ts), replayed from the history in stream order:
   * {version, nodes} shaped as GET /scene's data, nodes sorted by name. */
  function sceneAt(events, t) {
    const nodes = new Map();
    let version = 0;
    for (const event of events || []) {
      if (!(event.ts <= t)) continue;
      if (applyEvent(nodes, event) && Number.isInteger(event.data && event.data.version)) {
        version = event.data.version;
      }
    }
    return { version, nodes: [...nodes.values()].sort(byName) };
  }

  /** The scene ({version, nodes}) after one more event, or null when the event does not change
   * the scene: lets a live page draw each change without fetching the whole scene again. */
  function advance(scene, event) {
    const nodes = new Map((scene.nodes || []).map((n) => [n.name, copyNode(n)]));
    if (!applyEvent(nodes, event)) return null;
    const version = event.data && event.data.version;
    return { version: Number.isInteger(version) ? version : scene.version, nodes: [...nodes.values()].sort(byName) };
  }

  // -- Scene layout -----------------------------------------------------------------------------

  const KIND_ORDER = { furniture: 0, container: 1, door: 2, robot: 3, object: 4 };

  function kindRank(node) {
    return KIND_ORDER[node.kind] ?? 5;
  }

  function childrenIndex(nodes) {
    const names = new Set(nodes.map((n) => n.name));
    const children = new Map();
    const roots = [];
    for (const node of nodes) {
      if (node.parent && names.has(node.parent) && node.parent !== node.name) {
        if (!children.has(node.parent)) children.set(node.parent, []);
        children.get(node.parent).push(node);
      } else {
        roots.push(node);
      }
    }
    const order = (a, b) => kindRank(a) - kindRank(b) || byName(a, b);
    for (const list of children.values()) list.sort(order);
    return { children, roots: roots.sort(order) };
  }

  function nodeState(node) {
    const props = node.props || {};
    const states = [];
    if (props.open === true) states.push("open");
    if (props.open === false) states.push("closed");
    if (props.locked === true) states.push("locked");
    return states;
  }

  function headerText(node, robot) {
    const states = nodeState(node);
    if (robot) states.push(robot.online === false ? "offline" : robot.status || "");
    const extra = states.filter(Boolean);
    return extra.length ? `${shortName(node.name)} (${extra.join(", ")})` : shortName(node.name);
  }

  // A box: {node, w, h, kids: [{box, x, y}]}. Places flow their contents in rows; everything
  // else stacks its contents in a column.
  function measure(node, ctx, seen) {
    seen.add(node.name);
    const kids = (ctx.children.get(node.name) || []).filter((k) => !seen.has(k.name));
    const boxes = kids.map((k) => measure(k, ctx, seen));
    const robot = node.kind === "robot" ? ctx.robots.get(node.name) : undefined;
    const header = headerText(node, robot);
    const box = { node, robot, header, w: labelWidth(header) + PAD, h: LINE_H + PAD, kids: [] };
    if (node.kind === "place") flowRows(box, boxes);
    else stackColumn(box, boxes);
    return box;
  }

  function stackColumn(box, boxes) {
    let y = LINE_H + PAD;
    for (const kid of boxes) {
      box.kids.push({ box: kid, x: PAD, y });
      y += kid.h + PAD;
      box.w = Math.max(box.w, kid.w + 2 * PAD);
    }
    box.h = Math.max(box.h, y);
  }

  function flowRows(box, boxes) {
    box.w = Math.max(box.w, PLACE_W);
    let x = PAD;
    let y = LINE_H + PAD;
    let rowH = 0;
    for (const kid of boxes) {
      if (x > PAD && x + kid.w > PLACE_W - PAD) {
        x = PAD;
        y += rowH + PAD;
        rowH = 0;
      }
      box.kids.push({ box: kid, x, y });
      x += kid.w + PAD;
      rowH = Math.max(rowH, kid.h);
      box.w = Math.max(box.w, x);
    }
    box.h = y + rowH + PAD;
  }

  const KIND_STYLE = {
    place: ["#f7f9fc", "#8a99ad"],
    furniture: ["#efe6d8", "#a08660"],
    container: ["#e6efe3", "#6f9a62"],
    door: ["#eeeeee", "#777777"],
    robot: ["#dce9fb", "#2f6db5"],
    object: ["#fff6d6", "#c2a23a"],
  };

  function render(box, x, y, parent) {
    const node = box.node;
    const classes = ["node", `kind-${node.kind}`, ...nodeState(node)];
    const robot = box.robot;
    if (robot) classes.push(`status-${robot.online === false ? "offline" : robot.status}`);
    const g = el("g", {
      class: classes.join(" "),
      transform: `translate(${x},${y})`,
      "data-name": node.name,
      "data-kind": node.kind,
      "data-relation": node.relation || "",
    }, parent);
    title(g, `${node.name} (${node.kind}${node.relation ? `, ${node.relation} ${node.parent}` : ""})`);
    const [fill, stroke] = KIND_STYLE[node.kind] || ["#ffffff", "#999999"];
    el("rect", {
      class: "box", width: box.w, height: box.h, rx: node.kind === "robot" ? 9 : 3, fill, stroke,
      "stroke-width": nodeState(node).includes("closed") ? 2 : 1,
      "stroke-dasharray": nodeState(node).includes("open") ? "4 2" : "none",
    }, g);
    text(g, PAD, LINE_H - 4, box.header);
    for (const kid of box.kids) render(kid.box, kid.x, kid.y, g);
    return g;
  }

  /** Robots that GET /robots lists but the scene has no node for, placed at their position. */
  function withListedRobots(nodes, robots) {
    const names = new Set(nodes.map((n) => n.name));
    const extra = [];
    for (const [name, robot] of robots) {
      if (!names.has(name)) extra.push({ name, kind: "robot", parent: robot.position || null, relation: "at", props: {} });
    }
    return nodes.concat(extra);
  }

  function robotIndex(robots) {
    const index = new Map();
    for (const r of robots || []) {
      const name = r.profile ? r.profile.name : r.name;
      if (name) index.set(name, r);
    }
    return index;
  }

  /** Draw the scene ({version, nodes} of GET /scene or sceneAt, or a list of nodes) with the robots
   * of GET /robots (optional: their status is shown). Places in a grid, sorted by name; nodes
   * without a place (doors, orphans) in a last row. */
  function drawScene(svg, scene, robots) {
    const index = robotIndex(robots);
    const nodes = withListedRobots(Array.isArray(scene) ? scene : (scene && scene.nodes) || [], index);
    const ctx = { ...childrenIndex(nodes), robots: index };
    const seen = new Set();
    const places = ctx.roots.filter((n) => n.kind === "place").map((n) => measure(n, ctx, seen));
    const loose = ctx.roots.filter((n) => n.kind !== "place").map((n) => measure(n, ctx, seen));
    const cycles = nodes.filter((n) => !seen.has(n.name)).map((n) => measure({ ...n, parent: null }, ctx, seen));
    clear(svg);
    const root = el("g", { class: "scene", "font-family": "sans-serif", "data-version": scene.version ?? "" }, svg);
    const cols = Math.max(1, Math.ceil(Math.sqrt(places.length)));
    let y = PAD;
    let width = PLACE_W;
    for (let i = 0; i < places.length; i += cols) {
      const row = drawRow(root, places.slice(i, i + cols), PAD, y);
      [y, width] = [row.bottom, Math.max(width, row.right)];
    }
    const rest = loose.concat(cycles);
    if (rest.length) {
      const g = el("g", { class: "elsewhere", transform: `translate(0,${y})` }, root);
      text(g, PAD, LINE_H - 4, "elsewhere (doors, unplaced)", "heading");
      const row = drawRow(g, rest, PAD, LINE_H, Math.max(width, PLACE_W * cols));
      [y, width] = [y + row.bottom, Math.max(width, row.right)];
    }
    width += PAD;
    svg.setAttribute("viewBox", `0 0 ${width} ${y}`);
    svg.setAttribute("width", width);
    svg.setAttribute("height", y);
    return svg;
  }

  /** Boxes left to right from (x0, y), wrapping past maxRight (if given); the bottom and right edge. */
  function drawRow(root, boxes, x0, y, maxRight) {
    let [x, top, rowH, right] = [x0, y, 0, x0];
    for (const box of boxes) {
      if (maxRight && x > x0 && x + box.w > maxRight) {
        [x, top, rowH] = [x0, top + rowH + PAD, 0];
      }
      render(box, x, top, root);
      x += box.w + PAD;
      rowH = Math.max(rowH, box.h);
      right = Math.max(right, x);
    }
    return { bottom: top + rowH + PAD, right };
  }

  // -- Timeline ---------------------------------------------------------------------------------

  const STATE_COLOURS = {
    waiting: "#b8bec8",
    dispatched: "#9cc3e6",
    running: "#2f7ed8",
    succeeded: "#3a9d5d",
    failed: "#d64545",
    interrupted: "#e08a2c",
    timed_out: "#b5523b",
    cancelled: "#6f6f6f",
    superseded: "#c9b3e0",
  };
  const UNKNOWN_COLOUR = "#dddddd";
  const DEPENDENCY_COLOUR = "#555555";
  const HANDOFF_COLOUR = "#e0a100";
  const TERMINAL_TASK = new Set(["succeeded", "failed", "cancelled"]);
  const LANE_H = 30;
  const LABEL_W = 110;
  const TIMELINE_W = 820;
  const AXIS_H = 22;
  let markerSeq = 0;

  /** Times of each subtask: the record's fields, else the subtask_state events. */
  function subtaskTimes(task, events) {
    const seen = new Map();
    for (const e of events || []) {
      if (e.kind !== "subtask_state" || e.task_id !== task.task_id || !e.data) continue;
      const times = seen.get(e.data.subtask_id) || {};
      const state = e.data.state;
      const key = state === "dispatched" ? "dispatched" : state === "running" ? "started"
        : isTerminalSubtask(state) ? "finished" : null;
      if (key && (key === "finished" || times[key] === undefined)) times[key] = e.ts;
      seen.set(e.data.subtask_id, times);
    }
    const result = new Map();
    for (const s of task.subtasks || []) {
      const fromEvents = seen.get(s.subtask_id) || {};
      const start = s.started_at ?? s.dispatched_at ?? fromEvents.started ?? fromEvents.dispatched ?? null;
      const end = s.finished_at ?? (isTerminalSubtask(s.state) ? fromEvents.finished ?? null : null);
      result.set(s.subtask_id, { start, end });
    }
    return result;
  }

  function isTerminalSubtask(state) {
    return !["waiting", "dispatched", "running"].includes(state);
  }

  function timeSpan(times, now) {
    const points = [];
    for (const { start, end } of times.values()) {
      if (start !== null) points.push(start);
      if (end !== null) points.push(end);
    }
    const t0 = points.length ? Math.min(...points) : now;
    const t1 = Math.max(now, t0 + 0.001, ...points);
    return { t0, t1 };
  }

  function defaultNow(task, events) {
    const relevant = (events || []).filter((e) => e.task_id === task.task_id).map((e) => e.ts);
    const latest = relevant.length ? Math.max(...relevant) : 0;
    return TERMINAL_TASK.has(task.state) ? latest : Math.max(latest, Date.now() / 1000);
  }

  /** Draw a task (GET /tasks/<id>'s data): a lane per robot, a bar per subtask coloured by state,
   * arrows for dependencies (handoffs, across robots, drawn dashed in another colour). ``now``
   * (seconds) ends running bars; by default the task's last event if it has ended, else the clock. */
  function drawTimeline(svg, task, events, now) {
    now = now ?? defaultNow(task, events);
    const subtasks = task.subtasks || [];
    const lanes = [...new Set(subtasks.map((s) => s.robot))];
    const times = subtaskTimes(task, events);
    const { t0, t1 } = timeSpan(times, now);
    const scale = (TIMELINE_W - LABEL_W - 40) / (t1 - t0);
    const xOf = (t) => LABEL_W + (t - t0) * scale;
    const laneY = (robot) => AXIS_H + lanes.indexOf(robot) * LANE_H;
    clear(svg);
    const ids = defineMarkers(svg);
    const root = el("g", { class: "timeline", "font-family": "sans-serif", "data-task": task.task_id || "" }, svg);
    drawAxis(root, t0, t1, xOf, lanes.length);
    lanes.forEach((robot) => drawLane(root, robot, laneY(robot)));
    const bars = new Map();
    for (const s of subtasks) bars.set(s.subtask_id, placeBar(s, times.get(s.subtask_id), bars, { t0, now, xOf, laneY }));
    const arrows = el("g", { class: "arrows" }, root);
    for (const s of subtasks) drawArrows(arrows, s, bars, ids);
    const barLayer = el("g", { class: "bars" }, root);
    for (const s of subtasks) drawBar(barLayer, s, bars.get(s.subtask_id));
    const height = AXIS_H + lanes.length * LANE_H + 8;
    drawLegend(root, height, ids);
    svg.setAttribute("viewBox", `0 0 ${TIMELINE_W} ${height + 44}`);
    svg.setAttribute("width", TIMELINE_W);
    svg.setAttribute("height", height + 44);
    return svg;
  }

  function placeBar(s, time, bars, { t0, now, xOf, laneY }) {
    // A subtask not started yet sits after its dependencies (or at the start), as a short stub.
    const after = (s.depends_on || []).map((d) => bars.get(d)).filter(Boolean).map((b) => b.t1);
    const start = time.start ?? (after.length ? Math.max(...after) : t0);
    const end = time.end ?? (time.start !== null ? now : start);
    const x = xOf(start);
    const w = Math.max(6, xOf(end) - x);
    return { robot: s.robot, t1: end, x, w, y: laneY(s.robot) + 5, h: LANE_H - 10 };
  }

  function drawAxis(root, t0, t1, xOf, nLanes) {
    const axis = el("g", { class: "axis" }, root);
    const ticks = 5;
    for (let i = 0; i <= ticks; i++) {
      const t = t0 + ((t1 - t0) * i) / ticks;
      const x = xOf(t);
      el("line", { x1: x, x2: x, y1: AXIS_H - 4, y2: AXIS_H + nLanes * LANE_H, stroke: "#e3e3e3" }, axis);
      text(axis, x - 12, AXIS_H - 8, `+${(t - t0).toFixed(1)} s`, "tick");
    }
  }

  function drawLane(root, robot, y) {
    const g = el("g", { class: "lane", "data-robot": robot }, root);
    el("rect", { x: 0, y, width: TIMELINE_W, height: LANE_H, fill: "none", stroke: "#eeeeee" }, g);
    text(g, PAD, y + LANE_H / 2 + 4, shortName(robot), "label");
  }

  function drawBar(layer, s, bar) {
    const state = s.state || "unknown";
    const g = el("g", {
      class: `bar state-${state}`,
      "data-subtask": s.subtask_id,
      "data-robot": s.robot,
      "data-state": state,
    }, layer);
    title(g, `${s.subtask_id} (${s.robot}, ${state}): ${s.text || ""}${s.reason ? ` - ${s.reason}` : ""}`);
    el("rect", { x: bar.x, y: bar.y, width: bar.w, height: bar.h, rx: 3, fill: STATE_COLOURS[state] || UNKNOWN_COLOUR }, g);
    if (bar.w > 24) text(g, bar.x + 4, bar.y + bar.h / 2 + 4, s.subtask_id, "bar-label");
  }

  function drawArrows(layer, s, bars, ids) {
    const to = bars.get(s.subtask_id);
    for (const dep of s.depends_on || []) {
      const from = bars.get(dep);
      if (!from || !to) continue;
      const handoff = from.robot !== s.robot;
      el("path", {
        class: `arrow ${handoff ? "handoff" : "dependency"}`,
        "data-from": dep,
        "data-to": s.subtask_id,
        d: arrowPath(from, to),
        fill: "none",
        stroke: handoff ? HANDOFF_COLOUR : DEPENDENCY_COLOUR,
        "stroke-width": handoff ? 2 : 1.2,
        "stroke-dasharray": handoff ? "5 3" : "none",
        "marker-end": `url(#${handoff ? ids.handoff : ids.dependency})`,
      }, layer);
    }
  }

  /** Across lanes: from the end of one bar to the start of the other. In one lane: an arc over
   * the lane from the top of one bar to the top of the next, so back-to-back bars still show it. */
  function arrowPath(from, to) {
    const x1 = from.x + from.w;
    const x2 = to.x;
    if (from.y === to.y) {
      const [xa, xb] = [x1 - Math.min(8, from.w / 2), x2 + Math.min(8, to.w / 2)];
      const top = from.y - 4;
      return `M${xa},${from.y} C${xa},${top - 4} ${xb},${top - 4} ${xb},${to.y}`;
    }
    const [y1, y2] = [from.y + from.h / 2, to.y + to.h / 2];
    const bend = Math.max(12, Math.abs(x2 - x1) / 2);
    return `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`;
  }

  function defineMarkers(svg) {
    markerSeq += 1;
    const ids = { dependency: `rp-dep-${markerSeq}`, handoff: `rp-handoff-${markerSeq}` };
    const defs = el("defs", {}, svg);
    for (const [kind, colour] of [["dependency", DEPENDENCY_COLOUR], ["handoff", HANDOFF_COLOUR]]) {
      const marker = el("marker", {
        id: ids[kind], viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto",
      }, defs);
      el("path", { d: "M0,0 L10,5 L0,10 z", fill: colour }, marker);
    }
    return ids;
  }

  function drawLegend(root, y, ids) {
    const g = el("g", { class: "legend", transform: `translate(${PAD},${y})` }, root);
    let x = 0;
    for (const [state, colour] of Object.entries(STATE_COLOURS)) {
      const item = el("g", { class: `legend-item state-${state}` }, g);
      el("rect", { x, y: 4, width: 10, height: 10, fill: colour }, item);
      text(item, x + 14, 13, state, "legend-label");
      x += 22 + state.length * CHAR_W;
    }
    x = 0;
    for (const [kind, colour, dash] of [["dependency", DEPENDENCY_COLOUR, "none"], ["handoff", HANDOFF_COLOUR, "5 3"]]) {
      const item = el("g", { class: `legend-item arrow-${kind}` }, g);
      el("line", {
        x1: x, x2: x + 30, y1: 26, y2: 26, stroke: colour, "stroke-width": 2, "stroke-dasharray": dash,
        "marker-end": `url(#${ids[kind]})`,
      }, item);
      text(item, x + 36, 30, kind === "handoff" ? "handoff (another robot)" : "dependency", "legend-label");
      x += 200;
    }
  }

  // -- Slider -----------------------------------------------------------------------------------

  /** Wire an <input type=range> over the events' time span (milliseconds from the first event);
   * moving it calls onScene(sceneAt(events, t), t). At its right end t is the last event's ts,
   * and it stays at the end as setEvents() brings newer events. */
  function attachSlider(input, events, onScene) {
    let list = events || [];
    let t0 = 0;
    let t1 = 0;
    const timeAt = () => (Number(input.value) >= Number(input.max) ? t1 : t0 + Number(input.value) / 1000);
    const fire = () => {
      const t = timeAt();
      onScene(sceneAt(list, t), t);
    };
    // New events widen the range (a slider at its end stays there); the scene at the chosen time
    // does not change, so nothing is redrawn: onScene runs when attached and when the user moves it.
    const setEvents = (next) => {
      const atEnd = list.length === 0 || Number(input.value) >= Number(input.max);
      list = next || [];
      t0 = Infinity;
      t1 = -Infinity;
      for (const e of list) {
        if (Number.isFinite(e.ts)) { t0 = Math.min(t0, e.ts); t1 = Math.max(t1, e.ts); }
      }
      if (t0 > t1) t0 = t1 = 0;
      input.min = "0";
      input.max = String(Math.max(0, Math.ceil((t1 - t0) * 1000)));
      input.step = "1";
      if (atEnd) input.value = input.max;
    };
    input.addEventListener("input", fire);
    setEvents(list);
    fire();
    return {
      setEvents,
      detach: () => input.removeEventListener("input", fire),
      get span() {
        return { t0, t1 };
      },
    };
  }

  window.RoboPictures = Object.freeze({ drawScene, sceneAt, advance, drawTimeline, attachSlider, STATE_COLOURS });
})();
