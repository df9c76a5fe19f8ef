"""The brain benchmark's suites: per scene, instructions and what must hold once they are done.

One YAML file per scene under ``deploy/suites/brain`` (every ``*.yaml`` there is read)::

    scene: restaurant                  # a bundled scene name or a scene YAML path
    cases:
      - id: rest-001
        text: "Could you bring the bread over to table 1?"
        expect: [{node: bread, on: table_1}]     # node + one of on | in | held_by | at
        tags: [handoff, paraphrase]              # optional
        best_actions: 6                          # optional: fewest tool calls known
      - id: rest-200
        text: "Put the soup pot on table 2."
        refuse: weighs                           # impossible: must be refused; a word the reason
                                                 # must contain, or true for any reason

A case has exactly one of ``expect`` and ``refuse``. Booleans are ``true``/``false`` only (YAML 1.2),
so ``on:`` is a key. Errors are :class:`SuiteError` naming the file and the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from deploy.errors import DeployError
from scene.loader import YamlLoader
from scene.profile import EXPECT_RELATIONS, Expectation

__all__ = ["SUITE_DIR", "Case", "Suite", "SuiteError", "load_suite", "suite_paths"]

SUITE_DIR = Path(__file__).resolve().parent / "suites" / "brain"
CASE_KEYS = ("id", "text", "expect", "refuse", "tags", "best_actions")
SUITE_KEYS = ("scene", "cases")


class SuiteError(DeployError):
    """A suite file is unreadable or malformed; the message names the file and the key."""


@dataclass(frozen=True)
class Case:
    """One instruction: what must hold after it (``expect``), or that it must be refused.

    ``refuse``: None when the task is possible; "" when it must be refused for any reason; else a
    word the refusal's reason must contain (case-insensitive).
    """

    id: str
    text: str
    expect: tuple[Expectation, ...] = ()
    refuse: str | None = None
    tags: tuple[str, ...] = ()
    best_actions: int | None = None

    @property
    def must_refuse(self) -> bool:
        return self.refuse is not None


@dataclass
class Suite:
    """The cases of one scene."""

    scene: str
    path: Path
    cases: list[Case] = field(default_factory=list)


def suite_paths(folder: Path) -> list[Path]:
    """Every suite file of ``folder``, by name."""
    return sorted(folder.glob("*.yaml"))


def load_suite(path: Path) -> Suite:
    """Read and check one suite file."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=YamlLoader)  # noqa: S506 - a SafeLoader subclass
    except OSError as e:
        raise SuiteError(f"cannot read suite file {path}: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise SuiteError(f"{path}: not valid YAML: {e}") from e
    return _Reader(path).suite(data)


class _Reader:
    """Turns one file's YAML into a Suite, failing with the file and key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, where: str, message: str) -> SuiteError:
        return SuiteError(f"{self.path}: {where}: {message}")

    def suite(self, data: Any) -> Suite:
        data = self.mapping(data, "the top level", SUITE_KEYS)
        scene = data.get("scene", self.path.stem)
        if not isinstance(scene, str) or not scene:
            raise self.error("scene", f"expected a scene name or path, got {scene!r}")
        cases = data.get("cases")
        if not isinstance(cases, list) or not cases:
            raise self.error("cases", "expected a non-empty list of cases")
        suite = Suite(scene, self.path, [self.case(i, c) for i, c in enumerate(cases)])
        self.check_ids(suite)
        return suite

    def mapping(self, data: Any, where: str, known: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.error(where, f"expected a mapping, got {type(data).__name__}")
        for key in data:
            if key not in known:
                raise self.error(f"{where}.{key}" if where != "the top level" else str(key),
                                 f"unknown key; known keys: {', '.join(known)}")
        return data

    def case(self, index: int, data: Any) -> Case:
        case_id = data.get("id") if isinstance(data, dict) else None
        where = f"cases[{index}]" + (f" ({case_id})" if isinstance(case_id, str) else "")
        data = self.mapping(data, where, CASE_KEYS)
        text = data.get("text")
        for key, value in (("id", case_id), ("text", text)):
            if not isinstance(value, str) or not value.strip():
                raise self.error(f"{where}.{key}", f"expected a non-empty string, got {value!r}")
        if ("expect" in data) == ("refuse" in data):
            raise self.error(where, "give exactly one of expect (what must hold) and refuse (it is impossible)")
        return Case(id=case_id, text=text, expect=self.expect(where, data.get("expect")),
                    refuse=self.refuse(where, data), tags=self.tags(where, data.get("tags")),
                    best_actions=self.best_actions(where, data.get("best_actions")))

    def expect(self, where: str, data: Any) -> tuple[Expectation, ...]:
        if data is None:
            return ()
        if not isinstance(data, list) or not data:
            raise self.error(f"{where}.expect", "expected a non-empty list of {node, on|in|held_by|at}")
        return tuple(self.expectation(f"{where}.expect[{i}]", e) for i, e in enumerate(data))

    def expectation(self, where: str, data: Any) -> Expectation:
        try:
            return Expectation.read(self.mapping(data, where, ("node", *EXPECT_RELATIONS)))
        except ValueError as e:
            message, key = e.args
            raise self.error(f"{where}.{key}" if key else where, message) from e

    def refuse(self, where: str, data: dict[str, Any]) -> str | None:
        if "refuse" not in data:
            return None
        value = data["refuse"]
        if value is True:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise self.error(f"{where}.refuse", f"expected true or a word the reason must contain, got {value!r}")
        return value.strip().lower()

    def tags(self, where: str, data: Any) -> tuple[str, ...]:
        if data is None:
            return ()
        if not isinstance(data, list) or not all(isinstance(t, str) for t in data):
            raise self.error(f"{where}.tags", f"expected a list of strings, got {data!r}")
        return tuple(data)

    def best_actions(self, where: str, data: Any) -> int | None:
        if data is None:
            return None
        if isinstance(data, bool) or not isinstance(data, int) or data < 0:
            raise self.error(f"{where}.best_actions", f"expected an integer >= 0, got {data!r}")
        return data

    def check_ids(self, suite: Suite) -> None:
        seen: set[str] = set()
        for index, case in enumerate(suite.cases):
            if case.id in seen:
                raise self.error(f"cases[{index}].id", f"{case.id!r} is given twice")
            seen.add(case.id)
