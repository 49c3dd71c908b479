"""Stage 1: run the detector over every frame of every video into a resumable detections cache.

- :mod:`~cascade.detect.cache`: ``RUN/detections/``, a :class:`~cascade.store.PartStore`: schema, reading, appending
  (pandas and pyarrow only: reading detections never imports torch);
- :mod:`~cascade.detect.options`: the detector options every detecting command shares;
- :mod:`~cascade.detect.detector`: loading the Ultralytics YOLO model and running it on batches;
- :mod:`~cascade.detect.decoding`: decoding videos into chunks of frames for the detector;
- :mod:`~cascade.detect.engine`: batches of frames across videos through the detector;
- :mod:`~cascade.detect.local`: decoding workers, commits and progress on this machine;
- :mod:`~cascade.detect.ray_runner`: shards of videos on a Ray cluster;
- :mod:`~cascade.detect.runner`: what to detect, and which runner does it;
- :mod:`~cascade.detect.report`: what a run did.

The public names are importable from here; each loads its module on first use.

Example::

    from cascade.detect import DetectOptions, detect_videos, load_detections
    detect_videos({"clip": "clip.mp4"}, "runs", DetectOptions(weights="yolo11n.pt"))
    detections = load_detections("runs")
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "CACHE_NAME": "cache", "NO_BOX": "cache", "SCHEMA": "cache", "DetectionCache": "cache",
    "load_detections": "cache", "empty_detections": "cache",
    "DetectOptions": "options",
    "DetectReport": "report",
    "detect_videos": "runner", "detect_dataset": "runner",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"cascade.detect.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'cascade.detect' has no attribute {name!r}")
