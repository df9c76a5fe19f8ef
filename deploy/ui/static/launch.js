// The Launch page: every 2 s, the stack's components (state, pid, restarts) and each one's log tail.
// Text only, never HTML.
"use strict";

(function () {
  const REFRESH_MS = 2000;
  const rows = document.querySelector("#components tbody");
  const logs = document.getElementById("logs");
  const note = document.getElementById("components-note");

  function cell(text, className) {
    const td = document.createElement("td");
    if (className) {
      const span = document.createElement("span");
      span.className = className;
      span.textContent = text;
      td.appendChild(span);
    } else {
      td.textContent = text;
    }
    return td;
  }

  function row(component) {
    const tr = document.createElement("tr");
    tr.dataset.component = component.name;
    tr.append(
      cell(component.name),
      cell(component.state, "state state-" + component.state),
      cell(component.pid === null ? "" : String(component.pid)),
      cell(String(component.restarts)),
      cell(component.exit_code === null ? "" : String(component.exit_code)),
    );
    return tr;
  }

  async function getJson(url) {
    const reply = await fetch(url, {headers: {"Accept": "application/json"}});
    const body = await reply.json();
    if (body.status !== "success") throw new Error(body.message);
    return body;
  }

  async function logBlock(component) {
    const block = document.createElement("div");
    block.className = "log";
    block.dataset.component = component.name;
    const title = document.createElement("h3");
    title.textContent = component.name + " (" + component.log + ")";
    const pre = document.createElement("pre");
    try {
      pre.textContent = (await getJson("/api/launch/log/" + encodeURIComponent(component.name))).lines.join("\n");
    } catch (e) {
      pre.textContent = "cannot read the log: " + e.message;
    }
    block.append(title, pre);
    return block;
  }

  async function refresh() {
    try {
      const body = await getJson("/api/launch/components");
      rows.replaceChildren(...body.components.map(row));
      logs.replaceChildren(...await Promise.all(body.components.map(logBlock)));
      note.textContent = body.components.length ? "" : "the stack has not started any component yet";
      note.className = "note";
    } catch (e) {
      note.textContent = "cannot read the components: " + e.message;
      note.className = "field-error";
    }
    setTimeout(refresh, REFRESH_MS);
  }

  refresh();
})();
