"""Flags every subcommand shares, and the one way results are printed (text or ``--json``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cascade import defaults


def add_common(parser: argparse.ArgumentParser, data: bool = True) -> None:
    """--data, --run-dir, --device, --seed and --json, named and explained the same everywhere."""
    if data:
        parser.add_argument(
            "--data", type=Path, required=True,
            help="A2D release root (folder with videoset.csv) or a labels CSV (video, frame, labels)",
        )
    parser.add_argument("--run-dir", type=Path, default=Path(defaults.RUN_DIR),
                        help="where caches, thresholds and heads live (default: %(default)s)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=defaults.SEED, help="random seed (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of text")


def add_split(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--split", choices=("train", "test", "all"), default=default,
                        help="which videos to use (default: %(default)s)")


def emit(args: argparse.Namespace, result: Any) -> None:
    """Print a result object: its ``summary()`` as text, or its ``to_json()`` with --json."""
    if args.json:
        json.dump(result.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(result.summary())


def add_detect_options(parser: argparse.ArgumentParser, conf: bool = True) -> None:
    """The detector's flags, for every command that may have to detect first.

    ``--conf`` is left out where the confidence is the one stored with the tuned thresholds.
    """
    group = parser.add_argument_group("detection")
    group.add_argument("--weights", default=None,
                       help=f"YOLO weights (.pt, .yaml or exported folder); default ${defaults.WEIGHTS_ENV}, "
                            f"else {defaults.DETECTOR_WEIGHTS} (downloaded by Ultralytics)")
    group.add_argument("--imgsz", type=int, default=None,
                       help=f"detector input size (default: {defaults.IMGSZ}; exports with a fixed size use theirs)")
    group.add_argument("--stride", type=int, default=defaults.STRIDE,
                       help="detect every N-th frame (default: %(default)s, every frame)")
    group.add_argument("--batch", type=int, default=None, help="frames per forward pass (default: 256 on GPU, 16 on CPU)")
    group.add_argument("--workers", type=int, default=None, help="decoding processes (default: cores - 2)")
    if conf:
        group.add_argument("--conf", type=float, default=defaults.DETECT_CONF,
                           help="detection confidence that counts towards a score (default: %(default)s)")


def detect_options(args: argparse.Namespace) -> dict:
    """The keyword arguments of cascade.detect.detect_videos taken from parsed flags."""
    return {"weights": args.weights, "imgsz": args.imgsz, "stride": args.stride, "batch": args.batch,
            "workers": args.workers, "device": args.device}
