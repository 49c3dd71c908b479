"""I3D windows per second on this machine: plain PyTorch against the OpenVINO-compiled network, one run.

Both sides run the same module (:class:`cascade.backbones.i3d.ClipEncoder`: uint8 clips in, features and
Kinetics log-probabilities out) with the same weights on the same windows of a real clip
(``../shared/clips``), 16 frames each, at 224, 160 and 112 px. OpenVINO (:mod:`cascade.backbones.video_runtime`)
runs at the precision it picks for this CPU (bf16 where the CPU has it) and, for comparison, at f32;
batches of 1 and 4 windows. Each figure is the median of ``--repeats`` timed passes over ``--windows``
windows after one warm-up pass. Accuracy beside speed: the largest difference of the features from
PyTorch's, and the Kinetics top-1 of DeepMind's sample clip (``playing cricket``) under each runtime.

Goals (issue: I3D features): >= 4 windows/s at 224 px and >= 10 at the size action_cv's table picks.

    python3 benchmarks/i3d_speed.py                  # about 6 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from _data import SHARED, machine, record
from cascade.backbones.i3d import ClipEncoder, load_i3d
from cascade.backbones.video_runtime import VideoNetwork
from cascade.data.frames import iter_frames
from cascade.features.video import clip_pixels

I3D_DIR = SHARED / "weights" / "i3d_kinetics400"
WEIGHTS = I3D_DIR / "i3d_kinetics400_rgb_fp16.npz"
CLIP = SHARED / "clips" / "BellamyCeleman_running.mp4"


def windows_of(clip: Path, count: int, size: int, frames: int = 16) -> np.ndarray:
    """``count`` windows of ``frames`` consecutive frames (every second frame) of a real clip, squashed to ``size``."""
    decoded = {n: f for n, f in iter_frames(clip) if n <= 2 * frames * count}
    starts = [1 + 2 * frames * k for k in range(count)]
    return np.stack([clip_pixels(decoded, [s + 2 * j for j in range(frames)], None, size) for s in starts])


def rate(run, clips: np.ndarray, repeats: int) -> float:
    """Median windows per second over ``repeats`` passes after a warm-up."""
    run(clips[:1])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(clips)
        times.append(time.perf_counter() - start)
    return len(clips) / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[224, 160, 112])
    parser.add_argument("--windows", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("CASCADE_DATA", tempfile.mkdtemp(prefix="i3d-speed-"))  # converted IR: not the user's cache
    print(f"machine: {machine()}; torch threads {torch.get_num_threads()}")
    names = (I3D_DIR / "kinetics400_labels.txt").read_text().splitlines()
    cricket = np.stack([f[:, :, ::-1] for _, f in iter_frames(I3D_DIR / "v_CricketShot_g04_c01_rgb.gif")])[None, 20:36]
    figures = {}
    for size in args.sizes:
        clips = windows_of(CLIP, args.windows, size)
        plain = VideoNetwork(WEIGHTS, 16, size, runtime="torch")
        reference, _ = plain(clips)
        row = {"torch": round(rate(plain, clips, args.repeats), 2)}
        top = {"torch": names[int(plain(cricket)[1].argmax())]}
        differences = {}
        for batch in (1, 4):
            compiled = VideoNetwork(WEIGHTS, 16, size, runtime="openvino", batch=batch)
            key = f"openvino b{batch} {compiled.runtime.split()[-1]}"
            row[key] = round(rate(compiled, clips, args.repeats), 2)
            differences[key] = float(np.abs(compiled(clips)[0] - reference).max())
            top[key] = names[int(compiled(cricket)[1].argmax())]
        f32 = VideoNetwork(WEIGHTS, 16, size, runtime="openvino", precision="f32")
        row["openvino b1 f32"] = round(rate(f32, clips, args.repeats), 2)
        differences["openvino b1 f32"] = float(np.abs(f32(clips)[0] - reference).max())
        top["openvino b1 f32"] = names[int(f32(cricket)[1].argmax())]
        best = max((k for k in row if k != "torch"), key=row.get)
        print(f"{size} px: windows/s " + ", ".join(f"{k} {v}" for k, v in row.items())
              + f"; best {best} / torch = {row[best] / row['torch']:.1f}x; max feature difference from torch "
              + ", ".join(f"{k} {v:.3f}" for k, v in differences.items()) + "; cricket top-1 "
              + ", ".join(f"{k}: {v}" for k, v in top.items()), flush=True)
        figures[str(size)] = {"windows_per_s": row, "best": best, "speedup": round(row[best] / row["torch"], 2),
                              "max_feature_difference": {k: round(v, 4) for k, v in differences.items()},
                              "cricket_top1": top}
    record("i3d_speed", {"windows": args.windows, "frames": 16, "repeats": args.repeats, "sizes": figures})


if __name__ == "__main__":
    main()
