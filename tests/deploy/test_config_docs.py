"""docs/configuration.md documents every key of the config models, each at its default value."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from deploy.config import RoboOSConfig, load_config

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def documented() -> dict[str, Any]:
    """The first YAML block of the reference: the whole config, commented."""
    block = re.search(r"```yaml\n(.*?)```", DOCS.read_text(), re.S)
    assert block, f"{DOCS} has no ```yaml block"
    return yaml.safe_load(block.group(1))


def keys(data: dict[str, Any], prefix: str = "") -> set[str]:
    found = set()
    for key, value in data.items():
        found.add(prefix + key)
        if isinstance(value, dict):
            found |= keys(value, f"{prefix}{key}.")
    return found


def test_every_key_of_the_models_is_documented_and_nothing_else() -> None:
    models = RoboOSConfig().model_dump(mode="json")
    assert keys(documented()) == keys(models)


def test_the_documented_values_are_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "documented.yaml"
    path.write_text(yaml.safe_dump(documented()))
    assert load_config(path, env={}) == RoboOSConfig()
