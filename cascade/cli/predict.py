"""``cascade predict A.mp4 B.avi DIR``: the actors and actor-action pairs of each video, in one pass.

One summary line per video on stdout, or with ``--json`` one JSON object per video (JSON Lines) on
stdout or in ``--output FILE``. A video that cannot be read gets its error and the others go on;
the exit status is then 2.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cascade import defaults
from cascade.cli.common import (add_common, add_detect_options, add_instance_options, add_pair_cut,
                                add_temporal_options, add_thresholds, cascade_settings, cli_flag, flags_for,
                                results_stream, show_progress)

HELP = ("say which actors do which actions in videos (files or folders); uses RUN/thresholds.json, else the "
        "built-in thresholds, and the heads in RUN/heads")


def _frames(text: str) -> list[int]:
    try:
        numbers = [int(n) for n in text.split(",") if n.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--frames takes 1-based frame numbers like 12,40, not {text!r}") from None
    if not numbers or min(numbers) < 1:
        raise argparse.ArgumentTypeError("--frames takes 1-based frame numbers like 12,40")
    return numbers


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("videos", metavar="video", type=Path, nargs="+",
                        help="video files, or folders whose video files (searched recursively) are all predicted")
    add_common(parser, data=False)
    parser.add_argument("--output", type=Path, default=None,
                        help="write the JSON Lines (one object per video) to this file instead of stdout "
                             "(default: stdout, with --json)")
    parser.add_argument("--save", type=Path, default=None,
                        help="folder for an annotated copy (.mp4) and a contact sheet (.png) of each video "
                             "(default: none)")
    parser.add_argument("--frames", type=_frames, default=None,
                        help="frames the heads look at, e.g. 12,40 (default: --head-frames evenly spaced frames)")
    parser.add_argument("--head-frames", type=int, default=defaults.HEAD_FRAMES,
                        help="how many evenly spaced frames the heads look at (default: %(default)s)")
    add_thresholds(parser, defaults.THRESHOLDS)
    add_pair_cut(parser)
    add_temporal_options(parser, training=False)
    add_detect_options(parser, conf=False)
    add_instance_options(parser)


def run(args: argparse.Namespace) -> None:
    from cascade.errors import CascadeError
    from cascade.fileio import write_text_atomic
    from cascade.pipeline import Cascade

    cascade = Cascade.from_run_dir(**flags_for(args, Cascade.from_run_dir), settings=cascade_settings(args))
    results = cascade.predict_many(**flags_for(args, cascade.predict_many), progress=show_progress())
    lines = [json.dumps(result.to_json()) for result in results]
    output = cli_flag(args, "output")
    if output is not None:
        write_text_atomic(output, "".join(line + "\n" for line in lines))
    if args.json and output is None:
        results_stream().writelines(line + "\n" for line in lines)
    elif not args.json:
        results_stream().writelines(result.summary() + "\n" for result in results)
    failed = [r for r in results if r.error]
    if failed:
        raise CascadeError(f"{len(failed)} of {len(results)} video(s) could not be read; first: {failed[0].error}")
