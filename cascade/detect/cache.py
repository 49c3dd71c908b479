"""The detections cache, ``RUN/detections.parquet``: schema, reading, and atomic merging of new videos.

One row per kept box (``video``, ``frame``, ``cls`` as the COCO id, ``conf``, ``x1 y1 x2 y2`` in
original pixels) and one row with ``cls = -1`` for each frame where nothing was kept, so that every
processed frame appears and frame counts are exact. Boxes are kept down to ``keep_conf`` (0.05), so
the counting confidence can be re-chosen later without running the detector again. The file's
metadata records what made the rows (model, image size, stride, ...), and a cache refuses rows made
otherwise.

Videos are only ever added whole: :meth:`DetectionCache.commit` merges finished videos (from the
local runner, or shard files from other machines) and rewrites the file atomically, so a killed
run leaves the last committed file and the next run skips what it holds.

This module needs only pyarrow and pandas, so everything that merely reads detections (scores,
thresholds, evaluation) starts without importing torch.

Example::

    detections = load_detections("runs", videos=["clip"])   # DataFrame, one row per box or empty frame
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cascade.errors import CascadeError
from cascade.fileio import atomic_path

CACHE_NAME = "detections.parquet"
#: Where Ray workers write their shard caches (``RUN/shards/<n>/detections.parquet``), see ray_runner.
SHARDS_DIR = "shards"
META_KEY = b"cascade"
SCHEMA = pa.schema(
    [
        ("video", pa.string()), ("frame", pa.int32()), ("cls", pa.int16()), ("conf", pa.float32()),
        ("x1", pa.float32()), ("y1", pa.float32()), ("x2", pa.float32()), ("y2", pa.float32()),
    ]
)
NO_BOX = -1
#: Settings compared before rows are added to a cache: rows made otherwise cannot be mixed in.
CHECKED_SETTINGS = ("model", "imgsz", "stride", "keep_conf")


def _unreadable(path: Path, exc: Exception) -> CascadeError:
    return CascadeError(f"{path}: unreadable detections cache ({exc}); delete it to detect again")


def read_table(path: str | Path, videos: Iterable[str] | None = None) -> pa.Table:
    """A cache (or shard) file as an Arrow table with the cache's schema, optionally only some videos."""
    path = Path(path)
    try:
        if videos is None:
            table = pq.read_table(path)
        else:
            table = pq.read_table(path, filters=[("video", "in", list(videos))])
        return table.cast(SCHEMA.with_metadata(table.schema.metadata))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, ValueError) as exc:
        raise _unreadable(path, exc) from None


def table_settings(table: pa.Table) -> dict | None:
    """The settings recorded in a cache table's metadata (None for a table without them)."""
    raw = (table.schema.metadata or {}).get(META_KEY)
    return json.loads(raw) if raw else None


class DetectionCache:
    """``RUN/detections.parquet``: read once, merged in memory, rewritten atomically on commit."""

    def __init__(self, run_dir: str | Path) -> None:
        if Path(run_dir).exists() and not Path(run_dir).is_dir():
            raise CascadeError(f"{run_dir}: is a file, not a folder; pass --run-dir a folder (it is made if missing)")
        self.path = Path(run_dir) / CACHE_NAME
        self.table: pa.Table | None = None
        self.meta: dict | None = None
        if self.path.exists():
            self.table = read_table(self.path)
            self.meta = table_settings(self.table)

    def videos(self) -> set[str]:
        """Videos already in the cache (complete: videos are only ever committed whole)."""
        return set() if self.table is None else set(self.table.column("video").unique().to_pylist())

    def check_settings(self, settings: dict) -> None:
        """Refuse to mix detections made by another model, image size or stride in one cache
        (only the settings given are compared)."""
        if self.meta is None:
            return
        keys = [k for k in CHECKED_SETTINGS if k in settings]
        differ = [k for k in keys if self.meta.get(k) != settings[k]]
        if differ:
            was = ", ".join(f"{k}={self.meta.get(k)}" for k in differ)
            raise CascadeError(
                f"{self.path}: made with {was}; use another --run-dir or delete the cache to detect with new settings"
            )

    def commit(self, new: list[pa.Table], settings: dict) -> None:
        """Add finished videos and rewrite the file atomically; videos already present are not added twice."""
        if not new:
            return
        self.check_settings(settings)
        cached = self.videos()
        if cached:
            known = pa.array(sorted(cached), pa.string())
            new = [t.filter(pc.invert(pc.is_in(t.column("video"), known))) for t in new]
        parts = ([self.table] if self.table is not None else []) + [t.cast(SCHEMA) for t in new]
        self.meta = {**(self.meta or {}), **settings}
        self.table = pa.concat_tables([t.replace_schema_metadata(None) for t in parts]).replace_schema_metadata(
            {META_KEY: json.dumps(self.meta)})
        with atomic_path(self.path) as tmp:
            pq.write_table(self.table, tmp, compression="zstd")

    def merge_shards(self) -> int:
        """Merge the shard caches a Ray run left (a killed driver's finished work: shard files hold only
        whole videos) and delete them, so no run redoes them, Ray or not; returns the videos added."""
        folder = self.path.parent / SHARDS_DIR
        before = len(self.videos())
        for shard in sorted(folder.glob("*/")) if folder.is_dir() else []:
            part = shard / CACHE_NAME
            if part.exists():
                table = read_table(part)
                self.commit([table], table_settings(table) or {})
            shutil.rmtree(shard, ignore_errors=True)
        return len(self.videos()) - before

    def to_frame(self) -> pd.DataFrame:
        """The whole cache as a DataFrame (empty, with the right columns, if nothing is cached)."""
        return (self.table if self.table is not None else SCHEMA.empty_table()).to_pandas()


def load_detections(run_dir: str | Path, videos: Iterable[str] | None = None) -> pd.DataFrame:
    """The cached detections of a run directory; with ``videos``, only their rows are read."""
    path = Path(run_dir) / CACHE_NAME
    if not path.exists():
        raise CascadeError(f"{path}: no detections cache; run `cascade detect` first")
    return read_table(path, videos).to_pandas()


def empty_detections() -> pd.DataFrame:
    """A detections table with the cache's columns and no rows."""
    return SCHEMA.empty_table().to_pandas()
