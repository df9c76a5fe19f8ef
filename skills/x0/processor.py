"""An image-only Qwen2.5-VL processor: chat template + tokenizer + Qwen2-VL image processor.

transformers 5 cannot build the stock Qwen2.5-VL processor without torchvision (its video
processor needs it). X0 only sends images, so this builds the same model inputs from the parts
that work without it: the PIL/numpy ``Qwen2VLImageProcessorPil``, the checkpoint's
``tokenizer.json`` (through ``tokenizers``) and its chat template (Jinja; a Qwen2.5-VL-equivalent
template when the checkpoint has none). Each ``<|image_pad|>`` is expanded to one token per merged
patch, and ``mm_token_type_ids`` marks them, as the stock processor does.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from skills.images import decode_image_file
from skills.x0.contract import IMAGE_SIZE, Embodiment

__all__ = ["DEFAULT_CHAT_TEMPLATE", "X0Processor", "decode_image", "message_content"]

logger = logging.getLogger(__name__)

IMAGE_PAD = "<|image_pad|>"
DEFAULT_CHAT_TEMPLATE = r"""
{%- for message in messages -%}
{%- if loop.first and message['role'] != 'system' -%}
{{- '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' -}}
{%- endif -%}
{{- '<|im_start|>' + message['role'] + '\n' -}}
{%- if message['content'] is string -%}
{{- message['content'] -}}
{%- else -%}
{%- for part in message['content'] -%}
{%- if part['type'] == 'image' -%}
{{- '<|vision_start|><|image_pad|><|vision_end|>' -}}
{%- elif part['type'] == 'text' -%}
{{- part['text'] -}}
{%- endif -%}
{%- endfor -%}
{%- endif -%}
{{- '<|im_end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{- '<|im_start|>assistant\n' -}}
{%- endif -%}
"""


def decode_image(data: str, *, bgr: bool) -> Any:
    """A base64 image -> a 320x240 RGB PIL image (channels swapped to BGR when ``bgr``)."""
    from PIL import Image

    image = decode_image_file(data).resize(IMAGE_SIZE)
    if bgr:
        image = Image.fromarray(np.ascontiguousarray(np.asarray(image)[..., ::-1]))
    return image


def message_content(embodiment: Embodiment, mode: str, instruction: str) -> list[dict[str, str]]:
    """The user message's content parts, in the contract's order, with the instruction filled in."""
    parts = []
    for part in embodiment.prompts[mode]:
        if part.kind == "image":
            parts.append({"type": "image", "image": part.value})
        else:
            parts.append({"type": "text", "text": part.value.replace("{instruction}", instruction.lower())})
    return parts


@dataclass
class X0Processor:
    tokenizer: Any  # tokenizers.Tokenizer
    image_processor: Any  # Qwen2VLImageProcessorPil
    chat_template: str = DEFAULT_CHAT_TEMPLATE

    @classmethod
    def load(cls, folder: str | Path) -> X0Processor:
        from tokenizers import Tokenizer
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

        folder = Path(folder)
        if not (folder / "tokenizer.json").is_file():
            raise FileNotFoundError(f"{folder / 'tokenizer.json'} is missing: not a Qwen2.5-VL checkpoint folder")
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        image_config = folder / "preprocessor_config.json"
        kwargs = _image_processor_kwargs(json.loads(image_config.read_text())) if image_config.is_file() else {}
        return cls(tokenizer, Qwen2VLImageProcessorPil(**kwargs), _chat_template(folder))

    def prompt(self, embodiment: Embodiment, mode: str, instruction: str) -> str:
        """The chat-formatted prompt with one ``<|image_pad|>`` per image."""
        messages = [{"role": "user", "content": message_content(embodiment, mode, instruction)}]
        return _render(self.chat_template, messages)

    def __call__(self, prompt: str, images: list[Any]) -> dict[str, Any]:
        """Model inputs (torch tensors) for one prompt and its images, in prompt order."""
        import torch

        if prompt.count(IMAGE_PAD) != len(images):
            raise ValueError(f"prompt has {prompt.count(IMAGE_PAD)} image slots, got {len(images)} images")
        vision = self.image_processor(images=images, return_tensors="pt")
        merge = self.image_processor.merge_size ** 2
        pieces = prompt.split(IMAGE_PAD)
        expanded = pieces[0]
        for grid, piece in zip(vision["image_grid_thw"], pieces[1:]):
            expanded += IMAGE_PAD * int(grid.prod() // merge) + piece
        ids = self.tokenizer.encode(expanded, add_special_tokens=False).ids
        input_ids = torch.tensor([ids], dtype=torch.long)
        image_token = self.tokenizer.token_to_id(IMAGE_PAD)
        return {
            "input_ids": input_ids,
            "attention_mask": torch.ones_like(input_ids),
            "mm_token_type_ids": (input_ids == image_token).to(torch.int32),
            "pixel_values": vision["pixel_values"],
            "image_grid_thw": vision["image_grid_thw"],
        }

    def decode(self, token_ids: list[int], *, skip_special_tokens: bool = True) -> str:
        return self.tokenizer.decode(token_ids, skip_special_tokens=skip_special_tokens)


def _image_processor_kwargs(config: dict[str, Any]) -> dict[str, Any]:
    keys = ("size", "min_pixels", "max_pixels", "patch_size", "temporal_patch_size", "merge_size",
            "image_mean", "image_std", "do_resize", "do_rescale", "rescale_factor", "do_normalize")
    return {k: config[k] for k in keys if k in config}


def _chat_template(folder: Path) -> str:
    for name in ("chat_template.jinja", "chat_template.json", "tokenizer_config.json"):
        path = folder / name
        if not path.is_file():
            continue
        if name.endswith(".jinja"):
            return path.read_text()
        template = json.loads(path.read_text()).get("chat_template")
        if isinstance(template, str):
            return template
    logger.info("no chat template in %s, using the Qwen2.5-VL equivalent", folder)
    return DEFAULT_CHAT_TEMPLATE


def _render(template: str, messages: list[dict[str, Any]]) -> str:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    return env.from_string(template).render(messages=messages, add_generation_prompt=True)
