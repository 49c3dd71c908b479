"""``cascade detect``: run the detector over a dataset's videos into RUN/detections.parquet."""

from __future__ import annotations

import argparse

from cascade.cli.common import add_common, add_detect_options, add_split, detect_options, emit

HELP = "run the YOLO detector over every frame of the videos into the run's detections cache (resumable)"


def configure(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    add_split(parser, "all")
    add_detect_options(parser)


def run(args: argparse.Namespace) -> None:
    from cascade.data import open_dataset
    from cascade.detect import detect_dataset

    report = detect_dataset(open_dataset(args.data), args.split, args.run_dir, progress=not args.json,
                            **detect_options(args))
    report.mean_scores, report.scores_conf = mean_scores(args.run_dir, args.conf), args.conf
    emit(args, report)


def mean_scores(run_dir, conf: float) -> dict[str, float]:
    """Mean actor score per group over the cached videos, at the chosen confidence."""
    from cascade.detect import load_detections
    from cascade.scores import group_scores

    return group_scores(load_detections(run_dir), conf).mean().round(3).to_dict()
