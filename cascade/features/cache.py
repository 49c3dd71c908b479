"""The features cache, ``RUN/features/``: one row per sampled frame and per actor box in it.

Rows: ``video``, ``frame``, ``cls`` (the box's COCO class; -1 for the whole frame), ``conf``,
``x1 y1 x2 y2`` (pixels), ``track`` (the box's track among its class's boxes in the video, -1 for
the frame row), the geometry and motion columns of :mod:`cascade.features.motion`, ``embedding``
(the backbone's pooled vector: for I3D, the frame's window or the box's tube, :mod:`cascade.features.video`),
``keypoints`` (51 numbers for a person box, x y confidence of 17 keypoints inside the box; null otherwise,
NaN where the pose model found no one there) and ``kinetics`` (I3D only, frame rows: the window's 400
Kinetics log-probabilities; null otherwise).

Stored like the detections: Parquet parts under ``RUN/features/`` (:class:`~cascade.store.PartStore`),
each committed atomically and holding whole videos, so a killed run keeps every committed video and
the next one computes only the rest; the settings (:meth:`~cascade.features.settings.FeatureSettings.describe`)
are recorded and rows made otherwise are refused; what was recorded is every later command's default
(:meth:`FeatureCache.resolve`).

Example::

    cache = FeatureCache("runs")
    rows = cache.read(["clip"])        # DataFrame, one row per sampled frame and per box
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd
import pyarrow as pa

from cascade.errors import CascadeError
from cascade.features.motion import MOTION_COLUMNS
from cascade.features.settings import FeatureSettings
from cascade.store import PartStore

FEATURES_DIR = "features"
WHOLE_FRAME = -1  # ``cls`` of the row that describes the whole frame
SCHEMA = pa.schema(
    [("video", pa.string()), ("frame", pa.int32()), ("cls", pa.int16()), ("conf", pa.float32()),
     ("x1", pa.float32()), ("y1", pa.float32()), ("x2", pa.float32()), ("y2", pa.float32()),
     ("track", pa.int32())]
    + [(name, pa.float32()) for name in MOTION_COLUMNS]
    + [("embedding", pa.list_(pa.float32())), ("keypoints", pa.list_(pa.float32())),
       ("kinetics", pa.list_(pa.float32()))]
)
#: Settings compared before rows are added: rows made otherwise mean other things.
CHECKED_SETTINGS = ("every", "sampling", "backbone", "backbone_weights", "imgsz", "conf", "pose_model", "video_frames", "video_fps")


class FeatureCache:
    """``RUN/features/``: what it holds, and adding whole videos to it."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / FEATURES_DIR
        self.store = PartStore(self.path, SCHEMA, CHECKED_SETTINGS, "features cache")

    @property
    def settings(self) -> dict | None:
        return self.store.settings

    def videos(self) -> set[str]:
        """Videos already in the cache (whole: videos are only ever committed whole)."""
        return self.store.videos()

    def check_settings(self, settings: dict) -> None:
        """Refuse features made otherwise (one line naming the cache and what differs)."""
        self.store.check_settings(settings)

    def resolve(self, settings: FeatureSettings) -> FeatureSettings:
        """``settings`` as this run takes them: what was not given is what the cached rows were made with
        (:meth:`~cascade.features.settings.FeatureSettings.resolved`), and a recorded weights file taken so that
        is gone is one line saying what to do. A given setting that contradicts the cache is refused where the
        rows are checked (:func:`~cascade.features.local.open_run`: the weights' sha256 needs them loaded)."""
        resolved = settings.resolved(self.settings)
        gone = {name: path for name, path in resolved.missing_files().items() if getattr(settings, name) is None}
        if gone:
            name, path = next(iter(gone.items()))
            flag = "--" + name.replace("_", "-")
            raise CascadeError(f"{self.path}: its features were made with the weights {path} ({flag}), which are not "
                               f"there any more; put them back there, or use another --run-dir (or delete {self.path}) "
                               "to compute features with other weights")
        return resolved

    def commit(self, tables: list[pa.Table], settings: dict) -> int:
        """Add finished videos atomically (videos already present are not added twice); returns how many."""
        return self.store.commit([t.cast(SCHEMA) for t in tables], settings)

    def read(self, videos: Iterable[str] | None = None) -> pd.DataFrame:
        """The cached rows (of ``videos``) as a DataFrame; a video the cache lacks is an error."""
        return self.read_table(videos).to_pandas()

    def read_table(self, videos: Iterable[str] | None = None, columns: Sequence[str] | None = None) -> pa.Table:
        """The cached rows (of ``videos``; only ``columns``) as an Arrow table, for readers that take the
        vectors out whole (a pandas column of lists holds one array object per row); a video the cache
        lacks is an error."""
        videos = None if videos is None else list(videos)
        missing = sorted(set(videos or []) - self.videos())
        if missing:
            raise CascadeError(f"{self.path}: no features of {len(missing)} video(s) (first: {missing[0]}); run "
                               "`cascade features` with the same --data and --run-dir first")
        return self.store.read(videos, columns)
