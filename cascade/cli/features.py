"""``cascade features``: compute what the run's features cache lacks (RUN/features/), detecting first."""

from __future__ import annotations

import argparse

from cascade.cli.common import (add_common, add_detect_options, add_feature_options, add_split, detect_options, emit,
                                feature_settings, flags_for, show_progress)

HELP = ("compute per-actor features (backbone embeddings, person keypoints, box motion) of sampled frames into "
        "RUN/features/ (resumable), detecting first what the detections cache lacks")


def configure(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    add_split(parser, "all")
    add_detect_options(parser, conf=False)
    add_feature_options(parser)  # with --conf: the features' confidence, the run's by default


def run(args: argparse.Namespace) -> None:
    from cascade.features.runner import features_dataset

    emit(args, features_dataset(**flags_for(args, features_dataset), settings=feature_settings(args),
                                detect=detect_options(args), progress=show_progress()))
