"""Entry point: ``cascade <command>``. Exit status 0 ok, 2 bad input, 1 unexpected failure.

Bad input (:class:`~cascade.errors.CascadeError`) is printed as one line naming the file and what
to do; an interrupt says that finished work was kept. A bug is one line too, naming the file that
holds its traceback (in the temporary folder), so that it can be reported.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from cascade import __version__
from cascade.cli.common import reserve_stdout, unread_flags
from cascade.errors import CascadeError

#: Subcommand name -> module in cascade.cli; each module has HELP, configure(parser), run(args).
COMMANDS = {
    "detect": "detect",
    "features": "features",
    "tune-thresholds": "tune_thresholds",
    "train-head": "train_head",
    "predict": "predict",
    "evaluate": "evaluate",
    "sample-release": "sample_release",
    "sample-clips": "sample_clips",
    "demo-data": "demo_data",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cascade",
        description="Which actors do which actions in a video: detect -> threshold -> per-actor action heads.",
    )
    parser.add_argument("--version", action="version", version=f"cascade {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f"cascade.cli.{module_name}")
        sub = commands.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format=f"cascade {args.command}: %(levelname)s: %(message)s")
    return run_command(args)


def run_command(args: argparse.Namespace) -> int:
    """Run a parsed command; turn what went wrong into one line on stderr and an exit status."""
    try:
        with reserve_stdout():
            args.run(args)
        if unread_flags(args):  # a flag that reaches no library call is silently ignored: a bug, not bad input
            raise RuntimeError(f"flags never passed to the library: {', '.join(sorted(unread_flags(args)))}")
    except CascadeError as exc:
        print(f"cascade {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the file system refused (a run dir that is a file, no permission, disk full)
        print(f"cascade {args.command}: error: {exc}; check that path", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"cascade {args.command}: interrupted; finished work is saved, run it again to continue",
              file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line here, the whole traceback in a file
        print(f"cascade {args.command}: unexpected error ({type(exc).__name__}: {exc}); this is a bug in cascade, "
              f"please report it with the traceback written to {_save_traceback(args.command)}", file=sys.stderr)
        return 1
    return 0


def _save_traceback(command: str) -> Path:
    path = Path(tempfile.gettempdir()) / f"cascade-{command}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
    path.write_text(traceback.format_exc(), encoding="utf-8")
    return path


if __name__ == "__main__":
    sys.exit(main())
