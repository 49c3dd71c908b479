"""``cascade predict video.mp4``: the actor-action pairs of one video, with confidences."""

from __future__ import annotations

import argparse
from pathlib import Path

from cascade import defaults
from cascade.cli.common import add_common, add_detect_options, emit, flags_for

HELP = "say which actors do which actions in a video (uses RUN/thresholds.json, else the built-in thresholds)"


def _frames(text: str) -> list[int]:
    try:
        numbers = [int(n) for n in text.split(",") if n.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--frames takes 1-based frame numbers like 12,40, not {text!r}") from None
    if not numbers or min(numbers) < 1:
        raise argparse.ArgumentTypeError("--frames takes 1-based frame numbers like 12,40")
    return numbers


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video_path", metavar="video", type=Path, help="the video file")
    add_common(parser, data=False)
    parser.add_argument("--frames", type=_frames, default=None,
                        help="frames the heads look at, e.g. 12,40 (default: --head-frames evenly spaced frames)")
    parser.add_argument("--head-frames", type=int, default=defaults.HEAD_FRAMES,
                        help="how many evenly spaced frames the heads look at (default: %(default)s)")
    parser.add_argument("--thresholds", choices=defaults.THRESHOLD_SOURCES, default=defaults.THRESHOLDS,
                        help="the run's thresholds.json, else the built-in ones (auto); the file only (file); "
                             "the built-in ones (builtin) (default: %(default)s)")
    add_detect_options(parser, conf=False)


def run(args: argparse.Namespace) -> None:
    from cascade.pipeline import Cascade

    cascade = Cascade.from_run_dir(**flags_for(args, Cascade.from_run_dir))
    emit(args, cascade.predict(**flags_for(args, cascade.predict), progress=not args.json))
