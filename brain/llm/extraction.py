"""Tolerant JSON extraction from model text: bare JSON, fenced ```json blocks, prose around it."""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["extract_json"]

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


def extract_json(text: str | None) -> Any:
    """The first JSON object in `text`; ValueError saying what was found when there is none.

    Tries, in order: the whole text, each fenced block, then each `{` from the left decoded as far as
    it goes (so trailing prose or a second object is ignored).
    """
    if not text or not text.strip():
        raise ValueError("the answer is empty; expected a JSON object")
    candidates = [text.strip(), *(m.group(1).strip() for m in _FENCE.finditer(text))]
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            pass
    decoder = json.JSONDecoder()
    for start in (i for i, ch in enumerate(text) if ch == "{"):
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    shown = text.strip()[:200]
    raise ValueError(f"no JSON object found in the answer (it starts: {shown!r})")
