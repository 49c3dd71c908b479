"""The action head's network: one torchvision ResNet-34 per detector group, one output per valid pair.

The person head's 13 outputs are the adult and baby pairs, so it also tells adult from baby.
ImageNet weights come from torchvision when it can load them (its own download and cache); when it
cannot, a warning says so and the head starts from random weights. A temporal head (``tsm``,
:mod:`cascade.heads.temporal`) is the same ResNet-34 with parameter-free shifts: it loads the same
ImageNet weights and takes clips (N, T, 3, S, S).

Example::

    model, init = build_head(group("dog"), pretrained="imagenet", window=Window(clip_len=8, clip_stride=2))
    probs = predict_batches(model, images, torch.device("cpu"))     # (N, 7) softmax over the dog pairs
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn
from torchvision.models import ResNet34_Weights, resnet34

from cascade.defaults import PRETRAINED_CHOICES
from cascade.errors import CascadeError, short_reason
from cascade.heads.inputs import Window, normalise
from cascade.heads.temporal import TSMResNet
from cascade.labels import Group

log = logging.getLogger(__name__)


def build_head(group: Group, pretrained: str = "imagenet", window: Window | None = None) -> tuple[nn.Module, str]:
    """A ResNet-34 with ``len(group.pairs)`` outputs, with temporal shifts over clips of
    ``window.clip_len`` frames for a temporal head; returns it and how it was initialised."""
    if pretrained not in PRETRAINED_CHOICES:
        raise CascadeError(f"unknown --pretrained {pretrained!r}; valid: {', '.join(PRETRAINED_CHOICES)}")
    model, init = (resnet34() if window is None else TSMResNet(window.clip_len)), "random"
    if pretrained == "imagenet":
        try:  # the plain ResNet-34's weights: TSM adds and renames no parameter
            model.load_state_dict(ResNet34_Weights.IMAGENET1K_V1.get_state_dict(progress=True, check_hash=True))
            init = "imagenet"
        except Exception as exc:  # no network, no cached file, or a corrupt download
            log.warning(
                "could not load torchvision's ImageNet ResNet-34 weights (%s); the %s head starts from "
                "RANDOM weights. Put resnet34-b627a593.pth in %s or pass --pretrained none to silence this.",
                short_reason(exc), group.name, Path(torch.hub.get_dir()) / "checkpoints",
            )
    model.fc = nn.Linear(model.fc.in_features, len(group.pairs))
    return model, init


def predict_batches(model: nn.Module, images: torch.Tensor, device: torch.device, batch: int = 64) -> torch.Tensor:
    """Softmax probabilities for uint8 frames (N, 3, S, S) or clips (N, T, 3, S, S), about ``batch``
    frames per pass, on ``device`` (returned on the CPU)."""
    model.eval()
    cuda = device.type == "cuda"
    step = max(1, batch // images.shape[1]) if images.dim() == 5 else batch
    out = []
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
        for start in range(0, len(images), step):
            x = normalise(images[start : start + step], device, channels_last=cuda)
            out.append(model(x).float().softmax(1))
    return torch.cat(out).cpu() if out else torch.empty(0)  # one copy back: no wait per batch
