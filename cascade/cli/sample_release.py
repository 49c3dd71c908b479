"""``cascade sample-release DIR``: write a small A2D-layout release from real clips."""

from __future__ import annotations

import argparse
from pathlib import Path

from cascade.cli.common import flags_for, results_stream

HELP = "write a small A2D-layout release (videos + MATLAB annotations) from real clips, to try the tool"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", type=Path, help="folder to write the release into")
    parser.add_argument("--clips", type=Path, default=Path("../shared/clips"),
                        help="folder holding the source clips (default: %(default)s)")
    parser.add_argument("--frames-per-video", type=int, default=48,
                        help="frames in each sample video (default: %(default)s)")
    parser.add_argument("--overwrite", action="store_true", help="replace a release already in ROOT")


def run(args: argparse.Namespace) -> None:
    from cascade.data.sample import SAMPLE_VIDEOS, build_sample_release

    root = build_sample_release(**flags_for(args, build_sample_release))
    print(f"wrote {len(SAMPLE_VIDEOS)} videos to {root}; try: cascade tune-thresholds --data {root}",
          file=results_stream())
