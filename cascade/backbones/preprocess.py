"""What a backbone sees: a frame, or a padded box in it, squashed to a square, RGB, normalised.

Every image backbone (:mod:`cascade.backbones.torchvision_nets`), the heads fine-tuned on them and the
features computed with them share these functions, so a network always gets its pixels prepared the way
it was trained. A box is padded by ``pad`` of its size on each side, clipped to the frame; the frame or
box is squashed to ``imgsz x imgsz`` (no crop or flip, as in the seed).

Example::

    x = head_input(frame, box=None, imgsz=224)          # (3, 224, 224) uint8
    batch = normalise(torch.stack([x]), device)         # float, ImageNet mean/std
"""

from __future__ import annotations

import functools

import cv2
import numpy as np
import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def padded_box(box: np.ndarray, pad: float, height: int, width: int) -> tuple[int, int, int, int]:
    """The box grown by ``pad`` of its size per side, clipped to the frame, as integer pixels."""
    x1, y1, x2, y2 = (float(v) for v in box)
    dx, dy = pad * (x2 - x1), pad * (y2 - y1)
    left, top = int(max(0, np.floor(x1 - dx))), int(max(0, np.floor(y1 - dy)))
    right, bottom = int(min(width, np.ceil(x2 + dx))), int(min(height, np.ceil(y2 + dy)))
    if right - left < 2 or bottom - top < 2:
        return 0, 0, width, height  # degenerate box: fall back to the whole frame
    return left, top, right, bottom


def head_input(frame: np.ndarray, box: np.ndarray | None, imgsz: int, pad: float = 0.1) -> torch.Tensor:
    """BGR frame (H, W, 3) -> RGB uint8 tensor (3, imgsz, imgsz) of the frame or the padded box."""
    if box is not None and np.all(np.isfinite(box)):
        left, top, right, bottom = padded_box(box, pad, *frame.shape[:2])
        frame = frame[top:bottom, left:right]
    resized = cv2.resize(frame, (imgsz, imgsz), interpolation=cv2.INTER_AREA)
    return torch.from_numpy(np.ascontiguousarray(resized[:, :, ::-1])).permute(2, 0, 1)


@functools.lru_cache(maxsize=8)
def _affine(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale and shift taking uint8 pixels to ImageNet-normalised values, made once per device:
    building them per batch would copy from the host and, on CUDA, wait for the GPU every step."""
    mean, std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
    scale, shift = 1 / (255 * std), -mean / std
    return scale.view(1, 3, 1, 1).to(device), shift.view(1, 3, 1, 1).to(device)


def normalise(batch: torch.Tensor, device: torch.device, channels_last: bool = False) -> torch.Tensor:
    """uint8 (B, 3, H, W), or clips (B, T, 3, H, W) -> float on ``device``, ImageNet-normalised by one
    multiply-add. ``channels_last``: each frame's channels innermost (``torch.channels_last`` for
    frames; clips flatten to channels-last frames without a copy)."""
    x = batch.to(device, non_blocking=True)
    if channels_last:
        x = x.movedim(-3, -1).contiguous().movedim(-1, -3)  # reorder the uint8s, a quarter of the bytes
    scale, shift = _affine(torch.device(device))
    return torch.addcmul(shift, x.float(), scale)
