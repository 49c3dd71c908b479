"""The A2D challenge's precision, recall and F1, and per-class tables. Pure numpy.

Per sample i with predicted label set x_i and true set y_i, averaged over the N samples:

    P = mean |x & y| / (|x| + 1e-8)      R = mean |x & y| / |y|      F1 = mean 2|x & y| / (|x| + |y|)

Sets are boolean indicator arrays (..., N, C). Any leading axes are kept, so one call scores a
whole particle swarm of candidate predictions (particles, N, C) against one truth (N, C). A sample
with an empty true set (possible in a user's CSV, never in A2D) has nothing to recall: its R and F1
are 1 when nothing is predicted for it and 0 otherwise.

Example::

    >>> import numpy as np
    >>> pred = np.array([[1, 1, 0], [0, 1, 0]], bool); true = np.array([[1, 0, 0], [0, 1, 1]], bool)
    >>> [round(float(v), 4) for v in sample_prf(pred, true)]
    [0.75, 0.75, 0.6667]
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

EPS = 1e-8


def sample_prf(pred: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Challenge P, R, F1 of indicator arrays (..., N, C) against (N, C); returns arrays (...)."""
    pred = np.asarray(pred, dtype=bool)
    true = np.asarray(true, dtype=bool)
    return prf_from_counts(np.logical_and(pred, true).sum(-1), pred.sum(-1), true.sum(-1))


def prf_from_counts(hits: np.ndarray, n_pred: np.ndarray, n_true: np.ndarray):
    """The challenge averages from per-sample counts |x & y|, |x|, |y| (arrays (..., N))."""
    return tuple(values.mean(-1) for values in per_sample_prf(hits, n_pred, n_true))


def per_sample_prf(hits: np.ndarray, n_pred: np.ndarray, n_true: np.ndarray):
    """Each sample's P, R and F1 from its counts (the formula in the module docstring)."""
    hits = np.asarray(hits, dtype=np.float64)
    n_pred = np.asarray(n_pred, dtype=np.float64)
    n_true = np.broadcast_to(np.asarray(n_true, dtype=np.float64), hits.shape)
    empty = n_true == 0
    precision = hits / (n_pred + EPS)
    recall = np.where(empty, n_pred == 0, hits / np.where(empty, 1, n_true))
    f1 = np.where(empty, n_pred == 0, 2 * hits / np.where(empty, 1, n_pred + n_true))
    return precision, recall, f1


def class_table(pred: np.ndarray, true: np.ndarray, names: Sequence[str]) -> pd.DataFrame:
    """Per-class precision, recall, F1 and support, plus a micro-averaged row. A ratio whose
    denominator is 0 is undefined (NaN), not 0: precision of a class never predicted, recall and F1
    of a class with no support and no prediction."""
    pred = np.asarray(pred, dtype=bool)
    true = np.asarray(true, dtype=bool)
    tp = np.logical_and(pred, true).sum(0)
    fp = np.logical_and(pred, ~true).sum(0)
    fn = np.logical_and(~pred, true).sum(0)
    table = pd.DataFrame({"tp": tp, "fp": fp, "fn": fn}, index=list(names))
    table.loc["micro"] = table.sum()
    table["precision"] = table.tp / (table.tp + table.fp).replace(0, np.nan)
    table["recall"] = table.tp / (table.tp + table.fn).replace(0, np.nan)
    table["f1"] = 2 * table.tp / (2 * table.tp + table.fp + table.fn).replace(0, np.nan)
    table["support"] = table.tp + table.fn
    return table[["precision", "recall", "f1", "support"]]


def indicator(label_sets: Sequence[Sequence[object]], classes: Sequence[object]) -> np.ndarray:
    """(N, C) boolean array from N label sets over the given class order."""
    column = {c: i for i, c in enumerate(classes)}
    out = np.zeros((len(label_sets), len(classes)), dtype=bool)
    for row, labels in enumerate(label_sets):
        out[row, [column[c] for c in labels]] = True
    return out
