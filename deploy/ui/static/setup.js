// The Setup page: a scene picked from the list loads at once, the LLM fields show only for an LLM
// planner, and "Test connection" asks the UI server for <base URL>/models. Text only, never HTML.
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const form = document.getElementById("setup-form");
  const scene = document.getElementById("scene");
  const planner = document.getElementById("planner");
  const llmFields = document.getElementById("llm-fields");
  const result = document.getElementById("connection-result");

  scene.addEventListener("change", function () {
    if (scene.value === "custom") document.getElementById("custom-scene").open = true;
    else form.requestSubmit(document.getElementById("load-scene"));
  });

  document.getElementById("scene_file").addEventListener("change", function () {
    scene.value = "custom";
    form.requestSubmit(document.getElementById("load-scene"));
  });

  function showLlmFields() {
    llmFields.hidden = planner.value === "symbolic";
  }
  planner.addEventListener("change", showLlmFields);
  showLlmFields();

  function offerModels(models) {
    const list = document.getElementById("model-list");
    list.replaceChildren(...models.map(function (id) {
      const option = document.createElement("option");
      option.value = id;
      return option;
    }));
  }

  async function testConnection() {
    result.textContent = "asking…";
    result.className = "note";
    try {
      const reply = await fetch("/api/setup/models", {
        method: "POST",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
        body: JSON.stringify({base_url: document.getElementById("base_url").value}),
      });
      const body = await reply.json();
      if (body.status === "success") {
        offerModels(body.models);
        result.textContent = "connected: " + (body.models.length ? body.models.join(", ") : "no models listed");
        result.className = "ok";
      } else {
        result.textContent = body.message;
        result.className = "field-error";
      }
    } catch (e) {
      result.textContent = "the UI server did not answer: " + e;
      result.className = "field-error";
    }
  }
  document.getElementById("test-connection").addEventListener("click", testConnection);
})();
