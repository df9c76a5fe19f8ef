"""A tiny random-weight model for tests of `roboos brain serve`: real transformers code, built in a second.

    model = tiny_model()              # a LocalModel: byte-level tokenizer, one small Llama layer
    app = create_app(model)

Its text is noise, but it runs every code path the real model does (chat template, grammars, streaming,
log-probabilities), so tests of the server's behaviour need not load SmolLM2.
"""

from __future__ import annotations

from typing import Any

from brain.server.model import LocalModel
from brain.templates import read_template

__all__ = ["TINY_MODEL_NAME", "tiny_model"]

TINY_MODEL_NAME = "tiny-random"
_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
_ADDED = ["<tool_call>", "</tool_call>"]


def tiny_model(*, seed: int = 0, name: str = TINY_MODEL_NAME) -> LocalModel:
    """A byte-level tokenizer (256 bytes plus ChatML tokens) and a one-layer Llama with random weights, on CPU."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = _byte_tokenizer()
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=2048,
                         bos_token_id=0, eos_token_id=2, pad_token_id=0, tie_word_embeddings=True)
    model = LlamaForCausalLM(config).eval()
    return LocalModel(model, tokenizer, name=name, chat_template=read_template("chatml_tools.jinja"), device="cpu")


def _byte_tokenizer() -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {token: i for i, token in enumerate(_SPECIAL + sorted(alphabet))}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, bos_token=_SPECIAL[0], eos_token=_SPECIAL[2],
                                        pad_token=_SPECIAL[0], additional_special_tokens=_SPECIAL[1:])
    tokenizer.add_tokens(_ADDED)
    return tokenizer
