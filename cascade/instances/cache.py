"""The tracks cache, ``RUN/tracks/``: each video's actor instances, made once from its cached detections.

Rows: ``video``, ``frame``, ``cls`` (COCO class), ``track`` (the instance, numbered over the video),
``conf`` and the box ``x1 y1 x2 y2`` (pixels): one row per box that belongs to an instance
(:mod:`cascade.instances.tracking`). Stored like the detections and features (Parquet parts under a
:class:`~cascade.store.PartStore`, whole videos per commit, the settings recorded and checked), so
``predict`` and ``evaluate`` link a video's boxes once, and a run made with another linker refuses rows
made otherwise in one line.

Example::

    tracks = tracks_of(["clip"], "runs", detections, TrackSettings())   # DataFrame of TRACK_COLUMNS
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd
import pyarrow as pa

from cascade.instances.tracking import TRACK_COLUMNS, TrackSettings, video_tracks
from cascade.store import PartStore

TRACKS_DIR = "tracks"
SCHEMA = pa.schema([("video", pa.string()), ("frame", pa.int32()), ("cls", pa.int16()), ("track", pa.int32()),
                    ("conf", pa.float32()), ("x1", pa.float32()), ("y1", pa.float32()), ("x2", pa.float32()),
                    ("y2", pa.float32())])
CHECKED_SETTINGS = ("method", "conf", "min_iou", "max_gap", "min_frames")


class TrackCache:
    """``RUN/tracks/``: which videos it holds, adding whole videos, reading them back."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / TRACKS_DIR
        self.store = PartStore(self.path, SCHEMA, CHECKED_SETTINGS, "tracks cache")

    def videos(self) -> set[str]:
        return self.store.videos()

    def read(self, videos: list[str]) -> pd.DataFrame:
        return self.store.read(videos).to_pandas()[TRACK_COLUMNS]


def tracks_of(videos: Iterable[str], run_dir: str | Path, detections: pd.DataFrame,
              settings: TrackSettings = TrackSettings()) -> pd.DataFrame:
    """The tracks of ``videos`` (their names in the detections cache), linking and caching those the run's tracks cache lacks from
    their ``detections`` (the detections cache's rows); settings made otherwise are one line."""
    cache = TrackCache(run_dir)
    described = settings.describe()
    cache.store.check_settings(described)
    videos, cached = list(videos), cache.videos()
    todo = [v for v in videos if v not in cached]
    if todo:
        tables = [pa.Table.from_pandas(video_tracks(detections[detections.video == v], settings).assign(video=v),
                                       schema=SCHEMA, preserve_index=False) for v in todo]
        cache.store.commit(tables, described)
    return cache.read(videos)
