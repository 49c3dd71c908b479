"""``cascade predict video.mp4``: the actor-action pairs of one video, with confidences."""

from __future__ import annotations

import argparse
from pathlib import Path

from cascade import defaults
from cascade.cli.common import add_common, add_detect_options, emit

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
    parser.add_argument("video", type=Path, help="the video file")
    add_common(parser, data=False)
    parser.add_argument("--frames", type=_frames, default=None,
                        help=f"frames the heads look at, e.g. 12,40 (default: {defaults.PREDICT_FRAMES} evenly spaced)")
    add_detect_options(parser, conf=False)


def run(args: argparse.Namespace) -> None:
    from cascade.pipeline import Cascade

    cascade = Cascade.from_run_dir(args.run_dir, weights=args.weights, imgsz=args.imgsz, device=args.device,
                                   batch=args.batch, workers=args.workers or 0)
    emit(args, cascade.predict(args.video, args.frames, progress=not args.json))
