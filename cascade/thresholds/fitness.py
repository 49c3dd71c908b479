"""Fitness of candidate thresholds, scored for a whole swarm at once (pure numpy).

A candidate is a vector t of one threshold per group; group g is predicted present in video v when
``score[v, g] >= t[g]``. For a swarm T of shape (particles, groups)::

    present[p, v, g] = score[v, g] >= T[p, g]
    P, R, F1 = challenge averages over videos (cascade.metrics.sample_prf), each of shape (particles,)
    cost = -(P * R * F1)     (fitness "prf1"; "p" gives -P, "f1" gives -F1)

pyswarms minimises, hence the minus sign. No Python loop runs over particles.

Example::

    cost = swarm_cost(np.full((40, 6), 0.15), scores, truth, "prf1")   # -> shape (40,)
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from cascade.errors import CascadeError
from cascade.metrics import sample_prf

FITNESSES: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    "prf1": lambda p, r, f1: p * r * f1,
    "p": lambda p, r, f1: p,
    "f1": lambda p, r, f1: f1,
}


def check_fitness(name: str) -> str:
    if name not in FITNESSES:
        raise CascadeError(f"unknown fitness {name!r}; valid: {', '.join(FITNESSES)}")
    return name


def swarm_prf(thresholds: np.ndarray, scores: np.ndarray, truth: np.ndarray):
    """P, R, F1 for each row of ``thresholds`` (particles, groups) on scores/truth (videos, groups)."""
    present = scores[None, :, :] >= np.atleast_2d(thresholds)[:, None, :]
    return sample_prf(present, truth)


def swarm_cost(thresholds: np.ndarray, scores: np.ndarray, truth: np.ndarray, fitness: str) -> np.ndarray:
    """Cost (to minimise) of each candidate: the negated fitness."""
    return -FITNESSES[fitness](*swarm_prf(thresholds, scores, truth))
