"""``cascade tune-thresholds``: PSO on the actor scores, with the constant and grid baselines."""

from __future__ import annotations

import argparse

from cascade import defaults
from cascade.cli.common import add_common, add_detect_options, add_split, detect_options, emit, flags_for, show_progress

HELP = ("choose per-actor presence thresholds (the seed's published ones by default, tuned ones as options), compare "
        "and optionally cross-validate the methods by source; writes RUN/thresholds.json and a report")


def _rules(text: str) -> str:
    from cascade.scores import RULES

    if text not in (*RULES, "none"):
        raise argparse.ArgumentTypeError(f"unknown rule {text!r}; valid: {', '.join(RULES)}, or none")
    return text


def configure(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    add_split(parser, "train")
    tuning = parser.add_argument_group("tuning")
    tuning.add_argument("--method", choices=defaults.METHOD_CHOICES, default=defaults.THRESHOLD_METHOD,
                        help="how the saved thresholds are chosen: builtin (the seed's published thresholds), shrink "
                             "(margin's moves kept only where an inner cross-validation by source backs them), margin "
                             "(coordinate search to the middle of each best plateau, wide bounds, cat-dog rule), pso "
                             "(the seed's tuning), grid, constant; all are scored and compared (default: %(default)s)")
    tuning.add_argument("--cv", type=int, nargs="?", const=defaults.CV_FOLDS, default=None, metavar="K",
                        help=f"also cross-validate every method over K folds of the videos (K = {defaults.CV_FOLDS} "
                             "when not given), each video group (the labels CSV's group column, else the video's "
                             "folder, else the video) whole in one fold; the saved thresholds are still tuned on all "
                             "of them (default: off)")
    tuning.add_argument("--fitness", choices=defaults.FITNESS_CHOICES, default=defaults.FITNESS,
                        help="maximise P*R*F1, P or F1 (default: %(default)s)")
    tuning.add_argument("--bounds", type=float, nargs=2, default=None, metavar=("LOW", "HIGH"),
                        help=f"search range of every threshold (default: the method's, {' '.join(map(str, defaults.MARGIN_BOUNDS))} "
                             f"for margin, {' '.join(map(str, defaults.SHRINK_BOUNDS))} for shrink, "
                             f"{' '.join(map(str, defaults.PSO_BOUNDS))} for pso and grid)")
    tuning.add_argument("--rules", type=_rules, nargs="+", default=None, metavar="RULE",
                        help="presence rules between confused groups: cat-dog, or none (default: the method's, "
                             "cat-dog for margin, none for the seed's methods)")
    pso = parser.add_argument_group("particle swarm (method pso)")
    pso.add_argument("--particles", type=int, default=defaults.PSO_PARTICLES, help="swarm size (default: %(default)s)")
    pso.add_argument("--iters", type=int, default=defaults.PSO_ITERS, help="iterations per restart (default: %(default)s)")
    pso.add_argument("--restarts", type=int, default=defaults.PSO_RESTARTS,
                     help="seeded restarts, best kept (default: %(default)s)")
    add_detect_options(parser)


def run(args: argparse.Namespace) -> None:
    from cascade.thresholds.workflow import tune_thresholds

    flags = flags_for(args, tune_thresholds)
    if flags["rules"] is not None:
        flags["rules"] = tuple(rule for rule in flags["rules"] if rule != "none")
    emit(args, tune_thresholds(**flags, options=detect_options(args), progress=show_progress()))
