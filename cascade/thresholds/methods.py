"""The named ways of choosing thresholds, which ``tune-thresholds`` saves, compares and cross-validates.

============  ===================================================================  ===========  ========
method        thresholds                                                           bounds       rules
============  ===================================================================  ===========  ========
``builtin``   the seed's published PSO result, not tuned (the seed as it ships)    -            none
``constant``  0.15 for every group (the seed's baseline)                           -            none
``grid``      coordinate ascent from 0.15, first best value (the seed's baseline)  0.1 - 0.4    none
``pso``       the seed's tuning: best of seeded pyswarms GlobalBestPSO restarts     0.1 - 0.4    none
``margin``    coordinate ascent from the built-in thresholds, each threshold to    0.01 - 0.95  cat-dog
              the middle of its best plateau (the default)
============  ===================================================================  ===========  ========

Why ``margin`` is the default: on 52 real labelled clips, cross-validated over five fold seeds and
K = 5 and 10 (``benchmarks/actor_cv.py``), it beats the seed's method by about 7 points of F1. The
seed's bounds stop car and person thresholds at 0.4 where background cars and hands reach 0.8, and
bird flocks at 0.1 where they score 0.04; with only a few dozen videos, a threshold anywhere on a
flat optimum generalises worse than one in its middle; and starting from the seed's published
thresholds keeps a group with little evidence near a value tuned on all of A2D.

Example::

    result = tune_method("margin", scores, truth)          # TuneResult: thresholds, rules, P/R/F1
    result = tune_method("pso", scores, truth, seed=3)     # the seed's method
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cascade import defaults
from cascade.errors import CascadeError
from cascade.labels import GROUP_NAMES
from cascade.scores import check_rule
from cascade.thresholds.tune import TuneResult, constant_baseline, grid_search, tune_pso


@dataclass(frozen=True)
class Method:
    """A way of choosing thresholds: its default bounds (None: not searched) and presence rules."""

    name: str
    bounds: tuple[float, float] | None
    rules: tuple[str, ...]


METHODS: dict[str, Method] = {
    "margin": Method("margin", defaults.MARGIN_BOUNDS, defaults.MARGIN_RULES),
    "pso": Method("pso", defaults.PSO_BOUNDS, ()),
    "grid": Method("grid", defaults.PSO_BOUNDS, ()),
    "constant": Method("constant", None, ()),
    "builtin": Method("builtin", None, ()),
}
assert tuple(METHODS) == defaults.METHOD_CHOICES


def method(name: str) -> Method:
    if name not in METHODS:
        raise CascadeError(f"unknown threshold method {name!r}; valid: {', '.join(METHODS)}")
    return METHODS[name]


def tune_method(
    name: str,
    scores: np.ndarray,
    truth: np.ndarray,
    fitness: str = defaults.FITNESS,
    bounds: tuple[float, float] | None = None,
    rules: tuple[str, ...] | None = None,
    seed: int = defaults.SEED,
    particles: int = defaults.PSO_PARTICLES,
    iters: int = defaults.PSO_ITERS,
    restarts: int = defaults.PSO_RESTARTS,
) -> TuneResult:
    """Thresholds chosen by the named method on scores/truth (videos, groups); ``bounds`` and
    ``rules`` default to the method's own."""
    chosen = method(name)
    bounds = tuple(bounds) if bounds is not None else chosen.bounds
    rules = tuple(chosen.rules if rules is None else rules)
    for rule in rules:
        check_rule(rule)
    if name == "margin":
        start = np.array([defaults.DEFAULT_THRESHOLDS[g] for g in GROUP_NAMES])
        return grid_search(scores, truth, fitness, bounds, start=start, centred=True, rules=rules, method=name)
    if name == "pso":
        return tune_pso(scores, truth, fitness, particles, iters, restarts, bounds, seed, rules=rules)
    if name == "grid":
        return grid_search(scores, truth, fitness, bounds, rules=rules)
    if name == "constant":
        return constant_baseline(scores, truth, fitness=fitness, rules=rules)
    builtin = np.array([defaults.DEFAULT_THRESHOLDS[g] for g in GROUP_NAMES])
    return TuneResult.scored("builtin", builtin, scores, truth, fitness, rules=rules)
