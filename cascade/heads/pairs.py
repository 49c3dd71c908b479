"""Which pairs a head reports for an actor: its most probable pair, or also every other pair whose
probability reaches a cut. Pure numpy.

A2D truth can hold two pairs of one actor in a video (an adult walking and another running), which a
head that reports only its top pair can never get whole. With a cut ``c``, the reported set of a
sample with probabilities ``p`` over the group's pairs is::

    { argmax p }  |  { k : p[k] >= c }

and :func:`best_cut` chooses ``c`` on labelled samples (the training videos) by the challenge's
per-sample F1, keeping the top pair alone (``None``) unless a cut does strictly better.

Example::

    >>> import numpy as np
    >>> reported(np.array([[0.5, 0.4, 0.1]]), cut=0.3).tolist()
    [[True, True, False]]
"""

from __future__ import annotations

import numpy as np

from cascade.metrics import sample_prf

#: Cuts :func:`best_cut` tries.
CUTS = np.round(np.arange(0.05, 1.0, 0.05), 2)


def reported(probs: np.ndarray, cut: float | None = None) -> np.ndarray:
    """(N, P) probabilities -> (N, P) bool: each row's most probable pair and, with a ``cut``, every
    pair whose probability reaches it."""
    chosen = np.zeros(probs.shape, bool)
    chosen[np.arange(len(probs)), probs.argmax(1)] = True
    return chosen if cut is None else chosen | (probs >= cut)


def best_cut(probs: np.ndarray, truth: np.ndarray, cuts: np.ndarray = CUTS) -> tuple[float | None, float]:
    """The cut with the best mean per-sample F1 of :func:`reported` against ``truth`` (N, P) bool, and
    that F1; ``None`` (the top pair alone) unless a cut is strictly better. All cuts in one array pass."""
    if not len(probs):
        return None, 0.0
    top = float(sample_prf(reported(probs), truth)[2])
    sets = reported(probs)[None] | (probs[None] >= np.asarray(cuts)[:, None, None])
    f1 = sample_prf(sets, truth)[2]
    best = int(np.argmax(f1))
    return (float(cuts[best]), float(f1[best])) if f1[best] > top else (None, top)
