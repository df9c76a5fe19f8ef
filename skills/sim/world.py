"""The rules of the simulated world: preconditions checked against a scene snapshot.

The rules read only the robot, the nodes named in the call, their ancestors and the robot's
children, so a ``SceneGraph.neighbourhood`` of those is as good as a full snapshot.

Each action returns the :class:`SkillResult` it would produce (a message and the effects the
slaver applies), or raises :class:`SkillFailure` saying what is wrong and what would fix it.
Nothing here writes the scene.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from memory.messages import Effect
from memory.profiles import SceneNode, SceneSnapshot
from skills.errors import SkillFailure
from skills.sdk import SkillResult
from skills.sim.embodiments import EmbodimentSpec

__all__ = ["DEFAULT_WEIGHT_KG", "SimRules"]

DEFAULT_WEIGHT_KG = 0.2
GO_TO_KINDS = frozenset({"place", "furniture", "container"})
SURFACE_KINDS = frozenset({"furniture", "container"})


@dataclass
class SimRules:
    """What one robot may do in the world, given its body and its zones."""

    robot: str
    body: EmbodimentSpec
    zones: list[str] = field(default_factory=list)

    def navigate(self, scene: SceneSnapshot, target: str) -> SkillResult:
        me = self._me(scene)
        node = _node(scene, target, "go to")
        if node.kind not in GO_TO_KINDS:
            raise SkillFailure(f"cannot go to {target}: it is {_a(node.kind)}, not a place, furniture or a container")
        destination = scene.place_of(target)
        if destination is None:
            raise SkillFailure(f"{target} is not in any place, so {self.robot} cannot go there")
        if self.zones and destination not in self.zones:
            raise SkillFailure(
                f"{target} is in the {destination}, outside {self.robot}'s zones ({', '.join(self.zones)}): "
                f"ask a robot that works in the {destination}"
            )
        effect = Effect(op="move", node=self.robot, parent=destination, relation="at", expect_parent=me.parent)
        where = f"the {destination}" if target == destination else f"the {destination}, by the {target}"
        return SkillResult(message=f"{self.robot} is at {where}", effects=[effect])

    def pick(self, scene: SceneSnapshot, object: str) -> SkillResult:
        node = self._object(scene, object)
        self._check_free(scene, node)
        self._check_reach(scene, object)
        self._check_hand_free(scene)
        self._check_weight(node)
        effect = Effect(op="move", node=object, parent=self.robot, relation="held_by", expect_parent=node.parent)
        return SkillResult(message=f"{self.robot} picked up {object} from {node.parent}", effects=[effect])

    def place(self, scene: SceneSnapshot, object: str, target: str) -> SkillResult:
        node = self._object(scene, object)
        if node.parent != self.robot or node.relation != "held_by":
            raise SkillFailure(f"{self.robot} is not holding {object}: pick it up first")
        surface = _node(scene, target, "place things on")
        if surface.kind not in SURFACE_KINDS:
            raise SkillFailure(f"cannot place {object} on {target}: it is {_a(surface.kind)}, "
                               "not furniture or a container")
        self._check_reach(scene, target)
        if surface.kind == "container" and not _is_open(surface):
            raise SkillFailure(f"the {target} is closed: open the {target} first")
        relation = "in" if surface.kind == "container" else "on"
        effect = Effect(op="move", node=object, parent=target, relation=relation, expect_parent=self.robot)
        return SkillResult(message=f"{self.robot} placed {object} {relation} the {target}", effects=[effect])

    def open(self, scene: SceneSnapshot, target: str) -> SkillResult:
        return self._set_open(scene, target, True)

    def close(self, scene: SceneSnapshot, target: str) -> SkillResult:
        return self._set_open(scene, target, False)

    def _set_open(self, scene: SceneSnapshot, target: str, open_: bool) -> SkillResult:
        verb = "open" if open_ else "close"
        node = _node(scene, target, verb)
        if node.kind != "container":
            raise SkillFailure(f"cannot {verb} {target}: it is {_a(node.kind)}, not a container")
        self._check_reach(scene, target)
        state = "open" if open_ else "closed"
        was = "already " if _is_open(node) == open_ else ""
        effect = Effect(op="set", node=target, props={"open": open_})
        return SkillResult(message=f"the {target} is {was}{state}", effects=[effect])

    def _me(self, scene: SceneSnapshot) -> SceneNode:
        me = scene.nodes.get(self.robot)
        if me is None:
            raise SkillFailure(f"robot {self.robot} is not in the scene: register it (start its slaver) first")
        return me

    def _object(self, scene: SceneSnapshot, name: str) -> SceneNode:
        node = _node(scene, name, "handle")
        if node.kind != "object":
            raise SkillFailure(f"{name} is {_a(node.kind)}, not an object that can be picked up or placed")
        return node

    def _check_free(self, scene: SceneSnapshot, node: SceneNode) -> None:
        if node.relation == "held_by":
            if node.parent == self.robot:
                raise SkillFailure(f"{self.robot} is already holding {node.name}")
            raise SkillFailure(f"{node.name} is held by {node.parent}: ask {node.parent} to place it somewhere first")
        closed = _closed_container_around(scene, node)
        if closed is not None:
            raise SkillFailure(f"{node.name} is in the {closed}, which is closed: open the {closed} first")

    def _check_reach(self, scene: SceneSnapshot, name: str) -> None:
        self._me(scene)
        here, there = scene.place_of(self.robot), scene.place_of(name)
        if here == there:
            return
        if not self.body.mobile:
            raise SkillFailure(f"{name} is in the {there}, out of reach of {self.robot}, which cannot move "
                               f"from the {here}: ask a robot that can reach the {there}")
        raise SkillFailure(f"{name} is in the {there} but {self.robot} is in the {here}: "
                           f"navigate to the {_landmark(scene, name)} first")

    def _check_hand_free(self, scene: SceneSnapshot) -> None:
        held = [n.name for n in scene.children(self.robot, "held_by")]
        if len(held) >= self.body.arms:
            hand = self.body.hand
            which = f"the {hand} of {self.robot} is" if self.body.arms == 1 else f"all {hand}s of {self.robot} are"
            raise SkillFailure(f"{which} full (holding {', '.join(held)}): place something first")

    def _check_weight(self, node: SceneNode) -> None:
        weight = float(node.props.get("weight_kg", DEFAULT_WEIGHT_KG))
        if weight > self.body.payload_kg:
            raise SkillFailure(f"{node.name} weighs {weight:g} kg, more than {self.robot}'s payload of "
                               f"{self.body.payload_kg:g} kg: ask a stronger robot")


def _node(scene: SceneSnapshot, name: str, verb: str) -> SceneNode:
    node = scene.nodes.get(name)
    if node is None:
        raise SkillFailure(f"cannot {verb} {name!r}: there is no such thing in the scene")
    return node


def _a(kind: str) -> str:
    return {"furniture": "furniture", "object": "an object"}.get(kind, f"a {kind}")


def _landmark(scene: SceneSnapshot, name: str) -> str:
    """What to navigate to for reaching ``name``: it, or the furniture, container or place it is in."""
    node = scene.nodes.get(name)
    seen: set[str] = set()
    while node is not None and node.kind not in GO_TO_KINDS and node.parent and node.name not in seen:
        seen.add(node.name)
        node = scene.nodes.get(node.parent)
    return node.name if node is not None else name


def _is_open(node: SceneNode) -> bool:
    return bool(node.props.get("open", True))


def _closed_container_around(scene: SceneSnapshot, node: SceneNode) -> str | None:
    """The nearest closed container that ``node`` is (transitively) inside, if any."""
    seen: set[str] = set()
    current = node
    while current.relation == "in" and current.parent and current.parent not in seen:
        seen.add(current.parent)
        parent = scene.nodes.get(current.parent)
        if parent is None:
            return None
        if parent.kind == "container" and not _is_open(parent):
            return parent.name
        current = parent
    return None
