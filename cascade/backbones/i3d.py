"""DeepMind's Kinetics-400 I3D (Carreira and Zisserman, CVPR 2017) in PyTorch: a video backbone.

Inception-v1 inflated to 3-D, RGB stream, trained on 400 human actions. It sees a clip of
consecutive frames, so it knows what crawling, rolling or jumping look like, which an image network
and a few hundred labelled clips cannot learn. The layers follow DeepMind's ``i3d.py``::

    Conv3d_1a_7x7 (stride 2) -> MaxPool3d_2a_3x3 (1,3,3)/(1,2,2) -> Conv3d_2b_1x1 -> Conv3d_2c_3x3
    -> MaxPool3d_3a_3x3 (1,3,3)/(1,2,2) -> Mixed_3b, 3c -> MaxPool3d_4a_3x3 (3,3,3)/(2,2,2)
    -> Mixed_4b .. 4f -> MaxPool3d_5a_2x2 (2,2,2)/(2,2,2) -> Mixed_5b, 5c
    -> feature: mean over time and space (1024); logits: 1x1x1 classifier on the spatial mean,
       averaged over pairs of neighbouring time steps, then over time (400)

Every convolution and pooling pads as TensorFlow's ``'SAME'`` (the extra pixel after; pools pad with
-inf). Each unit is convolution -> batch norm without scale (epsilon 1e-3) -> ReLU; the batch norm is
folded into the convolution when the weights are loaded (:func:`load_i3d`), so inference is one
convolution per unit. Input: RGB in [-1, 1], (N, 3, T, H, W); T >= 8, any H and W (224 in training).

Example::

    model = load_i3d("../shared/weights/i3d_kinetics400/i3d_kinetics400_rgb_fp16.npz")
    features, logits = model(clips)          # (N, 3, 16, 224, 224) -> (N, 1024), (N, 400)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

#: Output channels of each Inception block's branches: 1x1; 1x1 -> 3x3; 1x1 -> 3x3; pool -> 1x1.
MIXED = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32), "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64), "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64), "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128), "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}
FEATURES = 1024  # channels after Mixed_5c
CLASSES = 400
BN_EPSILON = 1e-3
MIN_FRAMES = 8  # four stride-2 steps in time


def same_padding(size: Sequence[int], kernel: Sequence[int], stride: Sequence[int]) -> list[int]:
    """F.pad's list for TensorFlow's 'SAME' over the last len(size) dimensions (the last one first):
    the output is ceil(size / stride) and the odd pixel of the padding goes after."""
    pads = []
    for n, k, s in zip(reversed(size), reversed(kernel), reversed(stride)):
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        pads += [total // 2, total - total // 2]
    return pads


class Unit3D(nn.Module):
    """Convolution (its batch norm folded in) -> ReLU, padded 'SAME'."""

    def __init__(self, in_channels: int, out_channels: int, kernel: tuple[int, int, int] = (1, 1, 1),
                 stride: tuple[int, int, int] = (1, 1, 1), relu: bool = True) -> None:
        super().__init__()
        self.kernel, self.stride, self.relu = kernel, stride, relu
        self.conv = nn.Conv3d(in_channels, out_channels, kernel, stride, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kernel != (1, 1, 1) or self.stride != (1, 1, 1):
            x = F.pad(x, same_padding(x.shape[2:], self.kernel, self.stride))
        x = self.conv(x)
        return F.relu(x) if self.relu else x


class MaxPool3dSame(nn.Module):
    """Max pooling padded 'SAME' with -inf, as TensorFlow pads it (a padded cell never wins)."""

    def __init__(self, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, same_padding(x.shape[2:], self.kernel, self.stride), value=float("-inf"))
        return F.max_pool3d(x, self.kernel, self.stride)


class Mixed(nn.Module):
    """An Inception block: four branches side by side, concatenated along the channels."""

    def __init__(self, in_channels: int, out: tuple[int, ...]) -> None:
        super().__init__()
        self.branch_0 = Unit3D(in_channels, out[0])
        self.branch_1a, self.branch_1b = Unit3D(in_channels, out[1]), Unit3D(out[1], out[2], (3, 3, 3))
        self.branch_2a, self.branch_2b = Unit3D(in_channels, out[3]), Unit3D(out[3], out[4], (3, 3, 3))
        self.pool, self.branch_3 = MaxPool3dSame((3, 3, 3), (1, 1, 1)), Unit3D(in_channels, out[5])
        self.out_channels = out[0] + out[2] + out[4] + out[5]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch_0(x), self.branch_1b(self.branch_1a(x)), self.branch_2b(self.branch_2a(x)),
                          self.branch_3(self.pool(x))], dim=1)


class I3D(nn.Module):
    """The network of the module docstring; ``forward`` returns the pooled feature and the logits."""

    def __init__(self) -> None:
        super().__init__()
        layers: dict[str, nn.Module] = {
            "Conv3d_1a_7x7": Unit3D(3, 64, (7, 7, 7), (2, 2, 2)),
            "MaxPool3d_2a_3x3": MaxPool3dSame((1, 3, 3), (1, 2, 2)),
            "Conv3d_2b_1x1": Unit3D(64, 64),
            "Conv3d_2c_3x3": Unit3D(64, 192, (3, 3, 3)),
            "MaxPool3d_3a_3x3": MaxPool3dSame((1, 3, 3), (1, 2, 2)),
        }
        channels = 192
        for name, out in MIXED.items():
            if name == "Mixed_4b":
                layers["MaxPool3d_4a_3x3"] = MaxPool3dSame((3, 3, 3), (2, 2, 2))
            elif name == "Mixed_5b":
                layers["MaxPool3d_5a_2x2"] = MaxPool3dSame((2, 2, 2), (2, 2, 2))
            layers[name] = Mixed(channels, out)
            channels = layers[name].out_channels
        self.layers = nn.ModuleDict(layers)
        self.logits = nn.Conv3d(FEATURES, CLASSES, 1)

    def forward(self, clips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Clips (N, 3, T, H, W) in [-1, 1] -> features (N, 1024) and Kinetics-400 logits (N, 400)."""
        x = clips
        for layer in self.layers.values():
            x = layer(x)
        spatial = x.mean(dim=(3, 4), keepdim=True)  # (N, 1024, T', 1, 1)
        # DeepMind's 2x7x7 average pool at 224 px: the whole 7x7 map, neighbouring time steps
        paired = F.avg_pool3d(spatial, (2, 1, 1), 1) if spatial.shape[2] > 1 else spatial
        logits = self.logits(paired).mean(dim=(2, 3, 4))
        return spatial.mean(dim=(2, 3, 4)), logits


def load_i3d(path: str | Path, arrays: Mapping[str, np.ndarray] | None = None) -> I3D:
    """An :class:`I3D` with the weights of a file of named arrays (``np.load``-able, as
    :mod:`cascade.backbones.i3d_weights` writes and ``../shared/weights/i3d_kinetics400`` holds: the
    original layers' names, see the module docstring), batch norm folded into each convolution.
    ``arrays``: the file's arrays already read. A missing or misshapen array is a ValueError naming it."""
    if arrays is None:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
    model = I3D()

    def array(name: str) -> torch.Tensor:
        if name not in arrays:
            raise ValueError(f"no array {name!r}")
        return torch.from_numpy(np.asarray(arrays[name], np.float32))

    def load_unit(unit: Unit3D, scope: str) -> None:
        kernel = array(f"params/{scope}/Conv_0/kernel").permute(4, 3, 0, 1, 2)  # (T,H,W,in,out) -> (out,in,T,H,W)
        if kernel.shape != unit.conv.weight.shape:
            raise ValueError(f"{scope}: kernel {tuple(kernel.shape)}, not {tuple(unit.conv.weight.shape)}")
        mean = array(f"batch_stats/{scope}/BatchNorm_0/mean").reshape(-1)
        var = array(f"batch_stats/{scope}/BatchNorm_0/var").reshape(-1)
        beta = array(f"params/{scope}/BatchNorm_0/bias").reshape(-1)
        scale = 1 / torch.sqrt(var + BN_EPSILON)  # gamma = 1: the batch norm has no scale
        with torch.no_grad():
            unit.conv.weight.copy_(kernel * scale.view(-1, 1, 1, 1, 1))
            unit.conv.bias.copy_(beta - mean * scale)

    for name, layer in model.layers.items():
        if isinstance(layer, Unit3D):
            load_unit(layer, name)
        elif isinstance(layer, Mixed):
            for branch, scope in (("branch_0", "Branch_0/Conv3d_0a_1x1"), ("branch_1a", "Branch_1/Conv3d_0a_1x1"),
                                  ("branch_1b", "Branch_1/Conv3d_0b_3x3"), ("branch_2a", "Branch_2/Conv3d_0a_1x1"),
                                  ("branch_2b", "Branch_2/Conv3d_0b_3x3"), ("branch_3", "Branch_3/Conv3d_0b_1x1")):
                load_unit(getattr(layer, branch), f"{name}/{scope}")
    kernel = array("params/Logits/Conv3d_0c_1x1/Conv_0/kernel").permute(4, 3, 0, 1, 2)
    with torch.no_grad():
        model.logits.weight.copy_(kernel)
        model.logits.bias.copy_(array("params/Logits/Conv3d_0c_1x1/Conv_0/bias"))
    return model.eval()


class ClipEncoder(nn.Module):
    """I3D taking what decoding gives: uint8 RGB clips (N, T, H, W, 3) -> features (N, 1024) and the 400
    Kinetics log-probabilities (N, 400). The scaling to [-1, 1] and the softmax are part of the module, so
    a compiled copy (:mod:`cascade.backbones.video_runtime`) takes bytes and gives the final numbers."""

    def __init__(self, i3d: I3D) -> None:
        super().__init__()
        self.i3d = i3d

    def forward(self, clips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = clips.permute(0, 4, 1, 2, 3).float() / 127.5 - 1.0
        features, logits = self.i3d(x)
        return features, logits.log_softmax(dim=1)
