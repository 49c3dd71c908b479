"""Actor scores: per video and group, the fraction of frames with at least one detection.

    score[video, group] = |{frames f : some box of the group's COCO class in f has conf >= c}|
                          / |{frames of the video in the cache}|

The cache holds every processed frame (frames without a box as ``cls = -1``), so the denominator
is exact; boxes are kept down to 0.05, so any ``c`` at or above that needs no new detection.

A group is present in a video when its score reaches the group's threshold, and no rule removes it
(:func:`presence`): the one decision that the pipeline, the evaluation and the swarm fitness all
apply. The rules are for groups the detector confuses with each other (:data:`RULES`): with
``cat-dog``, when both cat and dog pass their thresholds only the higher score is kept, because a
kitten seen as a dog in some frames scores as both.

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

#: Rules between groups the detector confuses: name -> the two groups, of which only the higher
#: scoring one is kept when both pass their thresholds.
RULES: dict[str, tuple[str, str]] = {"cat-dog": ("cat", "dog")}


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


def presence(scores: np.ndarray, thresholds: np.ndarray, rules: tuple[str, ...] = ()) -> np.ndarray:
    """``scores >= thresholds``, then the rules: thresholds broadcast against the scores' trailing
    group axis, so one call decides a table (videos, groups) or a whole swarm of candidates
    (particles, videos, groups). Equal scores under a rule keep both groups."""
    scores = np.asarray(scores)
    present = np.asarray(scores >= np.asarray(thresholds))
    for rule in rules:
        a, b = (GROUP_NAMES.index(g) for g in check_rule(rule))
        both = present[..., a] & present[..., b]
        weaker_a, weaker_b = both & (scores[..., a] < scores[..., b]), both & (scores[..., b] < scores[..., a])
        present[..., a] &= ~weaker_a
        present[..., b] &= ~weaker_b
    return present


def check_rule(name: str) -> tuple[str, str]:
    """The groups of a rule; an unknown name is a :class:`CascadeError` listing the rules."""
    if name not in RULES:
        raise CascadeError(f"unknown rule {name!r}; valid: {', '.join(RULES)}")
    return RULES[name]
