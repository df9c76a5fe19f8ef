"""Speculative X0 decoding: drafts found where they should be, and tokens identical to greedy
decoding (Hugging Face's generate) whatever the drafts; fewer forward passes when they are right."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from skills.x0.model import X0Model, X0Options
from skills.x0.samples import neutral_pose, sample_images
from skills.x0.speculative import find_draft

ROOT = Path(__file__).resolve().parents[3]


def test_a_draft_follows_the_previous_chunk_at_the_same_place() -> None:
    previous = [5, 1, 2, 9, 1, 2, 7, 8]
    assert find_draft([], previous, [], 3, "previous") == ([5, 1, 2], "previous")  # from its start
    assert find_draft([5], previous, [], 3, "previous") == ([1, 2, 9], "previous")
    assert find_draft([5, 1, 2, 9, 1, 2], previous, [], 2, "previous") == ([7, 8], "previous")  # the match near step 6
    assert find_draft([3, 3], previous, [], 2, "previous") == ([], "")
    assert find_draft([5, 1], previous, [], 2, "none") == ([], "")


def test_prompt_lookup_drafts_what_followed_the_last_match() -> None:
    prompt = [10, 11, 12, 13, 10, 11, 14]
    assert find_draft([10, 11], [], prompt, 2, "prompt") == ([14, 10], "prompt")  # on into the output so far
    assert find_draft([12], [], prompt, 3, "prompt") == ([13, 10, 11], "prompt")
    assert find_draft([12], [], prompt, 3, "both") == ([13, 10, 11], "prompt")  # no previous chunk: the prompt
    assert find_draft([99], [], prompt, 3, "prompt") == ([], "")


def test_options_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Unknown draft source 'sometimes'"):
        X0Options(model_path=tmp_path, embodiment="agilex", draft="sometimes")
    with pytest.raises(ValueError, match="max_draft must be >= 1"):
        X0Options(model_path=tmp_path, embodiment="agilex", draft="both", max_draft=0)


@pytest.fixture(scope="module")
def agilex(demo_checkpoint: Path) -> X0Model:
    """The agilex demo model (its contract decodes greedily)."""
    return X0Model.load(X0Options(model_path=demo_checkpoint, embodiment="agilex", max_new_tokens=600))


@pytest.mark.model
def test_speculative_tokens_are_greedy_tokens(agilex: X0Model) -> None:
    images, pose = sample_images(agilex.embodiment, 0), neutral_pose(agilex.embodiment)
    moved = pose + np.r_[0.01, -0.01, 0.005, np.zeros(agilex.embodiment.pose_dim - 3)]
    reference = agilex.infer("pick up the cup", images, pose)
    other = agilex.infer("open the drawer", sample_images(agilex.embodiment, 3), moved)
    assert reference.speculation is None  # draft none: Hugging Face's generate
    cases: list[tuple[str, list[int], Any]] = [
        ("previous", reference.generated, moved), ("both", reference.generated, moved),
        ("prompt", [], pose), ("previous", other.generated, pose), ("previous", [], pose),
        ("both", list(range(1000, 1100)), moved),
    ]
    for source, previous, at in cases:
        expected = agilex.infer("pick up the cup", images, at)
        got = agilex.with_options(draft=source).infer("pick up the cup", images, at, previous=previous)
        assert got.generated == expected.generated, (source, previous[:5])
        np.testing.assert_array_equal(got.eepose, expected.eepose)
        stats = got.speculation
        assert stats is not None and stats["accepted"] <= stats["drafted"]
        assert stats["forwards"] <= len(got.generated) + 1 - stats["accepted"] + 1  # the prefill, a pass per pick
    follow = agilex.with_options(draft="previous").infer("pick up the cup", images, moved, previous=reference.generated)
    assert follow.speculation["accepted"] > 0.5 * len(follow.generated)  # the consecutive chunk drafts well
    assert follow.speculation["forwards"] < len(follow.generated) / 2


@pytest.mark.model
def test_the_model_drafts_from_its_own_last_chunk(agilex: X0Model) -> None:
    drafting = agilex.with_options(draft="previous")
    images, pose = sample_images(agilex.embodiment, 0), neutral_pose(agilex.embodiment)
    first = drafting.infer("pick up the cup", images, pose)
    second = drafting.infer("pick up the cup", images, pose)
    assert first.speculation["accepted"] == 0 and second.speculation["accepted"] > 0
    assert first.generated == second.generated


@pytest.mark.model
def test_the_bench_reports_identity_and_speed_up(demo_checkpoint: Path) -> None:
    import subprocess

    result = subprocess.run([sys.executable, "-m", "deploy.cli", "bench", "speculative", "--demo-model",
                             "--cache-dir", str(demo_checkpoint.parent), "--chunks", "1"],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("speculative: 100% identical tokens; ") and "decode speed-up where drafts" in last
    franka = subprocess.run([sys.executable, "-m", "deploy.cli", "bench", "speculative", "--demo-model",
                             "--cache-dir", str(demo_checkpoint.parent), "--embodiment", "franka"],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert franka.returncode != 0 and "franka's contract samples its tokens" in franka.stderr
