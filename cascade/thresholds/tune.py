"""Tuning the per-group thresholds: particle swarm optimisation, coordinate search, and baselines.

PSO (pyswarms ``GlobalBestPSO``) searches the box ``[lo, hi]^groups`` for the thresholds that
minimise ``-(P * R * F1)`` over the labelled videos (:mod:`cascade.thresholds.fitness` scores the
whole swarm per step). It runs ``restarts`` times from seeds ``seed, seed+1, ...`` and keeps the
best; the cost history of every restart is kept for the report. The grid search is coordinate
ascent: each group's threshold in turn set to the best grid value with the others held, until
nothing changes. With ``centred``, a threshold moves only when some grid value beats its current
value, and then to the middle of the longest best plateau (the run of grid values that all reach the
best fitness), which keeps it as far as the data allow from the videos on either side, instead of
at the first value that reaches the best fitness; a threshold the data cannot improve stays where it
started. The constant baseline uses one
threshold for every group. Every tuner takes the presence rules, so what it tunes is what
``predict`` applies.

Example::

    result = tune_pso(scores, truth, particles=40, iters=10, restarts=4, bounds=(0.1, 0.4), seed=0)
    result.thresholds, result.precision, result.recall, result.f1
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from importlib import resources
from typing import Callable, Iterator

import numpy as np

from cascade import defaults
from cascade.errors import CascadeError
from cascade.thresholds.fitness import FITNESSES, check_fitness, swarm_cost, swarm_prf


@dataclass
class TuneResult:
    """Thresholds one method chose, and how they score on the data they were tuned on."""

    method: str
    thresholds: np.ndarray  # (groups,)
    fitness: str
    value: float  # the fitness reached (higher is better)
    precision: float
    recall: float
    f1: float
    history: list[list[float]] = field(default_factory=list)  # PSO: best cost per iteration, per restart
    rules: tuple[str, ...] = ()

    @classmethod
    def scored(cls, method: str, thresholds: np.ndarray, scores: np.ndarray, truth: np.ndarray,
               fitness: str, history: list[list[float]] | None = None, rules: tuple[str, ...] = ()) -> "TuneResult":
        p, r, f1 = (float(v[0]) for v in swarm_prf(thresholds, scores, truth, rules))
        value = float(FITNESSES[fitness](p, r, f1))
        return cls(method, np.asarray(thresholds, dtype=float), fitness, value, p, r, f1, history or [], tuple(rules))


@contextlib.contextmanager
def _quiet_pyswarms() -> Iterator[None]:
    """pyswarms' Reporter would point the root logger at ./report.log; give it a no-op config."""
    config = resources.files("cascade.thresholds").joinpath("quiet_logging.yaml")
    with resources.as_file(config) as path:
        saved = os.environ.get("LOG_CFG")
        os.environ["LOG_CFG"] = str(path)
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop("LOG_CFG", None)
            else:
                os.environ["LOG_CFG"] = saved


def _check(scores: np.ndarray, truth: np.ndarray, bounds: tuple[float, float]) -> None:
    if scores.shape != truth.shape or scores.ndim != 2 or not len(scores):
        raise CascadeError("no labelled videos with detections to tune thresholds on")
    lo, hi = bounds
    if not 0 <= lo < hi <= 1:
        raise CascadeError(f"--bounds must satisfy 0 <= low < high <= 1, got {lo} {hi}")


def tune_pso(
    scores: np.ndarray,
    truth: np.ndarray,
    fitness: str = defaults.FITNESS,
    particles: int = defaults.PSO_PARTICLES,
    iters: int = defaults.PSO_ITERS,
    restarts: int = defaults.PSO_RESTARTS,
    bounds: tuple[float, float] = defaults.PSO_BOUNDS,
    seed: int = defaults.SEED,
    options: dict | None = None,
    cost: Callable[..., np.ndarray] = swarm_cost,
    rules: tuple[str, ...] = (),
) -> TuneResult:
    """Best of ``restarts`` seeded GlobalBestPSO runs; same seed, same thresholds.

    ``cost(thresholds, scores=, truth=, fitness=, rules=)`` maps a (particles, groups) swarm to one
    cost per particle; the default scores the whole swarm in array operations.
    """
    check_fitness(fitness)
    _check(scores, truth, bounds)
    if particles < 1 or iters < 1 or restarts < 1:
        raise CascadeError("--particles, --iters and --restarts must be at least 1")
    n_groups = scores.shape[1]
    box = (np.full(n_groups, bounds[0]), np.full(n_groups, bounds[1]))
    best_cost, best_position, history = np.inf, None, []
    saved_state = np.random.get_state()  # pyswarms draws from numpy's global generator
    try:
        for restart in range(restarts):
            np.random.seed(seed + restart)
            with _quiet_pyswarms():  # pyswarms builds Reporters on import and in constructors
                from pyswarms.single import GlobalBestPSO

                optimizer = GlobalBestPSO(particles, n_groups, dict(options or defaults.PSO_OPTIONS), bounds=box)
            reached, position = optimizer.optimize(
                cost, iters, verbose=False, scores=scores, truth=truth, fitness=fitness, rules=tuple(rules)
            )
            history.append([float(c) for c in optimizer.cost_history])
            if reached < best_cost:
                best_cost, best_position = reached, position
    finally:
        np.random.set_state(saved_state)
    return TuneResult.scored("pso", best_position, scores, truth, fitness, history, rules)


def constant_baseline(scores: np.ndarray, truth: np.ndarray, value: float = defaults.CONSTANT_THRESHOLD,
                      fitness: str = defaults.FITNESS, rules: tuple[str, ...] = ()) -> TuneResult:
    """The same threshold for every group."""
    return TuneResult.scored(f"constant {value:g}", np.full(scores.shape[1], value), scores, truth, fitness,
                             rules=rules)


def grid_search(
    scores: np.ndarray,
    truth: np.ndarray,
    fitness: str = defaults.FITNESS,
    bounds: tuple[float, float] = defaults.PSO_BOUNDS,
    step: float = defaults.GRID_STEP,
    start: float | np.ndarray = defaults.CONSTANT_THRESHOLD,
    centred: bool = False,
    rules: tuple[str, ...] = (),
    max_passes: int = 10,
    method: str = "grid",
) -> TuneResult:
    """Coordinate ascent over a per-group grid from ``start`` (one value, or one per group); each step
    scores a group's whole grid at once. ``centred``: see the module docstring."""
    check_fitness(fitness)
    _check(scores, truth, bounds)
    grid = np.round(np.arange(bounds[0], bounds[1] + step / 2, step), 10)
    current = np.clip(np.broadcast_to(np.asarray(start, float), scores.shape[1]), *bounds).copy()
    for _ in range(max_passes):
        before = current.copy()
        for g in range(scores.shape[1]):
            candidates = np.repeat(current[None, :], len(grid) + 1, axis=0)  # the last row: as it is
            candidates[:-1, g] = grid
            cost = swarm_cost(candidates, scores, truth, fitness, rules)
            if centred:
                current[g] = _centre(grid, cost[:-1], current[g], cost[-1])
            else:
                current[g] = grid[int(np.argmin(cost[:-1]))]
        if np.array_equal(before, current):
            break
    return TuneResult.scored(method, current, scores, truth, fitness, rules=rules)


def _centre(grid: np.ndarray, cost: np.ndarray, current: float, current_cost: float) -> float:
    """``current`` if nothing on the grid beats it, else the middle of the longest best plateau."""
    if cost.min() >= current_cost - 1e-12:
        return current
    best = np.flatnonzero(cost <= cost.min() + 1e-12)
    plateaus = np.split(best, np.flatnonzero(np.diff(best) > 1) + 1)
    chosen = max(plateaus, key=len)
    return float(grid[chosen[len(chosen) // 2]])


def constant_sweep(scores: np.ndarray, truth: np.ndarray, steps: int = 101, rules: tuple[str, ...] = ()):
    """P, R, F1 for one constant threshold swept over [0, 1] (the seed's Fig. 2)."""
    values = np.linspace(0.0, 1.0, steps)
    precision, recall, f1 = swarm_prf(np.repeat(values[:, None], scores.shape[1], axis=1), scores, truth, rules)
    return values, precision, recall, f1
