"""Temporal Shift Module (Lin, Gan and Han, ICCV 2019) for the heads' backbones: a head that sees motion.

A single frame cannot tell walking from running or a ball going up from one coming down. TSM lets
the frames of a clip exchange information at no cost in parameters: inside each residual block,
before the first convolution, a fraction of the channels is shifted one step along time. For a
clip ``x`` of ``T`` frames with ``C`` channels and ``f = C // 8`` (the paper's 1/8 + 1/8)::

    out[t, :f]   = x[t + 1, :f]      (0 at the last frame)   one step backward in time
    out[t, f:2f] = x[t - 1, f:2f]    (0 at the first frame)  one step forward in time
    out[t, 2f:]  = x[t, 2f:]

The shift sits on the residual branch only (the paper's *residual shift*), so the identity path
keeps each frame's own features: before the first convolution of every ResNet block, and of every
MobileNetV2 block with a residual connection (the paper's online model is a MobileNetV2). The clip's
prediction is the mean of its per-frame logits (TSN's consensus). No parameter is added and none is
renamed: a plain ResNet or MobileNetV2 state dict, ImageNet's included, loads unchanged.

Example::

    model = TSMResNet(clip_len=8)
    model.load_state_dict(resnet34(weights="IMAGENET1K_V1").state_dict())   # strict: the same names
    model.fc = nn.Linear(512, 7)
    logits = model(clips)                                                   # (N, 8, 3, H, W) -> (N, 7)
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import skip_init
from torchvision.models.mobilenetv2 import InvertedResidual, MobileNetV2
from torchvision.models.resnet import BasicBlock, ResNet

#: Share of the channels shifted each way (the paper's 1/8 backward + 1/8 forward).
SHIFT_DIVISOR = 8


def temporal_shift(x: torch.Tensor, clip_len: int) -> torch.Tensor:
    """Shift ``x`` (N * clip_len frames, C, H, W) along time as the module docstring says.

    Frames of one clip are consecutive in the batch (clip-major), as :class:`TSMResNet` lays them
    out. Returns a new tensor in ``x``'s memory format (channels-last stays channels-last).
    """
    frames, channels, height, width = x.shape
    clips = x.view(frames // clip_len, clip_len, channels, height, width)
    fold = channels // SHIFT_DIVISOR
    out = torch.zeros_like(clips)
    out[:, :-1, :fold] = clips[:, 1:, :fold]
    out[:, 1:, fold : 2 * fold] = clips[:, :-1, fold : 2 * fold]
    out[:, :, 2 * fold :] = clips[:, :, 2 * fold :]
    return out.view(frames, channels, height, width)


class TemporalShiftConv2d(nn.Conv2d):
    """A convolution that sees its input temporally shifted. Being a ``Conv2d`` itself (not a wrapper
    holding one), it keeps the parameter names of the convolution it replaces."""

    def __init__(self, *args, clip_len: int, device: torch.device | str | None = None, **kwargs) -> None:
        super().__init__(*args, device=device, **kwargs)  # ``device`` named: skip_init needs to see it
        self.clip_len = clip_len

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(temporal_shift(x, self.clip_len))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, clip_len={self.clip_len}"


def _shifted(conv: nn.Conv2d, clip_len: int) -> TemporalShiftConv2d:
    """``conv`` with a temporal shift before it, holding the very same weight (no new initialisation)."""
    shifted = skip_init(TemporalShiftConv2d, conv.in_channels, conv.out_channels, conv.kernel_size,
                        stride=conv.stride, padding=conv.padding, dilation=conv.dilation, groups=conv.groups,
                        bias=conv.bias is not None, clip_len=clip_len)
    shifted.weight = conv.weight
    return shifted


class ClipConsensus(nn.Module):
    """Takes clips (N, clip_len, 3, H, W), runs the network's own forward on their frames and returns
    the mean of each clip's per-frame logits. Mixed in before a torchvision network class."""

    clip_len: int

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        count, frames = clips.shape[:2]
        if frames != self.clip_len:
            raise ValueError(f"this TSM head takes clips of {self.clip_len} frames, got {frames}")
        per_frame = super().forward(clips.flatten(0, 1))  # a view: channels-last frames stay channels-last
        return per_frame.view(count, frames, -1).mean(1)


class TSMResNet(ClipConsensus, ResNet):
    """A ResNet of basic blocks (``layers``: (3, 4, 6, 3) is ResNet-34, (2, 2, 2, 2) ResNet-18) with a
    residual temporal shift in every block. Initialised exactly as torchvision's ``resnet34()``/``resnet18()``."""

    def __init__(self, clip_len: int, layers: tuple[int, ...] = (3, 4, 6, 3), num_classes: int = 1000) -> None:
        super().__init__(BasicBlock, list(layers), num_classes=num_classes)
        self.clip_len = clip_len
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            for block in layer:
                block.conv1 = _shifted(block.conv1, clip_len)


class TSMMobileNetV2(ClipConsensus, MobileNetV2):
    """MobileNetV2 with a temporal shift before the first convolution of every residual block (the
    TSM paper's online model). Initialised exactly as torchvision's ``mobilenet_v2()``."""

    def __init__(self, clip_len: int, num_classes: int = 1000) -> None:
        super().__init__(num_classes=num_classes)
        self.clip_len = clip_len
        for block in self.features:
            if isinstance(block, InvertedResidual) and block.use_res_connect:
                block.conv[0][0] = _shifted(block.conv[0][0], clip_len)
