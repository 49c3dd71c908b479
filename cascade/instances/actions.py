"""Who does what, when: each actor instance's actions over its life, from its group's feature head.

For one video and one present group with a feature head: the group's tracks (:mod:`cascade.instances.cache`),
and for each track, the head's probabilities at every sampled frame of its life, its window anchored
on the track's own box there (:func:`~cascade.heads.feature_inputs.actor_windows` with that box as the
labelled one: the tube and the window follow this actor, not the group's most confident box), smoothed
and cut into segments (:mod:`cascade.instances.timeline`). A track too short to hold a sampled frame
takes the sampled frame nearest its middle.

Each instance, as ``predict`` reports it::

    {"actor": "dog", "group": "dog", "track": 3, "start_s": 2.0, "end_s": 7.4,
     "actions": [{"label": "dog-running", "start_s": 2.0, "end_s": 5.5, "confidence": 0.71}, ...],
     "boxes": [{"frame": 53, "time_s": 2.08, "box": [x1, y1, x2, y2]}, ...]}      # at its sampled frames

Example::

    found = instance_actions(model, meta, group("dog"), "runs", "clip", "clip.mp4", detections, tracks, 25.0)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from cascade import defaults
from cascade.errors import CascadeError
from cascade.features.cache import WHOLE_FRAME, FeatureCache
from cascade.features.runner import compute_features
from cascade.heads.feature_inputs import FeatureRecipe, actor_windows
from cascade.instances.timeline import segments, smooth_labels
from cascade.instances.tracking import CORNERS, TrackSettings
from cascade.labels import Group, actor_name, pair_name


@dataclass(frozen=True)
class InstanceSettings:
    """How instances are followed and named: the tracks (``tracks``), the smoothing of each one's actions
    (``smooth``, with ``window`` for ``median`` and ``switch_cost`` for ``viterbi``), and whether the video's
    labels come from its instances (``labels_from_instances``: a pair an instance holds for at least
    ``min_seconds``) instead of the group's head over the whole video."""

    tracks: TrackSettings = field(default_factory=TrackSettings)
    smooth: str = defaults.SMOOTH
    window: int = defaults.SMOOTH_WINDOW
    switch_cost: float = defaults.SWITCH_COST
    labels_from_instances: bool = defaults.LABELS_FROM_INSTANCES
    min_seconds: float = defaults.INSTANCE_MIN_SECONDS

    def __post_init__(self) -> None:
        if self.smooth not in defaults.SMOOTH_CHOICES:
            raise CascadeError(f"unknown --smooth {self.smooth!r}; valid: {', '.join(defaults.SMOOTH_CHOICES)}")
        if self.window < 1 or self.switch_cost < 0 or self.min_seconds < 0:
            raise CascadeError(f"--smooth-window must be at least 1 and --switch-cost, --instance-min-seconds at "
                               f"least 0, got {self.window}, {self.switch_cost}, {self.min_seconds}")


def instance_actions(model: nn.Module, meta: dict, group: Group, run_dir: str | Path, video: str, path: str | Path,
                     detections: pd.DataFrame, tracks: pd.DataFrame, fps: float,
                     settings: InstanceSettings = InstanceSettings()) -> list[dict]:
    """The instances of ``group`` in one video (see the module docstring), from its ``tracks`` (the tracks
    cache's rows of this video) and its feature head (``model``, ``meta``)."""
    recipe = FeatureRecipe.from_meta(meta)
    compute_features({video: path}, run_dir, recipe.settings, detections[detections.video == video], progress=False)
    cached = recipe.read(FeatureCache(run_dir), [video])
    sampled = np.sort(cached.rows.frame.to_numpy()[cached.rows.cls.to_numpy() == WHOLE_FRAME])
    names = [pair_name(p) for p in group.pairs]
    found = []
    model.eval()
    for track, rows in tracks[tracks.cls == group.coco_class].groupby("track", sort=True):
        frames = rows.frame.to_numpy()
        first, last = int(frames.min()), int(frames.max())
        keys = sampled[(sampled >= first) & (sampled <= last)]
        if not len(keys) and len(sampled):
            keys = sampled[[int(np.abs(sampled - (first + last) / 2).argmin())]]
        if not len(keys):
            continue
        nearest = np.abs(frames[None, :] - keys[:, None]).argmin(1)  # the track's box nearest each key frame
        boxes = rows[CORNERS].to_numpy(float)[nearest]
        with torch.inference_mode():
            windows = torch.from_numpy(actor_windows(cached, group, keys, recipe, list(boxes)))
            probs = model(windows).softmax(1).numpy()
        path_ = smooth_labels(probs, settings.smooth, settings.window, settings.switch_cost)
        actions = segments(path_, probs, keys, first, last, fps, names)
        actors = Counter(actor_name(group.pairs[int(k)]) for k in path_)  # the person head tells adult from baby
        found.append({"actor": actors.most_common(1)[0][0], "group": group.name, "track": int(track),
                      "start_s": round((first - 1) / fps, 3), "end_s": round(last / fps, 3), "actions": actions,
                      "boxes": [{"frame": int(k), "time_s": round((k - 1) / fps, 3),
                                 "box": [round(float(v), 1) for v in box]} for k, box in zip(keys, boxes)]})
    return found


def pairs_held(instances: list[dict], min_seconds: float) -> dict[str, float]:
    """Each pair some instance holds for at least ``min_seconds`` in one segment, with the best such
    segment's confidence: the video's labels read from its instances."""
    held: dict[str, float] = {}
    for instance in instances:
        for segment in instance["actions"]:
            if segment["end_s"] - segment["start_s"] >= min_seconds:
                held[segment["label"]] = max(held.get(segment["label"], 0.0), segment["confidence"])
    return held
