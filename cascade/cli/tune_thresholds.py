"""``cascade tune-thresholds``: PSO on the actor scores, with the constant and grid baselines."""

from __future__ import annotations

import argparse

from cascade import defaults
from cascade.cli.common import add_common, add_detect_options, add_split, emit, flags_for, show_progress

HELP = "tune per-actor presence thresholds by particle swarm optimisation; writes RUN/thresholds.json and a report"


def configure(parser: argparse.ArgumentParser) -> None:
    add_common(parser, seed=True)
    add_split(parser, "train")
    pso = parser.add_argument_group("particle swarm")
    pso.add_argument("--fitness", choices=defaults.FITNESS_CHOICES, default=defaults.FITNESS,
                     help="maximise P*R*F1, P or F1 (default: %(default)s)")
    pso.add_argument("--particles", type=int, default=defaults.PSO_PARTICLES, help="swarm size (default: %(default)s)")
    pso.add_argument("--iters", type=int, default=defaults.PSO_ITERS, help="iterations per restart (default: %(default)s)")
    pso.add_argument("--restarts", type=int, default=defaults.PSO_RESTARTS,
                     help="seeded restarts, best kept (default: %(default)s)")
    pso.add_argument("--bounds", type=float, nargs=2, default=defaults.PSO_BOUNDS, metavar=("LOW", "HIGH"),
                     help="search range of every threshold (default: %(default)s)")
    add_detect_options(parser)


def run(args: argparse.Namespace) -> None:
    from cascade.thresholds.workflow import tune_thresholds

    emit(args, tune_thresholds(**flags_for(args, tune_thresholds), progress=show_progress()))
