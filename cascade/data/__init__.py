"""Reading labelled videos: a base dataset (:mod:`~cascade.data.base`), the A2D release, labels CSVs
(per frame, per clip), splits and folds, and video frames; :func:`open_dataset` picks the reader.

The readers are imported on first use, so that decoding workers importing
``cascade.data.frames`` do not pay for pandas.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {"Dataset": "base", "A2DRelease": "release", "CSVDataset": "frame_csv", "ClipDataset": "clips",
          "open_dataset": "sources"}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"cascade.data.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'cascade.data' has no attribute {name!r}")
