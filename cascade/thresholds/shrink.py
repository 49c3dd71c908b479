"""Tuning that shrinks to the seed's thresholds when the evidence is thin (the method ``shrink``).

Thresholds tuned on a hundred clips learn those clips' sources: cross-validated with every source
on one side of a fold (``benchmarks/actor_cv.py``), the ``margin`` search lost 5 points of F1 to the
seed's published thresholds, which were tuned on all of A2D. So a group's threshold leaves the
seed's value only where the data show that the move holds on sources the search did not see:
the search is run again inside an inner cross-validation by group (source), and the move is kept
when, in **every** inner fold, the moved threshold decides at least as many held-out videos right
for that group as the seed's, **and** the group's F1 over all held-out videos rises by at least
``min_gain``. Otherwise the seed's threshold stays. Groups are judged one at a time, so one clear
group (say cars on a road-traffic dataset) moves while the others keep the seed's values.

Example::

    thresholds = shrink_to_seed(scores, truth, sources, search, start=seed_thresholds)
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from cascade.data.splits import group_folds
from cascade.scores import presence

#: A search: (scores, truth) of the videos it may see -> thresholds (groups,).
Search = Callable[[np.ndarray, np.ndarray], np.ndarray]


def group_f1(present: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per group (column): F1 of the decisions, 1.0 for a group neither predicted nor present."""
    present, truth = np.asarray(present, bool), np.asarray(truth, bool)
    tp = (present & truth).sum(0)
    wrong = (present != truth).sum(0)
    return np.where(2 * tp + wrong == 0, 1.0, 2 * tp / np.maximum(2 * tp + wrong, 1))


def shrink_to_seed(scores: np.ndarray, truth: np.ndarray, groups: Sequence[str], search: Search,
                   start: np.ndarray, rules: tuple[str, ...] = (), k: int = 5, min_gain: float = 0.05,
                   seed: int = 0) -> np.ndarray:
    """The thresholds ``search`` finds on all videos, each group's kept only where the inner
    cross-validation over ``k`` folds of ``groups`` backs it (module docstring); else ``start``."""
    truth = np.asarray(truth, bool)
    start = np.asarray(start, float)
    fold = group_folds(groups, k, seed)
    backed = np.ones(scores.shape[1], bool)
    moved_pooled, kept_pooled = np.zeros_like(truth), np.zeros_like(truth)
    used = 0
    for i in np.unique(fold):
        train, held = fold != i, fold == i
        if not train.any():
            continue
        moved = presence(scores[held], search(scores[train], truth[train]), rules)
        kept = presence(scores[held], start, rules)
        moved_pooled[held], kept_pooled[held] = moved, kept
        backed &= (moved == truth[held]).sum(0) >= (kept == truth[held]).sum(0)
        used += 1
    if used < 2:  # one source (or one inner fold): nothing says a move holds elsewhere
        return start.copy()
    backed &= group_f1(moved_pooled, truth) >= group_f1(kept_pooled, truth) + min_gain
    return np.where(backed, search(scores, truth), start)
