"""``cascade evaluate``: challenge P/R/F1 of the cascade, the actor stage and each head."""

from __future__ import annotations

import argparse

from cascade.cli.common import (add_common, add_detect_options, add_instance_options, add_pair_cut, add_split,
                                add_temporal_options, add_thresholds, cascade_settings, emit, flags_for,
                                show_progress)

HELP = "score the cascade on labelled videos (challenge P/R/F1, actor-stage and per-head tables; CSVs in RUN/evaluate)"


def configure(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    add_split(parser, "test")
    add_thresholds(parser, "file")
    add_pair_cut(parser)
    add_temporal_options(parser, training=False)
    add_detect_options(parser, conf=False)
    add_instance_options(parser)


def run(args: argparse.Namespace) -> None:
    from cascade.evaluation import evaluate

    emit(args, evaluate(**flags_for(args, evaluate), settings=cascade_settings(args), progress=show_progress()))
