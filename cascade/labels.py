"""The A2D label space: actors, actions, the 43 valid pairs and the detector groups.

A2D names an actor-action pair by ``actor * 10 + action`` (``adult-walking`` is 18). The detector
cannot tell an adult from a baby, so the cascade faces the detector with six *groups*: each group
has one COCO class, one presence threshold and one action head whose outputs are the group's valid
pairs. Everything about the label space is the data below; adding a group (say, horse) is one more
row in ``GROUPS`` and its pairs in ``VALID_PAIRS``.

Example::

    >>> from cascade import labels
    >>> labels.pair_id("dog", "running")
    77
    >>> labels.pair_name(77)
    'dog-running'
    >>> labels.group_of_actor("baby").name
    'person'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from cascade.errors import CascadeError

ACTORS: dict[str, int] = {
    "adult": 1, "baby": 2, "ball": 3, "bird": 4, "car": 5, "cat": 6, "dog": 7,
}
ACTIONS: dict[str, int] = {
    "climbing": 1, "crawling": 2, "eating": 3, "flying": 4, "jumping": 5,
    "rolling": 6, "running": 7, "walking": 8, "none": 9,
}

#: The 43 valid actor-action ids in the A2D challenge's column order.
VALID_PAIRS: tuple[int, ...] = (
    11, 12, 13, 15, 16, 17, 18, 19, 21, 22, 26, 28, 29, 34, 35, 36, 39, 41, 43, 44, 45, 46,
    48, 49, 54, 55, 56, 57, 59, 61, 63, 65, 66, 67, 68, 69, 72, 73, 75, 76, 77, 78, 79,
)


@dataclass(frozen=True)
class Group:
    """A set of actors the detector sees as one COCO class; one threshold and one head each."""

    name: str
    actors: tuple[str, ...]
    coco_class: int
    coco_name: str

    @property
    def pairs(self) -> tuple[int, ...]:
        """The group's valid pair ids, in challenge order: the head's output order."""
        actor_ids = {ACTORS[a] for a in self.actors}
        return tuple(p for p in VALID_PAIRS if p // 10 in actor_ids)


#: The detector groups, in the fixed column order used by score tables and thresholds.
GROUPS: tuple[Group, ...] = (
    Group("person", ("adult", "baby"), 0, "person"),
    Group("ball", ("ball",), 32, "sports ball"),
    Group("bird", ("bird",), 14, "bird"),
    Group("car", ("car",), 2, "car"),
    Group("cat", ("cat",), 15, "cat"),
    Group("dog", ("dog",), 16, "dog"),
)
GROUP_NAMES: tuple[str, ...] = tuple(g.name for g in GROUPS)
COCO_CLASSES: tuple[int, ...] = tuple(g.coco_class for g in GROUPS)

_ACTOR_NAMES = {v: k for k, v in ACTORS.items()}
_ACTION_NAMES = {v: k for k, v in ACTIONS.items()}
_GROUP_BY_ACTOR = {a: g for g in GROUPS for a in g.actors}


def _unknown(kind: str, value: object, valid: Iterable[object]) -> CascadeError:
    return CascadeError(f"unknown {kind} {value!r}; valid: {', '.join(map(str, valid))}")


def actor_id(name: str) -> int:
    """The A2D id of an actor name."""
    try:
        return ACTORS[name]
    except KeyError:
        raise _unknown("actor", name, ACTORS) from None


def action_id(name: str) -> int:
    """The A2D id of an action name."""
    try:
        return ACTIONS[name]
    except KeyError:
        raise _unknown("action", name, ACTIONS) from None


def pair_id(actor: str, action: str) -> int:
    """The id of a valid actor-action pair. An invalid combination of known names is an error that
    lists the actor's pairs by name: whoever wrote ``dog-flying`` writes names, not ids."""
    pair = actor_id(actor) * 10 + action_id(action)
    if pair not in VALID_PAIRS:
        own = [pair_name(p) for p in VALID_PAIRS if p // 10 == pair // 10]
        raise CascadeError(f"{actor + '-' + action!r} is not an A2D actor-action pair; "
                           f"valid for {actor}: {', '.join(own)}")
    return pair


def check_pair(pair: int) -> int:
    """Return ``pair`` if it is one of the 43 valid ids, else raise listing them."""
    if int(pair) not in VALID_PAIRS:
        raise _unknown("actor-action id", pair, VALID_PAIRS)
    return int(pair)


def pair_name(pair: int) -> str:
    """``'dog-running'`` for 77."""
    check_pair(pair)
    return f"{_ACTOR_NAMES[pair // 10]}-{_ACTION_NAMES[pair % 10]}"


def actor_name(pair: int) -> str:
    """``'dog'`` for 77: the actor a pair names (the person head's pairs name adult or baby)."""
    return _ACTOR_NAMES[check_pair(pair) // 10]


def parse_pair(text: str) -> int:
    """Accept ``'77'`` or ``'dog-running'`` and return the valid pair id."""
    text = text.strip()
    if text.isdigit():
        return check_pair(int(text))
    actor, sep, action = text.partition("-")
    if not sep:
        raise CascadeError(f"cannot read actor-action label {text!r}; write 'dog-running' or 77")
    return pair_id(actor, action)


def group(name: str) -> Group:
    """A group by its own name or by the name of one of its actors (``baby`` -> person)."""
    for g in GROUPS:
        if g.name == name:
            return g
    if name in _GROUP_BY_ACTOR:
        return _GROUP_BY_ACTOR[name]
    raise _unknown("actor", name, [*GROUP_NAMES, "adult", "baby"])


def group_of_actor(actor: str) -> Group:
    """The group that holds an actor name."""
    actor_id(actor)
    return _GROUP_BY_ACTOR[actor]


def group_of_pair(pair: int) -> Group:
    """The group whose head names this pair."""
    return _GROUP_BY_ACTOR[_ACTOR_NAMES[check_pair(pair) // 10]]


def groups_of_pairs(pairs: Iterable[int]) -> frozenset[str]:
    """The names of the groups present in a set of pair ids."""
    return frozenset(group_of_pair(p).name for p in pairs)
