"""Which reader a ``--data`` path needs: an A2D release root (a folder), or a labels CSV, per frame
(with a ``frame`` column) or per clip (without one).

Example::

    data = open_dataset("A2D")            # or open_dataset("my_videos.csv"), open_dataset("clips.csv", seed=0)
    frames = data.labelled_frames("train")
    videos = data.labelled_videos("test")
"""

from __future__ import annotations

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
    if not path.is_file():
        raise CascadeError(f"{path}: labels CSV not found")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CascadeError(f"{path}: not a readable CSV ({exc})") from None
