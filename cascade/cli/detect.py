"""``cascade detect``: run the detector over a dataset's videos into RUN/detections/ (``--compact``: then
merge its small part files)."""

from __future__ import annotations

import argparse

from cascade.cli.common import (add_common, add_detect_options, add_split, cli_flag, detect_options, emit, flags_for,
                                show_progress)

HELP = "run the YOLO detector over every frame of the videos into the run's detections cache (resumable)"


def configure(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    add_split(parser, "all")
    add_detect_options(parser)
    parser.add_argument("--compact", action="store_true",
                        help="after detecting, merge the cache's small part files (commits add a part each, parts "
                             "of one size are merged automatically; this leaves one file up to ~1M rows)")


def run(args: argparse.Namespace) -> None:
    from cascade.detect.cache import DetectionCache, load_detections
    from cascade.detect.runner import detect_dataset
    from cascade.scores import group_scores

    report = detect_dataset(**flags_for(args, detect_dataset), options=detect_options(args), progress=show_progress())
    if cli_flag(args, "compact"):
        report.parts_merged = DetectionCache(args.run_dir).store.compact()
    conf = cli_flag(args, "conf")
    if report.videos:  # stage 1 stops at the cache; the command shows what the videos score
        scores = group_scores(load_detections(args.run_dir, report.videos), conf)
        report.mean_scores, report.scores_conf = scores.mean().round(3).to_dict(), conf
    emit(args, report)
