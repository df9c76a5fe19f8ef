"""Fleet entries with a skill server of their own (a RoboOS skill.py) and annotations of its tools."""

from __future__ import annotations

from pathlib import Path

import pytest

from scene import SceneError, load_scene

BASE = """\
name: own
nodes:
  kitchen: {{kind: place}}
fleet:
  - name: porter
    embodiment: humanoid
    start: kitchen
{extra}
"""


def scene_with(tmp_path: Path, extra: str):
    path = tmp_path / "own.yaml"
    path.write_text(BASE.format(extra=extra))
    return load_scene(path)


def test_a_fleet_entry_gives_its_own_skill_url_and_annotations(tmp_path: Path) -> None:
    entry = scene_with(tmp_path, "    skill_url: http://robot:8000\n"
                                 "    skills: {grasp_object: {kind: pick, object: object}}").fleet[0]
    assert entry.own_skill_server and entry.skill_url == "http://robot:8000"
    assert entry.skills == {"grasp_object": {"kind": "pick", "object": "object"}}


def test_a_fleet_entry_gives_its_own_skill_command(tmp_path: Path) -> None:
    entry = scene_with(tmp_path, "    skill_command: [python, skill.py]").fleet[0]
    assert entry.skill_command == ["python", "skill.py"] and entry.own_skill_server


@pytest.mark.parametrize(("extra", "match"), [
    ("    skill_command: [python, skill.py]\n    skill_url: http://robot:8000", r"skill_url: give skill_command"),
    ("    skill_url: robot:8000", r"skill_url: expected an http"),
    ("    skills: {grasp_object: {kind: grab}}", r"fleet\[0\] \(porter\).skills.grasp_object: kind must be one of"),
    ("    skills: {grasp_object: pick}", r"skills.grasp_object: Input should be a valid dictionary"),
])
def test_bad_own_server_keys_name_the_key(tmp_path: Path, extra: str, match: str) -> None:
    with pytest.raises(SceneError, match=match):
        scene_with(tmp_path, extra)
