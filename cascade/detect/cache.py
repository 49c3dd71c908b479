"""The detections cache, ``RUN/detections/``: schema, reading, and appending whole videos.

One row per kept box (``video``, ``frame``, ``cls`` as the COCO id, ``conf``, ``x1 y1 x2 y2`` in
original pixels) and one row with ``cls = -1`` for each frame where nothing was kept, so that every
processed frame appears and frame counts are exact. Boxes are kept down to ``keep_conf`` (0.05), so
the counting confidence can be re-chosen later without running the detector again. Each part
records what made its rows (model, image size, stride, ...), and a cache refuses rows made
otherwise; what it records is also every later command's default (:meth:`DetectionCache.resolve`).

The cache is a :class:`~cascade.store.PartStore`: each commit adds one Parquet part of finished
videos (atomically, under a lock), so a commit costs what it adds, two commands or many Ray workers
can commit into one run dir at once without losing each other's videos, and a killed run leaves
every committed video. Readers read only the parts that hold the videos they ask for.

A run dir from before (one file, ``RUN/detections.parquet``, and the ``RUN/shards/<n>/`` a killed Ray
driver left) is converted once, the first time any command opens it: its rows become a part and the
old file is deleted.

This module needs only pyarrow and pandas, so everything that merely reads detections (scores,
thresholds, evaluation) starts without importing torch.

Example::

    detections = load_detections("runs", videos=["clip"])   # DataFrame, one row per box or empty frame
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterable

import pandas as pd
import pyarrow as pa

from cascade.detect.options import DetectOptions
from cascade.errors import CascadeError, short_reason
from cascade.store import PartStore

#: The cache folder in a run dir.
CACHE_NAME = "detections"
#: The single-file cache of earlier versions, and where their Ray workers kept shards: converted once.
LEGACY_NAME = "detections.parquet"
LEGACY_SHARDS = "shards"
SCHEMA = pa.schema(
    [
        ("video", pa.string()), ("frame", pa.int32()), ("cls", pa.int16()), ("conf", pa.float32()),
        ("x1", pa.float32()), ("y1", pa.float32()), ("x2", pa.float32()), ("y2", pa.float32()),
    ]
)
NO_BOX = -1
#: Settings compared before rows are added to a cache: rows made otherwise cannot be mixed in.
CHECKED_SETTINGS = ("model", "imgsz", "stride", "keep_conf")


class DetectionCache:
    """``RUN/detections/``: the videos detected so far, appended to by commits (see the module docstring)."""

    def __init__(self, run_dir: str | Path) -> None:
        run_dir = Path(run_dir)
        if run_dir.exists() and not run_dir.is_dir():
            raise CascadeError(f"{run_dir}: is a file, not a folder; pass --run-dir a folder (it is made if missing)")
        self.path = run_dir / CACHE_NAME
        self.store = PartStore(self.path, SCHEMA, CHECKED_SETTINGS, "detections cache")
        self._convert_legacy(run_dir)

    def _convert_legacy(self, run_dir: Path) -> None:
        """Take in a single-file cache and Ray shards of an earlier version (a kill midway converts again
        next time, adding nothing twice)."""
        shards = run_dir / LEGACY_SHARDS
        old = [run_dir / LEGACY_NAME] + (sorted(shards.glob(f"*/{LEGACY_NAME}")) if shards.is_dir() else [])
        for path in (p for p in old if p.exists()):
            try:
                self.store.adopt(path)
            except PermissionError as exc:
                raise CascadeError(f"{path}: a detections cache of an earlier version, converted once into "
                                   f"{self.path} on first use, which needs write access ({short_reason(exc)})") from None
        if shards.is_dir():  # what is left there is temporary files of killed writers
            shutil.rmtree(shards, ignore_errors=True)

    @property
    def meta(self) -> dict | None:
        """What made the cached rows (None while the cache is empty)."""
        return self.store.settings

    def videos(self) -> set[str]:
        """Videos already in the cache (complete: videos are only ever committed whole)."""
        return self.store.videos()

    def check_settings(self, settings: dict) -> None:
        """Refuse to mix detections made by another model, image size or stride in one cache
        (only the settings given are compared)."""
        self.store.check_settings(settings)

    def resolve(self, options: DetectOptions) -> DetectOptions:
        """``options`` as this run takes them: a given stride or weights that contradict the cached rows are
        refused in one line (the image size is checked when the detector loads, which knows its rounding), and
        what was not given is what the rows were made with (:meth:`DetectOptions.resolved`)."""
        given = {"stride": options.stride}
        if options.weights is not None:
            from cascade.detect.detector import resolve_weights  # torch: only when weights are named

            given["model"] = resolve_weights(options.weights)
        self.check_settings({name: value for name, value in given.items() if value is not None})
        return options.resolved(self.meta)

    def commit(self, new: list[pa.Table], settings: dict) -> int:
        """Add finished videos as one new part; videos already present are not added twice. Returns
        the number of videos added."""
        return self.store.commit(new, settings)

    def read(self, videos: Iterable[str] | None = None) -> pd.DataFrame:
        """The cached rows (of ``videos`` only, when given) as a DataFrame, empty if none."""
        return self.store.read(videos).to_pandas()


def load_detections(run_dir: str | Path, videos: Iterable[str] | None = None) -> pd.DataFrame:
    """The cached detections of a run directory; with ``videos``, only their rows are read."""
    cache = DetectionCache(run_dir)
    if not cache.store.parts():
        raise CascadeError(f"{cache.path}: no detections cache; run `cascade detect` first")
    return cache.read(videos)


def empty_detections() -> pd.DataFrame:
    """A detections table with the cache's columns and no rows."""
    return SCHEMA.empty_table().to_pandas()
