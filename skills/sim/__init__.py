"""Simulated embodiments served as MCP skill servers."""

from skills.sim.cli import build_arg_parser, main, run_sim
from skills.sim.embodiments import EMBODIMENTS, EmbodimentSpec, SimSkill, embodiment_spec, register_embodiment
from skills.sim.pi0_arm import Pi0Arm, default_pi0_embodiment
from skills.sim.server import SimRobot, build_sim_server
from skills.sim.world import SimRules
from skills.sim.x0_arm import Arm, Trajectory, X0Arm, default_x0_embodiment

__all__ = [
    "EMBODIMENTS",
    "Arm",
    "EmbodimentSpec",
    "Pi0Arm",
    "SimRobot",
    "SimRules",
    "SimSkill",
    "Trajectory",
    "X0Arm",
    "build_arg_parser",
    "build_sim_server",
    "default_pi0_embodiment",
    "default_x0_embodiment",
    "embodiment_spec",
    "main",
    "register_embodiment",
    "run_sim",
]
