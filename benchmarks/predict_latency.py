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

Both are measured at each ``--strides`` value (default: every frame, the default, and every second
frame, which cost no F1 on the main folds of ``benchmarks/actor_cv.py``'s 52 real clips). The ratio
has a ceiling that no start-up work can lift: one call each costs start-up S plus detection D per
clip, one call about D per clip, so the ratio stays under (S + D) / D; the script prints it from the
measured phases.

    python3 benchmarks/predict_latency.py
    python3 benchmarks/predict_latency.py --clips 5 --strides 1
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
from contextlib import contextmanager
from pathlib import Path

from _data import LABELLED_CLIPS, REPO, SHARED, machine, record

SECONDS = 5.0
PHASES = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from cascade.detect import DetectOptions, detect_videos
from cascade.detect.detector import Detector
from cascade.pipeline import Cascade, CascadeSettings
t1 = time.perf_counter()
detector = Detector(sys.argv[1], device="cpu")
t2 = time.perf_counter()
stride = int(sys.argv[4])
detect_videos({str(Path(sys.argv[3]).resolve()): sys.argv[3]}, sys.argv[2], DetectOptions(stride=stride),
              detector=detector, progress=False)
t3 = time.perf_counter()
Cascade.from_run_dir(sys.argv[2], CascadeSettings(device="cpu", detect=DetectOptions(weights=sys.argv[1], device="cpu", stride=stride))).predict_many([sys.argv[3]])
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
    from cascade.heads.checkpoint import head_path, save_head
    from cascade.heads.inputs import HeadInput
    from cascade.heads.model import build_head, head_meta

    run = work / "run"
    for group in GROUPS:
        if not head_path(run, group).exists():
            model, _ = build_head(group, "none")
            save_head(head_path(run, group), model, head_meta(group, HeadInput(224, False, 0.1), "random", {"by": "benchmark"}))
    return run


@contextmanager
def fresh_run(run: Path):
    """A throwaway copy of ``run``, so that a timed call finds no detections cached."""
    fresh = Path(tempfile.mkdtemp(prefix="bench-predict-")) / "run"
    shutil.copytree(run, fresh)
    try:
        yield fresh
    finally:
        shutil.rmtree(fresh.parent, ignore_errors=True)


def predict(clips: list[Path], run: Path, weights: Path, stride: int) -> float:
    """Seconds for one fresh ``cascade predict`` process over ``clips`` on a fresh copy of ``run``."""
    with fresh_run(run) as fresh:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cascade.cli.main", "predict", *map(str, clips), "--run-dir", str(fresh),
                        "--weights", str(weights), "--device", "cpu", "--stride", str(stride), "--json"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start


def phases(clip: Path, run: Path, weights: Path, stride: int) -> dict[str, float]:
    """Seconds of each phase of one clip's prediction, in one fresh process on a fresh copy of ``run``."""
    with fresh_run(run) as fresh:
        done = subprocess.run([sys.executable, "-c", PHASES, str(weights), str(fresh), str(clip), str(stride)], check=True,
                              capture_output=True, text=True)
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=17, help="clips for the many-clips comparison")
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "bench-predict")
    parser.add_argument("--weights", type=Path, default=SHARED / "weights" / "yolo11n_int8_openvino_model")
    parser.add_argument("--strides", type=int, nargs="+", default=[1, 2], help="detect every N-th frame")
    args = parser.parse_args()
    clips, run = short_clips(args.work, args.clips), heads_run(args.work)
    print(f"machine: {machine()}")
    print(f"clips: {len(clips)} real clips, first {SECONDS:g} s each at their own size; weights {args.weights.name}")

    predict(clips[:1], run, args.weights, 1)  # warm-up, not recorded: file cache, OpenVINO's compiled blobs
    figures = {"clip_seconds": SECONDS, "clips": len(clips)}
    for stride in args.strides:
        figures[f"stride_{stride}"] = measure(clips, run, args.weights, stride)
    record("predict_latency", figures)


def measure(clips: list[Path], run: Path, weights: Path, stride: int) -> dict:
    """Both comparisons at one stride, printed and returned."""
    cold = predict(clips[:1], run, weights, stride)
    split = phases(clips[0], run, weights, stride)
    print(f"\n--stride {stride}" + (" (the default: every frame)" if stride == 1 else ""))
    print(f"one clip, cold, end to end: {cold:6.1f} s (goal < 10 s)")
    print("  in one process: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in split.items()))
    one_call = predict(clips, run, weights, stride)
    each = sum(predict([clip], run, weights, stride) for clip in clips)
    ceiling = cold / split["detection"]  # (start-up + detection) / detection, for the first clip
    print(f"{len(clips)} clips, one call each: {each:6.1f} s")
    print(f"{len(clips)} clips, one call:      {one_call:6.1f} s")
    print(f"ratio one call each / one call: {each / one_call:.2f}x (goal >= 3x; "
          f"ceiling for clips like the first: {ceiling:.2f}x)")
    return {"cold_one_clip_s": round(cold, 2), "phases_s": {k: round(v, 2) for k, v in split.items()},
            "one_call_each_s": round(each, 1), "one_call_s": round(one_call, 1), "ratio": round(each / one_call, 2),
            "ceiling": round(ceiling, 2)}


if __name__ == "__main__":
    main()
