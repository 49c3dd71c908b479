#!/usr/bin/env python3
"""Write ``cascade/data/demo_clips.csv``, the manifest ``cascade demo-data`` downloads from, out of
``../shared/clips`` (or ``$CASCADE_SHARED/clips``): one row per clip of its ``labels.csv``.

Each row keeps our clip-level labels and note (from ``labels.csv``) beside where the clip comes from
(``SOURCES.csv``): the file's size and sha256, and its download URL at the fixed commit SOURCES.csv
names (``https://raw.githubusercontent.com/<owner>/<repo>/<commit>/<path>``), so a download is checked
byte for byte and a later commit of the source repository cannot change the demo. A clip from a
Debian or PyPI package has no such URL (the file sits inside an archive): its ``url`` is empty and its
``source`` names the package, and ``demo-data`` takes it from ``--clips DIR`` only.

Every local clip is hashed and must match SOURCES.csv, so the manifest never promises bytes that the
clips we labelled do not have. The manifest is committed; run this again when labels.csv changes::

    python3 scripts/demo_manifest.py            # -> cascade/data/demo_clips.csv
    python3 scripts/demo_manifest.py --output /tmp/check.csv
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import re
import sys
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's cascade, whichever one pip installed

from cascade.data.demo import MANIFEST, MANIFEST_COLUMNS  # noqa: E402
from cascade.fileio import write_text_atomic  # noqa: E402

RAW = "https://raw.githubusercontent.com"
GITHUB_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")  # owner/name; packages read "Debian package ..."


def manifest_rows(clips: Path) -> list[list[str]]:
    """The manifest's rows for the labelled clips in ``clips`` (see the module docstring)."""
    sources = {row["file"]: row for row in _read(clips / "SOURCES.csv")}
    rows = []
    for label in _read(clips / "labels.csv"):
        video = label["video"]
        source = sources.get(video)
        if source is None:
            sys.exit(f"{clips / 'SOURCES.csv'}: no row for {video}, which labels.csv lists")
        size, digest = _size_and_sha256(clips / video)
        if (size, digest) != (int(source["size_bytes"]), source["sha256"]):
            sys.exit(f"{clips / video}: size {size} and sha256 {digest} differ from SOURCES.csv's")
        rows.append([video, label["labels"], label.get("note", ""), str(size), digest, _url(source),
                     source["source_repo"]])
    return rows


def _url(source: dict[str, str]) -> str:
    """The raw file at its commit on GitHub; empty for a package's file, which has no such address."""
    if not GITHUB_REPO.match(source["source_repo"]) or not source["commit"]:
        return ""
    return f"{RAW}/{source['source_repo']}/{source['commit']}/{quote(source['path_in_repo'])}"


def _size_and_sha256(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return path.stat().st_size, digest.hexdigest()


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def main() -> None:
    shared = Path(os.environ.get("CASCADE_SHARED", REPO.parent / "shared"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, default=shared / "clips",
                        help="folder with the clips, labels.csv and SOURCES.csv (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=MANIFEST, help="where to write (default: %(default)s)")
    args = parser.parse_args()
    rows = manifest_rows(args.clips)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([MANIFEST_COLUMNS, *rows])
    write_text_atomic(args.output, buffer.getvalue())
    total = sum(int(row[3]) for row in rows)
    print(f"wrote {args.output}: {len(rows)} clips, {total / 1e6:.1f} MB, "
          f"{sum(1 for row in rows if not row[5])} without a URL", file=sys.stderr)


if __name__ == "__main__":
    main()
