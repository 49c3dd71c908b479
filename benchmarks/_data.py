"""What the benchmarks share: inputs made from the real clips (an A2D-sized release, the labelled
clips), a description of the machine, and the record of each script's latest figures in
``benchmarks/latest.json`` (one key per script: machine, date, command, figures), so that figures
can be read without parsing prose; ``RESULTS.md`` keeps the history."""

from __future__ import annotations

import datetime
import json
import os
import shlex
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CASCADE_SHARED", REPO.parent / "shared"))
A2D_MEAN_FRAMES = 136  # videoset.csv: 513,214 frames over 3,782 videos
LABELLED_CLIPS = SHARED / "clips" / "labels.csv"  # 53 real clips with clip-level A2D labels
LATEST = Path(__file__).resolve().parent / "latest.json"


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


def record(key: str, figures: dict) -> None:
    """Write this script's latest figures under ``key`` in benchmarks/latest.json (other keys kept)."""
    from cascade.fileio import write_json_atomic

    latest = json.loads(LATEST.read_text()) if LATEST.exists() else {}
    latest[key] = {"machine": machine(), "date": datetime.date.today().isoformat(),
                   "command": shlex.join(["python3", f"benchmarks/{Path(sys.argv[0]).name}", *sys.argv[1:]]),
                   "figures": figures}
    write_json_atomic(LATEST, latest)
    print(f"figures recorded in {LATEST} under {key!r}")
