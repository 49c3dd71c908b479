"""Pose: 17 COCO keypoints for each detected person box, from an Ultralytics YOLO pose model.

The pose model finds people on its own; its detections are matched one-to-one to the cascade's
person boxes (the assignment with the largest total IoU, :func:`~cascade.features.motion.match_boxes`),
so keypoints land on the box they belong to even with two people side by side. A person box that no
pose detection overlaps by ``min_iou`` gets none (NaN). Keypoints are then expressed inside their box
(:func:`normalise_keypoints`: 0..1 across its width and height), so a pose means the same whatever
the person's place and size in the frame.

Example::

    model = PoseModel("yolo11n-pose.pt")
    keypoints = model.keypoints([frame], [person_boxes])[0]       # (N, 17, 3): x, y, confidence
    inside = normalise_keypoints(keypoints, person_boxes)          # (N, 51)
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np

from cascade import defaults
from cascade.errors import CascadeError, short_reason
from cascade.features.motion import match_boxes

log = logging.getLogger(__name__)

KEYPOINTS = 17  # COCO's
POSE_CONF = 0.25  # Ultralytics' predict default


def match_keypoints(person_boxes: np.ndarray, pose_boxes: np.ndarray, pose_keypoints: np.ndarray,
                    min_iou: float = defaults.POSE_MIN_IOU) -> np.ndarray:
    """(N, 17, 3) keypoints for the N person boxes: those of the pose detection matched to each (NaN where
    none is). ``pose_boxes`` (M, 4) and ``pose_keypoints`` (M, 17, 3) come from the pose model."""
    out = np.full((len(person_boxes), KEYPOINTS, 3), np.nan, np.float32)
    for i, j in match_boxes(np.asarray(person_boxes).reshape(-1, 4), np.asarray(pose_boxes).reshape(-1, 4), min_iou):
        out[i] = pose_keypoints[j]
    return out


def normalise_keypoints(keypoints: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(N, 17, 3) pixel keypoints -> (N, 51): x and y as shares of their box's width and height from its
    top-left corner, and the keypoint's confidence."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    size = np.maximum(boxes[:, 2:] - boxes[:, :2], 1e-6)
    inside = keypoints.copy()
    inside[..., :2] = (keypoints[..., :2] - boxes[:, None, :2]) / size[:, None, :]
    return inside.reshape(len(boxes), KEYPOINTS * 3)


class PoseModel:
    """An Ultralytics pose model (any format it loads; a fixed-size export runs at its size)."""

    def __init__(self, weights: str, device: str = "cpu") -> None:
        from ultralytics import YOLO

        try:
            self.model = YOLO(weights, task="pose")
        except Exception as exc:  # missing, corrupt, unfetchable: Ultralytics raises many types
            raise CascadeError(f"cannot load pose weights {weights!r} ({short_reason(exc)}); pass --pose-weights "
                               f"PATH to an Ultralytics pose model (.pt or exported folder), or "
                               f"{defaults.POSE_WEIGHTS} with a network") from None
        self.device = device

    def keypoints(self, frames: Sequence[np.ndarray], person_boxes: Sequence[np.ndarray]) -> list[np.ndarray]:
        """For each BGR frame, its person boxes' keypoints (:func:`match_keypoints`)."""
        out = []
        for frame, boxes in zip(frames, person_boxes):
            result = self.model.predict(frame, conf=POSE_CONF, device=self.device, verbose=False)[0]
            found = result.keypoints
            if found is None or not len(result.boxes):
                out.append(np.full((len(boxes), KEYPOINTS, 3), np.nan, np.float32))
                continue
            out.append(match_keypoints(boxes, result.boxes.xyxy.cpu().numpy(), found.data.cpu().numpy()))
        return out
