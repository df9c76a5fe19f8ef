"""FAST action codec: an action chunk <-> a short sequence of BPE token ids.

Encoding: orthonormal DCT-II over time, multiply by ``scale``, round, flatten time-major, shift by
``-min_token`` (clipped at 0), one character per coefficient (``chr``), byte-level BPE.
Decoding reverses every step. A decoded coefficient count that is not horizon x dim is an error
(:class:`ActionDecodeError`): the chunk is never replaced by zeros, which would denormalise to the
middle of the training range (a half-open gripper).

The tokenizer folder has the layout FAST+ ships: ``tokenizer.json`` (a ``tokenizers`` BPE) and
``processor_config.json`` (``scale``, ``min_token``, ``vocab_size``, ...).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.fft import dct, idct
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

__all__ = ["ActionDecodeError", "FastTokenizer"]

logger = logging.getLogger(__name__)

TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "processor_config.json"


class ActionDecodeError(ValueError):
    """Action tokens that do not decode to a whole (horizon, dim) chunk."""


@dataclass
class FastTokenizer:
    """A FAST action tokenizer: DCT + quantisation + byte-level BPE."""

    bpe: Tokenizer
    scale: float = 10.0
    min_token: int = 0
    vocab_size: int = 2048

    # --- loading and saving ---------------------------------------------------------------

    @classmethod
    def load(cls, folder: str | Path) -> FastTokenizer:
        """Load a tokenizer folder (``tokenizer.json`` + ``processor_config.json``)."""
        folder = Path(folder)
        for name in (TOKENIZER_FILE, CONFIG_FILE):
            if not (folder / name).is_file():
                raise FileNotFoundError(f"{folder / name} is missing: an action tokenizer folder holds "
                                        f"{TOKENIZER_FILE} and {CONFIG_FILE}")
        config = json.loads((folder / CONFIG_FILE).read_text())
        bpe = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        return cls(
            bpe=bpe,
            scale=float(config["scale"]),
            min_token=int(config["min_token"]),
            vocab_size=int(config.get("vocab_size") or bpe.get_vocab_size()),
        )

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.bpe.save(str(folder / TOKENIZER_FILE))
        config = {"scale": self.scale, "min_token": self.min_token, "vocab_size": self.vocab_size,
                  "time_horizon": None, "action_dim": None}
        (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
        return folder

    # --- fitting ----------------------------------------------------------------------------

    @classmethod
    def fit(cls, chunks: Iterable[np.ndarray], *, scale: float = 10.0, vocab_size: int = 1024,
            min_frequency: int = 2) -> FastTokenizer:
        """Fit a new tokenizer on normalised action chunks, each (horizon, dim) in [-1, 1]."""
        coefficients = [_quantise(np.asarray(c, dtype=np.float64), scale) for c in chunks]
        if not coefficients:
            raise ValueError("fit needs at least one action chunk")
        min_token = int(min(c.min() for c in coefficients))
        texts = [_to_text(c, min_token) for c in coefficients]
        alphabet = sorted(set("".join(texts)))
        bpe = Tokenizer(models.BPE())
        bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
        bpe.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            show_progress=False,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            special_tokens=[],
        )
        bpe.train_from_iterator(texts, trainer=trainer, length=len(texts))
        logger.info("fitted FAST tokenizer: %d chunks, %d symbols, vocab %d",
                    len(texts), len(alphabet), bpe.get_vocab_size())
        return cls(bpe=bpe, scale=scale, min_token=min_token, vocab_size=bpe.get_vocab_size())

    # --- encode / decode --------------------------------------------------------------------

    def encode(self, chunk: np.ndarray) -> list[int]:
        """Token ids of one normalised chunk of shape (horizon, dim)."""
        chunk = np.asarray(chunk, dtype=np.float64)
        if chunk.ndim != 2:
            raise ValueError(f"an action chunk is (horizon, dim), got shape {chunk.shape}")
        return self.bpe.encode(_to_text(_quantise(chunk, self.scale), self.min_token)).ids

    def decode(self, token_ids: Sequence[int], horizon: int, action_dim: int) -> np.ndarray:
        """The (horizon, action_dim) chunk the ids encode; ActionDecodeError when they do not."""
        coefficients = self.coefficients(token_ids)
        expected = horizon * action_dim
        if coefficients.size != expected:
            raise ActionDecodeError(
                f"action tokens decode to {coefficients.size} coefficients, expected "
                f"{horizon} x {action_dim} = {expected}: the chunk is incomplete or malformed"
            )
        grid = coefficients.reshape(horizon, action_dim) / self.scale
        return idct(grid, axis=0, norm="ortho")

    def coefficients(self, token_ids: Sequence[int]) -> np.ndarray:
        """The quantised DCT coefficients (flat, time-major) the ids spell."""
        bad = [t for t in token_ids if not 0 <= int(t) < self.bpe.get_vocab_size()]
        if bad:
            raise ActionDecodeError(f"action token ids out of range 0..{self.bpe.get_vocab_size() - 1}: {bad[:5]}")
        text = self.bpe.decode([int(t) for t in token_ids])
        return np.array([ord(ch) for ch in text], dtype=np.int64) + self.min_token

    def token_text(self, token_id: int) -> bytes:
        """The bytes one BPE token stands for (for constrained decoding)."""
        return _BYTE_DECODER.decode(self.bpe.id_to_token(token_id))


def _quantise(chunk: np.ndarray, scale: float) -> np.ndarray:
    return np.around(dct(chunk, axis=0, norm="ortho") * scale).astype(np.int64)


def _to_text(coefficients: np.ndarray, min_token: int) -> str:
    return "".join(map(chr, np.maximum(coefficients.flatten() - min_token, 0)))


class _ByteLevelAlphabet:
    """GPT-2's byte <-> printable character table that byte-level BPE vocabularies are written in."""

    def __init__(self) -> None:
        printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
        table = {b: chr(b) for b in printable}
        extra = 0
        for b in range(256):
            if b not in table:
                table[b] = chr(256 + extra)
                extra += 1
        self.char_to_byte = {c: b for b, c in table.items()}

    def decode(self, token: str) -> bytes:
        return bytes(self.char_to_byte[c] for c in token)


_BYTE_DECODER = _ByteLevelAlphabet()
