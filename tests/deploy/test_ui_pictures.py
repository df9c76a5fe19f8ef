"""The UI's pictures (deploy/ui/static/pictures.js) in headless Chromium, on fixtures from a real master.

The fixtures (ui_fixtures/<scene>.json) were recorded by ui_fixtures/make_fixtures.py from
``roboos up``: GET /scene, GET /robots, GET /tasks/<id> and GET /events?since=0 after one task.
The replay in the browser (``sceneAt``) is checked against the Python side: the scene graph's own
effect code replaying the same events, ``EventLog.location_at`` over the events written to a real
Redis stream, and the master's final GET /scene.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import http.server
import itertools
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from deploy.chromium import HEADLESS_ARGS, MISSING_HINT, chromium_path
from memory import SharedMemory
from memory.messages import Effect
from memory.profiles import SceneNode

# The master's own effect code (private, but it is the reference answer for a replay).
from memory.scene_graph import _plan_change

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "ui_fixtures"
PAGE = "tests/deploy/ui_fixtures/pictures_page.html"
CHROMIUM = chromium_path()
SERVED = ("/deploy/ui/static/", "/tests/deploy/ui_fixtures/")
XSS = "<img src=x onerror=alert(1)>"
HTML_TEXT = "<b>bold</b><script>alert(2)</script>"


def fixture_data(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


# -- the Python side's answers ------------------------------------------------------------------


def scene_at(events: list[dict], t: float) -> dict[str, dict]:
    """Name -> node dict at ``t``: the events up to ``t`` replayed with the scene graph's effect code."""
    nodes: dict[str, SceneNode] = {}
    for event in events:
        if event["ts"] > t:
            continue
        data = event["data"]
        if event["kind"] == "scene_loaded":
            nodes = {n["name"]: SceneNode.from_dict(n) for n in data["nodes"]}
        elif event["kind"] == "effects":
            raw = {name: json.dumps(node.to_dict()) for name, node in nodes.items()}
            change = _plan_change(raw, [Effect.from_dict(e) for e in data["effects"]])
            nodes.update(change.writes)
        elif event["kind"] == "robot_registered" and isinstance(data.get("node"), dict):
            nodes.setdefault(data["node"]["name"], SceneNode.from_dict(data["node"]))
    return {name: node.to_dict() for name, node in sorted(nodes.items())}


def sample_times(events: list[dict]) -> list[float]:
    """Before everything, at every event, between consecutive events, after everything."""
    stamps = sorted({e["ts"] for e in events})
    between = [(a + b) / 2 for a, b in itertools.pairwise(stamps)]
    return sorted([stamps[0] - 1, *stamps, *between, stamps[-1] + 1])


async def locations_at(redis_url: str, prefix: str, events: list[dict], names: list[str],
                       times: list[float]) -> dict[tuple[str, float], str | None]:
    """``EventLog.location_at`` for each name and time, over ``events`` written with their own ids."""
    memory = await SharedMemory.connect(redis_url, prefix=prefix)
    try:
        for e in events:
            data = {k: v for k, v in e["data"].items() if k != "version"}
            fields = {"data": json.dumps({"ts": e["ts"], "kind": e["kind"], "robot": e["robot"],
                                         "task_id": e["task_id"], "data": data})}
            if "version" in e["data"]:
                fields["version"] = str(e["data"]["version"])
            await memory.redis.xadd(memory.keys.events, fields, id=e["id"])
        return {(n, t): await memory.events.location_at(n, t) for n in names for t in times}
    finally:
        await memory.clear()
        await memory.close()


# -- browser and page ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: {MISSING_HINT}")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is absent: pip install playwright")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=HEADLESS_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class _Handler(http.server.SimpleHTTPRequestHandler):
    """The script and the fixture folder only; quiet."""

    def send_head(self):  # the base class' signature
        if not self.path.startswith(SERVED):
            self.send_error(404, "not served")
            return None
        return super().send_head()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    handler = functools.partial(_Handler, directory=str(ROOT))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Page:
    """A page showing one fixture, with what went wrong on it recorded."""

    def __init__(self, browser: Any, base_url: str, fixture: str) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.page.goto(f"{base_url}/{PAGE}?fixture={fixture}")
        assert self.page.evaluate("window.pageReady") == fixture

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def js(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)

    def scene_groups(self) -> dict[str, dict]:
        """Each drawn node: its kind, classes, label and the node whose group holds it."""
        return self.js("""() => Object.fromEntries([...document.querySelectorAll('#scene g.node')].map(g => [
            g.dataset.name,
            {kind: g.dataset.kind, classes: [...g.classList], label: g.querySelector(':scope > text').textContent,
             within: g.parentNode.closest('g.node')?.dataset.name ?? null}]))""")


@pytest.fixture
def restaurant(browser: Any, base_url: str) -> Iterator[Page]:
    page = Page(browser, base_url, "restaurant")
    try:
        yield page
    finally:
        page.page.close()


# -- replay ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["restaurant", "apartment"])
def test_scene_at_replays_as_python_does(browser: Any, base_url: str, name: str) -> None:
    fixture = fixture_data(name)
    events, times = fixture["events"], sample_times(fixture["events"])
    page = Page(browser, base_url, name)
    try:
        drawn = page.js("([events, times]) => times.map(t => RoboPictures.sceneAt(events, t))", [events, times])
    finally:
        page.page.close()
    for t, scene in zip(times, drawn, strict=True):
        assert {n["name"]: n for n in scene["nodes"]} == scene_at(events, t), f"scene at {t}"
        assert [n["name"] for n in scene["nodes"]] == sorted(n["name"] for n in scene["nodes"])
    assert drawn[0] == {"version": 0, "nodes": []}
    assert drawn[-1] == fixture["scene"]  # the master's GET /scene after the task, version included


def test_scene_at_agrees_with_location_at(restaurant: Page, redis_url: str, key_prefix: str) -> None:
    events = fixture_data("restaurant")["events"]
    times = sample_times(events)
    names = sorted(n["name"] for n in events[0]["data"]["nodes"])
    with ThreadPoolExecutor(1) as pool:  # the sync Playwright API keeps an event loop in this thread
        expected = pool.submit(asyncio.run, locations_at(redis_url, key_prefix, events, names, times)).result(30)
    parents = restaurant.js("""([events, times]) => times.map(t => Object.fromEntries(
        RoboPictures.sceneAt(events, t).nodes.map(n => [n.name, n.parent])))""", [events, times])
    moved = set()
    for t, scene in zip(times, parents, strict=True):
        for name in names:
            assert scene.get(name) == expected[name, t], f"{name} at {t}"
            moved.add((name, scene.get(name)))
    assert ("bread", "chef") in moved and ("bread", "table_1") in moved  # the replay saw the task happen


# -- drawing --------------------------------------------------------------------------------------


def test_scene_draws_every_node_where_it_is(restaurant: Page) -> None:
    fixture = fixture_data("restaurant")
    scene = copy.deepcopy(fixture["scene"])
    scene["nodes"].append({"name": XSS, "kind": "object", "parent": "table_2", "relation": "on", "props": {}})
    restaurant.js("([scene, robots]) => RoboPictures.drawScene(document.getElementById('scene'), scene, robots)",
                  [scene, fixture["robots"]])
    groups = restaurant.scene_groups()
    assert set(groups) == {n["name"] for n in scene["nodes"]}
    for node in scene["nodes"]:
        drawn = groups[node["name"]]
        assert drawn["kind"] == node["kind"] and f"kind-{node['kind']}" in drawn["classes"]
        assert drawn["label"].startswith(node["name"])
        assert drawn["within"] == node["parent"], node["name"]  # places are top level, the rest inside
    assert groups["fridge"]["label"] == "fridge (open)" and "open" in groups["fridge"]["classes"]
    assert "status-idle" in groups["chef"]["classes"] and groups["chef"]["label"] == "chef (idle)"
    assert groups[XSS]["label"] == XSS
    assert restaurant.js("document.querySelectorAll('img').length") == 0
    assert restaurant.dialogs == [] and restaurant.errors == []


def test_scene_drawing_is_stable(restaurant: Page) -> None:
    scene = fixture_data("restaurant")["scene"]
    shuffled = {**scene, "nodes": list(reversed(scene["nodes"]))}
    drawn = restaurant.js("""([a, b]) => {
        const svg = document.getElementById('scene');
        const once = RoboPictures.drawScene(svg, a, []).outerHTML;
        const again = RoboPictures.drawScene(svg, a, []).outerHTML;
        return [once, again, RoboPictures.drawScene(svg, b, []).outerHTML];
    }""", [scene, shuffled])
    assert drawn[0] == drawn[1] == drawn[2]


def test_doors_and_containers_show_open_closed(browser: Any, base_url: str, tmp_path: Path) -> None:
    page = Page(browser, base_url, "apartment")
    try:
        groups = page.scene_groups()
        page.page.screenshot(path=str(tmp_path / "apartment.png"), full_page=True)
    finally:
        page.page.close()
    assert groups["balcony_door"]["label"] == "balcony_door (closed, locked)"
    assert {"closed", "locked"} <= set(groups["balcony_door"]["classes"])
    assert groups["bathroom_door"]["label"] == "bathroom_door (open)"
    assert groups["balcony_door"]["within"] is None and groups["bedroom"]["within"] is None
    assert "closed" in groups["cookie_jar"]["classes"] and groups["cookie_jar"]["within"] == "bar_table"
    assert page.errors == [] and page.dialogs == []


def test_slider_replays_the_scene(restaurant: Page) -> None:
    events = fixture_data("restaurant")["events"]
    held = next(e["ts"] for e in events if e["kind"] == "effects"
                and any(x["node"] == "bread" and x.get("parent") == "chef" for x in e["data"]["effects"]))
    t0 = min(e["ts"] for e in events)
    slider = restaurant.page.locator("#slider")

    def slide_to(ms: int) -> dict[str, dict]:
        slider.evaluate("(el, ms) => { el.value = String(ms); el.dispatchEvent(new Event('input')); }", ms)
        return restaurant.scene_groups()

    assert slide_to(int(slider.get_attribute("max")))["bread"]["within"] == "table_1"
    assert slide_to(int((held - t0) * 1000) + 1)["bread"]["within"] == "chef"
    start = slide_to(0)
    assert set(start) == {n["name"] for n in events[0]["data"]["nodes"]}  # the scene as loaded
    assert start["bread"]["within"] == "kitchen_table"
    assert restaurant.js("document.getElementById('slider-time').textContent").startswith("20")
    assert restaurant.errors == []


def test_timeline_lanes_bars_and_arrows(restaurant: Page, tmp_path: Path) -> None:
    task = fixture_data("restaurant")["task"]
    drawn = restaurant.js("""() => ({
        lanes: [...document.querySelectorAll('#timeline g.lane')].map(g => g.dataset.robot),
        bars: [...document.querySelectorAll('#timeline g.bar')].map(g => ({
            id: g.dataset.subtask, robot: g.dataset.robot, classes: [...g.classList],
            width: +g.querySelector('rect').getAttribute('width')})),
        arrows: [...document.querySelectorAll('#timeline path.arrow')].map(p => [p.dataset.from, p.dataset.to,
            [...p.classList].filter(c => c !== 'arrow')[0]]),
        legend: [...document.querySelectorAll('#timeline g.legend text')].map(t => t.textContent),
    })""")
    restaurant.page.screenshot(path=str(tmp_path / "restaurant.png"), full_page=True)
    robots = {s["robot"] for s in task["subtasks"]}
    assert sorted(drawn["lanes"]) == sorted(robots)
    assert [(b["id"], b["robot"]) for b in drawn["bars"]] == [(s["subtask_id"], s["robot"]) for s in task["subtasks"]]
    assert all("state-succeeded" in b["classes"] and b["width"] >= 6 for b in drawn["bars"])
    robot_of = {s["subtask_id"]: s["robot"] for s in task["subtasks"]}
    expected = sorted((d, s["subtask_id"], "dependency" if robot_of[d] == s["robot"] else "handoff")
                      for s in task["subtasks"] for d in s["depends_on"])
    assert sorted(map(tuple, drawn["arrows"])) == expected
    assert ("s1", "s2", "handoff") in expected and ("s1", "s3", "dependency") in expected  # chef -> waiter; chef
    assert {"succeeded", "failed", "running", "waiting", "dependency"} <= set(drawn["legend"])
    assert restaurant.errors == [] and restaurant.dialogs == []


def test_timeline_colours_by_state(restaurant: Page) -> None:
    task = copy.deepcopy(fixture_data("restaurant")["task"])
    by_id = {s["subtask_id"]: s for s in task["subtasks"]}
    by_id["s2"].update(state="running", finished_at=None, text=HTML_TEXT)
    by_id["s3"].update(state="failed", reason=XSS)
    by_id["s4"].update(state="waiting", started_at=None, dispatched_at=None, finished_at=None)
    task["state"] = "running"
    now = by_id["s1"]["finished_at"] + 5
    fills = restaurant.js("""([task, now]) => {
        const svg = RoboPictures.drawTimeline(document.getElementById('timeline'), task, [], now);
        return Object.fromEntries([...svg.querySelectorAll('g.bar')].map(g => [g.dataset.subtask,
            [g.dataset.state, g.querySelector('rect').getAttribute('fill'), g.querySelector('title').textContent]]));
    }""", [task, now])
    colours = restaurant.js("RoboPictures.STATE_COLOURS")
    for sid, (state, fill, _) in fills.items():
        assert state == by_id[sid]["state"] and fill == colours[state]
    assert HTML_TEXT in fills["s2"][2] and XSS in fills["s3"][2]
    assert len({fill for _, fill, _ in fills.values()}) == 4
    assert restaurant.js("document.querySelectorAll('#timeline script, #timeline b, img').length") == 0
    assert restaurant.errors == [] and restaurant.dialogs == []
