"""``cascade sample-clips LABELS DIR``: condense clip-level labelled clips to a few frames each."""

from __future__ import annotations

import argparse
from pathlib import Path

from cascade.cli.common import flags_for, results_stream

HELP = ("condense the clips of a clip-level labels CSV to a few frames each (A2D's 320 px), spread over the whole "
        "clip or in short runs of consecutive frames, with their labels: the labelled set in minutes instead of hours")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("labels", type=Path, help="a clip-level labels CSV (video, labels[, note])")
    parser.add_argument("root", type=Path, help="folder to write the condensed clips and their labels.csv into")
    parser.add_argument("--frames-per-clip", type=int, default=48,
                        help="frames kept from each clip (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=0,
                        help="keep them in this many runs of consecutive frames at about 12.5 fps, spread over the "
                             "clip (a video network sees motion in each); 0: evenly spaced frames (default: %(default)s)")
    parser.add_argument("--overwrite", action="store_true", help="replace sample clips already in ROOT")


def run(args: argparse.Namespace) -> None:
    from cascade.data.sample import build_sample_clips

    written, skipped = build_sample_clips(**flags_for(args, build_sample_clips))
    note = f"; skipped {len(skipped)} that decode too few frames to sample: {', '.join(skipped)}" if skipped else ""
    print(f"wrote {written}{note}", file=results_stream())
