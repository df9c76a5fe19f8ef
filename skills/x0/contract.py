"""RoboBrain-X0's inference contract per embodiment, as the checkpoints were trained with it.

The prompts are reproduced character for character: a real X0 checkpoint only behaves when it
sees exactly the text it was trained on. ``{instruction}`` is filled with the lower-cased
instruction. Tests compare this module with ``../shared/fixtures/x0/contract.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "ACTION_TOKEN_END",
    "ACTION_TOKEN_OFFSET",
    "BOA_TOKEN_ID",
    "EMBODIMENTS",
    "EOA_TOKEN_ID",
    "HORIZON",
    "IMAGE_SIZE",
    "MODES",
    "Arm",
    "Embodiment",
    "GenerationSettings",
    "PromptPart",
    "embodiment",
]

HORIZON = 30  # actions per chunk (30 Hz, one second)
BOA_TOKEN_ID = 151665  # <boa>: begin of actions
EOA_TOKEN_ID = 151667  # <eoa>: end of actions
ACTION_TOKEN_OFFSET = 149595  # FAST token id 0 in the language model's vocabulary
ACTION_TOKEN_END = 151643  # exclusive: the first of Qwen2.5's special tokens
IMAGE_SIZE = (320, 240)  # width, height every camera image is resized to
MODES = ("subtask", "standard")

Mode = Literal["subtask", "standard"]


@dataclass(frozen=True)
class PromptPart:
    """One content part of the user message: literal text or the image of a camera key."""

    kind: Literal["text", "image"]
    value: str


@dataclass(frozen=True)
class Arm:
    """Where one arm sits in the pose vector and in the action vector (half-open ranges)."""

    pose: tuple[int, int]
    action: tuple[int, int]


@dataclass(frozen=True)
class GenerationSettings:
    max_new_tokens: int = 768
    do_sample: bool = False
    temperature: float | None = None


@dataclass(frozen=True)
class Embodiment:
    name: str
    port: int
    action_dim: int
    bgr: bool  # images go to the processor with channels swapped to BGR
    stats_key: dict[str, str]  # mode -> key in the checkpoint's stats JSON
    rotation: Literal["euler_xyz", "quat_xyzw"]
    arms: tuple[Arm, ...]
    gripper: Literal["raw", "clip", "invert"]  # model value -> robot value
    image_keys: tuple[str, ...]
    prompts: dict[str, tuple[PromptPart, ...]]
    generation: GenerationSettings = field(default_factory=GenerationSettings)

    @property
    def pose_dim(self) -> int:
        return max(arm.pose[1] for arm in self.arms)


def embodiment(name: str) -> Embodiment:
    """The embodiment called ``name``; ValueError naming the known ones otherwise."""
    try:
        return EMBODIMENTS[name]
    except KeyError:
        raise ValueError(f"Unknown embodiment {name!r}, should be one of: {', '.join(EMBODIMENTS)}") from None


# --- prompt text -----------------------------------------------------------------------------

_EEPOSE = (
    "Each EEPose here includes 3 delta position(xyz) + 3 delta orientation(axis-angle)"
    " + 1 gripper(opening range)"
)
_TASK = "\nYour overall task is: {instruction}."


def _intro(robot: str, poses: str) -> str:
    return (
        f"You are controlling {robot} robot. Your task is to adjust the end effector {poses}"
        " at 30Hz to complete a specified task. "
    )


def _subtask_output(dim: int) -> str:
    return (
        "Your output must include two components: 1. Immediate sub-task: The specific action you"
        " will execute first to progress toward the overall task; 2. Control tokens: These will be"
        f" decoded into a 30\u00d7{dim} action sequence to implement the sub-task."
    )


def _standard_output(dim: int) -> str:
    return (
        f"You need to output control tokens that can be decoded into a 30\u00d7{dim} action sequence."
        f" The sequence has 30 consecutive actions, each with {dim} dimensions."
    )


def _dual_arm_layout(arm_word: str, comma: str = "") -> str:
    return (
        f" The first 7 dimensions control the right arm {arm_word}{comma} and the last 7 dimensions"
        f" control the left arm {arm_word}. "
    )


_SUBTASK_SEQUENCE = " The action sequence has 30 consecutive actions, each with 14 dimensions."


def _text(value: str) -> PromptPart:
    return PromptPart("text", value)


def _image(key: str) -> PromptPart:
    return PromptPart("image", key)


def _three_cameras(front: str) -> tuple[PromptPart, ...]:
    return (
        _text("robot front image"),
        _image(front),
        _text(", right wrist image"),
        _image("cam_right_wrist"),
        _text(" and left wrist image"),
        _image("cam_left_wrist"),
    )


def _agilex_prompts() -> dict[str, tuple[PromptPart, ...]]:
    intro = _intro("an Agilex dual-arm", "poses (EEPose)")
    layout = _dual_arm_layout("EEPose") + _EEPOSE + "\n\nYour current visual inputs are: "
    cameras = _three_cameras("cam_high")
    first = cameras[0].value
    subtask = intro + _subtask_output(14) + _SUBTASK_SEQUENCE + layout + first
    standard = intro + _standard_output(14) + layout + first
    focus = _TASK + " Currently, focus on completing the subtask: {instruction}"
    return {
        "subtask": (_text(subtask), *cameras[1:], _text(_TASK)),
        "standard": (_text(standard), *cameras[1:], _text(focus)),
    }


def _franka_prompts() -> dict[str, tuple[PromptPart, ...]]:
    intro = _intro("a Franka single-arm", "(EEF) poses")
    cameras = (_image("cam_front"), _text(" and robot wrist image"), _image("cam_wrist"), _text(_TASK))
    subtask = intro + _subtask_output(7) + " " + _EEPOSE + "\n\nYour current visual inputs are robot front image"
    standard = intro + _standard_output(7) + " " + _EEPOSE + "\n\nYour current visual inputs include: robot front image"
    return {"subtask": (_text(subtask), *cameras), "standard": (_text(standard), *cameras)}


def _head_camera_prompts(robot: str, subtask_inputs: str) -> dict[str, tuple[PromptPart, ...]]:
    """a2d and r1lite: the first text part ends before "robot front image", a part of its own."""
    intro = _intro(robot, "(EEF) poses")
    tail = (*_three_cameras("cam_head"), _text(_TASK))
    subtask = (
        intro + _subtask_output(14) + _SUBTASK_SEQUENCE + _dual_arm_layout("EEPose") + _EEPOSE
        + "\n\nYour current visual inputs are:" + subtask_inputs
    )
    standard = (
        intro + _standard_output(14) + _dual_arm_layout("EEF", comma=",") + _EEPOSE
        + "\n\nYour current visual inputs are: "
    )
    return {"subtask": (_text(subtask), *tail), "standard": (_text(standard), *tail)}


_DUAL_ARMS = (Arm(pose=(0, 8), action=(0, 7)), Arm(pose=(8, 16), action=(7, 14)))
_HEAD_CAMERAS = ("cam_head", "cam_right_wrist", "cam_left_wrist")

EMBODIMENTS: dict[str, Embodiment] = {
    "agilex": Embodiment(
        name="agilex",
        port=5001,
        action_dim=14,
        bgr=False,
        stats_key={"subtask": "action.eepose", "standard": "action.eepose"},
        rotation="euler_xyz",
        arms=(Arm(pose=(0, 7), action=(0, 7)), Arm(pose=(7, 14), action=(7, 14))),
        gripper="raw",
        image_keys=("cam_high", "cam_right_wrist", "cam_left_wrist"),
        prompts=_agilex_prompts(),
    ),
    "franka": Embodiment(
        name="franka",
        port=5002,
        action_dim=7,
        bgr=False,
        stats_key={"subtask": "action.eepose", "standard": "action.eepose"},
        rotation="quat_xyzw",
        arms=(Arm(pose=(0, 8), action=(0, 7)),),
        gripper="clip",
        image_keys=("cam_front", "cam_wrist"),
        prompts=_franka_prompts(),
        generation=GenerationSettings(do_sample=True, temperature=0.2),
    ),
    "r1lite": Embodiment(
        name="r1lite",
        port=5003,
        action_dim=14,
        bgr=True,
        stats_key={"subtask": "action.eepose", "standard": "action.eepose.delta"},
        rotation="quat_xyzw",
        arms=_DUAL_ARMS,
        gripper="raw",
        image_keys=_HEAD_CAMERAS,
        prompts=_head_camera_prompts("an r1lite dual-arm", " "),
    ),
    "a2d": Embodiment(
        name="a2d",
        port=5004,
        action_dim=14,
        bgr=True,
        stats_key={"subtask": "action.eepose.delta", "standard": "action.eepose.delta"},
        rotation="quat_xyzw",
        arms=_DUAL_ARMS,
        gripper="invert",  # the model's 0 is open, the robot's 1 is open
        image_keys=_HEAD_CAMERAS,
        prompts=_head_camera_prompts("an A2D dual-arm", ""),
    ),
}
