"""``roboos bench ui``: how long a change to the world takes to show on the web UI's dashboard.

Example::

    roboos bench ui                          # 20 robots, 100 events
    roboos bench ui --robots 5 --events 10   # a quick look

What runs: a real Redis server (embedded, throwaway), the real master and the real UI as their own
processes, and the dashboard in headless Chromium. The scene (rooms, furniture, a few objects) and
the robots are written straight into shared memory: no slavers, no skills.

One trial: the page gets a MutationObserver that notes when the moved object's group first appears
under its new parent's group in ``svg#scene``; the bench notes ``time.time()`` right before
``scene.apply([Effect move])``. Latency is the page's time (``performance.timeOrigin +
performance.now()``) minus the bench's: both are this machine's wall clock, and the report prints how
far apart the two read. The path: Redis, the master's event feed and ``/events``, the UI's relay, the
page's EventSource, its redraw debounce, ``GET /api/scene`` (the UI asks the master's ``/scene``),
``drawScene``. A hook on the page's EventSource and Resource Timing split it into stages.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from deploy.chromium import HEADLESS_ARGS, MISSING_HINT, chromium_path

if TYPE_CHECKING:  # the modules below load only when the bench runs
    from playwright.async_api import Page

    from deploy.launcher import Launcher
    from memory import SharedMemory
    from memory.profiles import SceneNode

__all__ = ["Trial", "UIBenchResult", "add_ui_bench_arguments", "run_ui_bench"]

PREFIX = "bench:ui:"
TABLES = ("table_a", "table_b")  # the two parents the objects alternate between
OBJECTS = 6
ROOMS = 4
WARMUP = 2  # trials run before the counted ones, to get past first-request costs
START_TIMEOUT_S = 30.0
IDLE_MS = 1000  # how long the page is watched at rest for scene fetches
SERVER_SAMPLES = 20

# Before the page's scripts run: note when each "effects" event reaches a listener, with its data.
ARRIVALS_JS = """(() => {
  const arrivals = [];
  window.__uiBenchArrivals = arrivals;
  const add = EventSource.prototype.addEventListener;
  EventSource.prototype.addEventListener = function (type, listener, options) {
    const timed = type !== "effects" ? listener : function (message) {
      arrivals.push([performance.timeOrigin + performance.now(), message.data]);
      return listener.call(this, message);
    };
    return add.call(this, type, timed, options);
  };
})();"""

# Resolves with the page's wall-clock ms when `selector` first matches, or null after timeoutMs.
WATCH_JS = """({selector, timeoutMs}) => {
  if (document.querySelector(selector)) return false;
  window.__uiBench = new Promise((resolve) => {
    const done = (value) => { observer.disconnect(); clearTimeout(timer); resolve(value); };
    const observer = new MutationObserver(() => {
      if (document.querySelector(selector)) done(performance.timeOrigin + performance.now());
    });
    observer.observe(document.getElementById("scene"), {childList: true, subtree: true});
    const timer = setTimeout(() => done(null), timeoutMs);
  });
  return true;
}"""

# When the trial's event arrived, and the last GET /api/scene from t0 to the hit ([start, end]).
STAGES_JS = """({t0, hit, cup, target}) => {
  const at = (ms) => performance.timeOrigin + ms;
  const fetches = performance.getEntriesByType("resource")
    .filter((e) => e.name.endsWith("/api/scene") && at(e.startTime) >= t0 && at(e.responseEnd) <= hit);
  performance.clearResourceTimings();
  const moves = (data) => JSON.parse(data).data.effects.some((e) => e.node === cup && e.parent === target);
  const arrival = window.__uiBenchArrivals.find(([t, data]) => t >= t0 && moves(data));
  window.__uiBenchArrivals.length = 0;
  const last = fetches[fetches.length - 1];
  return {arrived: arrival ? arrival[0] : null, fetch: last ? [at(last.startTime), at(last.responseEnd)] : null};
}"""

IDLE_JS = """async (ms) => {
  performance.clearResourceTimings();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return performance.getEntriesByType("resource").filter((e) => e.name.endsWith("/api/scene")).length;
}"""


@dataclass
class Trial:
    """One change, in wall-clock ms: applied (``t0``), arrived in the page, fetched, shown."""

    t0: float
    shown: float | None = None  # None: a miss
    arrived: float | None = None  # the page's EventSource delivered the effects event
    fetch: tuple[float, float] | None = None  # the GET /api/scene whose answer was drawn: start, end

    def stages(self) -> dict[str, float] | None:
        if self.shown is None or self.arrived is None or self.fetch is None:
            return None
        start, end = self.fetch
        return {"delivery": self.arrived - self.t0, "wait": start - self.arrived, "fetch": end - start,
                "draw": self.shown - end}


@dataclass
class UIBenchResult:
    trials: list[Trial] = field(default_factory=list)
    idle_scene_fetches: int = 0  # GET /api/scene the page made in IDLE_MS with no event
    server_ms: dict[str, float] = field(default_factory=dict)  # p50 of GET /scene on the master, via the UI
    clock_offset_ms: float = 0.0  # page clock minus time.time()
    clock_error_ms: float = 0.0

    @property
    def latencies_ms(self) -> list[float]:
        return [t.shown - t.t0 for t in self.trials if t.shown is not None]

    @property
    def misses(self) -> list[int]:
        return [n for n, t in enumerate(self.trials) if t.shown is None]


def add_ui_bench_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``roboos bench ui``; their dests are ``run_ui_bench``'s keyword names."""
    parser.add_argument("--robots", type=int, default=20, help="robots registered (default 20)")
    parser.add_argument("--events", type=int, default=100, help="scene changes to time (default 100)")
    parser.add_argument("--gap-ms", type=float, default=75.0,
                        help="pause between trials, jittered by a third either way (default 75)")
    parser.add_argument("--miss-after-s", type=float, default=5.0,
                        help="a change not shown after this long is a miss (default 5)")
    parser.add_argument("--chromium", default=None,
                        help="the Chromium binary (default: chromium on PATH, else /usr/bin/chromium)")


def run_ui_bench(
    out: TextIO,
    *,
    robots: int = 20,
    events: int = 100,
    gap_ms: float = 75.0,
    miss_after_s: float = 5.0,
    chromium: str | None = None,
    progress: TextIO = sys.stderr,
) -> int:
    """Run the bench, print the figures to ``out``; 0, or 1 if any change did not show in time."""
    if robots < 1 or events < 1:
        raise ValueError(f"robots and events must be >= 1, got {robots} for robots and {events} for events")
    browser = _chromium(chromium)
    result = asyncio.run(_bench(robots, events, gap_ms / 1000, miss_after_s, browser, progress))
    _report(result, out)
    return 1 if result.misses else 0


def _chromium(given: str | None) -> str:
    from deploy.errors import DeployError

    path = chromium_path(given)
    if not path.is_file():
        raise DeployError(f"no Chromium at {path}: {MISSING_HINT}, or pass --chromium")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError as e:
        raise DeployError("the UI bench drives Chromium with Playwright: pip install -e '.[test]'") from e
    return str(path)


async def _bench(robots: int, events: int, gap_s: float, miss_after_s: float, chromium: str,
                 progress: TextIO) -> UIBenchResult:
    from playwright.async_api import async_playwright

    from deploy.launcher import Launcher
    from memory.server import EmbeddedRedis

    with tempfile.TemporaryDirectory(prefix="roboos-bench-ui-") as tmp, contextlib.ExitStack() as stack:
        redis_url = stack.enter_context(EmbeddedRedis(Path(tmp) / "redis", auth=False)).url  # throwaway
        launcher = stack.enter_context(Launcher(Path(tmp) / "logs"))
        memory = await _world(redis_url, robots)
        try:
            print(f"ui bench: Redis {redis_url}, {robots} robots; starting the master and the UI...",
                  file=progress, flush=True)
            master_url, ui_url = _start_stack(launcher, redis_url)
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=chromium, args=HEADLESS_ARGS)
                try:
                    page = await browser.new_page()
                    await _open_dashboard(page, ui_url, robots)
                    result = await _trials(page, memory, events, gap_s, miss_after_s, progress)
                    result.server_ms = await _server_times(master_url, ui_url)
                    return result
                finally:
                    await browser.close()
        finally:
            await memory.close()


async def _world(redis_url: str, robots: int) -> SharedMemory:
    from memory import SharedMemory
    from memory.profiles import RobotProfile

    memory = await SharedMemory.connect(redis_url, prefix=PREFIX)
    await memory.clear()
    await memory.scene.load(_scene())
    for k in range(robots):
        profile = RobotProfile(f"robot_{k:02d}", "wheeled_dual_arm", capabilities={"mobile": True, "arms": 2})
        await memory.robots.register(profile, f"room_{k % ROOMS}", ttl_s=600)
    return memory


def _scene() -> list[SceneNode]:
    """Rooms with a shelf and a book each, the two tables in the first two rooms, the cups on the first."""
    from memory.profiles import SceneNode

    nodes = [SceneNode(f"room_{k}", "place") for k in range(ROOMS)]
    nodes += [SceneNode(f"shelf_{k}", "furniture", f"room_{k}", "at") for k in range(ROOMS)]
    nodes += [SceneNode(table, "furniture", f"room_{k}", "at") for k, table in enumerate(TABLES)]
    nodes += [SceneNode(f"cup_{k}", "object", TABLES[0], "on", {"weight_kg": 0.2}) for k in range(OBJECTS)]
    nodes += [SceneNode(f"book_{k}", "object", f"shelf_{k}", "on", {"weight_kg": 0.5}) for k in range(ROOMS)]
    return nodes


def _start_stack(launcher: Launcher, redis_url: str) -> tuple[str, str]:
    """The master, then the UI in front of it; their URLs."""
    from deploy.launcher import free_port, http_ready, python_module

    port = free_port()
    master = f"http://127.0.0.1:{port}"
    launcher.start("master", python_module("deploy.cli", "master", "--port", str(port), "--redis-url", redis_url,
                                           "--prefix", PREFIX, "--log-level", "WARNING"),
                   ready=http_ready(f"{master}/health"), timeout_s=START_TIMEOUT_S)
    port = free_port()
    ui = f"http://127.0.0.1:{port}"
    launcher.start("ui", python_module("deploy.cli", "ui", "--host", "127.0.0.1", "--port", str(port),
                                       "--master", master, "--log-level", "WARNING"),
                   ready=http_ready(f"{ui}/health"), timeout_s=START_TIMEOUT_S)
    return master, ui


async def _open_dashboard(page: Page, ui_url: str, robots: int) -> None:
    """Open the dashboard and wait until it is live with every robot listed and every cup drawn.

    Locators, not ``wait_for_function``: the page's CSP forbids the eval that polling a script needs.
    """
    from playwright.async_api import expect

    timeout_ms = START_TIMEOUT_S * 1000
    await page.add_init_script(ARRIVALS_JS)
    await page.goto(ui_url + "/", timeout=timeout_ms)
    await expect(page.locator("#live")).to_have_text("live", timeout=timeout_ms)
    await expect(page.locator("#robots tbody tr")).to_have_count(robots, timeout=timeout_ms)
    for k in range(OBJECTS):
        await page.locator(_selector(TABLES[0], f"cup_{k}")).wait_for(state="attached", timeout=timeout_ms)
    await page.evaluate("performance.setResourceTimingBufferSize(10000)")


def _selector(parent: str, name: str) -> str:
    """The scene group of ``name`` anywhere under ``parent``'s group (names here need no escaping)."""
    return f'#scene g.node[data-name="{parent}"] g.node[data-name="{name}"]'


async def _trials(page: Page, memory: SharedMemory, events: int, gap_s: float, miss_after_s: float,
                  progress: TextIO) -> UIBenchResult:
    result = UIBenchResult()
    result.clock_offset_ms, result.clock_error_ms = await _clock_offset(page)
    result.idle_scene_fetches = await page.evaluate(IDLE_JS, IDLE_MS)
    on = {f"cup_{k}": TABLES[0] for k in range(OBJECTS)}
    for n in range(-WARMUP, events):
        cup = f"cup_{n % OBJECTS}"
        target = TABLES[1] if on[cup] == TABLES[0] else TABLES[0]
        trial = await _trial(page, memory, cup, target, miss_after_s)
        on[cup] = target
        if n >= 0:
            result.trials.append(trial)
        if n >= 0 and ((n + 1) % 10 == 0 or trial.shown is None):
            shown = "miss" if trial.shown is None else f"{trial.shown - trial.t0:.1f} ms"
            print(f"ui bench: {n + 1}/{events} trials, last {shown}", file=progress, flush=True)
        await asyncio.sleep(gap_s * random.uniform(2 / 3, 4 / 3))  # jitter: no lock-step with page timers
    return result


async def _trial(page: Page, memory: SharedMemory, cup: str, target: str, miss_after_s: float) -> Trial:
    """Move ``cup`` onto ``target`` and wait (at most ``miss_after_s``) for the page to show it."""
    from memory.messages import Effect

    watching = await page.evaluate(WATCH_JS, {"selector": _selector(target, cup), "timeoutMs": miss_after_s * 1000})
    if not watching:
        raise RuntimeError(f"{cup} already shows on {target} before it was moved: the bench lost track")
    trial = Trial(t0=time.time() * 1000)
    await memory.scene.apply([Effect("move", cup, parent=target, relation="on")], robot="bench")
    trial.shown = await page.evaluate("window.__uiBench")
    end = trial.shown if trial.shown is not None else trial.t0 + miss_after_s * 1000
    stages = await page.evaluate(STAGES_JS, {"t0": trial.t0, "hit": end, "cup": cup, "target": target})
    trial.arrived = stages["arrived"]
    if stages["fetch"]:
        start, end = stages["fetch"]
        trial.fetch = (start, end)
    return trial


async def _clock_offset(page: Page) -> tuple[float, float]:
    """The page's wall clock minus ``time.time()`` in ms, from the tightest of a few round trips, and
    its uncertainty (half that round trip)."""
    samples = []
    for _ in range(5):
        before = time.time() * 1000
        page_ms = await page.evaluate("performance.timeOrigin + performance.now()")
        after = time.time() * 1000
        samples.append((after - before, page_ms - (before + after) / 2))
    round_trip, offset = min(samples)
    return offset, round_trip / 2


async def _server_times(master_url: str, ui_url: str) -> dict[str, float]:
    """p50 ms of the scene as the master serves it and as the UI relays it, asked from here."""
    import httpx

    times = {}
    for name, url in (("master GET /scene", f"{master_url}/scene"), ("UI GET /api/scene", f"{ui_url}/api/scene")):
        async with httpx.AsyncClient(timeout=10) as http:
            (await http.get(url)).raise_for_status()  # the connection, and the UI's session cookie
            samples = []
            for _ in range(SERVER_SAMPLES):
                start = time.perf_counter()
                (await http.get(url)).raise_for_status()
                samples.append((time.perf_counter() - start) * 1000)
        times[name] = statistics.median(samples)
    return times


def _report(result: UIBenchResult, out: TextIO) -> None:
    values, misses, count = result.latencies_ms, result.misses, len(result.trials)
    if values:
        print(f"event to screen: p50 {_p(values, 0.5):.1f} ms, p99 {_p(values, 0.99):.1f} ms", file=out)
        print(f"min {min(values):.1f} ms, max {max(values):.1f} ms, misses {len(misses)} of {count}"
              f"{_listed(misses)}", file=out)
    else:
        print(f"event to screen: nothing showed; misses {len(misses)} of {count}", file=out)
    staged = [s for s in (t.stages() for t in result.trials) if s is not None]
    if staged:
        p50 = {key: _p([s[key] for s in staged], 0.5) for key in staged[0]}
        print(f"stages p50 ({len(staged)} trials): delivery {p50['delivery']:.1f} ms (Redis to the page's "
              f"EventSource), wait {p50['wait']:.1f} ms (to GET /api/scene; < 0: a fetch already under way), "
              f"fetch {p50['fetch']:.1f} ms, draw {p50['draw']:.1f} ms", file=out)
    servers = ", ".join(f"{name} {ms:.1f} ms" for name, ms in result.server_ms.items())
    print(f"servers p50 ({SERVER_SAMPLES} requests from the bench): {servers}", file=out)
    print(f"page at rest: {result.idle_scene_fetches} GET /api/scene in {IDLE_MS} ms", file=out)
    print(f"clock: page minus bench {result.clock_offset_ms:+.1f} ms (+-{result.clock_error_ms:.1f}), both this "
          f"machine's wall clock; {WARMUP} warm-up trials not counted", file=out, flush=True)


def _listed(trials: list[int]) -> str:
    if not trials:
        return ""
    shown = ", ".join(str(n) for n in trials[:10])
    return f" (trials {shown}{', ...' if len(trials) > 10 else ''})"


def _p(values: list[float], q: float) -> float:
    """The ``q`` quantile by nearest rank; p50 is the median."""
    if q == 0.5:
        return statistics.median(values)
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


if __name__ == "__main__":  # python -m deploy.bench_ui: what `roboos bench ui` runs
    _parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_ui_bench_arguments(_parser)
    sys.exit(run_ui_bench(sys.stdout, **vars(_parser.parse_args())))
