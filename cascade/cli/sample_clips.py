"""``cascade sample-clips LABELS DIR``: condense clip-level labelled clips to a few frames each."""

from __future__ import annotations

import argparse
from pathlib import Path

from cascade.cli.common import flags_for, results_stream

HELP = ("condense the clips of a clip-level labels CSV to a few frames each, spread over the whole clip "
        "(A2D's 320 px), with their labels: the labelled set in minutes instead of hours")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("labels", type=Path, help="a clip-level labels CSV (video, labels[, note])")
    parser.add_argument("root", type=Path, help="folder to write the condensed clips and their labels.csv into")
    parser.add_argument("--frames-per-clip", type=int, default=48,
                        help="frames kept from each clip, evenly spaced (default: %(default)s)")
    parser.add_argument("--overwrite", action="store_true", help="replace sample clips already in ROOT")


def run(args: argparse.Namespace) -> None:
    from cascade.data.sample import build_sample_clips

    written, skipped = build_sample_clips(**flags_for(args, build_sample_clips))
    note = f"; skipped {len(skipped)} that decode too few frames to sample: {', '.join(skipped)}" if skipped else ""
    print(f"wrote {written}{note}", file=results_stream())
