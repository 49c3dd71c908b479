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
    emit(args, report)
