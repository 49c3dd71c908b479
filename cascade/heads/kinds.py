"""The kinds of action head, in one registry: what a checkpoint's ``head`` entry means.

``finetune``: a torchvision network fine-tuned on frames (:mod:`cascade.heads.model`); ``features``: a
small model on cached features (:mod:`cascade.heads.feature_model`). For each kind the registry says
how to build the empty model a checkpoint's weights load into, how to name it in a message, and why a
head cannot serve a caller's expectations. :mod:`cascade.heads.checkpoint` asks it and knows no kind
itself; the training modules write the entry. Checkpoints saved before the entry existed are network
heads unless they name the features they read.

Example::

    kind = head_kind(meta)             # HEAD_KINDS["features"]
    model = kind.build(meta, group("dog"))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

from cascade.heads.feature_inputs import weights_gone
from cascade.heads.feature_model import build_feature_head
from cascade.heads.model import build_from_meta, checkpoint_backbone, unexpected_window
from cascade.labels import Group

FINETUNE, FEATURES = "finetune", "features"


@dataclass(frozen=True)
class HeadKind:
    """``build(meta, group)``: the empty model; ``describe(meta)``: its name in messages;
    ``check(meta, group, expected)``: why it cannot serve (None: it can)."""

    name: str
    build: Callable[[dict, Group], nn.Module]
    describe: Callable[[dict], str]
    check: Callable[[dict, Group, dict], str | None]


HEAD_KINDS = {
    FINETUNE: HeadKind(FINETUNE, build_from_meta, checkpoint_backbone, unexpected_window),
    FEATURES: HeadKind(FEATURES, lambda meta, group: build_feature_head(meta, len(group.pairs)),
                       lambda meta: f"{meta.get('model', 'mlp')} feature", weights_gone),
}


def kind_name(meta: dict) -> str:
    """The kind a checkpoint's metadata names (older checkpoints: by what they hold)."""
    return str(meta.get("head") or (FEATURES if "features" in meta else FINETUNE))


def is_feature_head(meta: dict) -> bool:
    return kind_name(meta) == FEATURES


def head_kind(meta: dict) -> HeadKind:
    name = kind_name(meta)
    if name not in HEAD_KINDS:
        from cascade.errors import CascadeError

        raise CascadeError(f"a head of unknown kind {name!r} (known: {', '.join(HEAD_KINDS)}); train it again")
    return HEAD_KINDS[name]
