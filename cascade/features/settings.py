"""What makes a features cache: one frozen object from the flags to the cache's recorded settings.

Rows made with another backbone, other weights, another sampling or another pose model cannot be
mixed into one cache (their embeddings or keypoints mean other things), so :meth:`FeatureSettings.describe`
names each of them, the weights by their sha256, and the cache refuses rows made otherwise.

Example::

    settings = FeatureSettings(every=4, pose_weights="yolo11n-pose.pt")
    settings.sampled([1, 2, ..., 48])       # [1, 5, 9, ..., 45]: the frames whose features are computed
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from cascade import defaults
from cascade.errors import CascadeError


@dataclass(frozen=True)
class FeatureSettings:
    """How features are computed. ``every``: every N-th detected frame is sampled (frame 1, 1 + N, ...);
    ``feature_backbone`` / ``pretrained``: the network whose pooled embedding describes appearance (its
    first weights as ``train-head --pretrained`` takes them); ``feature_imgsz``: the square it sees; ``conf``: boxes
    below this detection confidence (the counting confidence) get no features; ``pose_weights``: the
    Ultralytics pose model that gives person boxes their keypoints."""

    every: int = defaults.FEATURE_EVERY
    feature_backbone: str = defaults.FEATURE_BACKBONE
    pretrained: str = defaults.PRETRAINED
    feature_imgsz: int = defaults.FEATURE_IMGSZ
    conf: float = defaults.DETECT_CONF
    pose_weights: str = defaults.POSE_WEIGHTS

    def __post_init__(self) -> None:
        if self.every < 1:
            raise CascadeError(f"--every must be at least 1, got {self.every}")
        if self.feature_imgsz < 32:
            raise CascadeError(f"--feature-imgsz must be at least 32, got {self.feature_imgsz}")
        if not 0 <= self.conf <= 1:
            raise CascadeError(f"--conf must lie in [0, 1], got {self.conf}")

    def to_meta(self) -> dict:
        """The settings as plain data, for a head's checkpoint (:meth:`from_meta` reads them back)."""
        return dict(self.__dict__)

    @classmethod
    def from_meta(cls, meta: dict) -> "FeatureSettings":
        return cls(**meta)

    def sampled(self, frames: Iterable[int]) -> list[int]:
        """The sampled frames among a video's (detected) frame numbers: 1, 1 + every, 1 + 2 every, ..."""
        return sorted({int(n) for n in frames if (int(n) - 1) % self.every == 0})

    def describe(self, backbone_init: str) -> dict:
        """The settings a cache records and checks; ``backbone_init``: where the backbone's weights came
        from (:func:`~cascade.backbones.torchvision_nets.build_network`, with their sha256)."""
        return {"every": self.every, "backbone": self.feature_backbone, "backbone_weights": backbone_init,
                "imgsz": self.feature_imgsz, "conf": self.conf, "pose_model": weights_id(self.pose_weights)}


def weights_id(weights: str) -> str:
    """A model by its content where it is a local file or folder (name and sha256 of its files), else by
    its name (one Ultralytics downloads, the same file everywhere)."""
    path = Path(weights)
    if not path.exists():
        return Path(weights).name
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode())
        digest.update(file.read_bytes())
    return f"{path.name} (sha256 {digest.hexdigest()[:16]})"
