r"""``roboos bench adaptive``: model calls saved by adaptive chunking, and what it costs in accuracy.

A perturbed episode is recorded once by running the policy fresh at every step (the robot follows
the first action of each fresh chunk; pushes move some joints now and then, the lighting changes,
and the joint encoders read to 1e-3), then replayed for each mode of ``skills.adaptive``: ``fresh``
(a call per step, the reference), ``fixed`` (a call every ``--period`` steps) and ``adaptive``.
Every mode sees the same observations and gets, for each call, the chunk the policy gave for that
observation, so the modes differ only in when they ask. Figures: model calls per second of
executed motion, and the MAPE of the executed actions against the fresh ones (|fresh| floored at
``--epsilon``).

Two policies: the reference pi0 server's scripted policy (aloha, 50 Hz) and the X0 demo model
(franka end-effector poses, 30 Hz; an untrained model, built locally on first use, slow on a CPU:
``--x0-steps 0`` leaves it out). Each ends with ``adaptive: N % fewer model calls, MAPE M %``.

    roboos bench adaptive
    roboos bench adaptive --steps 1000 --period 5 --x0-steps 0
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

import numpy as np

from skills.adaptive import MODES, ChunkPolicy, ChunkRunner, Observation, mape

__all__ = ["main", "run_adaptive_bench"]

ENCODER_STEP = 1e-3  # joint readings are quantised like an encoder's
FRAME_SHAPE = (24, 32)  # the scripted episode's camera: small grey frames


@dataclass
class Episode:
    """Observations, and the chunk the policy gives for each (the same for every mode)."""

    name: str
    rate_hz: float
    observations: list[Observation]
    chunks: list[np.ndarray]
    events: str

    @property
    def fresh_actions(self) -> np.ndarray:
        return np.stack([chunk[0] for chunk in self.chunks])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="roboos bench adaptive", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1500, help="control steps of the scripted episode (1500)")
    parser.add_argument("--x0-steps", type=int, default=60, help="steps of the X0 episode (60; 0: skip X0)")
    parser.add_argument("--period", type=int, default=10, help="the fixed schedule: a call every N steps (10)")
    parser.add_argument("--lead", type=int, default=10, help="always ask when this many actions are left (10)")
    parser.add_argument("--state-tolerance", type=float, default=0.005,
                        help="adaptive: the state may miss the prediction by this much (0.005)")
    parser.add_argument("--image-tolerance", type=float, default=2.0,
                        help="adaptive: mean pixel change (0-255) below which a frame is unchanged (2)")
    parser.add_argument("--disagreement", type=float, default=0.02,
                        help="adaptive: a fresh chunk this far from the old one's rest re-checks early (0.02)")
    parser.add_argument("--recheck", type=int, default=2, help="adaptive: the early re-check, in steps (2)")
    parser.add_argument("--epsilon", type=float, default=0.05, help="floor of |fresh action| in the MAPE (0.05)")
    parser.add_argument("--seed", type=int, default=7)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        policies = {mode: _policy(args, mode) for mode in MODES}
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.steps < 2 * args.period or args.x0_steps < 0:
        print("error: --steps must be at least twice --period, --x0-steps >= 0", file=sys.stderr)
        return 2
    return run_adaptive_bench(args, policies, sys.stdout)


def _policy(args: argparse.Namespace, mode: str) -> ChunkPolicy:
    return ChunkPolicy(mode=mode, period_steps=args.period, lead_steps=args.lead,
                       state_tolerance=args.state_tolerance, image_tolerance=args.image_tolerance,
                       disagreement=args.disagreement, recheck_steps=args.recheck)


def run_adaptive_bench(args: argparse.Namespace, policies: dict[str, ChunkPolicy], out: TextIO) -> int:
    print(f"recording the scripted episode ({args.steps} steps)...", file=out, flush=True)
    _report(scripted_episode(args.steps, args.seed), policies, args.epsilon, out)
    if args.x0_steps:
        print(f"recording the X0 demo model's episode ({args.x0_steps} steps, a model call each; "
              "slow on a CPU)...", file=out, flush=True)
        _report(x0_episode(args.x0_steps, args.seed, out), policies, args.epsilon, out)
    return 0


def scripted_episode(steps: int, seed: int) -> Episode:
    """The reference pi0 server's scripted policy, aloha, 50 Hz: pushes about every 3 s and two
    lighting changes (which move the policy's target)."""
    from skills.pi0.protocol import EMBODIMENTS
    from skills.pi0.reference import ScriptedPolicy

    rng = np.random.default_rng(seed)
    policy = ScriptedPolicy(EMBODIMENTS["aloha"])
    pushes = _event_steps(rng, steps, every=150)
    lights = {steps // 3: 90, 2 * steps // 3: 170}  # new brightness of the camera
    frame = np.full(FRAME_SHAPE, 128, dtype=np.uint8)
    state = np.zeros(policy.embodiment.state_dim)

    def act(observation: Observation) -> np.ndarray:
        return policy.act("fold the towel", {"base": observation.frames[0]}, observation.state)

    def disturb(t: int, state: np.ndarray) -> np.ndarray:
        if t in pushes:
            joints = rng.choice(state.size, 3, replace=False)
            state = state.copy()
            state[joints] += rng.normal(0.0, 0.15, 3)
        return np.round(state / ENCODER_STEP) * ENCODER_STEP

    def frames(t: int) -> tuple[np.ndarray, ...]:
        nonlocal frame
        if t in lights:
            frame = np.full(FRAME_SHAPE, lights[t], dtype=np.uint8)
        return (frame,)

    observations, chunks = _record(steps, state, act, disturb, frames)
    return Episode("scripted policy (aloha, 50 Hz)", 50.0, observations, chunks,
                   f"{len(pushes)} pushes, {len(lights)} lighting changes")


def x0_episode(steps: int, seed: int, out: TextIO) -> Episode:
    """The X0 demo model, franka end-effector poses at 30 Hz, pushes of the end effector by 2 cm."""
    from skills.sim.x0_arm import X0Arm
    from skills.x0.samples import neutral_pose

    rng = np.random.default_rng(seed)
    model = X0Arm.load("franka").model
    images = X0Arm(model).images
    frames = tuple(np.asarray(image) for image in images.values())
    pushes = _event_steps(rng, steps, every=20)
    started = time.perf_counter()

    def act(observation: Observation) -> np.ndarray:
        chunk = model.infer("pick up the cup", images, observation.state).eepose
        done = observation.step + 1
        if done % max(1, steps // 4) == 0:
            print(f"  {done}/{steps} chunks ({(time.perf_counter() - started) / done:.1f} s each)", file=out, flush=True)
        return chunk

    def disturb(t: int, pose: np.ndarray) -> np.ndarray:
        if t in pushes:
            pose = pose.copy()
            pose[:3] += rng.normal(0.0, 0.02, 3)
        return np.round(pose / ENCODER_STEP) * ENCODER_STEP

    observations, chunks = _record(steps, neutral_pose(model.embodiment), act, disturb, lambda t: frames)
    return Episode("X0 demo model (franka poses, 30 Hz, untrained weights)", 30.0, observations, chunks,
                   f"{len(pushes)} pushes")


def _event_steps(rng: np.random.Generator, steps: int, every: int) -> set[int]:
    """About one step in ``every`` (none in the first half period), seeded."""
    first = min(every // 2, steps - 1)
    return {int(t) for t in rng.integers(first, steps, max(1, steps // every))} if steps > 1 else set()


def _record(steps: int, state: np.ndarray, act: Callable[[Observation], np.ndarray],
            disturb: Callable[[int, np.ndarray], np.ndarray],
            frames: Callable[[int], tuple[np.ndarray, ...]]) -> tuple[list[Observation], list[np.ndarray]]:
    """Run fresh at every step: the robot reaches each fresh chunk's first action, then is disturbed."""
    observations, chunks = [], []
    state = disturb(-1, np.asarray(state, dtype=np.float64))
    for t in range(steps):
        observation = Observation(state, frames(t), t)
        chunk = np.asarray(act(observation), dtype=np.float64)
        observations.append(observation)
        chunks.append(chunk)
        state = disturb(t, chunk[0])
    return observations, chunks


def _report(episode: Episode, policies: dict[str, ChunkPolicy], epsilon: float, out: TextIO) -> None:
    seconds = len(episode.observations) / episode.rate_hz
    fresh = episode.fresh_actions
    print(f"{episode.name}: {len(episode.observations)} steps = {seconds:.1f} s of motion, {episode.events}; "
          f"MAPE against fresh, |fresh| floored at {epsilon:g}", file=out)
    print(f"  {'mode':<10}{'calls':>7}{'calls/s':>9}{'cache hits':>12}{'skipped':>9}{'early':>7}{'MAPE':>10}", file=out)
    results = {}
    for mode, policy in policies.items():
        runner = ChunkRunner(policy, lambda observation: episode.chunks[observation.step])
        executed = np.stack([runner.step(observation) for observation in episode.observations])
        error = mape(fresh, executed, epsilon)
        results[mode] = (runner.calls, error)
        print(f"  {mode:<10}{runner.calls:>7}{runner.calls / seconds:>9.1f}{runner.cache_hits:>12}"
              f"{runner.skipped:>9}{runner.early:>7}{error:>9.2f} %", file=out)
    fixed_calls, adaptive = results["fixed"][0], results["adaptive"]
    fewer = (1 - adaptive[0] / fixed_calls) * 100 if fixed_calls else 0.0
    print(f"adaptive: {fewer:.0f} % fewer model calls, MAPE {adaptive[1]:.2f} %", file=out, flush=True)
