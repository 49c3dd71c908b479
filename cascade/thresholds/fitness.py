"""Fitness of candidate thresholds, scored for a whole swarm at once (pure numpy).

A candidate is a vector t of one threshold per group; group g is predicted present in video v when
``score[v, g] >= t[g]`` and no rule removes it (:func:`cascade.scores.presence`). For a swarm T of
shape (particles, groups)::

    present[p, v, g] = presence(score, T[p], rules)[v, g]
    P, R, F1 = challenge averages over videos (cascade.metrics.sample_prf), each of shape (particles,)
    cost = -(P * R * F1)     (fitness "prf1"; "p" gives -P, "f1" gives -F1)

pyswarms minimises, hence the minus sign. No Python loop runs over particles. With at most eight
groups, each video's predicted and true sets are packed into one byte, |x & y|, |x| and |y| are
popcounts from a 256-entry table, and each video's P, R and F1 come from a table over all
(|x & y|, |x|, |y|) built once with the challenge formula: a few byte operations per particle and
video instead of float arithmetic over a (particles, videos, groups) array.

Example::

    cost = swarm_cost(np.full((40, 6), 0.15), scores, truth, "prf1")   # -> shape (40,)
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from cascade.defaults import FITNESS_CHOICES
from cascade.errors import CascadeError
from cascade.metrics import per_sample_prf, sample_prf
from cascade.scores import presence

FITNESSES: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    "prf1": lambda p, r, f1: p * r * f1,
    "p": lambda p, r, f1: p,
    "f1": lambda p, r, f1: f1,
}
assert tuple(FITNESSES) == FITNESS_CHOICES


def check_fitness(name: str) -> str:
    if name not in FITNESSES:
        raise CascadeError(f"unknown fitness {name!r}; valid: {', '.join(FITNESSES)}")
    return name


_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.intp)
_COUNTS = np.arange(9)
_PRF_BY_COUNTS = np.stack(per_sample_prf(*np.meshgrid(_COUNTS, _COUNTS, _COUNTS, indexing="ij")), -1).reshape(-1, 3)


def swarm_prf(thresholds: np.ndarray, scores: np.ndarray, truth: np.ndarray, rules: tuple[str, ...] = ()):
    """P, R, F1 for each row of ``thresholds`` (particles, groups) on scores/truth (videos, groups)."""
    thresholds = np.atleast_2d(thresholds)
    n_groups = scores.shape[1]
    if n_groups > 8:
        return sample_prf(presence(scores[None, :, :], thresholds[:, None, :], rules), truth)
    if rules:  # rules tie groups together: decide the whole swarm at once
        present = presence(scores[None, :, :], thresholds[:, None, :], rules)
        columns = (present[:, :, g] for g in range(n_groups))
    else:  # one whole-swarm comparison per group, never a (particles, videos, groups) array
        columns = (presence(scores[None, :, g], thresholds[:, g, None]) for g in range(n_groups))
    predicted = np.zeros((len(thresholds), len(scores)), dtype=np.uint8)
    for g, column in enumerate(columns):  # pack each video's predicted set into one byte
        predicted |= column.view(np.uint8) << g
    true_bits = (np.asarray(truth, np.uint8) << np.arange(n_groups, dtype=np.uint8)).sum(1, dtype=np.uint8)
    code = (_POPCOUNT[predicted & true_bits] * 9 + _POPCOUNT[predicted]) * 9 + _POPCOUNT[true_bits]
    per_video = _PRF_BY_COUNTS[code]  # (particles, videos, 3)
    return tuple(per_video.mean(1).T)


def swarm_cost(thresholds: np.ndarray, scores: np.ndarray, truth: np.ndarray, fitness: str,
               rules: tuple[str, ...] = ()) -> np.ndarray:
    """Cost (to minimise) of each candidate: the negated fitness."""
    return -FITNESSES[fitness](*swarm_prf(thresholds, scores, truth, rules))
