"""Cross-validation of the threshold methods: how well does each do on videos it was not tuned on?

Videos are dealt into K folds by their group (:func:`cascade.data.splits.cv_folds`: no source on
both sides of a fold, so a fold is judged on videos unlike those it was tuned on); for each fold,
every method tunes on the other K-1 folds and decides presence on the held-out one. Reported per
method, like the seed's Table 1: the mean and standard deviation over folds of the challenge P, R
and F1, and per group the F1 of the pooled held-out decisions (each video decided once, by the
fold that held it out). Tuning on all the data afterwards is the caller's business.

Example::

    report = cross_validate(scores, truth, videos, k=5, seed=0, methods=("builtin", "shrink"))
    print(report.table)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cascade import defaults
from cascade.labels import GROUP_NAMES
from cascade.metrics import class_table, sample_prf
from cascade.scores import presence
from cascade.thresholds.methods import tune_method
from cascade.data.splits import cv_folds, groups_of


@dataclass
class CrossValidation:
    """Per method: fold P/R/F1 (mean, sd), pooled per-group F1; and the folds themselves."""

    table: pd.DataFrame  # index: method
    folds: list[np.ndarray]
    per_fold: pd.DataFrame = field(repr=False)  # method, fold, precision, recall, f1, videos


def cross_validate(scores: pd.DataFrame, truth: np.ndarray, videos: pd.DataFrame, k: int = defaults.CV_FOLDS,
                   seed: int = defaults.SEED, methods: tuple[str, ...] = defaults.METHOD_CHOICES,
                   **tune_options) -> CrossValidation:
    """``scores``: video x group (index: video); ``truth``: (videos, groups) bool in the same order;
    ``videos``: the same videos with their ``groups``, and ``group`` (their source) where known. ``tune_options`` go to
    :func:`~cascade.thresholds.methods.tune_method` (fitness, bounds, rules, PSO sizes)."""
    folds = cv_folds(videos, k, seed)
    fold_of = {video: i for i, fold in enumerate(folds) for video in fold}
    sources = groups_of(videos).reindex(scores.index).to_numpy()
    fold_index = np.array([fold_of[v] for v in scores.index])
    values = scores.to_numpy()
    rows, table = [], []
    for name in methods:
        pooled = np.zeros_like(truth)
        for i in range(len(folds)):
            train, held = fold_index != i, fold_index == i
            tuned = tune_method(name, values[train], truth[train], seed=seed, groups=sources[train], **tune_options)
            pooled[held] = presence(values[held], tuned.thresholds, tuned.rules)
            p, r, f1 = (float(v) for v in sample_prf(pooled[held], truth[held]))
            rows.append({"method": name, "fold": i + 1, "precision": p, "recall": r, "f1": f1, "videos": int(held.sum())})
        per_method = pd.DataFrame([row for row in rows if row["method"] == name])
        groups = class_table(pooled, truth, GROUP_NAMES).f1
        table.append({"method": name,
                      **{f"{m}_{stat}": getattr(per_method[m], stat)() for m in ("precision", "recall", "f1")
                         for stat in ("mean", "std")},
                      **{f"f1_{g}": groups[g] for g in GROUP_NAMES}})
    return CrossValidation(pd.DataFrame(table).set_index("method"), folds, pd.DataFrame(rows))
