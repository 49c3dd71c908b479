"""What every labelled-data reader produces: the labelled frames and videos the cascade learns from.

* **labelled frames** - one row per annotated frame (:data:`FRAME_COLUMNS`): ``video``, ``path``
  (the video file), ``frame`` (1-based), ``pairs`` (tuple of valid pair ids present),
  ``instance_pairs`` and ``boxes`` (N x 4 array, one row per instance, NaN where unknown), ``split`` and
  ``instance_ids`` (which actor each instance is, the same over a video's frames; -1 where unknown);
* **labelled videos** - one row per video: ``video``, ``path``, ``split``, ``groups`` (frozenset
  of group names present over its annotated frames) and ``group``: where the video comes from
  (:func:`video_groups`), which keeps look-alike videos on one side of a split or fold.

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
from typing import ClassVar, Mapping

import pandas as pd

from cascade.defaults import SPLIT_CHOICES
from cascade.errors import CascadeError
from cascade.labels import groups_of_pairs

FRAME_COLUMNS = ["video", "path", "frame", "pairs", "instance_pairs", "boxes", "split", "instance_ids"]


@dataclass
class Dataset:
    """Labelled frames from any source; videos are derived from frames."""

    source: Path
    frames: pd.DataFrame = field(repr=False)
    clip_level = False  # labels per annotated frame; clip-level datasets label whole videos
    named_groups: ClassVar[Mapping[str, str]] = {}  # video -> the group a CSV's ``group`` column names

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
                "group": video_groups(list(grouped.groups), grouped.path.first().tolist(), self.named_groups),
            }
        )

    def video_paths(self, split: str = "all") -> dict[str, Path]:
        """Video id -> file, for every labelled video of the split."""
        videos = self.labelled_videos(split)
        return dict(zip(videos.video, map(Path, videos.path)))


def video_groups(videos: list[str], paths: list[str], named: Mapping[str, str]) -> list[str]:
    """Each video's group: the one ``named`` gives it (a CSV's ``group`` column: a repository, a
    channel, a person), else its folder when the videos lie in more than one folder (a user's videos
    sorted by where they came from), else the video itself (nothing says which videos look alike)."""
    folders = [str(Path(p).parent) for p in paths]
    by_folder = len(set(folders)) > 1
    return [named.get(v) or (folder if by_folder else v) for v, folder in zip(videos, folders)]


def named_groups(csv_path: Path, table: pd.DataFrame) -> dict[str, str]:
    """Video -> group from a labels CSV's optional ``group`` column (empty cells: no name); a video
    given two different groups is an error naming the file."""
    if "group" not in table.columns:
        return {}
    named: dict[str, str] = {}
    for line, (video, group) in enumerate(zip(table.video, table.group.fillna("")), start=2):
        video, group = Path(str(video).strip()).stem, str(group).strip()
        if group and named.setdefault(video, group) != group:
            raise CascadeError(f"{csv_path}:{line}: video {video!r} is in group {named[video]!r} on an earlier row "
                               f"and {group!r} here; give each video one group")
    return named


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


