"""``cascade demo-data [DIR]``: fetch the labelled demo clips, checked, and print their labels CSV.

A command of its own rather than a flag of ``sample-clips``: fetching (network, cache, sha256) and
condensing are separate jobs, and what this prints is an ordinary clip-level labels CSV, so it feeds
``sample-clips`` unchanged, or any ``--data`` as it is. Text mode prints only that path on stdout, for
``labels=$(cascade demo-data)``; the summary and the progress bar go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cascade import defaults
from cascade.cli.common import cli_flag, flags_for, results_stream, show_progress

HELP = ("fetch the labelled demo clips (about 180 MB, from the public repositories they come from, each at a "
        "fixed commit, every file checked by sha256) into a cache folder, and print the labels CSV listing "
        "them, ready for sample-clips; nothing is fetched that is already there or in --clips")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", type=Path, nargs="?", default=None, metavar="DIR",
                        help=f"folder for the clips and their labels.csv (default: ${defaults.DATA_ENV}/"
                             f"{defaults.DEMO_FOLDER}, else {defaults.DEMO_FOLDER} in the platform's cache folder)")
    parser.add_argument("--clips", type=Path, default=None,
                        help="a local folder holding the clips (a copy of ../shared/clips, say): clips found "
                             "there whole are listed where they are and not fetched")
    parser.add_argument("--manifest", type=Path, default=None,
                        help="the CSV of clips, URLs, sizes, sha256 and labels to fetch (default: the one "
                             "cascade ships, cascade/data/demo_clips.csv)")
    parser.add_argument("--base-url", default=None,
                        help=f"a mirror: replaces each URL's scheme and host (default: ${defaults.DEMO_URL_ENV}, "
                             "else the manifest's URLs)")
    parser.add_argument("--retries", type=int, default=defaults.DEMO_RETRIES,
                        help="more tries per clip after a failed or corrupted download (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout instead of the path")


def run(args: argparse.Namespace) -> None:
    from cascade.data.demo import fetch_demo_clips

    fetched = fetch_demo_clips(**flags_for(args, fetch_demo_clips), progress=show_progress())
    stream = results_stream()
    if cli_flag(args, "json"):
        json.dump(fetched.to_json(), stream, indent=2)
        stream.write("\n")
    else:
        print(fetched.summary(), file=sys.stderr)
        print(fetched.labels, file=stream)
