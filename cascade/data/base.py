"""What every labelled-data reader produces: the labelled frames and videos the cascade learns from.

* **labelled frames** - one row per annotated frame (:data:`FRAME_COLUMNS`): ``video``, ``path``
  (the video file), ``frame`` (1-based), ``pairs`` (tuple of valid pair ids present),
  ``instance_pairs`` and ``boxes`` (N x 4 array, one row per instance, NaN where unknown) and ``split``;
* **labelled videos** - one row per video: ``video``, ``path``, ``split``, ``groups`` (frozenset
  of group names present over its annotated frames).

The readers: :mod:`~cascade.data.release` (an A2D release), :mod:`~cascade.data.frame_csv` (a
user's CSV of labelled frames), :mod:`~cascade.data.clips` (a CSV of labelled clips);
:func:`~cascade.data.sources.open_dataset` picks one for a ``--data`` path.

Example::

    frames = dataset.labelled_frames("train")
    videos = dataset.labelled_videos("test")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cascade.defaults import SPLIT_CHOICES
from cascade.errors import CascadeError
from cascade.labels import groups_of_pairs

FRAME_COLUMNS = ["video", "path", "frame", "pairs", "instance_pairs", "boxes", "split"]


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


