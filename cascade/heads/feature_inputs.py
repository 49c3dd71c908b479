"""What a feature head reads: windows of cached features around each key frame, per actor.

A feature head (:mod:`cascade.heads.feature_model`) reads, for each key frame, a window of ``window``
sampled frames around it (the key's nearest sampled frame in the middle, clamped at the video's ends)
from the features cache (:mod:`cascade.features`), and for each frame of the window one vector of
what its ``kinds`` name:

* ``appearance``: an image backbone's embedding of the actor's box and of the whole frame;
* ``video``: I3D's features of the actor's tube and of the whole frame's window
  (:mod:`cascade.features.video`); ``video-tube`` and ``video-frame``: one of the two;
* ``kinetics``: the 400 Kinetics log-probabilities of the frame's window (I3D caches);
* ``motion``: the box's geometry and motion (:data:`~cascade.features.motion.MOTION_COLUMNS`);
* ``pose``: the person box's 17 keypoints inside the box with their confidences (person head only).

The box's part ends with a 1 where the actor has a box in that frame (0 and zeros elsewhere). The
actor is followed through the window by its track: in the key frame, the group's box overlapping the
labelled box most (A2D's boxed labels) or else its most confident box; in the other frames, the box of
the same track, else the group's most confident one, as a crop head takes its boxes. The checkpoint
records the recipe (kinds, window, the features' settings), so predict and evaluate feed a head exactly
that, through :meth:`~cascade.pipeline.Cascade.head_stage`, computing the features a video lacks first.

Example::

    recipe = FeatureRecipe(("video", "motion"), 5, FeatureSettings(feature_backbone="i3d"))
    windows = feature_windows(instances, FeatureCache("runs"), group("dog"), recipe)   # (N, 5, F)
    probs = feature_probabilities(model, meta, "runs", "clip", "clip.mp4", [10, 20], detections, group("dog"))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import torch
from torch import nn

from cascade import defaults
from cascade.errors import CascadeError
from cascade.features.cache import WHOLE_FRAME, FeatureCache
from cascade.features.motion import MOTION_COLUMNS, iou_matrix
from cascade.features.pose import KEYPOINTS
from cascade.features.runner import compute_features
from cascade.features.settings import FeatureSettings
from cascade.labels import Group

#: The cache's columns every feature head reads: which row, and the box it describes.
SCALAR_COLUMNS = ("video", "frame", "cls", "conf", "x1", "y1", "x2", "y2", "track")
#: Kinds that read the embedding of the box (tube) and of the frame (window).
BOX_EMBEDDING = ("appearance", "video", "video-tube")
FRAME_EMBEDDING = ("appearance", "video", "video-frame")


@dataclass(frozen=True)
class FeatureRecipe:
    """What a feature head reads: which ``kinds`` of features, over a ``window`` of sampled frames,
    computed with ``settings``. Training writes it into the checkpoint and prediction reads it back."""

    kinds: tuple[str, ...] = defaults.FEATURE_KINDS
    window: int = defaults.FEATURE_WINDOW
    settings: FeatureSettings = FeatureSettings()

    def __post_init__(self) -> None:
        unknown = [k for k in self.kinds if k not in defaults.FEATURE_KIND_CHOICES]
        if unknown or not self.kinds:
            raise CascadeError(f"--features takes some of {', '.join(defaults.FEATURE_KIND_CHOICES)}, "
                               f"got {','.join(self.kinds)!r}")
        if self.window < 1:
            raise CascadeError(f"--window must be at least 1, got {self.window}")
        video = [k for k in self.kinds if k in defaults.VIDEO_KINDS]
        if video and not self.settings.video:
            raise CascadeError(f"--features {','.join(video)} read I3D features; add --feature-backbone i3d "
                               f"(the features are {self.settings.feature_backbone}'s)")
        if "appearance" in self.kinds and self.settings.video:
            raise CascadeError("--features appearance reads an image backbone's embeddings; with --feature-backbone i3d "
                               "name video (or video-tube, video-frame) instead")

    def for_group(self, group: Group) -> "FeatureRecipe":
        """The recipe a group's head uses: pose only for the person head (no keypoints for other actors)."""
        kinds = tuple(k for k in self.kinds if k != "pose" or group.name == "person")
        fallback = ("video",) if self.settings.video else ("appearance",)
        return FeatureRecipe(kinds or fallback, self.window, self.settings)

    def to_meta(self) -> dict:
        return {"features": list(self.kinds), "window": self.window, "feature_settings": self.settings.to_meta()}

    @classmethod
    def from_meta(cls, meta: dict) -> "FeatureRecipe":
        return cls(tuple(meta["features"]), int(meta["window"]), FeatureSettings.from_meta(meta["feature_settings"]))

    def columns(self) -> list[str]:
        """The cache's columns the kinds read: a head reads no more (the embeddings are most of the cache)."""
        kinds = set(self.kinds)
        return (list(SCALAR_COLUMNS) + (["embedding"] if kinds & set(BOX_EMBEDDING + FRAME_EMBEDDING) else [])
                + (list(MOTION_COLUMNS) if "motion" in kinds else []) + (["keypoints"] if "pose" in kinds else [])
                + (["kinetics"] if "kinetics" in kinds else []))

    def read(self, cache: FeatureCache, videos: Sequence[str]) -> "CachedRows":
        """The videos' cached rows with what the kinds read of each (see :class:`CachedRows`)."""
        table = cache.read_table(videos, self.columns())
        kinds = set(self.kinds)
        embedding = list_matrix(table.column("embedding")) if "embedding" in table.column_names else None
        box_parts, frame_parts = [], []
        if kinds & set(BOX_EMBEDDING):
            box_parts.append(embedding)
        if "motion" in kinds:
            box_parts.append(np.stack([table.column(c).to_numpy() for c in MOTION_COLUMNS], axis=1).astype(np.float32))
        if "pose" in kinds:
            keypoints = list_matrix(table.column("keypoints"), KEYPOINTS * 3)
            found = np.isfinite(keypoints).all(1)
            box_parts += [np.where(found[:, None], keypoints, 0), found[:, None].astype(np.float32)]
        box_parts.append(np.ones((table.num_rows, 1), np.float32))
        if kinds & set(FRAME_EMBEDDING):
            frame_parts.append(embedding)
        if "kinetics" in kinds:
            frame_parts.append(np.nan_to_num(list_matrix(table.column("kinetics"), 400)))  # box rows: none
        frames = np.concatenate(frame_parts, axis=1) if frame_parts else np.zeros((table.num_rows, 0), np.float32)
        return CachedRows(table.select(list(SCALAR_COLUMNS)).to_pandas(), np.concatenate(box_parts, axis=1), frames)


def weights_gone(meta: dict, group: Group, expected: dict) -> str | None:
    """Why a feature head cannot be fed (:class:`~cascade.heads.kinds.HeadKind`'s ``check``): a weights file
    its features were made with (its recipe names them by their absolute path) is not there any more; None
    when all are. ``expected`` (a network head's window) means nothing to a feature head."""
    gone = FeatureRecipe.from_meta(meta).settings.missing_files()
    if not gone:
        return None
    name, path = next(iter(gone.items()))
    flag = "--" + name.replace("_", "-")
    return (f"reads features made with the weights {path} ({flag}), which are not there any more; put them back "
            f"there, or train the head again with {flag} naming the weights you have (in another --run-dir: the "
            "run's features cache records these)")


def list_matrix(column: pa.ChunkedArray, width: int | None = None) -> np.ndarray:
    """(rows, width) float32 from a column of equal-length lists, taken out of Arrow whole; a null list
    (a box without keypoints) gives a row of NaN. ``width``: the lists' length (needed if all are null)."""
    lists = column.combine_chunks()
    values = lists.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    valid = lists.is_valid().to_numpy(zero_copy_only=False)
    width = width if width is not None else len(values) // max(int(valid.sum()), 1)
    out = np.full((len(lists), width), np.nan, np.float32)
    out[valid] = values.reshape(-1, width)
    return out


@dataclass(frozen=True)
class CachedRows:
    """Cached rows as a head reads them: ``rows`` (the :data:`SCALAR_COLUMNS`), and per row what the
    recipe's kinds read of it as a box (``boxes``: (rows, B), ending with a 1) and as a whole frame
    (``frames``: (rows, F), its embedding for ``appearance``)."""

    rows: pd.DataFrame
    boxes: np.ndarray
    frames: np.ndarray

    def by_video(self) -> dict[str, "CachedRows"]:
        return {video: CachedRows(self.rows.iloc[at].reset_index(drop=True), self.boxes[at], self.frames[at])
                for video, at in self.rows.groupby("video", sort=False).indices.items()}


def actor_windows(cached: CachedRows, group: Group, keys: Sequence[int], recipe: FeatureRecipe,
                  labelled: Sequence[np.ndarray | None] | None = None) -> np.ndarray:
    """(len(keys), window, features) for one video's ``cached`` rows: each key frame's window of sampled
    frames, the group's actor followed by its track (see the module docstring): per frame, what the
    kinds read of the actor's box (zeros where it has none) and of the whole frame. ``labelled``: a box
    per key from the labels (NaN or None: none), to pick the labelled actor in the key frame.
    Array lookups throughout, no loop over keys or frames: this runs for every video of every head."""
    rows = cached.rows
    cls, frame = rows.cls.to_numpy(), rows.frame.to_numpy()
    frame_rows = np.flatnonzero(cls == WHOLE_FRAME)
    if not len(frame_rows):
        raise CascadeError(f"no cached features of video {rows.video.iat[0] if len(rows) else '?'}")
    frame_rows = frame_rows[np.argsort(frame[frame_rows], kind="stable")]
    numbers = frame[frame_rows]
    boxes = np.flatnonzero((cls == group.coco_class) & np.isin(frame, numbers))
    boxes = boxes[np.argsort(-rows.conf.to_numpy()[boxes], kind="stable")]  # most confident first
    box_vectors = np.concatenate([cached.boxes[boxes], np.zeros((1, cached.boxes.shape[1]), np.float32)])  # last: none
    track = rows.track.to_numpy()[boxes]
    # each box's sampled frame (its position in numbers); the first (most confident) box of each frame,
    # and of each track in each frame; -1: none
    at = np.searchsorted(numbers, frame[boxes])
    first = np.full(len(numbers), -1)
    places, index = np.unique(at, return_index=True)
    first[places] = index
    tracks = track.max(initial=-1) + 2  # track + 1 in 0 .. tracks - 1 (a box's track is never below -1)
    first_of_track = np.full((len(numbers), tracks), -1)
    places, index = np.unique(at * tracks + track + 1, return_index=True)
    first_of_track.flat[places] = index

    keys = np.asarray(keys, np.int64)
    centre = np.abs(numbers[None, :].astype(np.int64) - keys[:, None]).argmin(1)
    anchor = first[centre]
    corners = rows[["x1", "y1", "x2", "y2"]].to_numpy(float)[boxes]
    for k in range(len(keys)) if labelled is not None else ():
        box = labelled[k]
        if anchor[k] >= 0 and box is not None and np.all(np.isfinite(box)):
            in_key = np.flatnonzero(at == centre[k])
            anchor[k] = in_key[int(np.argmax(iou_matrix(np.asarray(box)[None], corners[in_key])[0]))]
    position = np.clip(centre[:, None] + np.arange(recipe.window) - recipe.window // 2, 0, len(numbers) - 1)
    anchor_track = np.append(track, -1)[anchor]  # the key frame's chosen box's track (none: -1, unused)
    same = np.where(anchor[:, None] >= 0, first_of_track[position, anchor_track[:, None] + 1], -1)
    chosen = np.where(same >= 0, same, first[position])
    return np.concatenate([box_vectors[chosen], cached.frames[frame_rows][position]], axis=2)


def feature_windows(instances: pd.DataFrame, cache: FeatureCache, group: Group, recipe: FeatureRecipe) -> np.ndarray:
    """(instances, window, features): each labelled instance's window, the cache read once."""
    if instances.empty:
        return np.empty((0, recipe.window, 0), np.float32)
    videos = recipe.read(cache, instances.video.unique()).by_video()
    out = None
    for video, at in instances.reset_index(drop=True).groupby("video", sort=False).indices.items():
        wanted = instances.iloc[at]
        windows = actor_windows(videos[video], group, wanted.frame.to_numpy(), recipe, list(wanted.box))
        if out is None:
            out = np.empty((len(instances), *windows.shape[1:]), np.float32)
        out[at] = windows
    return out


def feature_probabilities(model: nn.Module, meta: dict, run_dir: str | Path, video: str, path: str | Path,
                          keys: Sequence[int], detections: pd.DataFrame, group: Group,
                          boxes: Sequence[np.ndarray | None] | None = None) -> np.ndarray:
    """The head's softmax over its pairs for each key frame (keys, pairs), computing first the features
    the run's cache lacks for this video, with the settings the head was trained on. ``boxes``: the actor's
    box at each key frame (one instance followed, :mod:`cascade.instances`); None: the group's most confident."""
    recipe = FeatureRecipe.from_meta(meta)
    compute_features({video: path}, run_dir, recipe.settings, detections[detections.video == video], progress=False)
    windows = actor_windows(recipe.read(FeatureCache(run_dir), [video]), group, keys, recipe, boxes)
    model.eval()
    with torch.inference_mode():
        return model(torch.from_numpy(windows)).softmax(1).numpy()
