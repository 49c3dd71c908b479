"""Detection on Ray against the single-process path: same clips, same weights, one run.

Three sides over the same videos, each into a fresh run dir:

* single process: ``detect_videos`` as ``cascade detect`` runs it (decoding workers + one detector);
* ``--ray local`` with one worker holding every core (``ray_cpus_per_worker`` = cores: inside it the
  same decoding workers and detector), so the difference is Ray's own cost;
* ``--ray local`` with one worker per core (each decodes in its own process).

Each is timed end to end (Ray's start, actor and model load included) and by its detection loop
(``DetectReport.fps``: from the first dispatched shard to the last merge). Goal (issue 12): Ray with
one worker within 15 % of the single process. Then a worked estimate of a Kinetics-size pass from a
per-GPU rate (default: the H100 figure in RESULTS.md) and the measured Ray efficiency.

The clips are the real clips re-encoded at 320 px and cut to A2D's mean length (136 frames); the
weights are the COCO YOLO11n OpenVINO INT8 export from ../shared/weights.

    python3 benchmarks/ray_scaling.py
    python3 benchmarks/ray_scaling.py --videos 8
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from _data import REPO, SHARED, a2d_sized_release, machine, record
from cascade.data import open_dataset
from cascade.detect import DetectOptions, detect_videos
from cascade.workers import available_cores

H100_FPS = 2349.3  # RESULTS.md, detection throughput, 2026-11-22 H100 final: frames/s end to end
KINETICS_FRAMES = 200e6  # Kinetics-700: about 650,000 clips of about 10 s


def timed(videos: dict[str, Path], weights: Path, **options) -> tuple[float, float, int]:
    """(frames/s end to end, frames/s of the detection loop, frames) of one fresh run."""
    run = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    try:
        start = time.perf_counter()
        report = detect_videos(videos, run, DetectOptions(weights=str(weights), device="cpu", **options), progress=False)
        wall = time.perf_counter() - start
    finally:
        shutil.rmtree(run, ignore_errors=True)
    if report.failed:
        raise SystemExit(f"videos failed to decode: {report.failed}")
    return report.frames / wall, report.fps, report.frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=None, help="use only the first N videos (default: all 16)")
    parser.add_argument("--data", type=Path, default=REPO / "runs" / "bench-release")
    parser.add_argument("--weights", type=Path, default=SHARED / "weights" / "yolo11n_int8_openvino_model")
    parser.add_argument("--gpu-fps", type=float, default=H100_FPS, help="per-GPU frames/s for the Kinetics estimate")
    args = parser.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a private local Ray: no token warning per start

    release = a2d_sized_release(args.data)
    paths = open_dataset(release).video_paths()
    videos = {v: Path(p) for v, p in sorted(paths.items())[: args.videos]}
    cores = available_cores()
    print(f"machine: {machine()}; {cores} cores for detection")
    sides = {
        "single process": {},
        "ray local, 1 worker": {"ray": "local", "ray_cpus_per_worker": cores},
        f"ray local, {cores} workers": {"ray": "local", "ray_cpus_per_worker": 1},
    }
    timed(dict(list(videos.items())[:1]), args.weights)  # warm-up, not recorded: file cache, model compile
    figures: dict[str, dict] = {}
    for name, options in sides.items():
        wall, loop, frames = timed(videos, args.weights, **options)
        figures[name] = {"end_to_end_fps": round(wall, 1), "loop_fps": round(loop, 1), "frames": frames}
        print(f"{name:24s} {wall:7.1f} frames/s end to end, {loop:7.1f} in the detection loop ({frames} frames)")
    single, one = figures["single process"], figures["ray local, 1 worker"]
    many = figures[f"ray local, {cores} workers"]
    ratio_wall = one["end_to_end_fps"] / single["end_to_end_fps"]
    ratio_loop = one["loop_fps"] / single["loop_fps"]
    print(f"ratio ray 1 worker / single process: {ratio_wall:.2f}x end to end, {ratio_loop:.2f}x in the loop "
          f"(goal: >= 0.85)")
    print(f"ratio ray {cores} workers / single process: {many['end_to_end_fps'] / single['end_to_end_fps']:.2f}x "
          "end to end")
    # a Kinetics-size pass runs for hours: Ray's start-up (seconds) vanishes, its steady cost remains
    efficiency = min(1.0, ratio_loop)  # more than 1 is noise, not a speed-up
    hours_one = KINETICS_FRAMES / args.gpu_fps / 3600
    estimate = {gpus: round(hours_one / gpus / efficiency, 2) for gpus in (1, 8, 64)}
    print(f"Kinetics-size pass ({KINETICS_FRAMES / 1e6:.0f} M frames) at {args.gpu_fps:.0f} frames/s per GPU, "
          f"Ray efficiency {efficiency:.2f}: " + ", ".join(f"{g} GPUs {h} h" for g, h in estimate.items()))
    record("ray_scaling", {"videos": len(videos), **figures, "ray_1_worker_over_single_end_to_end": round(ratio_wall, 3),
                           "ray_1_worker_over_single_loop": round(ratio_loop, 3), "gpu_fps": args.gpu_fps,
                           "kinetics_hours_by_gpus": estimate})


if __name__ == "__main__":
    main()
