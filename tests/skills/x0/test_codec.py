from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from skills.x0.codec import ActionDecodeError, FastTokenizer
from skills.x0.demo_model import smooth_chunks


def test_golden_vectors_of_fast_plus(fast_plus_dir: Path) -> None:
    codec = FastTokenizer.load(fast_plus_dir)
    golden = json.loads((fast_plus_dir / "golden.json").read_text())
    assert (codec.scale, codec.min_token, codec.vocab_size) == (10.0, -354, 2048)
    for case in golden["cases"]:
        horizon, dim = case["time_horizon"], case["action_dim"]
        chunk = np.array(case["chunk"])
        assert codec.encode(chunk) == case["token_ids"]
        decoded = codec.decode(case["token_ids"], horizon, dim)
        np.testing.assert_allclose(decoded, np.array(case["decoded"]), atol=1e-6)
        assert np.max(np.abs(decoded - chunk)) == pytest.approx(case["max_abs_error"], abs=1e-5)


def test_fast_plus_rejects_a_truncated_chunk(fast_plus_dir: Path) -> None:
    codec = FastTokenizer.load(fast_plus_dir)
    case = json.loads((fast_plus_dir / "golden.json").read_text())["cases"][0]
    with pytest.raises(ActionDecodeError, match="expected 30 x 14 = 420"):
        codec.decode(case["token_ids"][:-3], 30, 14)


def test_fitted_tokenizer_round_trips_and_saves(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    codec = FastTokenizer.fit(smooth_chunks(rng, 200, 7), vocab_size=400)
    chunk = smooth_chunks(rng, 1, 7)[0]
    ids = codec.encode(chunk)
    assert len(ids) < 30 * 7 / 2  # compresses
    decoded = codec.decode(ids, 30, 7)
    assert decoded.shape == (30, 7)
    assert np.max(np.abs(decoded - chunk)) < 0.1  # quantisation error at scale 10
    reloaded = FastTokenizer.load(codec.save(tmp_path / "tok"))
    assert reloaded.encode(chunk) == ids
    assert reloaded.min_token == codec.min_token


def test_decode_never_substitutes_zeros_for_a_wrong_count() -> None:
    rng = np.random.default_rng(4)
    codec = FastTokenizer.fit(smooth_chunks(rng, 100, 14), vocab_size=300)
    ids = codec.encode(smooth_chunks(rng, 1, 14)[0])
    with pytest.raises(ActionDecodeError):
        codec.decode(ids, 30, 7)  # 420 coefficients are not 30 x 7
    with pytest.raises(ActionDecodeError, match="out of range"):
        codec.decode([10**6], 30, 14)


def test_load_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="tokenizer.json"):
        FastTokenizer.load(tmp_path)
