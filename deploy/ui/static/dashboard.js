// The dashboard, live: re-reads /api/state when the relayed /events stream says something changed.
// Everything from the master is put in the page with textContent, never as HTML.
"use strict";

(function () {
  const KINDS = ["task_created", "task_state", "subtask_state", "replan", "effects", "scene_loaded",
                 "robot_registered", "robot_offline", "robot_online", "robot_degraded", "robot_state", "message"];
  const SAFETY_POLL_MS = 10000;  // in case an event kind this page does not know changed something
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  let pending = null;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "class") node.className = value;
      else if (name.startsWith("data-")) node.setAttribute(name, value);
      else node[name] = value;
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function stateBadge(state) {
    return el("span", {class: "state state-" + state.replace(/[^a-z_]/g, "")}, state);
  }

  function robotRow(r) {
    const online = r.online ? "online" : "offline";
    return el("tr", {"data-robot": r.name},
      el("td", {}, r.name), el("td", {}, r.embodiment), el("td", {class: online}, online),
      el("td", {}, stateBadge(r.state), r.degraded ? " (" + r.degraded + ")" : null),
      el("td", {}, r.place), el("td", {}, r.holding.join(", ")), el("td", {}, r.current_subtask));
  }

  function subtaskItem(s) {
    return el("li", {"data-subtask-id": s.subtask_id, "data-state": s.state},
      stateBadge(s.state), " ", el("b", {}, s.subtask_id), " [" + s.robot + "] " + s.text,
      s.depends_on.length ? el("span", {class: "note"}, " after " + s.depends_on.join(", ")) : null,
      s.reason ? el("span", {class: "reason"}, s.reason) : null);
  }

  function taskArticle(t) {
    const cancel = t.cancellable
      ? el("button", {type: "button", class: "cancel", "data-task-id": t.task_id}, "Cancel") : null;
    return el("article", {class: "task", "data-task-id": t.task_id, "data-state": t.state},
      el("h3", {}, el("span", {class: "task-id"}, t.task_id), " ", stateBadge(t.state), " ", cancel),
      el("p", {class: "task-text"}, t.text),
      t.reason ? el("p", {class: "reason"}, t.reason) : null,
      el("ol", {class: "subtasks"}, ...t.subtasks.map(subtaskItem)));
  }

  let shown = {robots: "", tasks: ""};  // what the page shows, to leave unchanged parts alone

  function render(state) {
    const robots = JSON.stringify(state.robots), tasks = JSON.stringify(state.tasks);
    if (robots !== shown.robots) {
      document.querySelector("#robots tbody").replaceChildren(...state.robots.map(robotRow));
      lastRobots = state.robots.map((r) => ({name: r.name, status: r.state, online: r.online}));
      drawLive();  // robots' states show in the scene too
    }
    if (tasks !== shown.tasks) document.getElementById("tasks").replaceChildren(...state.tasks.map(taskArticle));
    shown = {robots, tasks};
    for (const a of document.querySelectorAll("article.task")) {
      a.classList.toggle("picked", a.getAttribute("data-task-id") === picked);
    }
  }

  function showError(message) {
    const box = document.getElementById("master-error");
    box.textContent = message;
    box.hidden = !message;
  }

  async function call(method, url, body) {
    const options = {method, credentials: "same-origin", headers: {"X-CSRF-Token": csrf}};
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(url, options);
    if (response.status === 401) window.location.assign("/login");
    const reply = await response.json().catch(() => ({message: "HTTP " + response.status}));
    return {ok: response.ok, reply};
  }

  async function refresh() {
    pending = null;
    try {
      const {ok, reply} = await call("GET", "/api/state");
      if (ok) { render(reply); showError(""); } else showError(reply.message || "the UI server failed");
    } catch (e) {
      showError("cannot reach the UI server");
    }
  }

  function soon() {
    if (pending === null) pending = setTimeout(refresh, 30);
  }

  function live(on, text) {
    const badge = document.getElementById("live");
    badge.textContent = text;
    badge.className = "live " + (on ? "on" : "off");
  }

  // -- pictures: the scene now (or at the slider's time) and the picked task's timeline ---------

  const MAX_HISTORY = 10000;  // the master keeps about as many events
  const history = [];
  let picked = null;  // the task id whose timeline is drawn; null: the newest
  let following = true;  // the slider is at its end: draw the live scene
  let slider = null;
  let lastRobots = [];
  let liveScene = null;  // the scene as GET /scene gave it, advanced by each event since
  let timelinePending = null;

  function remember(message) {
    let event;
    try { event = JSON.parse(message.data); } catch (e) { return null; }
    history.push(event);
    if (history.length > MAX_HISTORY) history.splice(0, history.length - MAX_HISTORY);
    return event;
  }

  function drawLive() {
    if (!following || liveScene === null || !window.RoboPictures) return;
    window.RoboPictures.drawScene(document.getElementById("scene"), liveScene, lastRobots);
    document.getElementById("scene-when").textContent = "now";
  }

  async function fetchScene() {
    const {ok, reply} = await call("GET", "/api/scene");
    if (ok) { liveScene = reply; drawLive(); }
  }

  function sceneEvent(event) {
    // Draw the change from the event itself; fetch the whole scene only when one was missed.
    if (liveScene === null || !window.RoboPictures) return;
    const version = event.data && event.data.version;
    if (Number.isInteger(version) && version <= liveScene.version) return;  // already in
    if (Number.isInteger(version) && version > liveScene.version + 1) { fetchScene(); return; }
    const next = window.RoboPictures.advance(liveScene, event);
    if (next !== null) { liveScene = next; drawLive(); }
  }

  async function drawTimeline() {
    timelinePending = null;
    if (!window.RoboPictures) return;
    const taskId = picked || (document.querySelector("#tasks article") || {dataset: {}}).dataset.taskId;
    if (!taskId) return;
    const {ok, reply} = await call("GET", "/api/tasks/" + encodeURIComponent(taskId));
    if (!ok) return;
    const events = history.filter((e) => e.task_id === taskId);
    window.RoboPictures.drawTimeline(document.getElementById("timeline"), reply, events);
    document.getElementById("timeline-task").textContent = "task " + taskId + (picked ? "" : " (newest)");
  }

  function timelineSoon() {
    if (timelinePending === null) timelinePending = setTimeout(drawTimeline, 30);
  }

  function startSlider() {
    if (!window.RoboPictures || slider) return;
    const input = document.getElementById("time");
    slider = window.RoboPictures.attachSlider(input, history, (scene, t) => {
      const atEnd = Number(input.value) >= Number(input.max);
      if (atEnd) {
        if (!following) { following = true; drawLive(); }  // back to now
        return;
      }
      following = false;
      window.RoboPictures.drawScene(document.getElementById("scene"), scene, []);
      document.getElementById("scene-when").textContent = "at " + new Date(t * 1000).toLocaleTimeString();
    });
  }

  function pick(event) {
    const article = event.target.closest("article.task");
    if (!article || event.target.closest("button")) return;
    picked = article.getAttribute("data-task-id");
    for (const a of document.querySelectorAll("article.task")) a.classList.toggle("picked", a === article);
    timelineSoon();
  }

  function connect() {
    const source = new EventSource("/api/events?since=0");
    source.addEventListener("open", () => { live(true, "live"); soon(); startSlider(); fetchScene(); timelineSoon(); });
    source.addEventListener("error", () => live(false, "reconnecting"));
    for (const kind of KINDS) {
      source.addEventListener(kind, (message) => {
        const event = remember(message);
        if (event === null) return;
        sceneEvent(event);
        if (slider) slider.setEvents(history);
        if (event.task_id) timelineSoon();
        soon();  // the tables: states, places, holdings
      });
    }
  }

  async function publish(event) {
    event.preventDefault();
    const input = document.getElementById("task-text");
    const result = document.getElementById("publish-result");
    result.textContent = "planning...";
    try {
      const {ok, reply} = await call("POST", "/api/publish", {task: input.value});
      result.textContent = reply.message || (ok ? "published" : "failed");
      if (ok) input.value = "";
    } catch (e) {
      result.textContent = "cannot reach the UI server";
    }
    soon();
  }

  async function cancel(event) {
    const button = event.target.closest("button.cancel");
    if (!button) return;
    button.disabled = true;
    const id = button.getAttribute("data-task-id");
    const {ok, reply} = await call("POST", "/api/tasks/" + encodeURIComponent(id) + "/cancel", {});
    if (!ok) showError(reply.message || "cancel failed");
    soon();
  }

  document.getElementById("publish-form").addEventListener("submit", publish);
  document.getElementById("tasks").addEventListener("click", cancel);
  document.getElementById("tasks").addEventListener("click", pick);
  connect();
  setInterval(soon, SAFETY_POLL_MS);
})();
