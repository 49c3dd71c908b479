"""``cascade detect``: run the detector over a dataset's videos into RUN/detections.parquet."""

from __future__ import annotations

import argparse

from cascade.cli.common import add_common, add_detect_options, add_split, emit, flags_for, show_progress

HELP = "run the YOLO detector over every frame of the videos into the run's detections cache (resumable)"


def configure(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    add_split(parser, "all")
    add_detect_options(parser)


def run(args: argparse.Namespace) -> None:
    from cascade.detect.runner import detect_dataset

    emit(args, detect_dataset(**flags_for(args, detect_dataset), progress=show_progress()))
