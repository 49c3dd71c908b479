"""Which reader a ``--data`` path needs: an A2D release root (a folder), or a labels CSV, per frame
(with a ``frame`` column) or per clip (without one).

Example::

    data = open_dataset("A2D")            # or open_dataset("my_videos.csv"), open_dataset("clips.csv", seed=0)
    frames = data.labelled_frames("train")
    videos = data.labelled_videos("test")
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from cascade import defaults
from cascade.data.base import Dataset
from cascade.data.clips import ClipDataset
from cascade.data.frame_csv import CSVDataset
from cascade.data.release import A2DRelease
from cascade.errors import CascadeError


def open_dataset(data: str | Path | Dataset, seed: int = defaults.SEED, run_dir: str | Path | None = None) -> Dataset:
    """An A2D release root (folder) or a user's labels CSV (file; per frame with a ``frame`` column,
    else per clip); an opened dataset is returned as it is. ``seed`` and ``run_dir`` serve a clip CSV
    without a ``split`` column: its split is made with ``seed`` and recorded in ``run_dir``."""
    if isinstance(data, Dataset):
        return data
    data = Path(data)
    if data.suffix.lower() != ".csv":
        if data.is_file():  # a video, say: "release root not found" would send the user looking for a folder
            raise CascadeError(f"{data}: --data takes a labels CSV (a .csv file) or an A2D release folder, "
                               "not this file")
        return A2DRelease(data)
    table = _read_csv(data)
    if "frame" in table.columns:
        missing = {"video", "labels"} - set(table.columns)
        if missing:
            raise CascadeError(f"{data}: missing column(s) {', '.join(sorted(missing))}; need video, frame, labels")
        return CSVDataset(data, table)
    missing = {"video", "labels"} - set(table.columns)
    if missing:
        raise CascadeError(f"{data}: missing column(s) {', '.join(sorted(missing))}; need video and labels "
                           "(and frame, for labels of single frames)")
    return ClipDataset(data, table, seed=seed, run_dir=run_dir)


def _read_csv(path: Path) -> pd.DataFrame:
    """The CSV as strings; what pandas cannot read is said in terms of the file (its own messages name
    its tokenizer and end in a newline)."""
    if not path.is_file():
        raise CascadeError(f"{path}: labels CSV not found")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise CascadeError(f"{path}: empty; its first line names the columns: video,frame,labels (video,labels "
                           "for whole clips)") from None
    except UnicodeDecodeError:
        raise CascadeError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except pd.errors.ParserError as exc:
        ragged = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if ragged is None:
            raise CascadeError(f"{path}: not a readable CSV ({str(exc).strip().splitlines()[0]})") from None
        expected, line, saw = ragged.groups()
        raise CascadeError(f"{path}:{line}: {saw} fields, but the header names {expected}; put double quotes "
                           "around a field that holds a comma") from None
