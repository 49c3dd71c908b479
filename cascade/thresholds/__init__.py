"""Stage 2: per-group thresholds on the actor scores, tuned by PSO (pyswarms).

- :mod:`~cascade.thresholds.fitness`: the P*R*F1 cost of a whole swarm (pure numpy);
- :mod:`~cascade.thresholds.tune`: PSO, the constant and grid baselines;
- :mod:`~cascade.thresholds.files`: ``thresholds.json`` and the built-in defaults;
- :mod:`~cascade.thresholds.workflow`: detect, score, tune, compare, save and report.
"""

from cascade.thresholds.files import (
    THRESHOLD_SOURCES, Thresholds, builtin_thresholds, load_thresholds, save_thresholds,
)

__all__ = ["THRESHOLD_SOURCES", "Thresholds", "builtin_thresholds", "load_thresholds", "save_thresholds"]
