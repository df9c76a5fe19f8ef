from __future__ import annotations

from typing import Any

import pytest

from skills.x0 import contract
from skills.x0.contract import EMBODIMENTS, embodiment

GRIPPER = {"raw": "raw", "clip(g, 0, 1)": "clip"}


def test_tokens_match_the_shared_contract(x0_contract: dict[str, Any]) -> None:
    tokens = x0_contract["tokens"]
    assert contract.BOA_TOKEN_ID == tokens["boa"]
    assert contract.EOA_TOKEN_ID == tokens["eoa"]
    assert contract.ACTION_TOKEN_OFFSET == tokens["action_token_offset"]
    assert contract.ACTION_TOKEN_END == tokens["action_token_end_exclusive"]
    assert contract.HORIZON == x0_contract["horizon"]


@pytest.mark.parametrize("name", sorted(EMBODIMENTS))
def test_embodiment_facts_match_the_shared_contract(x0_contract: dict[str, Any], name: str) -> None:
    ref, mine = x0_contract["embodiments"][name], EMBODIMENTS[name]
    assert (mine.port, mine.action_dim, mine.bgr, mine.rotation) == (ref["port"], ref["action_dim"], ref["bgr"], ref["rotation"])
    assert mine.stats_key == ref["stats_key"]
    assert list(mine.image_keys) == ref["image_keys"]
    assert [[list(a.pose), list(a.action)] for a in mine.arms] == [[a["pose"], a["action"]] for a in ref["arms"]]
    expected_gripper = "invert" if ref["gripper"].startswith("clip(1 - g") else GRIPPER[ref["gripper"]]
    assert mine.gripper == expected_gripper
    generation = ref["generation"]
    assert mine.generation.max_new_tokens == generation["max_new_tokens"]
    assert mine.generation.do_sample == generation["do_sample"]
    assert mine.generation.temperature == generation.get("temperature")


@pytest.mark.parametrize("name", sorted(EMBODIMENTS))
@pytest.mark.parametrize("mode", contract.MODES)
def test_prompt_parts_match_the_shared_contract_character_for_character(
    x0_contract: dict[str, Any], name: str, mode: str
) -> None:
    reference = [(kind, value) for part in x0_contract["embodiments"][name]["prompt"][mode] for kind, value in part.items()]
    assert [(p.kind, p.value) for p in EMBODIMENTS[name].prompts[mode]] == reference


def test_unknown_embodiment_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="agilex, franka, r1lite, a2d"):
        embodiment("ur5")
