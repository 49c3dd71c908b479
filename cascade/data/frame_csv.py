"""A user's own labelled frames listed in a CSV, read as labelled frames (:mod:`cascade.data.base`).

The CSV has a header with ``video`` (path, relative to the CSV), ``frame`` and ``labels`` (pairs as
``dog-running`` or ``77``, separated by ``;``; empty for a frame with no actor) and optionally
``split`` (train/test; default train), ``boxes`` (``x1 y1 x2 y2`` per label, separated by ``;``),
``ids`` (which actor each label is, a whole number per label separated by ``;``, the same actor keeping
its number over the video's frames: what an instance score follows) and ``group`` (where the video comes
from, see :func:`cascade.data.base.video_groups`).
A CSV without a ``frame`` column holds clip-level labels (:mod:`cascade.data.clips`).

Example::

    data = open_dataset("my_videos.csv")      # a CSVDataset
    frames = data.labelled_frames("train")
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cascade.data.base import FRAME_COLUMNS, Dataset, named_groups
from cascade.errors import CascadeError
from cascade.labels import parse_pair


class CSVDataset(Dataset):
    """A user's own labelled frames listed in a CSV (see the module docstring for the columns)."""

    def __init__(self, csv_path: str | Path, table: pd.DataFrame) -> None:
        csv_path = Path(csv_path)
        self.source = csv_path
        self.frames = pd.DataFrame(
            [_csv_row(csv_path, line, row) for line, row in enumerate(table.to_dict("records"), start=2)],
            columns=FRAME_COLUMNS,
        )
        self.named_groups = named_groups(csv_path, table)


def _csv_row(csv_path: Path, line: int, row: dict[str, str]) -> tuple:
    where = f"{csv_path}:{line}"
    if not row["video"].strip():
        raise CascadeError(f"{where}: empty video path")
    path = Path(row["video"])
    path = path if path.is_absolute() else csv_path.parent / path
    frame = int(row["frame"]) if row["frame"].strip().isdigit() else 0
    if frame < 1:
        raise CascadeError(f"{where}: frame must be a whole number from 1 (the first frame), found {row['frame']!r}")
    try:
        pairs = [parse_pair(p) for p in row["labels"].split(";") if p.strip()]
    except CascadeError as exc:
        raise CascadeError(f"{where}: {exc}") from None
    boxes = np.full((len(pairs), 4), np.nan)
    if row.get("boxes", "").strip():
        try:
            boxes = np.asarray([b.split() for b in row["boxes"].split(";")], dtype=float)
        except ValueError:  # a word, or boxes of unequal length
            boxes = None
        if boxes is None or boxes.shape != (len(pairs), 4):
            raise CascadeError(f"{where}: boxes must give 4 numbers 'x1 y1 x2 y2' for each label, separated by "
                               f"';', found {row['boxes']!r}")
    ids = np.full(len(pairs), -1, np.int64)
    if row.get("ids", "").strip():
        try:
            ids = np.asarray([int(v) for v in row["ids"].split(";")], dtype=np.int64)
        except ValueError:
            ids = np.zeros(0, np.int64)
        if len(ids) != len(pairs):
            raise CascadeError(f"{where}: ids must give a whole number for each label, separated by ';', found "
                               f"{row['ids']!r}")
    split = row.get("split", "").strip() or "train"
    if split not in ("train", "test"):
        raise CascadeError(f"{where}: split must be train or test, found {split!r}")
    return (path.stem, str(path), frame, tuple(sorted(set(pairs))), np.asarray(pairs, dtype=np.int64), boxes, split,
            ids)
