"""One blueprint per resource of the master's HTTP API."""

from __future__ import annotations

from master.routes.events import bp as events_bp
from master.routes.metrics import bp as metrics_bp
from master.routes.robots import bp as robots_bp
from master.routes.scene import bp as scene_bp
from master.routes.system import bp as system_bp
from master.routes.tasks import bp as tasks_bp

__all__ = ["BLUEPRINTS"]

BLUEPRINTS = (tasks_bp, robots_bp, scene_bp, events_bp, system_bp, metrics_bp)
