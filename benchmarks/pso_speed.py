"""PSO speed: the project's vectorised swarm cost against a per-particle Python loop.

A score table the size of A2D (3,782 videos x 6 groups). The truth per video comes from the real
``videoset.csv`` (each video's primary actor-action label); scores are drawn so that present
groups tend to score higher. Both sides run the same seeded pyswarms GlobalBestPSO, 40 particles x
10 iterations x 4 restarts, and must reach the same thresholds.

    python benchmarks/pso_speed.py
"""

from __future__ import annotations

import time

import numpy as np

from _data import SHARED, machine
from cascade.data.videoset import read_videoset
from cascade.labels import GROUP_NAMES, group_of_pair
from cascade.metrics import sample_prf
from cascade.thresholds.fitness import FITNESSES, swarm_cost
from cascade.thresholds.tune import tune_pso


def a2d_sized_scores(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    videos = read_videoset(SHARED / "a2d" / "videoset.csv")
    truth = np.zeros((len(videos), len(GROUP_NAMES)), bool)
    for row, label in enumerate(videos.label):
        truth[row, GROUP_NAMES.index(group_of_pair(label).name)] = True
    rng = np.random.default_rng(seed)
    scores = np.where(truth, rng.beta(2, 3, truth.shape), rng.beta(0.5, 8, truth.shape))
    return scores, truth


def looped_cost(thresholds, scores, truth, fitness):
    """The straightforward cost: one particle at a time, each scored with the challenge formula."""
    return np.array([-FITNESSES[fitness](*sample_prf(scores >= row, truth)) for row in thresholds])


def timed(scores, truth, cost) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    result = tune_pso(scores, truth, particles=40, iters=10, restarts=4, seed=0, cost=cost)
    return time.perf_counter() - start, result.thresholds


def main() -> None:
    scores, truth = a2d_sized_scores()
    print(f"machine: {machine()}")
    print(f"scores: {scores.shape[0]} videos x {scores.shape[1]} groups; PSO 40 particles x 10 iterations x 4 restarts")
    timed(scores[:10], truth[:10], swarm_cost)  # warm-up: imports pyswarms, not timed
    fast, fast_thresholds = timed(scores, truth, swarm_cost)
    slow, slow_thresholds = timed(scores, truth, looped_cost)
    print(f"vectorised swarm cost: {fast:7.3f} s")
    print(f"per-particle loop:     {slow:7.3f} s")
    print(f"ratio loop / vectorised: {slow / fast:5.1f}x; same thresholds: {np.allclose(fast_thresholds, slow_thresholds)}")


if __name__ == "__main__":
    main()
