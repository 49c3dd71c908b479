"""Actor scores: per video and group, the fraction of frames with at least one detection.

    score[video, group] = |{frames f : some box of the group's COCO class in f has conf >= c}|
                          / |{frames of the video in the cache}|

The cache holds every processed frame (frames without a box as ``cls = -1``), so the denominator
is exact; boxes are kept down to 0.05, so any ``c`` at or above that needs no new detection.

A group is present in a video when its score reaches the group's threshold (:func:`presence`): the
one rule that the pipeline, the evaluation and the swarm fitness all apply.

Example::

    scores = group_scores(load_detections("runs"), conf=0.5)   # DataFrame: video x group
    present = presence(scores.to_numpy(), thresholds)          # bool, same shape
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cascade import defaults
from cascade.errors import CascadeError
from cascade.labels import COCO_CLASSES, GROUP_NAMES


def group_scores(detections: pd.DataFrame, conf: float = defaults.DETECT_CONF) -> pd.DataFrame:
    """Video x group table of detection fractions (groups in ``GROUP_NAMES`` order)."""
    if not 0 <= conf <= 1:
        raise CascadeError(f"--conf must lie in [0, 1], got {conf}")
    frames = detections.groupby("video", sort=True).frame.nunique()
    hits = detections[(detections.conf >= conf) & detections.cls.isin(COCO_CLASSES)]
    group_of = pd.Series(GROUP_NAMES, index=COCO_CLASSES)
    hits = hits.assign(group=group_of.reindex(hits.cls.to_numpy()).to_numpy())
    counts = hits.drop_duplicates(["video", "frame", "group"]).groupby(["video", "group"]).size()
    table = counts.unstack("group").reindex(index=frames.index, columns=list(GROUP_NAMES)).fillna(0)
    return table.div(frames, axis=0).astype(np.float64).rename_axis(columns=None)


def presence(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """``scores >= thresholds``: thresholds broadcast against the scores' trailing group axis, so one
    call decides a table (videos, groups) or a whole swarm of candidates (particles, videos, groups)."""
    return np.asarray(scores) >= np.asarray(thresholds)
