"""Geometry and motion of every box: boxes linked across sampled frames, and how each one moves.

Labels name no instance across frames, so actors are followed by overlap: in each sampled frame,
the boxes of one class are matched one-to-one to the previous sampled frame's (the assignment with
the largest total intersection over union, pairs below ``min_iou`` left unmatched), and a matched
box carries on its predecessor's track. A greedy IoU tracker of this kind is what Ultralytics' own
trackers start from; at a few sampled frames per second their Kalman motion model has too little to
go on, and the boxes here are already detected, so linking them is all that is needed.

Motion of a box, against the previous box of its track (the next one for a track's first box), per
second of video:

* ``speed``: displacement of the box centre in box heights (the mean of the two boxes' heights) per
  second: a person walking across the frame moves about one body height per second, whatever the zoom;
* ``scale_rate``: change of the box's size, log(area ratio) / 2 per second (approaching: positive);
* ``aspect_rate``: change of its aspect ratio, log(width/height ratio) per second (falling: positive).

A box alone in its track has no motion: zeros, and ``linked`` false.

Example::

    tracks = link_boxes([np.array([[0, 0, 10, 20.]]), np.array([[5, 0, 15, 20.]])])   # [[0], [0]]
    motion = track_motion(np.array([1, 5]), np.array([[0, 0, 10, 20.], [5, 0, 15, 20.]]), fps=25)
    motion.speed      # [1.5625, 1.5625]: 5 px in 4 frames at 25 fps, boxes 20 px high
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torchvision.ops import box_iou

from cascade import defaults

#: Columns of a box's geometry and motion, in the order feature heads read them.
MOTION_COLUMNS = ("cx", "cy", "width", "height", "speed", "scale_rate", "aspect_rate", "linked")


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box of ``a`` (N, 4) with every box of ``b`` (M, 4), x1 y1 x2 y2:
    torchvision's ``box_iou``, as :func:`cascade.heads.inputs.same_actor` uses it, 0 where both are empty."""
    a, b = (torch.as_tensor(np.array(boxes, np.float64).reshape(-1, 4)) for boxes in (a, b))
    return box_iou(a, b).nan_to_num(0.0).numpy()


def match_boxes(a: np.ndarray, b: np.ndarray, min_iou: float) -> list[tuple[int, int]]:
    """One-to-one pairs (i of ``a``, j of ``b``) with the largest total IoU, each at least ``min_iou``."""
    if not len(a) or not len(b):
        return []
    overlap = iou_matrix(a, b)
    rows, cols = linear_sum_assignment(-overlap)
    return [(int(i), int(j)) for i, j in zip(rows, cols) if overlap[i, j] >= min_iou]


def link_boxes(frames: Sequence[np.ndarray], min_iou: float = defaults.LINK_MIN_IOU) -> list[np.ndarray]:
    """Track ids for the boxes of consecutive sampled frames (one class; ``frames[t]``: (N_t, 4)):
    a box matched to one of the previous frame takes its track, any other starts a new one."""
    tracks: list[np.ndarray] = []
    next_id = 0
    for t, boxes in enumerate(frames):
        ids = np.full(len(boxes), -1, np.int64)
        if t:
            for i, j in match_boxes(frames[t - 1], boxes, min_iou):
                ids[j] = tracks[t - 1][i]
        for j in np.flatnonzero(ids < 0):
            ids[j], next_id = next_id, next_id + 1
        tracks.append(ids)
    return tracks


@dataclass
class Motion:
    """Geometry (centre and size as shares of the frame) and motion of each box of one track."""

    cx: np.ndarray
    cy: np.ndarray
    width: np.ndarray
    height: np.ndarray
    speed: np.ndarray
    scale_rate: np.ndarray
    aspect_rate: np.ndarray
    linked: np.ndarray

    def columns(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in MOTION_COLUMNS}


def track_motion(frames: np.ndarray, boxes: np.ndarray, fps: float, frame_size: tuple[int, int] = (1, 1)) -> Motion:
    """Motion of one track's boxes (``frames``: their frame numbers, increasing; ``boxes``: (N, 4) pixels),
    each against its predecessor (the first against its successor), at ``fps`` frames per second.
    ``frame_size``: (height, width) in pixels, for the geometry."""
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    frames = np.asarray(frames, float)
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    n = len(boxes)
    other = np.arange(n) - 1
    other[0] = 1 if n > 1 else 0
    seconds = np.abs(frames - frames[other]) / fps
    moved = np.hypot(cx - cx[other], cy - cy[other]) / np.maximum((h + h[other]) / 2, 1e-6)
    later = np.where(frames >= frames[other], 1.0, -1.0)  # a rate is later minus earlier
    area = np.maximum(w * h, 1e-6)
    aspect = np.maximum(w, 1e-6) / np.maximum(h, 1e-6)
    linked = seconds > 0
    safe = np.where(linked, seconds, 1.0)
    height_px, width_px = frame_size
    return Motion(cx / width_px, cy / height_px, w / width_px, h / height_px,
                  np.where(linked, moved / safe, 0.0),
                  np.where(linked, later * np.log(area / area[other]) / 2 / safe, 0.0),
                  np.where(linked, later * np.log(aspect / aspect[other]) / safe, 0.0),
                  linked.astype(float))
