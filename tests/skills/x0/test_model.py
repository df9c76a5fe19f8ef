from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from skills.x0.codec import ActionDecodeError
from skills.x0.contract import ACTION_TOKEN_OFFSET, BOA_TOKEN_ID, EMBODIMENTS, EOA_TOKEN_ID
from skills.x0.demo_model import smooth_chunks
from skills.x0.grammar import ForcedTokens
from skills.x0.model import X0RequestError, parse_output
from skills.x0.poses import integrate
from skills.x0.samples import neutral_pose, sample_images

pytestmark = pytest.mark.model


def _forced(model: Any, subtask: str, fast_ids: list[int]) -> tuple[ForcedTokens, list[int]]:
    emb = model.embodiment
    prompt = model.processor.prompt(emb, model.options.mode, "pick up the cup")
    prompt_length = model.processor(prompt, list(sample_images(emb).values()))["input_ids"].shape[1]
    text_ids = model.processor.tokenizer.encode(subtask, add_special_tokens=False).ids
    sequence = [*text_ids, BOA_TOKEN_ID, *(t + ACTION_TOKEN_OFFSET for t in fast_ids), EOA_TOKEN_ID]
    return ForcedTokens(sequence, prompt_length), sequence


@pytest.mark.parametrize("name", ["agilex", "a2d"])
def test_forced_tokens_go_through_parse_decode_denormalise_integrate(demo_models: Any, name: str) -> None:
    model = demo_models(name)
    emb = EMBODIMENTS[name]
    chunk = smooth_chunks(np.random.default_rng(11), 1, emb.action_dim)[0]
    fast_ids = model.codec.encode(chunk)
    processor, sequence = _forced(model, "grasp the cup", fast_ids)
    result = model.infer("Pick up the cup", sample_images(emb), neutral_pose(emb), logits_processor=processor)
    assert result.subtask == "grasp the cup"
    assert result.action_tokens == fast_ids
    assert result.generated_tokens == len(sequence)
    np.testing.assert_allclose(result.normalised, model.codec.decode(fast_ids, 30, emb.action_dim))
    deltas = model.stats.denormalise(result.normalised)
    np.testing.assert_allclose(result.eepose, integrate(neutral_pose(emb), deltas, emb))
    assert result.backend.name == "torch" and result.demo


def test_an_incomplete_chunk_is_rejected_not_zeroed(demo_models: Any) -> None:
    model = demo_models("franka")
    emb = model.embodiment
    fast_ids = model.codec.encode(smooth_chunks(np.random.default_rng(12), 1, 7)[0])[:-2]
    processor, _ = _forced(model, "reach", fast_ids)
    with pytest.raises(ActionDecodeError, match="expected 30 x 7"):
        model.infer("pick up the cup", sample_images(emb), neutral_pose(emb), logits_processor=processor)


@pytest.mark.parametrize("name", ["franka", "r1lite"])
def test_demo_model_generates_a_finite_trajectory_under_the_grammar(demo_models: Any, name: str) -> None:
    model = demo_models(name, "standard" if name == "r1lite" else "subtask")
    emb = model.embodiment
    result = model.infer("Pick up the cup", sample_images(emb), neutral_pose(emb))
    assert result.eepose.shape == (30, emb.pose_dim)
    assert np.all(np.isfinite(result.eepose))
    assert (result.subtask is None) == (model.options.mode == "standard")
    assert model.describe()["demo"] and "untrained" in model.describe()["weights"]


def test_parse_output_cuts_at_eoa_and_keeps_only_action_ids() -> None:
    ids = [5, 6, BOA_TOKEN_ID, ACTION_TOKEN_OFFSET + 3, 151652, ACTION_TOKEN_OFFSET + 9, EOA_TOKEN_ID, ACTION_TOKEN_OFFSET]
    subtask, fast = parse_output(ids, lambda t: " text ")
    assert (subtask, fast) == ("text", [3, 9])
    with pytest.raises(ActionDecodeError, match="no <boa>"):
        parse_output([1, 2, 3], str)


def test_bad_requests_are_request_errors(demo_models: Any) -> None:
    model = demo_models("franka")
    emb = model.embodiment
    images = sample_images(emb)
    with pytest.raises(X0RequestError, match="missing image.*cam_wrist"):
        model.infer("pick", {"cam_front": images["cam_front"]}, neutral_pose(emb))
    with pytest.raises(X0RequestError, match="has 8 values"):
        model.infer("pick", images, [0.0] * 7)
    with pytest.raises(X0RequestError, match="empty"):
        model.infer("  ", images, neutral_pose(emb))
