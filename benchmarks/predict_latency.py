"""Prediction latency as a user meets it: one short clip cold, and many clips in one call or one each.

Inputs, made once under ``--work``: the first 5 seconds of real clips from ../shared/clips at their
own resolution, and a run dir with a random-weight ResNet-34 head for every group (the heads' work
is real; their accuracy here means nothing) and the built-in thresholds. Every timed call starts a
fresh ``cascade predict`` process on a fresh copy of that run dir, so nothing is cached.

1. **One 5-second clip, cold**: ``cascade predict CLIP --json`` end to end (process start to exit),
   and the same work split into phases in one process: import, detector load, detection, heads
   (loading the heads, decoding their frames and running them). Goal: under 10 s end to end.
2. **Many clips**: the same ``--clips`` clips (default 17) in one call against one call each.
   Goal: one call at least 3x faster.

    python3 benchmarks/predict_latency.py
    python3 benchmarks/predict_latency.py --clips 5
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _data import LABELLED_CLIPS, REPO, SHARED, machine, record

SECONDS = 5.0
PHASES = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from cascade.detect import detect_videos
from cascade.models.detector import Detector
from cascade.pipeline import Cascade
t1 = time.perf_counter()
detector = Detector(sys.argv[1], device="cpu")
t2 = time.perf_counter()
detect_videos({str(Path(sys.argv[3]).resolve()): sys.argv[3]}, sys.argv[2], detector=detector, progress=False)
t3 = time.perf_counter()
Cascade.from_run_dir(sys.argv[2], weights=sys.argv[1], device="cpu").predict_many([sys.argv[3]])
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "model_load": t2 - t1, "detection": t3 - t2, "heads": t4 - t3}))
"""


def short_clips(work: Path, count: int) -> list[Path]:
    """The first SECONDS of the first ``count`` labelled clips that decode whole, made once."""
    from cascade.data.frames import frame_rate, iter_frames, write_video
    from cascade.errors import CascadeError

    folder = work / "clips"
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for row in csv.DictReader(LABELLED_CLIPS.open(newline="")):
        if len(made) == count:
            break
        source, target = LABELLED_CLIPS.parent / row["video"], folder / row["video"]
        if not target.exists():
            fps = frame_rate(source)
            try:
                frames = [f for n, f in iter_frames(source) if n < round(SECONDS * fps)]
            except CascadeError:  # a truncated clip: not a fair input
                continue
            write_video(target, frames, fps)
        made.append(target)
    return made


def heads_run(work: Path) -> Path:
    """A run dir with a random-weight head for every group (built-in thresholds)."""
    from cascade.labels import GROUPS
    from cascade.models.heads import build_head, head_meta, head_path, save_head

    run = work / "run"
    for group in GROUPS:
        if not head_path(run, group).exists():
            model, _ = build_head(group, "none")
            save_head(head_path(run, group), model, head_meta(group, 224, False, 0.1, "random", {"by": "benchmark"}))
    return run


def predict(clips: list[Path], run: Path, weights: Path) -> float:
    """Seconds for one fresh ``cascade predict`` process over ``clips`` on a fresh copy of ``run``."""
    fresh = Path(tempfile.mkdtemp(prefix="bench-predict-")) / "run"
    shutil.copytree(run, fresh)
    try:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cascade.cli.main", "predict", *map(str, clips), "--run-dir", str(fresh),
                        "--weights", str(weights), "--device", "cpu", "--json"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start
    finally:
        shutil.rmtree(fresh.parent, ignore_errors=True)


def phases(clip: Path, run: Path, weights: Path) -> dict[str, float]:
    fresh = Path(tempfile.mkdtemp(prefix="bench-predict-")) / "run"
    shutil.copytree(run, fresh)
    try:
        done = subprocess.run([sys.executable, "-c", PHASES, str(weights), str(fresh), str(clip)], check=True,
                              capture_output=True, text=True)
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(fresh.parent, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=17, help="clips for the many-clips comparison")
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "bench-predict")
    parser.add_argument("--weights", type=Path, default=SHARED / "weights" / "yolo11n_int8_openvino_model")
    args = parser.parse_args()
    clips, run = short_clips(args.work, args.clips), heads_run(args.work)
    print(f"machine: {machine()}")
    print(f"clips: {len(clips)} real clips, first {SECONDS:g} s each at their own size; weights {args.weights.name}")

    predict(clips[:1], run, args.weights)  # warm-up, not recorded: file cache, OpenVINO's compiled blobs
    cold = predict(clips[:1], run, args.weights)
    split = phases(clips[0], run, args.weights)
    print(f"one clip, cold, end to end: {cold:6.1f} s (goal < 10 s)")
    print("  in one process: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in split.items()))
    one_call = predict(clips, run, args.weights)
    each = sum(predict([clip], run, args.weights) for clip in clips)
    print(f"{len(clips)} clips, one call each: {each:6.1f} s")
    print(f"{len(clips)} clips, one call:      {one_call:6.1f} s")
    print(f"ratio one call each / one call: {each / one_call:.2f}x (goal >= 3x)")
    record("predict_latency", {"clip_seconds": SECONDS, "cold_one_clip_s": round(cold, 2),
                               "phases_s": {k: round(v, 2) for k, v in split.items()}, "clips": len(clips),
                               "one_call_each_s": round(each, 1), "one_call_s": round(one_call, 1),
                               "ratio": round(each / one_call, 2)})


if __name__ == "__main__":
    main()
