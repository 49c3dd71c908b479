"""Benchmark inputs made from the real clips: an A2D-sized release (320 px high, ~A2D's mean length)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CASCADE_SHARED", REPO.parent / "shared"))
A2D_MEAN_FRAMES = 136  # videoset.csv: 513,214 frames over 3,782 videos


def a2d_sized_release(root: Path, clips: Path | None = None) -> Path:
    """Build (once) the sample release with A2D-length videos; returns its root."""
    from cascade.data.sample import build_sample_release

    if not (root / "videoset.csv").exists():
        build_sample_release(root, clips or SHARED / "clips", frames_per_video=A2D_MEAN_FRAMES, overwrite=True)
    return root


def machine() -> str:
    import platform

    import torch

    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
    return f"{platform.node()}: {os.cpu_count()} CPUs, {gpu}, torch {torch.__version__}"
