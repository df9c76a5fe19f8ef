"""Adaptive chunking (skills.adaptive): the fixed and fresh schedules, skipping while the
observation is as predicted, asking at once when it is not, re-asking until two chunks agree,
exact cache hits, and ``roboos bench adaptive``."""

from __future__ import annotations

import argparse
import io

import numpy as np
import pytest

from deploy.bench_adaptive import main as bench_main
from deploy.bench_adaptive import run_adaptive_bench
from skills.adaptive import ChunkPolicy, ChunkRunner, Observation, mape

HORIZON = 20
TARGET = np.array([1.0, -0.5])


def approach(state: np.ndarray, target: np.ndarray = TARGET) -> np.ndarray:
    """A time-consistent policy: a tenth of the way to the target per step."""
    return target + (state - target) * 0.9 ** np.arange(1, HORIZON + 1)[:, None]


class Model:
    def __init__(self, policy=approach) -> None:
        self.policy = policy
        self.seen: list[int] = []

    def __call__(self, observation: Observation) -> np.ndarray:
        self.seen.append(observation.step)
        return self.policy(observation.state)


def follow(runner: ChunkRunner, steps: int, push: dict[int, np.ndarray] | None = None,
           frames: dict[int, np.ndarray] | None = None) -> list[np.ndarray]:
    """Closed loop: the robot reaches each action exactly, plus a push now and then."""
    state, frame, executed = np.zeros(2), np.zeros((4, 4), dtype=np.uint8), []
    for t in range(steps):
        frame = (frames or {}).get(t, frame)
        action = runner.step(Observation(state, (frame,), t))
        executed.append(action)
        state = action + (push or {}).get(t, 0.0)
    return executed


def test_fresh_asks_every_step_and_fixed_every_period() -> None:
    fresh, fixed = Model(), Model()
    follow(ChunkRunner(ChunkPolicy("fresh"), fresh), 30)
    follow(ChunkRunner(ChunkPolicy("fixed", period_steps=7, lead_steps=5), fixed), 30)
    assert fresh.seen == list(range(30))
    assert fixed.seen == [0, 7, 14, 21, 28]


def test_adaptive_skips_while_the_robot_follows_the_chunk() -> None:
    model = Model()
    runner = ChunkRunner(ChunkPolicy("adaptive", period_steps=5, lead_steps=5), model)
    executed = follow(runner, 45)
    assert model.seen == [0, 15, 30]  # only when the chunk runs low: 15 of its 20 actions used
    assert runner.skipped == 6 and runner.cache_hits == 0 and runner.early == 0
    reference = [approach(np.asarray(a))[0] for a in [np.zeros(2), *executed[:-1]]]
    assert mape(np.asarray(reference), np.asarray(executed), 0.05) < 1e-9  # what fresh calls would do


def test_a_push_is_answered_at_the_next_step() -> None:
    model = Model()
    runner = ChunkRunner(ChunkPolicy("adaptive", period_steps=5, lead_steps=5), model)
    follow(runner, 30, push={8: np.array([0.2, 0.0])})
    # asked at 9; that chunk disagrees with the old one's rest (the push), so again at 11, which
    # agrees: back to refilling when 5 actions are left
    assert model.seen == [0, 9, 11, 26] and runner.early == 1


def test_a_changed_frame_is_answered_and_a_small_change_is_not() -> None:
    model = Model()
    runner = ChunkRunner(ChunkPolicy("adaptive", period_steps=5, lead_steps=5, image_tolerance=2.0), model)
    follow(runner, 14, frames={3: np.full((4, 4), 1, dtype=np.uint8), 6: np.full((4, 4), 40, dtype=np.uint8)})
    assert model.seen == [0, 6]


def test_a_model_that_changes_its_mind_is_asked_again_until_two_chunks_agree() -> None:
    switched = {"at": 12}

    def policy(state: np.ndarray) -> np.ndarray:  # a new goal from step 12 on, with the same observation
        target = TARGET if len(model.seen) <= 1 else -TARGET
        return approach(state, target)

    model = Model(policy)
    runner = ChunkRunner(ChunkPolicy("adaptive", period_steps=5, lead_steps=5, recheck_steps=2), model)
    follow(runner, 24, push={switched["at"] - 1: np.array([0.0, 0.3])})  # the push makes it ask at 12
    assert model.seen[:3] == [0, 12, 14]  # 12 disagreed with the old chunk: asked again 2 steps later
    assert runner.early == 1  # and the chunk at 14 agreed (the same goal): back to the schedule
    assert len(model.seen) == 3


def test_a_bit_identical_observation_reuses_the_chunk() -> None:
    model = Model(lambda state: np.repeat(state[None, :], HORIZON, axis=0))  # standing still
    runner = ChunkRunner(ChunkPolicy("adaptive", period_steps=5, lead_steps=5), model)
    executed = follow(runner, 40)
    assert model.seen == [0] and runner.cache_hits == 2
    assert all(np.array_equal(a, np.zeros(2)) for a in executed)


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown mode 'sometimes'"):
        ChunkPolicy("sometimes")
    with pytest.raises(ValueError, match="period_steps and recheck_steps must be >= 1"):
        ChunkPolicy(period_steps=0)
    with pytest.raises(ValueError, match="tolerances must be >= 0"):
        ChunkPolicy(state_tolerance=-1)


def test_the_bench_ends_with_the_adaptive_line() -> None:
    args = argparse.Namespace(steps=300, x0_steps=0, epsilon=0.05, seed=7)
    policies = {mode: ChunkPolicy(mode) for mode in ("fresh", "fixed", "adaptive")}
    out = io.StringIO()
    assert run_adaptive_bench(args, policies, out) == 0
    lines = out.getvalue().strip().splitlines()
    assert lines[-1].startswith("adaptive: ") and "% fewer model calls, MAPE " in lines[-1]
    fresh_row = next(line for line in lines if line.strip().startswith("fresh"))
    assert fresh_row.split()[1] == "300" and fresh_row.split()[-2] == "0.00"  # the reference is itself
    assert bench_main(["--steps", "5"]) == 2 and bench_main(["--period", "0"]) == 2


@pytest.mark.model
def test_the_bench_runs_the_x0_demo_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_main(["--steps", "40", "--x0-steps", "4", "--period", "2", "--lead", "2"]) == 0
    out = capsys.readouterr().out
    assert "X0 demo model (franka poses, 30 Hz, untrained weights): 4 steps" in out
    assert out.strip().splitlines()[-1].startswith("adaptive: ")
