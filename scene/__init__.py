"""Scene profiles: the places, furniture, containers and objects of a world, its robot fleet,
and demo tasks with what must hold when they are done. See scene/README.md for the YAML format."""

from scene.loader import SCENE_DIR, list_scenes, load_scene
from scene.profile import DemoTask, Expectation, FleetEntry, SceneError, SceneProfile

__all__ = [
    "SCENE_DIR",
    "DemoTask",
    "Expectation",
    "FleetEntry",
    "SceneError",
    "SceneProfile",
    "list_scenes",
    "load_scene",
]
