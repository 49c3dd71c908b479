"""Reading labelled videos: the A2D release, a user's CSV, and video frames.

The readers are imported on first use, so that decoding workers importing
``cascade.data.decoding`` do not pay for pandas.
"""

from __future__ import annotations

from typing import Any

__all__ = ["A2DRelease", "CSVDataset", "Dataset", "open_dataset"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from cascade.data import release

        return getattr(release, name)
    raise AttributeError(f"module 'cascade.data' has no attribute {name!r}")
