"""Chat templates shipped with RoboOS.

``chatml_tools.jinja`` renders OpenAI ``tools`` into a ChatML prompt and teaches the model the
hermes ``<tool_call>`` format. Use it with vLLM (``--chat-template``) for RoboBrain2.0 / Qwen2.5-VL,
or let ``roboos brain serve`` pick it for ChatML models.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CHATML_TOOLS", "TEMPLATES_DIR", "read_template"]

TEMPLATES_DIR = Path(__file__).resolve().parent
CHATML_TOOLS = TEMPLATES_DIR / "chatml_tools.jinja"


def read_template(name_or_path: str | Path) -> str:
    """The text of a shipped template (by file name) or of a template file at a path."""
    path = Path(name_or_path)
    if not path.is_file():
        path = TEMPLATES_DIR / str(name_or_path)
    if not path.is_file():
        shipped = sorted(p.name for p in TEMPLATES_DIR.glob("*.jinja"))
        raise FileNotFoundError(f"no chat template {name_or_path!r}; shipped templates: {shipped}")
    return path.read_text(encoding="utf-8")
