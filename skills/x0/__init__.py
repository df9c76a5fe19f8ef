"""RoboBrain-X0 action generation: a Qwen2.5-VL checkpoint emitting FAST action tokens, served as
the ``generate_actions`` MCP skill and RoboBrain-X0's per-robot HTTP API (``roboos skill x0``).

Importing this package loads no torch; ``skills.x0.model`` needs ``pip install 'roboos[x0]'``.
"""

from skills.x0.contract import EMBODIMENTS, Embodiment, embodiment

__all__ = ["EMBODIMENTS", "Embodiment", "embodiment"]
