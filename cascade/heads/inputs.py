"""What a fine-tuned head sees: a frame or the actor's padded box (:mod:`cascade.backbones.preprocess`),
or a window of them, and the recipe its checkpoint records.

Training and prediction share these functions, so a head always gets its inputs prepared the way it
was trained. ``crop`` feeds the actor's box padded by ``pad`` of its size on each side instead of
the whole frame.

A temporal head sees, for each chosen (key) frame, a :class:`Window` of frames around it: the key
frame at index ``clip_len // 2``, the others ``clip_stride`` frames apart, clamped at the video's
ends (the first frame here, the last one where the frames are decoded). With ``crop``, each frame
shows the actor's box in that frame where one is known, else the key frame's box.

Example::

    clip = head_sample(frames, 40, {}, 224, 0.1, Window(8, 2))   # (8, 3, 224, 224): frames 32, 34, ..., 46
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torchvision.ops import box_iou

from cascade import defaults
from cascade.backbones.preprocess import head_input
from cascade.errors import CascadeError
from cascade.labels import Group


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
