"""The local runner: decoding workers on this machine feed one detector; finished videos are committed.

Worker processes decode videos into chunks of frames (shared memory, pinned for a GPU) while the
model loads; the :class:`~cascade.detect.engine.BatchEngine` turns them into batches on the device.
Finished videos are committed to the cache at least every ``commit_every`` seconds, and on an
interrupt too, so a killed run loses at most the videos since the last commit.
"""

from __future__ import annotations

import time
from typing import Mapping

import pyarrow as pa
from torch.utils.data import DataLoader
from tqdm import tqdm

from cascade.detect.decoding import DecodedChunks
from cascade.data.frames import declared_frame_count
from cascade.detect.cache import DetectionCache
from cascade.detect.engine import BatchEngine
from cascade.detect.options import DetectOptions
from cascade.detect.report import DetectReport
from cascade.errors import CascadeError
from cascade.detect.detector import Detector
from cascade.device import select_device
from cascade.workers import default_workers, worker_context


def run_locally(todo: list[tuple[str, str]], cache: DetectionCache, options: DetectOptions,
                detector: Detector | None, frame_counts: Mapping[str, int], commit_every: float,
                progress: bool) -> DetectReport:
    """Detect ``todo`` (video, path) pairs on this machine into ``cache``."""
    on_gpu = (detector.device if detector else select_device(options.device)).type == "cuda"
    batch = options.batch_for("cuda" if on_gpu else "cpu")
    workers = default_workers(len(todo), on_gpu) if options.workers is None else options.workers
    loader = DataLoader(
        DecodedChunks(todo, options.stride, chunk=min(batch, options.chunk)), batch_size=None, num_workers=workers,
        pin_memory=on_gpu, multiprocessing_context=worker_context() if workers else None,
        prefetch_factor=options.prefetch if workers else None,
    )
    chunks = iter(loader)  # start decoding while the model loads
    detector = detector or Detector(options.weights, imgsz=options.imgsz, device=options.device)
    settings = {**detector.describe(), "stride": options.stride}
    cache.check_settings(settings)
    report = DetectReport(str(cache.path), settings)
    engine = BatchEngine(detector, batch)
    new: list[pa.Table] = []
    last_commit = start = time.monotonic()
    total = expected_frames(todo, options.stride, frame_counts)
    with tqdm(total=total, unit="frame", desc="detect", disable=not progress) as bar:
        try:
            for chunk in chunks:
                new += [engine.table(v) for v in engine.add(chunk)]
                bar.update(len(chunk.numbers))
                if new and time.monotonic() - last_commit >= commit_every:
                    cache.commit(new, settings)
                    report.videos_done += len(new)
                    new, last_commit = [], time.monotonic()
            new += [engine.table(v) for v in engine.flush()]
        finally:
            cache.commit(new, settings)  # on an interrupt too: finished videos are never lost
            report.videos_done += len(new)
    report.frames = engine.frames_finished
    report.seconds = time.monotonic() - start
    report.failed = engine.failed
    return report


def expected_frames(videos: list[tuple[str, str]], stride: int, known: Mapping[str, int]) -> int:
    """Frames the run will detect (for the progress bar): known counts, else what containers declare."""
    total = 0
    for video, path in videos:
        try:
            total += -(-(known.get(video) or declared_frame_count(path)) // stride)
        except CascadeError:  # a missing or unreadable video: reported when it is decoded
            pass
    return total
