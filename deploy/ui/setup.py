"""The Setup page: a scene, a fleet and a brain, checked by the CLI's own loaders, saved as a named config.

A config ``NAME`` is two files in the configs folder (``UISettings.configs_dir``): ``NAME.yaml``
for ``roboos up --config`` and ``NAME.scene.yaml``, the scene with its fleet as edited here (a
config cannot override fleet entries, so the edited fleet lives in the scene copy). Both paths are
built on the server from a validated name: nothing the browser sends is ever used as a path.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from flask import Blueprint, abort, g, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from brain.errors import BrainError
from brain.llm.config import LLMConfig
from brain.planner import Planner
from deploy.config import config_from_mapping, load_config
from deploy.errors import ConfigError
from deploy.ui.app import ui
from memory.world.bodies import EMBODIMENT_BODIES, body_for
from scene import SCENE_DIR, SceneError, SceneProfile, list_scenes, load_scene
from scene.loader import TRANSPORTS, YamlLoader

__all__ = ["NAME", "ConfigStore", "bp"]

logger = logging.getLogger(__name__)

bp = Blueprint("setup", __name__)

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", re.ASCII)
CUSTOM = "custom"  # the scene select's value for pasted or uploaded YAML
MAX_SCENE_CHARS = 256 * 1024
PROBE_TIMEOUT_S = 3.0
MAX_MODELS = 100
FLEET_FIELDS = ("embodiment", "start", "zones", "transport", "port")
FLEET_ERROR = re.compile(r"fleet\[(\d+)\](?: \([^)]*\))?\.(\w+): ")  # the scene loader's "fleet[1] (waiter).zones: "


@dataclass
class Draft:
    """What the form holds: a config name, a scene (bundled name or YAML text), the fleet, the brain."""

    name: str = ""
    scene: str = "restaurant"
    scene_yaml: str = ""
    planner: str = "symbolic"
    base_url: str = LLMConfig().base_url
    model: str = LLMConfig().model
    serve_model: bool = False
    fleet: list[dict[str, Any]] = field(default_factory=list)  # the scene's fleet entries, as edited
    places: list[str] = field(default_factory=list)
    nodes: dict[str, list[str]] = field(default_factory=dict)  # kind -> node names, for the summary
    errors: dict[str, str] = field(default_factory=dict)  # form field -> message

    @classmethod
    def from_form(cls, form: MultiDict[str, str]) -> Draft:
        return cls(name=form.get("name", "").strip(), scene=form.get("scene", ""),
                   scene_yaml=form.get("scene_yaml", "").replace("\r\n", "\n"),
                   planner=form.get("planner", ""), base_url=form.get("base_url", "").strip(),
                   model=form.get("model", "").strip(), serve_model=form.get("serve_model") == "on")

    def scene_text(self) -> str:
        """The YAML of the scene picked: the pasted text, or a bundled file found by its known name."""
        if self.scene == CUSTOM:
            if len(self.scene_yaml) > MAX_SCENE_CHARS:
                raise SceneError(f"the scene is {len(self.scene_yaml)} characters; at most {MAX_SCENE_CHARS}")
            return self.scene_yaml
        if self.scene not in list_scenes():
            raise SceneError(f"no bundled scene {self.scene!r}, should be one of: {', '.join(list_scenes())}")
        return (SCENE_DIR / f"{self.scene}.yaml").read_text(encoding="utf-8")

    def show(self, profile: SceneProfile, raw: dict[str, Any]) -> None:
        """Fill the fleet rows and the scene summary from a scene that loaded."""
        self.fleet = [dict(entry) for entry in raw.get("fleet") or []]
        self.places = profile.places
        self.nodes = {}
        for node in profile.nodes:
            self.nodes.setdefault(node.kind, []).append(node.name)


def check_scene(text: str) -> SceneProfile:
    """``text`` through the scene loader (from a private temporary file); errors without that file's path."""
    with tempfile.TemporaryDirectory(prefix="roboos-scene-") as folder:
        path = Path(folder) / "scene.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            return load_scene(path)
        except SceneError as e:
            raise SceneError(str(e).replace(str(path), "scene")) from None


def edit_fleet(raw: dict[str, Any], form: MultiDict[str, str], errors: dict[str, str]) -> None:
    """Write the form's fleet fields (``fleet-<i>-<field>``) into the scene's fleet entries."""
    entries = raw.get("fleet") or []
    names = [form.get(f"fleet-{i}-name") for i in range(len(entries))]
    if names != [entry.get("name") for entry in entries] or f"fleet-{len(entries)}-name" in form:
        errors["scene"] = "the fleet below belongs to another scene: press \u201cLoad scene\u201d first"
        return
    for i, entry in enumerate(entries):
        key = f"fleet-{i}-"
        entry["embodiment"] = form.get(key + "embodiment", "")
        try:
            body_for(entry["embodiment"])
        except ValueError as e:
            errors[key + "embodiment"] = str(e)
        entry["start"] = form.get(key + "start", "")
        entry["zones"] = form.getlist(key + "zones")
        entry["transport"] = form.get(key + "transport", "")
        entry.pop("port", None)
        if entry["transport"] == "http":
            port = form.get(key + "port", "").strip()
            if not port.isdigit():
                errors[key + "port"] = f"transport http needs a port in 1..65535, got {port!r}"
            else:
                entry["port"] = int(port)


def scene_error_field(message: str) -> str:
    """The form field a scene loader message is about (``fleet-1-zones``), else ``scene``."""
    match = FLEET_ERROR.search(message)
    if match and match.group(2) in FLEET_FIELDS:
        return f"fleet-{match.group(1)}-{match.group(2)}"
    return "scene"


def config_error(data: dict[str, Any], source: str) -> str | None:
    """What the CLI's config loader says about ``data`` (the other keys at their defaults), if anything."""
    try:
        config_from_mapping(data, source)
    except (ConfigError, BrainError) as e:
        return str(e)
    return None


def brain_config(draft: Draft) -> dict[str, Any]:
    """The brain's config keys; each error recorded next to its field."""
    source = f"{draft.name or 'config'}.yaml"
    brain: dict[str, Any] = {"planner": draft.planner}
    if error := config_error(brain, source):
        draft.errors["planner"] = error
        return brain
    if Planner.type_of(draft.planner).uses_llm:
        brain["llm"] = {"base_url": draft.base_url, "model": draft.model}
        brain["brain_server"] = {"start": draft.serve_model}
        for key in ("base_url", "model"):
            if error := config_error({"llm": {key: brain["llm"][key]}}, source):
                draft.errors[key] = error
    return brain


class ConfigStore:
    """The named configs in one folder: ``NAME.yaml`` and its scene ``NAME.scene.yaml``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def config_path(self, name: str) -> Path:
        if not NAME.fullmatch(name):
            raise ValueError(f"a config name is 1 to 64 letters, digits, _ or -, starting with a letter or digit; "
                             f"got {name!r}")
        return self.folder / f"{name}.yaml"

    def scene_path(self, name: str) -> Path:
        return self.config_path(name).with_suffix(".scene.yaml")

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.yaml") if NAME.fullmatch(p.stem))

    def summary(self, name: str) -> dict[str, str]:
        """Name, scene file name, planner and path of a saved config, for the list."""
        path = self.config_path(name)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as e:
            data = {"planner": f"unreadable: {e}"}
        if not isinstance(data, dict):
            data = {"planner": "unreadable: not a mapping"}
        return {"name": name, "scene": Path(str(data.get("scene", "restaurant"))).name,
                "planner": str(data.get("planner", "symbolic")), "path": str(path)}

    def open(self, name: str) -> Draft:
        """The saved config ``name`` as a draft to edit; ``FileNotFoundError`` when there is none."""
        data = yaml.safe_load(self.config_path(name).read_text(encoding="utf-8")) or {}
        llm, server = data.get("llm") or {}, data.get("brain_server") or {}
        draft = Draft(name=name, planner=data.get("planner", "symbolic"),
                      base_url=llm.get("base_url", Draft.base_url), model=llm.get("model", Draft.model),
                      serve_model=bool(server.get("start", True)))
        scene = self.scene_path(name)
        if scene.is_file():
            draft.scene, draft.scene_yaml = CUSTOM, scene.read_text(encoding="utf-8")
        elif str(data.get("scene", "restaurant")) in list_scenes():
            draft.scene = str(data.get("scene", "restaurant"))
        return draft

    def save(self, name: str, config: dict[str, Any], scene_text: str) -> Path:
        """Write both files, each checked by the CLI's loaders before it replaces the old one."""
        config_path, scene_path = self.config_path(name), self.scene_path(name)
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        config = {"scene": str(scene_path.resolve()), **config}
        header = f"# roboos up --config {config_path}\n# written by the RoboOS web UI's Setup page\n"
        scene_tmp, config_tmp = scene_path.with_suffix(".tmp"), config_path.with_suffix(".tmp")
        try:
            _write_private(scene_tmp, header + scene_text)
            load_scene(scene_tmp)
            _write_private(config_tmp, header + yaml.safe_dump(config, sort_keys=False))
            load_config(config_tmp)
            os.replace(scene_tmp, scene_path)
            os.replace(config_tmp, config_path)
        finally:
            scene_tmp.unlink(missing_ok=True)
            config_tmp.unlink(missing_ok=True)
        logger.info("saved config %s (scene %s, planner %s)", config_path, scene_path, config["planner"])
        return config_path


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(text)


def store() -> ConfigStore:
    return ConfigStore(ui().settings.configs_dir)


@bp.get("/setup")
def page() -> ResponseReturnValue:
    name = request.args.get("config")
    if name is None:
        draft = Draft()
    else:
        try:
            draft = store().open(name)
        except ValueError as e:
            abort(400, str(e))
        except FileNotFoundError:
            abort(404, f"no saved config {name!r}; saved: {', '.join(store().names()) or 'none'}")
    load(draft)
    return render(draft, saved=name if request.args.get("saved") == "1" else "")


@bp.post("/setup")
def submit() -> ResponseReturnValue:
    draft = Draft.from_form(request.form)
    take_upload(draft)
    if request.form.get("action") != "save":
        load(draft)
        return render(draft, status=400 if draft.errors else 200)
    text = save(draft)
    if draft.errors or text is None:
        return render(draft, status=400)
    return redirect(url_for("setup.page", config=draft.name, saved="1"), code=303)


@bp.post("/api/setup/models")
def models() -> ResponseReturnValue:
    """The models an OpenAI-compatible endpoint lists at ``<base_url>/models``: the "test connection" button."""
    body = request.get_json(silent=True)
    base_url = body.get("base_url") if isinstance(body, dict) else None
    if not isinstance(base_url, str):
        return jsonify(status="error", message="'base_url' is required: the endpoint, e.g. http://host:8000/v1"), 400
    if error := config_error({"llm": {"base_url": base_url}}, "base_url"):
        return jsonify(status="error", message=error), 400
    url = base_url.rstrip("/") + "/models"
    try:
        reply = httpx.get(url, timeout=PROBE_TIMEOUT_S, follow_redirects=False)
        reply.raise_for_status()
        listed = reply.json()["data"]
        names = [str(m["id"]) for m in listed[:MAX_MODELS]]
    except httpx.HTTPError as e:
        return jsonify(status="error", message=f"cannot list the models at {url}: {e}"), 502
    except (ValueError, KeyError, TypeError) as e:
        return jsonify(status="error", message=f"{url} did not answer an OpenAI model list: {e!r}"), 502
    return jsonify(status="success", url=url, models=names)


def take_upload(draft: Draft) -> None:
    """An uploaded scene file replaces the pasted text (it is read, never saved under its own name)."""
    upload = request.files.get("scene_file")
    if upload is None or not upload.filename:
        return
    data = upload.read(MAX_SCENE_CHARS + 1)
    if len(data) > MAX_SCENE_CHARS:
        draft.errors["scene_file"] = f"the scene file is larger than {MAX_SCENE_CHARS} bytes"
        return
    try:
        draft.scene, draft.scene_yaml = CUSTOM, data.decode("utf-8")
    except UnicodeDecodeError as e:
        draft.errors["scene_file"] = f"the scene file is not UTF-8 text: {e}"


def load(draft: Draft) -> tuple[str, dict[str, Any]] | None:
    """The scene's text and YAML mapping, its fleet and summary shown; None (and an error) when it fails."""
    try:
        text = draft.scene_text()
        profile = check_scene(text)
    except SceneError as e:
        draft.errors.setdefault("scene", str(e))
        return None
    raw = yaml.load(text, Loader=YamlLoader)
    draft.show(profile, raw)
    return text, raw


def save(draft: Draft) -> str | None:
    """Check everything as the CLI would and save; the saved scene's text, or None with errors."""
    try:
        store().config_path(draft.name)
    except ValueError as e:
        draft.errors["name"] = str(e)
    brain = brain_config(draft)
    loaded = load(draft)
    if loaded is None:
        return None
    edit_fleet(loaded[1], request.form, draft.errors)
    draft.fleet = loaded[1].get("fleet") or []
    text = yaml.safe_dump(loaded[1], sort_keys=False, allow_unicode=True)
    try:
        check_scene(text)
    except SceneError as e:
        draft.errors.setdefault(scene_error_field(str(e)), str(e))
    if draft.errors:
        return None
    try:
        store().save(draft.name, brain, text)
    except (ConfigError, BrainError, SceneError, OSError) as e:
        logger.warning("cannot save config %s: %s", draft.name, e)
        draft.errors["config"] = str(e)
        return None
    return text


def render(draft: Draft, *, saved: str = "", status: int = 200) -> ResponseReturnValue:
    configs = store()
    return render_template(
        "setup.html", draft=draft, csrf=g.session.csrf, scenes=list_scenes(), custom=CUSTOM,
        embodiments=sorted(EMBODIMENT_BODIES), transports=TRANSPORTS, planners=Planner.available(),
        saved=saved, configs=[configs.summary(n) for n in configs.names()], configs_dir=str(configs.folder),
    ), status
