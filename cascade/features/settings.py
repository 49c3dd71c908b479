"""What makes a features cache: one frozen object from the flags to the cache's recorded settings.

Rows made with another backbone, other weights, another sampling, another window or another pose model
cannot be mixed into one cache (their embeddings or keypoints mean other things), so :meth:`FeatureSettings.describe`
names each of them, the weights by their sha256, and the cache refuses rows made otherwise. It also records
the settings themselves (their weights by their files), and a setting left at None is the run's:
:meth:`FeatureSettings.resolved` takes it from that record, else from :data:`DEFAULTS`.

Example::

    settings = FeatureSettings(every=4, pose_weights="yolo11n-pose.pt")
    settings.sampled(range(1, 49))          # [3, 7, 11, ..., 47]: one frame per block of 4, its centre
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable

import numpy as np

from cascade import defaults
from cascade.errors import CascadeError


#: How :meth:`FeatureSettings.sampled` picks frames, recorded in the cache: rows picked otherwise (the
#: first frame of each block, before 2026-12) sit at other frames.
SAMPLING = "block-centre"


@dataclass(frozen=True)
class FeatureSettings:
    """How features are computed. ``every``: every N-th detected frame is sampled (frame 1, 1 + N, ...);
    ``feature_backbone`` / ``pretrained``: the network whose pooled embedding describes each box and frame
    (its first weights as ``train-head --pretrained`` takes them; ``i3d``: the Kinetics-400 video network,
    over a window of ``video_frames`` consecutive frames at about ``video_fps`` around each sampled frame,
    :mod:`cascade.features.video`); ``feature_imgsz``: the square it sees (None: 128 for an image backbone,
    ``defaults.VIDEO_IMGSZ`` for I3D); ``conf``: boxes below this detection confidence (the counting
    confidence) get no features; ``pose_weights``: the Ultralytics pose model that gives person boxes
    their keypoints. A setting left at None is the run's (what its features cache records, else
    :data:`DEFAULTS`): commands use the settings :meth:`resolved` against the run."""

    every: int | None = None
    feature_backbone: str | None = None
    pretrained: str | None = None
    feature_imgsz: int | None = None
    conf: float | None = None
    pose_weights: str | None = None
    video_frames: int | None = None
    video_fps: float | None = None

    def __post_init__(self) -> None:
        if self.every is not None and self.every < 1:
            raise CascadeError(f"--every must be at least 1, got {self.every}")
        if self.feature_backbone is not None and self.feature_backbone not in defaults.FEATURE_BACKBONE_CHOICES:
            raise CascadeError(f"unknown --feature-backbone {self.feature_backbone!r}; valid: "
                               f"{', '.join(defaults.FEATURE_BACKBONE_CHOICES)}")
        if self.imgsz < 32:
            raise CascadeError(f"--feature-imgsz must be at least 32, got {self.imgsz}")
        if ((self.video_frames is not None and self.video_frames < 8)
                or (self.video_fps is not None and self.video_fps <= 0)):
            raise CascadeError(f"--video-frames must be at least 8 (I3D halves time four times) and --video-fps "
                               f"positive, got {self.video_frames} and {self.video_fps}")
        if self.conf is not None and not 0 <= self.conf <= 1:
            raise CascadeError(f"--conf must lie in [0, 1], got {self.conf}")

    @property
    def video(self) -> bool:
        """Whether the backbone is the video network (windows of frames), not an image network."""
        return self.feature_backbone == "i3d"

    @property
    def imgsz(self) -> int:
        """The square the backbone sees: ``feature_imgsz``, else the backbone's default."""
        if self.feature_imgsz is not None:
            return self.feature_imgsz
        return defaults.VIDEO_IMGSZ if self.video else defaults.FEATURE_IMGSZ

    def to_meta(self) -> dict:
        """The settings as plain data, for a head's checkpoint (:meth:`from_meta` reads them back)."""
        return dict(self.__dict__)

    @classmethod
    def from_meta(cls, meta: dict) -> "FeatureSettings":
        return cls(**meta)

    def resolved(self, recorded: dict | None = None) -> "FeatureSettings":
        """These settings with each one left at None taken from a features cache's ``recorded`` settings (what
        :meth:`describe` gave; None: an empty cache), else from :data:`DEFAULTS`: the settings a command computes
        and checks with. ``feature_imgsz`` may stay None: the backbone's default."""
        recorded = recorded or {}
        made_with = recorded.get(RECORD) or {field: recorded[key] for key, field in CHECKED_FIELDS.items()
                                             if key in recorded}
        return replace(self, **{name: made_with.get(name, DEFAULTS.get(name)) for name, value in self.__dict__.items()
                                if value is None})

    def missing_files(self) -> dict[str, str]:
        """The weights files these settings name that are not there, by setting (a name that torchvision or
        Ultralytics fetch, such as ``imagenet`` or ``yolo11n-pose.pt``, is no file)."""
        named = {"pretrained": None if self.pretrained in (None, "none", "imagenet", "kinetics") else self.pretrained,
                 "pose_weights": self.pose_weights if Path(self.pose_weights or "").parent != Path(".") else None}
        return {name: path for name, path in named.items() if path is not None and not Path(path).exists()}

    def pinned(self, weights_file: Path | None) -> "FeatureSettings":
        """These settings with the backbone's weights named by the file they were loaded from (None: as
        given), so that a head trained on them finds the same weights again without the environment
        variable or folder that led to them (:mod:`cascade.backbones`)."""
        pinned = self if weights_file is None else replace(self, pretrained=str(Path(weights_file).resolve()))
        pose = Path(self.pose_weights or "")
        return replace(pinned, pose_weights=str(pose.resolve())) if pose.parent != Path(".") and pose.exists() else pinned

    def sampled(self, frames: Iterable[int]) -> list[int]:
        """The sampled frames among a video's (detected) frame numbers: one per block of ``every`` frames
        (1 .. every, every + 1 .. 2 every, ...), the detected frame nearest to the block's frame
        ``every // 2 + 1`` (ties: the later). A video network's window of ``every`` frames around it then
        covers its block, so runs of consecutive frames that long (``sample-clips --runs``) are one
        window each, never a window across two runs."""
        numbers = np.unique(np.asarray(list(frames), np.int64))
        if not len(numbers):
            return []
        block = (numbers - 1) // self.every
        distance = np.abs(numbers - (block * self.every + self.every // 2 + 1)) * 2 - (numbers > block * self.every
                                                                                       + self.every // 2 + 1)
        order = np.lexsort((distance, block))  # by block, then nearest (the later on a tie) first
        first = np.unique(block[order], return_index=True)[1]
        return sorted(int(n) for n in numbers[order][first])

    def describe(self, backbone_init: str, weights_file: Path | None = None) -> dict:
        """The settings a cache records and checks; ``backbone_init``: where the backbone's weights came
        from (:func:`~cascade.backbones.torchvision_nets.build_network`, with their sha256); ``weights_file``:
        the file they were loaded from, for the record of the settings themselves (not checked)."""
        described = {"every": self.every, "sampling": SAMPLING, "backbone": self.feature_backbone, "backbone_weights": backbone_init,
                     "imgsz": self.imgsz, "conf": self.conf, "pose_model": weights_id(self.pose_weights)}
        if self.video:
            described.update(video_frames=self.video_frames, video_fps=self.video_fps)
        described[RECORD] = self.pinned(weights_file).to_meta()  # later commands' defaults (resolved)
        return described


#: What a setting left at None is on a run without features (``feature_imgsz``: None, the backbone's default).
DEFAULTS = {"every": defaults.FEATURE_EVERY, "feature_backbone": defaults.FEATURE_BACKBONE,
            "pretrained": defaults.PRETRAINED, "conf": defaults.DETECT_CONF, "pose_weights": defaults.POSE_WEIGHTS,
            "video_frames": defaults.VIDEO_FRAMES, "video_fps": defaults.VIDEO_FPS}
#: The key under which a features cache records the settings themselves (:meth:`FeatureSettings.describe`).
RECORD = "feature_settings"
#: The checked settings that are a field's value as it is, read where a cache recorded no settings (before they were).
CHECKED_FIELDS = {"every": "every", "backbone": "feature_backbone", "imgsz": "feature_imgsz", "conf": "conf",
                  "video_frames": "video_frames", "video_fps": "video_fps"}


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
