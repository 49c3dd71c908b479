"""Labelled data as the cascade sees it: an A2D release, or a user's own CSV of videos or clips.

Both sources produce the same two tables:

* **labelled frames** - one row per annotated frame: ``video``, ``path`` (the video file),
  ``frame`` (1-based), ``pairs`` (tuple of valid pair ids present), ``boxes`` (N x 4 array, one row
  per instance, aligned with ``instance_pairs``) and ``split``;
* **labelled videos** - one row per video: ``video``, ``path``, ``split``, ``groups`` (frozenset
  of group names present over its annotated frames).

A CSV without a ``frame`` column holds clip-level labels (:mod:`cascade.data.clips`).

An A2D release root holds ``videoset.csv``, ``clips320H/<id>.mp4`` and
``Annotations/mat/<id>/<frame:05d>.mat``. A user CSV has a header with ``video`` (path, relative to
the CSV), ``frame`` and ``labels`` (pairs as ``dog-running`` or ``77``, separated by ``;``; empty
for a frame with no actor) and optionally ``split`` (train/test; default train) and ``boxes``
(``x1 y1 x2 y2`` per label, separated by ``;``).

Example::

    data = open_dataset("A2D")            # or open_dataset("my_videos.csv"), open_dataset("clips.csv", seed=0)
    frames = data.labelled_frames("train")
    videos = data.labelled_videos("test")
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from cascade.data.annotations import read_annotation
from cascade.data.videoset import read_videoset
from cascade import defaults
from cascade.defaults import SPLIT_CHOICES
from cascade.errors import CascadeError
from cascade.labels import groups_of_pairs, parse_pair



@dataclass
class Dataset:
    """Labelled frames from any source; videos are derived from frames."""

    source: Path
    frames: pd.DataFrame = field(repr=False)
    clip_level = False  # labels per annotated frame; clip-level datasets label whole videos

    def labelled_frames(self, split: str = "all") -> pd.DataFrame:
        """Annotated frames of a split ('train', 'test' or 'all')."""
        return select_split(self.frames, split, self.source)

    def labelled_videos(self, split: str = "all") -> pd.DataFrame:
        """One row per video with the set of groups present in its annotated frames."""
        frames = self.labelled_frames(split)
        grouped = frames.groupby("video", sort=True)
        return pd.DataFrame(
            {
                "video": list(grouped.groups),
                "path": grouped.path.first().to_numpy(),
                "split": grouped.split.first().to_numpy(),
                "groups": [frozenset().union(*map(groups_of_pairs, pairs)) for _, pairs in grouped.pairs],
            }
        )

    def video_paths(self, split: str = "all") -> dict[str, Path]:
        """Video id -> file, for every labelled video of the split."""
        videos = self.labelled_videos(split)
        return dict(zip(videos.video, map(Path, videos.path)))


def select_split(table: pd.DataFrame, split: str, source: Path) -> pd.DataFrame:
    """The rows of a split (``all``: every row); an empty split is an error naming the source and the
    splits that do hold labels, so that the fix (another --split, or a split column) is plain."""
    if split not in SPLIT_CHOICES:
        raise CascadeError(f"unknown split {split!r}; valid: {', '.join(SPLIT_CHOICES)}")
    if table.empty:
        raise CascadeError(f"{source}: nothing labelled; it needs a row for each labelled frame or clip")
    chosen = table if split == "all" else table[table.split == split]
    if chosen.empty:
        held = " and ".join(sorted(set(table.split)))
        raise CascadeError(f"{source}: nothing labelled in split {split!r}, only in {held}; pass --split all "
                           f"(or {held}), or put some videos in split {split}")
    return chosen.reset_index(drop=True)


class A2DRelease(Dataset):
    """An A2D release root; annotation files are read lazily, once, when first needed."""

    def __init__(self, root: str | Path) -> None:
        root = Path(root)
        if not root.is_dir():
            raise CascadeError(f"{root}: A2D release root not found; pass --data with the folder holding videoset.csv")
        self.root = root
        self.source = root
        self.videos = read_videoset(root / "videoset.csv")

    def clip_path(self, video: str) -> Path:
        """Where a video's clip lives in the release."""
        return self.root / "clips320H" / f"{video}.mp4"

    def annotation_dir(self, video: str) -> Path:
        """Where a video's annotation files live."""
        return self.root / "Annotations" / "mat" / video

    @cached_property
    def frames(self) -> pd.DataFrame:  # type: ignore[override]
        rows = []
        for video, split in zip(self.videos.video, self.videos.split):
            folder = self.annotation_dir(video)
            files = sorted(folder.glob("*.mat")) if folder.is_dir() else []
            if not files:
                raise CascadeError(f"{folder}: no annotation files for video {video} listed in videoset.csv; "
                                   "restore its .mat files from the release, or remove its row")
            for file in files:
                if not file.stem.isdigit():
                    raise CascadeError(f"{file}: annotation files are named by frame number, e.g. 00001.mat")
                valid = read_annotation(file).valid
                rows.append(
                    (video, str(self.clip_path(video)), int(file.stem), tuple(sorted(set(valid.pairs.tolist()))),
                     valid.pairs, valid.boxes, split)
                )
        return pd.DataFrame(rows, columns=FRAME_COLUMNS)


FRAME_COLUMNS = ["video", "path", "frame", "pairs", "instance_pairs", "boxes", "split"]


class CSVDataset(Dataset):
    """A user's own labelled frames listed in a CSV (see the module docstring for the columns)."""

    def __init__(self, csv_path: str | Path, table: pd.DataFrame) -> None:
        csv_path = Path(csv_path)
        self.source = csv_path
        self.frames = pd.DataFrame(
            [_csv_row(csv_path, line, row) for line, row in enumerate(table.to_dict("records"), start=2)],
            columns=FRAME_COLUMNS,
        )


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
    split = row.get("split", "").strip() or "train"
    if split not in ("train", "test"):
        raise CascadeError(f"{where}: split must be train or test, found {split!r}")
    return (path.stem, str(path), frame, tuple(sorted(set(pairs))), np.asarray(pairs, dtype=np.int64), boxes, split)


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
    from cascade.data.clips import ClipDataset

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
