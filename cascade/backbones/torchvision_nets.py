"""Image backbones: torchvision networks by name, and where their first weights come from.

The fine-tuned action heads (:mod:`cascade.heads.model`) and the appearance features
(:mod:`cascade.features.embeddings`) build them here. ``resnet34`` is the default (the design's),
``resnet18`` and ``mobilenet_v2`` are the lighter ones. Each has a temporal version
(:mod:`cascade.backbones.temporal`) whose parameters carry the same names, so
the same weights load into both. The first weights (``pretrained``):

* ``imagenet``: a torchvision state dict of the backbone found under ``$CASCADE_PRETRAINED`` (a file,
  or a folder holding ``<backbone>*.pt``/``.pth`` files, directly or in a subfolder), else torchvision's own ImageNet weights
  (its download and cache), else random weights with a warning that says how to fix it;
* a path: that torchvision state dict file;
* ``none``: random weights.

A state dict is loaded strictly except for its classifier, which is replaced by one output per pair
of the head's group (a 1001-class MobileNetV2 with a background class loads as well as torchvision's
1000-class one). The checkpoint records the backbone and where its weights came from.

Example::

    model, init = build_network("mobilenet_v2", "../shared/weights/mobilenet_v2_imagenet/mobilenet_v2_imagenet1001.pt", 7)
    print(init)      # file .../mobilenet_v2_imagenet1001.pt (sha256 3f5c...)
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn
from torchvision import models

from cascade.defaults import BACKBONE_CHOICES, PRETRAINED_ENV
from cascade.errors import CascadeError, short_reason
from cascade.fileio import file_id
from cascade.backbones.temporal import TSMMobileNetV2, TSMResNet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backbone:
    """A torchvision network: how to build it (a clip length: its temporal version), its ImageNet weights
    in torchvision, and the dotted name of its last linear layer (the classifier that is replaced)."""

    name: str
    build: Callable[[int | None], nn.Module]
    weights: Callable[[], models.WeightsEnum]
    classifier: str


BACKBONES = {
    "resnet34": Backbone("resnet34", lambda t: models.resnet34() if t is None else TSMResNet(t, (3, 4, 6, 3)),
                         lambda: models.ResNet34_Weights.IMAGENET1K_V1, "fc"),
    "resnet18": Backbone("resnet18", lambda t: models.resnet18() if t is None else TSMResNet(t, (2, 2, 2, 2)),
                         lambda: models.ResNet18_Weights.IMAGENET1K_V1, "fc"),
    "mobilenet_v2": Backbone("mobilenet_v2", lambda t: models.mobilenet_v2() if t is None else TSMMobileNetV2(t),
                             lambda: models.MobileNet_V2_Weights.IMAGENET1K_V1, "classifier.1"),
}
assert tuple(BACKBONES) == BACKBONE_CHOICES


def backbone(name: str) -> Backbone:
    if name not in BACKBONES:
        raise CascadeError(f"unknown --backbone {name!r}; valid: {', '.join(BACKBONES)}")
    return BACKBONES[name]


def classifier(model: nn.Module, name: str) -> nn.Linear:
    """The network's last linear layer (``fc`` of a ResNet, ``classifier[1]`` of a MobileNetV2)."""
    return model.get_submodule(backbone(name).classifier)


def build_network(name: str, pretrained: str, outputs: int, clip_len: int | None = None,
                  who: str = "the") -> tuple[nn.Module, str]:
    """The backbone ``name`` (temporal over clips of ``clip_len`` frames, when given) with its first weights as ``pretrained`` says and
    a new classifier of ``outputs``; returns it and where its weights came from. ``who``: whose head it
    is, for the warning."""
    chosen = backbone(name)
    model = chosen.build(clip_len)
    file = weights_file(name, pretrained)
    if file is not None:
        init = load_state_dict_file(model, chosen, file)
    elif pretrained == "imagenet":
        init = _imagenet(model, chosen, who)
    else:
        init = "random"
    path, last = chosen.classifier.rpartition(".")[::2]
    parent = model.get_submodule(path) if path else model
    setattr(parent, last, nn.Linear(classifier(model, name).in_features, outputs))
    return model, init


def weights_file(name: str, pretrained: str) -> Path | None:
    """The state dict file ``pretrained`` names for backbone ``name``: the path itself, or for ``imagenet``
    the file ``$CASCADE_PRETRAINED`` names; None where torchvision's download (or nothing) gives the weights."""
    if pretrained == "none":
        return None
    if pretrained == "imagenet":
        return _local_file(name)
    return Path(pretrained)


def _imagenet(model: nn.Module, chosen: Backbone, who: str) -> str:
    """ImageNet weights from torchvision (its download and cache), else none with a warning."""
    try:
        model.load_state_dict(chosen.weights().get_state_dict(progress=True, check_hash=True))
        return f"imagenet (torchvision {chosen.weights()})"
    except Exception as exc:  # no network, no cached file, or a corrupt download
        log.warning(
            "could not load torchvision's ImageNet %s weights (%s); %s head starts from RANDOM weights. Set "
            "%s to a folder holding a torchvision state dict of %s (%s*.pt), pass --pretrained FILE, "
            "or pass --pretrained none to silence this.",
            chosen.name, short_reason(exc), who, PRETRAINED_ENV, chosen.name, chosen.name,
        )
        return "random"


def _local_file(name: str) -> Path | None:
    """The state dict file ``$CASCADE_PRETRAINED`` names for backbone ``name`` (None: the variable is unset)."""
    given = os.environ.get(PRETRAINED_ENV)
    if not given:
        return None
    place = Path(given)
    if place.is_file():
        return place
    found = sorted(p for p in [*place.glob(f"{name}*"), *place.glob(f"*/{name}*")]
                   if p.suffix in (".pt", ".pth") and p.is_file()) if place.is_dir() else []
    if not found:
        raise CascadeError(f"{place}: ${PRETRAINED_ENV} names no {name} state dict here ({name}*.pt or .pth); "
                           f"put one there, unset {PRETRAINED_ENV} to use torchvision's download, or pass --pretrained none")
    return found[0]


def load_state_dict_file(model: nn.Module, chosen: Backbone, path: Path) -> str:
    """Load a torchvision state dict of ``chosen`` into ``model``, strictly but for the classifier."""
    if not path.is_file():
        raise CascadeError(f"{path}: no such weights file; --pretrained takes imagenet, none or a torchvision "
                           f"state dict file of the {chosen.name} backbone")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # not a torch file, or one holding more than tensors
        raise CascadeError(f"{path}: not a torchvision state dict ({short_reason(exc)}); pass a file saved with "
                           f"torch.save(model.state_dict(), FILE) from torchvision's {chosen.name}") from None
    state = state.get("state_dict", state) if isinstance(state, dict) else state
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CascadeError(f"{path}: holds no state dict of tensors; pass a file saved with "
                           f"torch.save(model.state_dict(), FILE) from torchvision's {chosen.name}")
    prefix = chosen.classifier + "."
    kept = {k: v for k, v in state.items() if not k.startswith(prefix)}
    try:
        missing, unexpected = model.load_state_dict(kept, strict=False)
    except RuntimeError as exc:  # the names fit, the shapes do not
        raise CascadeError(f"{path}: its weights do not fit torchvision's {chosen.name} "
                           f"({short_reason(exc)}); pass a {chosen.name} state dict or choose its --backbone") from None
    missing = [k for k in missing if not k.startswith(prefix)]
    if missing or unexpected:
        wrong = (missing or unexpected)[0]
        raise CascadeError(f"{path}: not a {chosen.name} state dict ({len(missing)} weight(s) missing, "
                           f"{len(unexpected)} unexpected, e.g. {wrong!r}); pass a {chosen.name} state dict or "
                           "choose the --backbone it was saved from")
    return file_id(path)
