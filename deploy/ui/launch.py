"""The Launch page: each component of the stack (state, pid, restarts) and the last lines of its log.

The components come from the stack's ``components.json`` (written by ``Stack``) in a run folder the
UI was given on its own command line (``--stack-run-dir``, set by ``roboos up``). A log is read only
from ``<run_dir>/logs/<file>`` where ``<file>`` is the log named in that file for a component the
browser names: no path from the browser is ever opened. Without a stack the page says how to start one.

A UI running on its own (no ``--stack-run-dir``) can also start one stack itself (``StackRunner``):
``python -m deploy.cli up --config <configs_dir>/NAME.yaml --no-ui --port <the --master URL's port>`` for a saved config
``NAME``, from an argument list, in its own process group, with its own run folder under
``<configs_dir>/../run/ui-launch/``; and stop it (SIGTERM to the group, SIGKILL after 10 s).
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue

from deploy.launcher import ComponentState
from deploy.stack import COMPONENTS_FILE
from deploy.ui.app import ui
from deploy.ui.setup import store
from memory.server import die_with_parent

__all__ = ["StackRunner", "bp", "log_tail", "read_components"]

logger = logging.getLogger(__name__)

bp = Blueprint("launch", __name__)

LOG_LINES = 20
MAX_TAIL_BYTES = 64 * 1024  # the tail is read from the end of the file, however long it grew
LOG_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\.log", re.ASCII)  # a plain name, no folder
STATES = frozenset(str(s) for s in ComponentState)
STOP_GRACE_S = 10.0


class StackRunner:
    """At most one ``roboos up`` started from this page, each in a fresh run folder under ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.config = ""  # the name of the config it runs
        self._popen: subprocess.Popen[bytes] | None = None
        self._root: Path | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def exit_code(self) -> int | None:
        return None if self._popen is None else self._popen.poll()

    def run_dir(self) -> Path | None:
        """The stack's run folder (``Stack`` makes one inside the root it was given), once it made it."""
        if self._root is None:
            return None
        found = sorted(p.parent for p in self._root.glob(f"*/{COMPONENTS_FILE}"))
        return found[-1] if found else None

    def start(self, name: str, config_path: Path, master_port: int) -> None:
        """Start ``roboos up`` for ``config_path`` (a saved config, checked by the caller), its master
        on ``master_port`` (where this UI's dashboard looks for it)."""
        with self._lock:
            if self.running:
                raise RuntimeError(f"a stack ({self.config}) is already running: stop it first")
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            root = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.folder))
            argv = [sys.executable, "-m", "deploy.cli", "up", "--config", str(config_path), "--no-ui",
                    "--port", str(master_port)]
            with (root / "up.log").open("wb") as log:
                self._popen = subprocess.Popen(  # a waitress worker thread lives as long as the UI does
                    argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                    env={**os.environ, "ROBOOS_RUN_DIR": str(root)}, preexec_fn=die_with_parent())
            self._root, self.config = root, name
            logger.info("started roboos up --config %s (pid %d), run folder in %s", config_path, self._popen.pid, root)

    def stop(self) -> None:
        """SIGTERM to the stack's process group, SIGKILL after ``STOP_GRACE_S``."""
        with self._lock:
            if self._popen is None or not self.running:
                return
            self._signal(signal.SIGTERM)
            try:
                self._popen.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                logger.warning("roboos up (pid %d) did not stop in %.0f s; killing it", self._popen.pid, STOP_GRACE_S)
                self._signal(signal.SIGKILL)
                self._popen.wait(timeout=STOP_GRACE_S)
            logger.info("stopped roboos up --config %s (exit code %s)", self.config, self._popen.returncode)

    def _signal(self, sig: signal.Signals) -> None:
        assert self._popen is not None
        try:
            os.killpg(self._popen.pid, sig)
        except ProcessLookupError:
            pass


def read_components(run_dir: Path) -> list[dict[str, Any]]:
    """The components listed in ``run_dir``'s ``components.json``; [] before the stack wrote it."""
    path = run_dir / COMPONENTS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as e:
        abort(502, f"cannot read the stack's {COMPONENTS_FILE}: {e}")
    if not isinstance(data, list):
        abort(502, f"the stack's {COMPONENTS_FILE} is not a list")
    return [_component_view(entry) for entry in data if isinstance(entry, dict)]


def _component_view(entry: dict[str, Any]) -> dict[str, Any]:
    state = str(entry.get("state", ""))
    return {
        "name": str(entry.get("name", "?")),
        "pid": _int_or_none(entry.get("pid")),
        "state": state if state in STATES else "unknown",
        "restarts": _int_or_none(entry.get("restarts")) or 0,
        "exit_code": _int_or_none(entry.get("exit_code")),
        "log": str(entry.get("log", "")),
    }


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def log_tail(run_dir: Path, log_name: str, lines: int = LOG_LINES) -> list[str]:
    """The last ``lines`` lines of ``<run_dir>/logs/<log_name>``; ``log_name`` must be a plain file name."""
    if not LOG_FILE.fullmatch(log_name):
        raise ValueError(f"not a log file name: {log_name!r}")
    try:
        with (run_dir / "logs" / log_name).open("rb") as log:
            size = log.seek(0, 2)
            log.seek(max(0, size - MAX_TAIL_BYTES))
            text = log.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return []
    return text.splitlines()[-lines:]


@bp.record_once
def _make_runner(state: BlueprintSetupState) -> None:
    """One runner per app, its run folders beside the configs folder."""
    configs_dir = state.app.extensions["roboos_ui"].settings.configs_dir
    state.app.extensions["roboos_launch"] = StackRunner(configs_dir.resolve().parent / "run" / "ui-launch")


def runner() -> StackRunner:
    return current_app.extensions["roboos_launch"]


def run_dir() -> Path | None:
    """The run folder of the stack this UI shows: the one that started it, else the one it started."""
    return ui().settings.stack_run_dir or runner().run_dir()


def _master_port() -> int:
    """The port of the master this UI follows: a stack started here puts its master there."""
    url = urlsplit(ui().settings.master_url)
    return url.port or (443 if url.scheme == "https" else 80)


def standalone() -> bool:
    return ui().settings.stack_run_dir is None


@bp.get("/launch")
def page() -> ResponseReturnValue:
    configs = store()
    started = runner() if standalone() else None
    return render_template("launch.html", csrf=g.session.csrf, stack=not standalone(), started=started,
                           configs=[configs.summary(n) for n in configs.names()], configs_dir=str(configs.folder))


@bp.get("/api/launch/components")
def components() -> ResponseReturnValue:
    folder = run_dir()
    if folder is None:
        return jsonify(status="success", stack=False, components=[])
    return jsonify(status="success", stack=True, components=read_components(folder))


@bp.post("/launch/start")
def start() -> ResponseReturnValue:
    """Start ``roboos up`` for the saved config named in the form; only when this UI runs on its own."""
    if not standalone():
        abort(409, "this UI belongs to a running stack: stop that one with Ctrl-C where it runs")
    name = request.form.get("name", "")
    try:
        path = store().config_path(name)
    except ValueError as e:
        abort(400, str(e))
    if not path.is_file():
        abort(404, f"no saved config {name!r}; saved: {', '.join(store().names()) or 'none'}")
    try:
        runner().start(name, path.resolve(), _master_port())
    except RuntimeError as e:
        abort(409, str(e))
    except OSError as e:
        abort(500, f"cannot start roboos up: {e}")
    return redirect(url_for("launch.page"), code=303)


@bp.post("/launch/stop")
def stop() -> ResponseReturnValue:
    if not standalone():
        abort(409, "this UI belongs to a running stack: stop that one with Ctrl-C where it runs")
    runner().stop()
    return redirect(url_for("launch.page"), code=303)


@bp.get("/api/launch/log/<name>")
def log(name: str) -> ResponseReturnValue:
    """The last lines of the log of component ``name``, which must be listed in ``components.json``."""
    folder = run_dir()
    if folder is None:
        abort(404, "this UI was not started by a stack: there are no component logs to show")
    listed = read_components(folder)
    entry = next((c for c in listed if c["name"] == name), None)
    if entry is None:
        abort(404, f"no component {name!r}; the stack has: {', '.join(c['name'] for c in listed) or 'none yet'}")
    try:
        lines = log_tail(folder, entry["log"])
    except ValueError as e:
        abort(502, f"the stack's {COMPONENTS_FILE} names a bad log for {name!r}: {e}")
    except OSError as e:
        abort(502, f"cannot read the log of {name!r}: {e}")
    return jsonify(status="success", name=name, lines=lines)
