"""Instance scores: which track is which labelled actor, frame by frame, and whether it names its action.
Pure numpy and pandas.

On each labelled frame, the labelled instances' boxes are matched one-to-one to the boxes the tracks
have there (the Hungarian assignment of the largest total intersection over union, a pair counted from
``defaults.INSTANCE_MATCH_IOU``). Over all labelled frames and instances:

* a matched instance whose track names its pair there is a **hit**;
* a labelled instance with no track, or a matched one named wrong, is a **miss** (of recall);
* a track box with no labelled instance, or a matched one named wrong, is a **false alarm** (of precision);

so ``precision = hits / track boxes``, ``recall = hits / labelled instances`` (the per-instance accuracy)
and ``F1`` their harmonic mean. **Identity switches** count, for each labelled instance followed over its
frames, the times its matched track changes (frames where it is unmatched skipped), the CLEAR-MOT way.

Example::

    score = instance_score(truth, found)     # DataFrames: video, frame, id/track, pair, x1 y1 x2 y2
    score["f1"], score["id_switches"]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from cascade import defaults
from cascade.features.motion import iou_matrix
from cascade.instances.tracking import CORNERS


def match_frame(truth: pd.DataFrame, found: pd.DataFrame, min_iou: float) -> list[tuple[int, int]]:
    """(row of ``truth``, row of ``found``) pairs of one frame matched by IoU (see the module docstring)."""
    if truth.empty or found.empty:
        return []
    overlap = iou_matrix(truth[CORNERS].to_numpy(float), found[CORNERS].to_numpy(float))
    rows, cols = linear_sum_assignment(-overlap)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if overlap[r, c] >= min_iou]


def instance_score(truth: pd.DataFrame, found: pd.DataFrame, min_iou: float = defaults.INSTANCE_MATCH_IOU) -> dict:
    """Hits, misses, false alarms, precision, recall, F1 and identity switches of the tracks ``found``
    (video, frame, track, pair, box: each track's box and named pair on the labelled frames) against the
    labelled instances ``truth`` (video, frame, id, pair, box)."""
    hits = matched = 0
    followed: dict[tuple[str, int], list[int]] = {}
    found_by_frame = {key: rows.reset_index(drop=True) for key, rows in found.groupby(["video", "frame"])}
    for key, labelled in truth.groupby(["video", "frame"]):
        labelled = labelled.reset_index(drop=True)
        there = found_by_frame.get(key, found.iloc[:0])
        for t, f in match_frame(labelled, there, min_iou):
            matched += 1
            hits += int(labelled.pair.iat[t] == there.pair.iat[f])
            followed.setdefault((key[0], int(labelled.id.iat[t])), []).append(int(there.track.iat[f]))
    switches = sum(int(np.count_nonzero(np.diff(tracks))) for tracks in followed.values())
    labelled_count, track_boxes = len(truth), len(found)
    precision = hits / track_boxes if track_boxes else 0.0
    recall = hits / labelled_count if labelled_count else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"labelled": labelled_count, "track_boxes": track_boxes, "matched": matched, "hits": hits,
            "misses": labelled_count - hits, "false_alarms": track_boxes - hits, "precision": precision,
            "recall": recall, "f1": f1, "id_switches": switches, "instances_followed": len(followed)}
