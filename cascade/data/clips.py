"""Clip-level labels: a CSV of videos whose actor-action pairs hold for the whole clip.

The CSV has a header with ``video`` (a path, relative to the CSV) and ``labels`` (pairs such as
``dog-running`` or ``77``, separated by ``;``; empty for a clip with no A2D actor), optionally
``split`` (``train``/``test``) and ``group`` (where the clip comes from: a repository, a channel;
see :func:`cascade.data.base.video_groups`); other columns (a ``note``, say) are ignored. There is no ``frame``
column: that is what makes it clip-level (``../shared/clips/labels.csv`` is one).

What the cascade needs from it:

* **videos**: one per row, its groups being those of its pairs: the actor stage's truth;
* **frames**: ``frames_per_clip`` frames spread evenly over each clip (by the frame count its
  container declares), each labelled with all of the clip's pairs. A clip with two pairs of one
  actor (``bird-walking;bird-none``) gives the head one sample of each pair per frame, exactly as
  an A2D frame with two birds doing different things gives one sample per instance: the head is
  taught that both actions are there. There are no boxes, so ``--crop`` is refused;
* **a split**, when the CSV has no ``split`` column: by a stable hash of each clip's group and the
  seed (:mod:`cascade.data.splits`), recorded in the run directory; clips added later never move
  the ones already split. An actor the split leaves without a clip on one side is warned of when a
  command uses the split (``train`` or ``test``), not under ``--split all``, which splits nothing.

Example::

    data = ClipDataset("../shared/clips/labels.csv", seed=0, run_dir="runs")
    data.labelled_videos("test")      # video, path, split, groups, group
"""

from __future__ import annotations

import logging
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from cascade import defaults
from cascade.data.frames import declared_frame_count, evenly_spaced
from cascade.data.base import FRAME_COLUMNS, Dataset, named_groups, select_split, video_groups
from cascade.data.splits import hashed_split, missing_sides, record_split
from cascade.errors import CascadeError
from cascade.labels import groups_of_pairs, parse_pair

log = logging.getLogger(__name__)

CLIP_COLUMNS = ["video", "path", "pairs", "split"]


class ClipDataset(Dataset):
    """Labelled clips from a clip-level CSV (see the module docstring)."""

    clip_level = True

    def __init__(self, csv_path: str | Path, table: pd.DataFrame, seed: int = defaults.SEED,
                 run_dir: str | Path | None = None, test_fraction: float = defaults.TEST_FRACTION,
                 frames_per_clip: int = defaults.CLIP_FRAMES) -> None:
        self.source = Path(csv_path)
        self.frames_per_clip = frames_per_clip
        clips = pd.DataFrame([_clip_row(self.source, line, row) for line, row in
                              enumerate(table.to_dict("records"), start=2)], columns=CLIP_COLUMNS)
        repeated = clips.video[clips.video.duplicated()]
        if len(repeated):
            raise CascadeError(f"{self.source}: video {repeated.iloc[0]!r} is listed twice (videos are named by "
                               "their file name without extension, which must be unique)")
        self.named_groups = named_groups(self.source, table)
        clips["group"] = video_groups(clips.video.tolist(), clips.path.tolist(), self.named_groups)
        self._seed = seed
        self._missing_sides: dict[str, str] = {}  # actor -> the side of the seed's split without a clip of it
        if "split" not in table.columns:
            videos = pd.DataFrame({"video": clips.video, "group": clips.group,
                                   "groups": clips.pairs.map(groups_of_pairs)})
            sides = hashed_split(videos, test_fraction, seed)
            self._missing_sides = missing_sides(videos, sides)
            clips["split"] = clips.video.map(sides)
            if run_dir is not None:
                record_split(run_dir, sides, seed, test_fraction, str(self.source))
        self.clips = clips

    def labelled_frames(self, split: str = "all") -> pd.DataFrame:
        """The frames of the split's clips (see :attr:`frames`)."""
        self._warn_of_missing_sides(split)
        return super().labelled_frames(split)

    def labelled_videos(self, split: str = "all") -> pd.DataFrame:
        """One row per clip of the split: video, path, split, groups (of its pairs), group (its source)."""
        self._warn_of_missing_sides(split)
        clips = select_split(self.clips, split, self.source)
        return pd.DataFrame({"video": clips.video, "path": clips.path, "split": clips.split,
                             "groups": clips.pairs.map(groups_of_pairs), "group": clips.group,
                             }).sort_values("video").reset_index(drop=True)

    def _warn_of_missing_sides(self, split: str) -> None:
        """Warn, once, of each actor that the seed's split leaves without a clip on one side, when the
        split is used (``train`` or ``test``): ``all`` splits nothing, so the seed cannot be the cause there."""
        if split == "all":
            return
        for actor, side in self._missing_sides.items():
            log.warning("%s: --seed %d puts no %s clip in %s (groups are split whole); pass another --seed "
                        "or a split column to have one", self.source, self._seed, actor, side)
        self._missing_sides = {}

    @cached_property
    def frames(self) -> pd.DataFrame:  # type: ignore[override]
        """``frames_per_clip`` frames spread over each clip, each with all of the clip's pairs."""
        rows = []
        for clip in self.clips.itertuples(index=False):
            try:
                count = declared_frame_count(clip.path)
            except CascadeError as exc:  # reported again, with the others, when the clip is decoded
                log.warning("no frames of %s: %s", clip.video, exc)
                continue
            pairs = np.asarray(clip.pairs, dtype=np.int64)
            for number in evenly_spaced(self.frames_per_clip, count) if count else []:
                rows.append((clip.video, clip.path, number, clip.pairs, pairs, np.full((len(pairs), 4), np.nan),
                             clip.split, np.full(len(pairs), -1, np.int64)))
        return pd.DataFrame(rows, columns=FRAME_COLUMNS)


def _clip_row(csv_path: Path, line: int, row: dict[str, str]) -> tuple:
    where = f"{csv_path}:{line}"
    if not row["video"].strip():
        raise CascadeError(f"{where}: empty video path")
    path = Path(row["video"].strip())
    path = path if path.is_absolute() else csv_path.parent / path
    try:
        pairs = tuple(sorted({parse_pair(p) for p in row["labels"].split(";") if p.strip()}))
    except CascadeError as exc:
        raise CascadeError(f"{where}: {exc}") from None
    split = row.get("split", "").strip() or ("train" if "split" in row else None)
    if split not in (None, "train", "test"):
        raise CascadeError(f"{where}: split must be train or test, found {split!r}")
    return (path.stem, str(path), pairs, split)
