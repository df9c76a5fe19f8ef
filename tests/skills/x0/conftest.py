"""Fixtures for the X0 tests: the shared fixtures folder and one demo checkpoint per session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def demo_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from skills.x0.demo_model import build_demo_checkpoint

    return build_demo_checkpoint(tmp_path_factory.mktemp("x0-cache"), seed=0)


@pytest.fixture(scope="session")
def demo_models(demo_checkpoint: Path) -> Any:
    """``demo_models(embodiment, mode="subtask")``: a loaded demo X0Model, cached per session."""
    from skills.x0.model import X0Model, X0Options

    cache: dict[tuple[str, str], X0Model] = {}

    def load(embodiment: str, mode: str = "subtask") -> X0Model:
        if (embodiment, mode) not in cache:
            options = X0Options(model_path=demo_checkpoint, embodiment=embodiment, mode=mode, max_new_tokens=600)
            cache[embodiment, mode] = X0Model.load(options)
        return cache[embodiment, mode]

    return load


@pytest.fixture
def x0_contract(shared_dir: Path) -> dict[str, Any]:
    return json.loads((shared_dir / "fixtures" / "x0" / "contract.json").read_text())


@pytest.fixture
def fast_plus_dir(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "fast_plus"
