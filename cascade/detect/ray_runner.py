"""The Ray runner for detection: each worker loads the detector once and commits straight into the cache.

The pool (:mod:`cascade.ray_pool`: ``--ray local|auto|ray://host:port``, shards, retries of a killed
worker, nodes checked for shared paths) deals the videos still to detect; each worker runs the same
local runner as a single process (:func:`cascade.detect.local.run_locally`, decoding where the worker
runs), committing each finished video as its own part into ``RUN/detections/``. One worker per GPU
(``--ray-gpus-per-worker``, 1 where the cluster has GPUs), else per ``--ray-cpus-per-worker`` CPUs
(default 1).

Example::

    detect_videos(videos, "runs", DetectOptions(ray="local", ray_cpus_per_worker=1))
    # cascade detect --data A2D --run-dir /shared/runs --ray auto
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping

from cascade.detect.cache import DetectionCache
from cascade.detect.options import DetectOptions
from cascade.detect.report import DetectReport
from cascade.errors import CascadeError
from cascade.ray_pool import PoolWorker, run_pool


class DetectWorker(PoolWorker):
    """A Ray actor: one detector, loaded once, detecting shard after shard."""

    def __init__(self, options: DetectOptions, device: str) -> None:
        from cascade.detect.detector import Detector

        self.options = options
        self.detector = Detector(self.options.weights, imgsz=self.options.imgsz, device=device)

    def settings(self) -> dict:
        return {**self.detector.describe(), "stride": self.options.stride}

    def run_shard(self, run_dir: str, videos: list[tuple[str, str]]) -> dict:
        """Detect the shard's videos the run's cache lacks, committing each as it finishes (a retry skips
        what the killed attempt committed)."""
        from cascade.detect.local import run_locally

        cache = DetectionCache(run_dir)
        done = cache.videos()
        todo = [(v, p) for v, p in videos if v not in done]
        if not todo:
            return {"frames": 0, "failed": {}}
        report = run_locally(todo, cache, self.options, self.detector, {}, commit_every=0, progress=False)
        return {"frames": report.frames, "failed": report.failed}


def run_on_ray(todo: list[tuple[str, str]], cache: DetectionCache, options: DetectOptions, detector,
               frame_counts: Mapping[str, int], commit_every: float, progress: bool) -> DetectReport:
    """Detect ``todo`` (video, path) pairs on a Ray cluster into ``cache`` (see the module docstring).
    ``commit_every`` is not used: workers commit every video as it finishes, a part of its own."""
    from cascade.detect.local import expected_frames

    if detector is not None:
        raise CascadeError("--ray starts its own detectors on the workers; do not pass a loaded detector")
    cpus = options.ray_cpus_per_worker or 1.0
    workers_inside = options.workers if options.workers is not None else max(0, int(cpus) - 1)
    worker_options = replace(options, workers=workers_inside, ray=None)
    pool = run_pool(DetectWorker, (worker_options,), todo, str(cache.path.parent.resolve()), options.ray_options,
                    check=cache.check_settings, desc="detect", progress=progress,
                    total_frames=expected_frames(todo, options.stride, frame_counts))
    report = DetectReport(str(cache.path), pool.settings, frames=pool.frames, seconds=pool.seconds, failed=pool.failed)
    # counted from the cache, not from the workers' reports: a killed worker's report is lost with it,
    # while the videos it had committed are in the cache and were not detected again
    report.videos_done = len({v for v, _ in todo} & cache.videos())
    return report
