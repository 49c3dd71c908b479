"""What a head sees: a frame (or a padded actor box in it) resized to a square, RGB, normalised.

Training and prediction share these functions, so a head always gets its inputs prepared the way it
was trained. ``crop`` feeds the actor's box padded by ``pad`` of its size on each side instead of
the whole frame; the frame is squashed to ``imgsz x imgsz`` (no crop or flip, as in the seed).

A temporal head sees, for each chosen (key) frame, a :class:`Window` of frames around it: the key
frame at index ``clip_len // 2``, the others ``clip_stride`` frames apart, clamped at the video's
ends (the first frame here, the last one where the frames are decoded). With ``crop``, each frame
shows the actor's box in that frame where one is known, else the key frame's box.

Example::

    x = head_input(frame, box=None, imgsz=224)          # (3, 224, 224) uint8
    batch = normalise(torch.stack([x]), device)         # float, ImageNet mean/std
    clip = head_sample(frames, 40, {}, 224, 0.1, Window(8, 2))   # (8, 3, 224, 224): frames 32, 34, ..., 46
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import cv2
import numpy as np
import pandas as pd
import torch
from torchvision.ops import box_iou

from cascade import defaults
from cascade.errors import CascadeError
from cascade.labels import Group

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


@dataclass(frozen=True)
class Window:
    """The frames a temporal head sees around each key frame (a single-frame head has none)."""

    clip_len: int
    clip_stride: int

    def around(self, key: int) -> list[int]:
        """``clip_len`` frame numbers ``clip_stride`` apart, ``key`` at index ``clip_len // 2``, none before
        frame 1 (the video's end is clamped by :func:`head_sample`, which knows the decoded frames)."""
        return [max(1, key + self.clip_stride * (k - self.clip_len // 2)) for k in range(self.clip_len)]


def check_window(temporal: str | None, clip_len: int | None, clip_stride: int | None) -> None:
    """One line for temporal settings that cannot work (None: not given)."""
    if temporal is not None and temporal not in defaults.TEMPORAL_CHOICES:
        raise CascadeError(f"unknown --temporal {temporal!r}; valid: {', '.join(defaults.TEMPORAL_CHOICES)}")
    if any(value is not None and value < 1 for value in (clip_len, clip_stride)):
        raise CascadeError(f"--clip-len and --clip-stride must be at least 1, got {clip_len} and {clip_stride}")


def head_window(temporal: str, clip_len: int, clip_stride: int) -> Window | None:
    """The window a head with these settings sees: None for a single-frame head, whose clip settings
    are then unused."""
    check_window(temporal, clip_len, clip_stride)
    return None if temporal == "none" else Window(clip_len, clip_stride)


def window_settings(window: Window | None) -> dict:
    """The settings a checkpoint records for its window: a single-frame head sees one frame."""
    if window is None:
        return {"temporal": "none", "clip_len": 1, "clip_stride": 1}
    return {"temporal": "tsm", "clip_len": window.clip_len, "clip_stride": window.clip_stride}


@dataclass(frozen=True)
class HeadInput:
    """A head's input recipe: the square size, whether it sees the actor's padded box (``crop``,
    padded by ``crop_pad`` of the box per side) or the whole frame, and its window of frames (None:
    one frame). Training writes it into the checkpoint and prediction reads it back, so a head is
    always fed what it was trained on (as MMAction2 rebuilds a model's test pipeline from its config)."""

    imgsz: int = defaults.HEAD_IMGSZ
    crop: bool = defaults.CROP
    crop_pad: float = defaults.CROP_PAD
    window: Window | None = None

    def to_meta(self) -> dict:
        """The checkpoint's entries for this recipe (plain types)."""
        return {"imgsz": int(self.imgsz), "crop": bool(self.crop), "crop_pad": float(self.crop_pad),
                **window_settings(self.window)}

    @classmethod
    def from_meta(cls, meta: dict) -> "HeadInput":
        """The recipe a checkpoint records; checkpoints saved before temporal heads existed have no
        ``temporal`` entry and are single-frame heads."""
        window = head_window(meta.get("temporal", "none"), int(meta.get("clip_len", 1)), int(meta.get("clip_stride", 1)))
        return cls(int(meta["imgsz"]), bool(meta["crop"]), float(meta["crop_pad"]), window)

    def frames_needed(self, keys: Iterable[int]) -> list[int]:
        """Every frame the head needs for these key frames (:func:`frames_needed`)."""
        return frames_needed(keys, self.window)

    def sample(self, frames: Mapping[int, np.ndarray], key: int, boxes: Mapping[int, np.ndarray]) -> torch.Tensor:
        """What the head sees for one key frame (:func:`head_sample`); ``boxes`` are ignored without crop."""
        return head_sample(frames, key, boxes if self.crop else {}, self.imgsz, self.crop_pad, self.window)


def best_boxes(detections: pd.DataFrame, video: str, group: Group, numbers: Iterable[int]) -> dict[int, np.ndarray]:
    """The group's most confident detected box in each of the given frames that has one: the box a crop
    head sees, in training on clip-level labels (which have no boxes) as in prediction."""
    rows = detections[(detections.video == video) & (detections.cls == group.coco_class)
                      & detections.frame.isin(list(numbers))]
    best = rows.sort_values("conf", ascending=False, kind="stable").drop_duplicates("frame")
    return {int(r.frame): np.array([r.x1, r.y1, r.x2, r.y2]) for r in best.itertuples()}


def frames_needed(keys: Iterable[int], window: Window | None) -> list[int]:
    """Every frame the head needs for these key frames, once, sorted: windows that overlap share frames."""
    keys = list(keys)
    return sorted({n for key in keys for n in window.around(key)} if window else set(keys))


def head_sample(frames: Mapping[int, np.ndarray], key: int, boxes: Mapping[int, np.ndarray], imgsz: int,
                pad: float, window: Window | None) -> torch.Tensor:
    """What a head sees for one key frame: (3, S, S) for a single-frame head, (clip_len, 3, S, S) for a
    temporal one. ``frames`` holds the decoded frames by number; a window reaching past the last one
    decoded (the video ended) repeats it. ``boxes``: the actor's box by frame number (empty: whole
    frames); a frame without one shows the key frame's box."""
    if window is None:
        return head_input(frames[key], boxes.get(key), imgsz, pad)
    last = max(frames)
    numbers = [min(n, last) for n in window.around(key)]
    return torch.stack([head_input(frames[n], boxes.get(n, boxes.get(key)), imgsz, pad) for n in numbers])


def same_actor(key_box: np.ndarray, candidates: Sequence[np.ndarray]) -> np.ndarray | None:
    """Among another frame's boxes of the group, the one that overlaps the key frame's box most
    (intersection over union): labels name no instance across frames, and an actor moves little in a
    few frames. None if none overlaps."""
    if not candidates:
        return None
    overlaps = box_iou(torch.as_tensor(key_box, dtype=torch.float64)[None],
                       torch.as_tensor(np.stack(candidates), dtype=torch.float64))[0].nan_to_num(0.0)
    best = int(overlaps.argmax())
    return candidates[best] if overlaps[best] > 0 else None


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
