"""An A2D release root: ``videoset.csv``, ``clips320H/<id>.mp4`` and
``Annotations/mat/<id>/<frame:05d>.mat``, read as labelled frames (:mod:`cascade.data.base`).

Example::

    data = A2DRelease("A2D")
    frames = data.labelled_frames("train")
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import pandas as pd

from cascade.data.annotations import read_annotation
from cascade.data.base import FRAME_COLUMNS, Dataset
from cascade.data.videoset import read_videoset
from cascade.errors import CascadeError


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
                     valid.pairs, valid.boxes, split, valid.ids)
                )
        return pd.DataFrame(rows, columns=FRAME_COLUMNS)
