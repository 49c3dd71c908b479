"""Detection throughput: the naive per-frame loop against `cascade detect`, same clips, same weights.

Naive: decode each video with OpenCV and call Ultralytics' ``model.predict(frame)`` on every frame.
cascade: ``detect_videos`` (parallel decoding workers, device letterbox, batched inference, batched
NMS, atomic cache), timed end to end including model load and worker start. The clips are the real
clips re-encoded at 320 px high and cut to A2D's mean length; the video list is repeated to make a
workload of ``--frames`` frames.

Weights: a YOLO11n built from its YAML with a fixed seed (same architecture as the COCO model,
random weights; no COCO .pt is on disk here), saved once so that both sides load the same weights.
On the CPU the issue allows OpenVINO weights as the faster path: the same weights are exported to
an OpenVINO model (dynamic shape) and both the naive loop and cascade are also timed on it.

    python benchmarks/detect_throughput.py --device cuda --frames 60000
    python benchmarks/detect_throughput.py --device cpu --frames 1500
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import torch

from _data import A2D_MEAN_FRAMES, REPO, a2d_sized_release, machine
from cascade.data import open_dataset
from cascade.detect import DetectOptions, detect_videos
from cascade.labels import COCO_CLASSES


def random_yolo(folder: Path) -> Path:
    """YOLO11n from its YAML, seeded, saved as .pt so every side loads identical weights."""
    from ultralytics import YOLO

    path = folder / "yolo11n-random.pt"
    if not path.exists():
        torch.manual_seed(0)
        YOLO("yolo11n.yaml", task="detect").save(str(path))
    return path


def openvino_export(weights: Path, imgsz: int) -> Path:
    from ultralytics import YOLO

    target = weights.with_name(weights.stem + "_openvino_model")
    if not target.exists():
        YOLO(str(weights), task="detect").export(format="openvino", imgsz=imgsz, dynamic=True)
    return target


def naive(weights: Path, videos: list[Path], frames: int, imgsz: int, device: str) -> float:
    """frames/s of decode + model.predict(frame) one frame at a time."""
    from ultralytics import YOLO

    model = YOLO(str(weights), task="detect")
    kwargs = dict(imgsz=imgsz, conf=0.05, classes=list(COCO_CLASSES), verbose=False, device=device)
    first = cv2.VideoCapture(str(videos[0])).read()[1]
    model.predict(first, **kwargs)  # warm-up, not timed
    done, start = 0, time.perf_counter()
    for path in itertools.cycle(videos):
        capture = cv2.VideoCapture(str(path))
        while done < frames:
            ok, frame = capture.read()
            if not ok:
                break
            model.predict(frame, **kwargs)
            done += 1
        capture.release()
        if done >= frames:
            break
    return done / (time.perf_counter() - start)


def ours(weights: Path, videos: list[Path], frames: int, imgsz: int, device: str, batch: int | None,
         workers: int | None) -> tuple[float, float]:
    """(end-to-end frames/s including model load and worker start, frames/s of the detection loop)."""
    copies = -(-frames // (A2D_MEAN_FRAMES * len(videos)))
    todo = {f"{p.stem}-{i}": p for i in range(copies) for p in videos}
    run = Path(tempfile.mkdtemp(prefix="bench-detect-"))
    try:
        start = time.perf_counter()
        report = detect_videos(todo, run, DetectOptions(weights=str(weights), imgsz=imgsz, device=device, batch=batch,
                                                     workers=workers), progress=False)
        wall = time.perf_counter() - start
    finally:
        shutil.rmtree(run, ignore_errors=True)
    return report.frames / wall, report.fps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--frames", type=int, default=None, help="frames for cascade (default: 60000 GPU, 1500 CPU)")
    parser.add_argument("--naive-frames", type=int, default=None, help="frames for the naive loop (default: 1000 GPU, 300 CPU)")
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--data", type=Path, default=REPO / "runs" / "bench-release")
    parser.add_argument("--clips", type=Path, default=None)
    args = parser.parse_args()
    gpu = args.device.startswith("cuda")
    frames = args.frames or (60000 if gpu else 1500)
    naive_frames = args.naive_frames or (1000 if gpu else 300)

    release = a2d_sized_release(args.data, args.clips)
    videos = [Path(p) for p in open_dataset(release).video_paths().values()]
    weights = random_yolo(args.data)
    print(f"machine: {machine()}")
    print(f"clips: {len(videos)} real clips at 320 px high, {sum(cv2.VideoCapture(str(v)).get(7) for v in videos):.0f} frames, "
          f"repeated to {frames} frames for cascade; naive loop timed on {naive_frames} frames")
    print(f"weights: YOLO11n from yolo11n.yaml, seed 0 (random weights: same work as the COCO model), imgsz {args.imgsz}")

    naive_fps = naive(weights, videos, naive_frames, args.imgsz, args.device)
    wall_fps, loop_fps = ours(weights, videos, frames, args.imgsz, args.device, args.batch, args.workers)
    print(f"naive model.predict per frame ({weights.suffix}):  {naive_fps:8.1f} frames/s")
    print(f"cascade detect ({weights.suffix}), end to end:     {wall_fps:8.1f} frames/s   (detection loop {loop_fps:.1f})")
    print(f"ratio cascade / naive:                {wall_fps / naive_fps:8.2f}x")
    print(f"projected full A2D pass (513,214 frames): naive {513214 / naive_fps / 60:.1f} min, "
          f"cascade {513214 / wall_fps / 60:.1f} min")
    if not gpu:
        exported = openvino_export(weights, args.imgsz)
        naive_ov = naive(exported, videos, naive_frames, args.imgsz, "cpu")
        wall_ov, loop_ov = ours(exported, videos, frames, args.imgsz, "cpu", args.batch, args.workers)
        print(f"naive model.predict per frame (OpenVINO export): {naive_ov:8.1f} frames/s")
        print(f"cascade detect (OpenVINO export), end to end:    {wall_ov:8.1f} frames/s   (detection loop {loop_ov:.1f})")
        print(f"ratio cascade OpenVINO / naive .pt:   {wall_ov / naive_fps:8.2f}x")
        print(f"ratio cascade OpenVINO / naive OpenVINO: {wall_ov / naive_ov:5.2f}x")


if __name__ == "__main__":
    main()
