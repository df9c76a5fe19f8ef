"""A simulated arm driven by a pi0 policy over FlagScale's protocol: the reference server over
real HTTP, the chunk executed at 50 Hz, the joints carried over, and a server that is down or
failing stopping the skill with nothing moved."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest

from deploy.launcher import free_port
from memory import SharedMemory
from skills.pi0.reference import ScriptedPolicy, create_reference_app
from skills.pi0.protocol import EMBODIMENTS
from skills.sim import Pi0Arm, build_arg_parser, default_pi0_embodiment, embodiment_spec
from skills.sim.cli import _arm
from tests.skills.conftest import SimClient, serving

pytestmark = pytest.mark.anyio


@pytest.fixture
def pi0_server() -> Iterator[str]:
    with serving(create_reference_app(ScriptedPolicy(EMBODIMENTS["franka"]))) as url:
        yield url


async def test_pick_and_place_follow_pi0_chunks(pi0_server: str, sim_robot: SimClient, world: SharedMemory) -> None:
    arm = Pi0Arm.connect(pi0_server, "franka")
    async with sim_robot("arm", "fixed_single_arm", "kitchen", arm=arm, speed=0.5) as client:
        kinds = {s.name: s.semantics.kind for s in await client.list_skills()}
        started = time.monotonic()
        picked = await client.call("pick", {"object": "apple"})
        elapsed = time.monotonic() - started
        after_pick = arm.joints.copy()
        await world.scene.apply(picked.effects)
        placed = await client.call("place", {"object": "apple", "target": "kitchen_table"})
    assert picked.ok and placed.ok, (picked.message, placed.message)
    assert picked.message.startswith(f"arm picked up apple from kitchen_table (pi0 trajectory: 50 poses, backend "
                                     f"{pi0_server} (")
    assert kinds["generate_joint_actions"] == "generate_actions"
    expected = ScriptedPolicy(EMBODIMENTS["franka"]).target("pick up the apple")
    assert np.abs(after_pick - expected).max() < 0.2  # the joints went where the policy's chunk ended
    assert not np.allclose(arm.joints, after_pick)  # the place moved them on from there
    assert elapsed >= 0.5  # 50 joint targets at 50 Hz, times speed 0.5


async def test_a_pi0_server_that_is_down_fails_the_skill(sim_robot: SimClient, world: SharedMemory) -> None:
    arm = Pi0Arm.connect(f"http://127.0.0.1:{free_port()}", "franka", retries=0)
    async with sim_robot("arm", "fixed_single_arm", "kitchen", arm=arm) as client:
        outcome = await client.call("pick", {"object": "apple"})
    assert not outcome.ok and outcome.effects == []
    assert "pi0 could not generate a trajectory for 'pick up the apple'" in outcome.message
    assert "cannot be reached" in outcome.message
    assert (await world.scene.snapshot()).nodes["apple"].parent == "kitchen_table"
    assert not arm.joints.any()


async def test_an_aloha_chunk_does_not_fit_a_franka_arm(sim_robot: SimClient, world: SharedMemory) -> None:
    with serving(create_reference_app(ScriptedPolicy(EMBODIMENTS["aloha"]))) as url:
        arm = Pi0Arm.connect(url, "franka")
        async with sim_robot("arm", "fixed_single_arm", "kitchen", arm=arm) as client:
            outcome = await client.call("pick", {"object": "apple"})
    assert not outcome.ok and outcome.effects == []
    assert "expected [50, 8] (franka)" in outcome.message


def test_the_sim_command_line_builds_a_pi0_arm() -> None:
    assert default_pi0_embodiment(embodiment_spec("wheeled_dual_arm")) == "aloha"
    assert default_pi0_embodiment(embodiment_spec("fixed_single_arm")) == "franka"
    args = build_arg_parser().parse_args(["--robot", "r", "--embodiment", "wheeled_dual_arm", "--redis-url",
                                          "redis://127.0.0.1:1", "--pi0-server", "http://127.0.0.1:5000"])
    arm = _arm(args)
    assert isinstance(arm, Pi0Arm) and arm.embodiment.name == "aloha" and arm.client.variant == "flagscale"
    with pytest.raises(SystemExit):  # one model per arm
        build_arg_parser().parse_args(["--robot", "r", "--embodiment", "fixed_single_arm", "--redis-url", "x",
                                       "--pi0-server", "http://h:5000", "--x0-demo-model"])
