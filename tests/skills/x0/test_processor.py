from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from skills.x0.contract import EMBODIMENTS, MODES
from skills.x0.processor import X0Processor, decode_image, message_content
from skills.images import encode_image


def _expected_prompt(parts: list[dict[str, str]], instruction: str) -> str:
    body = "".join(
        "<|vision_start|><|image_pad|><|vision_end|>" if "image" in part
        else part["text"].replace("{instruction}", instruction.lower())
        for part in parts
    )
    return (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        f"<|im_start|>user\n{body}<|im_end|>\n<|im_start|>assistant\n"
    )


@pytest.mark.parametrize("name", sorted(EMBODIMENTS))
@pytest.mark.parametrize("mode", MODES)
def test_prompt_assembly_equals_the_contract(
    x0_contract: dict[str, Any], demo_checkpoint: Path, name: str, mode: str
) -> None:
    processor = X0Processor.load(demo_checkpoint)
    prompt = processor.prompt(EMBODIMENTS[name], mode, "Put The Red Cup In The Bowl")
    assert prompt == _expected_prompt(x0_contract["embodiments"][name]["prompt"][mode], "Put The Red Cup In The Bowl")


def test_image_slots_follow_the_contract_order() -> None:
    content = message_content(EMBODIMENTS["a2d"], "subtask", "x")
    assert [p["image"] for p in content if p["type"] == "image"] == ["cam_head", "cam_right_wrist", "cam_left_wrist"]


def test_model_inputs_expand_one_token_per_merged_patch(demo_checkpoint: Path) -> None:
    processor = X0Processor.load(demo_checkpoint)
    emb = EMBODIMENTS["franka"]
    prompt = processor.prompt(emb, "subtask", "pick")
    image = Image.new("RGB", (320, 240), (10, 20, 30))
    inputs = processor(prompt, [image, image])
    grid = inputs["image_grid_thw"]
    assert grid.tolist() == [[1, 18, 22], [1, 18, 22]]  # 240x320 -> 252x308 in 14 px patches
    image_tokens = int(inputs["mm_token_type_ids"].sum())
    assert image_tokens == 2 * 18 * 22 // 4
    assert inputs["pixel_values"].shape == (2 * 18 * 22, 3 * 2 * 14 * 14)
    assert inputs["input_ids"].shape == inputs["attention_mask"].shape
    with pytest.raises(ValueError, match="2 image slots, got 1"):
        processor(prompt, [image])


def test_decode_image_resizes_converts_and_swaps_to_bgr() -> None:
    image = Image.new("RGBA", (64, 48), (200, 100, 50, 255))
    rgb = decode_image(encode_image(image), bgr=False)
    bgr = decode_image(encode_image(image), bgr=True)
    assert rgb.size == (320, 240) and rgb.mode == "RGB"
    assert tuple(np.asarray(rgb)[5, 5]) == (200, 100, 50)
    assert tuple(np.asarray(bgr)[5, 5]) == (50, 100, 200)


def test_decode_image_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="base64"):
        decode_image("not base64!!", bgr=False)
    with pytest.raises(ValueError, match="readable image"):
        decode_image(base64.b64encode(b"hello").decode(), bgr=False)
