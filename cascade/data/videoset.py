"""``videoset.csv``: the A2D listing of videos, their frame counts and train/test split.

The file has no header; its nine columns are documented in the A2D release and named here once.
Split 0 is train and 1 is test. Our validation videos are a seeded share of train, by a stable hash
(:func:`cascade.data.splits.validation_videos`), so the same seed always holds out the same videos.

Example::

    videos = read_videoset("A2D/videoset.csv")
    train = videos[videos.split == "train"]
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from cascade.errors import CascadeError

COLUMNS = ("video", "label", "start", "end", "height", "width", "frames", "annotated", "split")
SPLITS = {0: "train", 1: "test"}
_INT_COLUMNS = ("label", "height", "width", "frames", "annotated")


def read_videoset(path: str | Path) -> pd.DataFrame:
    """Read and check ``videoset.csv``; one row per video, ``split`` as 'train'/'test'."""
    path = Path(path)
    if not path.is_file():
        raise CascadeError(f"{path}: videoset.csv not found; point --data at an A2D release root")
    rows = []
    with path.open(newline="") as handle:
        for line_no, row in enumerate(csv.reader(handle), start=1):
            if not row:
                continue
            rows.append(_parse_row(path, line_no, row))
    if not rows:
        raise CascadeError(f"{path}: no videos listed")
    table = pd.DataFrame(rows, columns=COLUMNS)
    dupes = table.video[table.video.duplicated()]
    if len(dupes):
        raise CascadeError(f"{path}: video {dupes.iloc[0]!r} is listed twice")
    return table


def _parse_row(path: Path, line_no: int, row: list[str]) -> tuple:
    where = f"{path}:{line_no}"
    if len(row) != len(COLUMNS):
        raise CascadeError(f"{where}: expected {len(COLUMNS)} columns, found {len(row)}")
    video, label, start, end, *numbers = (cell.strip() for cell in row)
    try:
        height, width, frames, annotated, split = (int(n) for n in numbers)
    except ValueError:
        raise CascadeError(f"{where}: height, width, frames, annotated and split must be integers") from None
    if not video:
        raise CascadeError(f"{where}: empty video id")
    if split not in SPLITS:
        raise CascadeError(f"{where}: split must be 0 (train) or 1 (test), found {split}")
    if frames < 1:
        raise CascadeError(f"{where}: frame count must be positive, found {frames}")
    try:
        label_id = int(label)
    except ValueError:
        raise CascadeError(f"{where}: label must be an actor-action id, found {label!r}") from None
    return (video, label_id, start, end, height, width, frames, annotated, SPLITS[split])
