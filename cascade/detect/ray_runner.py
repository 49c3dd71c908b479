"""The Ray runner: detection over many machines, each worker committing straight into the run's cache.

``--ray local`` starts Ray on this machine; ``--ray auto`` joins the cluster this machine belongs to
(``ray start --head`` / ``ray start --address``); ``--ray ray://host:10001`` connects through Ray
Client. The videos still to detect are dealt into shards of a few videos; each shard runs on a
worker, a Ray actor that loads the detector once and runs the same local runner as a single process
(:func:`cascade.detect.local.run_locally`, decoding where the worker runs), committing each finished
video as its own part into ``RUN/detections/`` (a :class:`~cascade.store.PartStore`: parts named
uniquely, the index under a file lock, so workers never lose each other's videos). The driver only
deals shards and gathers reports: it never holds the detections. So:

* a worker killed mid-shard is restarted by Ray and the shard retried (``MAX_RETRIES``); the retry
  skips the videos already committed; nothing is lost or doubled;
* a killed driver leaves every video its workers committed; the next run, on Ray or not, detects
  only what is missing, as after a killed single-process run.

Every node must read the videos and the run directory at the same paths (shared storage, as is
usual on a cluster, with working POSIX file locks: NFSv4 and Lustre have them), and have cascade installed; each worker checks this before it starts and a
node that cannot is one clear error. One worker per GPU (``--ray-gpus-per-worker``, 1 where the
cluster has GPUs), else per ``--ray-cpus-per-worker`` CPUs (default 1).

Example::

    detect_videos(videos, "runs", DetectOptions(ray="local", ray_cpus_per_worker=1))
    # cascade detect --data A2D --run-dir /shared/runs --ray auto
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
from collections import deque
from dataclasses import replace
from typing import Mapping

from tqdm import tqdm

from cascade.detect.cache import DetectionCache
from cascade.detect.options import DetectOptions
from cascade.detect.report import DetectReport
from cascade.errors import CascadeError

log = logging.getLogger(__name__)

MAX_RETRIES = 3  # restarts of a killed worker, and retries of the shard it was running
SHARDS_PER_WORKER = 4  # at least this many shards per worker, so that fast workers take more
MAX_SHARD_VIDEOS = 64
FORWARDED_ENV = ("YOLO_OFFLINE", "CASCADE_WEIGHTS")  # given to the workers when set here


class ShardWorker:
    """A Ray actor: one detector, loaded once, detecting shard after shard."""

    def __init__(self, options: DetectOptions, device: str) -> None:
        from cascade.detect.detector import Detector

        self.options = options
        self.detector = Detector(self.options.weights, imgsz=self.options.imgsz, device=device)

    def settings(self) -> dict:
        return {**self.detector.describe(), "stride": self.options.stride}

    def unreadable(self, paths: list[str], run_dir: str) -> tuple[str, list[str]]:
        """This node's name and the paths it cannot use: videos it cannot read, a run dir it cannot write."""
        missing = [p for p in paths if not os.access(p, os.R_OK)]
        return socket.gethostname(), missing + ([] if os.access(run_dir, os.W_OK) else [run_dir])

    def detect_shard(self, run_dir: str, videos: list[tuple[str, str]]) -> dict:
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
    if detector is not None:
        raise CascadeError("--ray starts its own detectors on the workers; do not pass a loaded detector")
    ray = _import_ray()
    started = _connect(ray, options.ray)
    try:
        report = DetectReport(str(cache.path), {})
        _run(ray, todo, cache, options, frame_counts, progress, report)
        return report
    finally:
        if started:
            ray.shutdown()


def _import_ray():
    try:
        import ray
    except ImportError:
        raise CascadeError("--ray needs Ray: pip install 'cascade[ray]' (or pip install ray)") from None
    return ray


def _connect(ray, address: str) -> bool:
    """Start or join Ray; True when this call started the connection (and must end it)."""
    if ray.is_initialized():
        return False
    env = {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}
    kwargs = dict(include_dashboard=False, log_to_driver=False, logging_level="ERROR",
                  runtime_env={"env_vars": env} if env else None)
    try:
        if address == "local":
            from cascade.workers import available_cores

            ray.init(address="local", num_cpus=available_cores(), **kwargs)
        else:
            ray.init(address=address, **kwargs)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CascadeError(f"--ray {address}: cannot start or join Ray ({first_line}); use --ray local on one "
                           "machine, or start a cluster with `ray start --head` and pass --ray auto") from None
    return True


def _run(ray, todo, cache, options, frame_counts, progress, report) -> None:
    resources = ray.cluster_resources()
    gpus = options.ray_gpus_per_worker
    if gpus is None:
        gpus = 1.0 if resources.get("GPU", 0) and options.device != "cpu" else 0.0
    cpus = options.ray_cpus_per_worker or 1.0
    slots = int(resources.get("GPU", 0) // gpus) if gpus else int(resources.get("CPU", 1) // cpus)
    if slots < 1:
        raise CascadeError(f"--ray {options.ray}: the cluster has {resources.get('CPU', 0):g} CPUs and "
                           f"{resources.get('GPU', 0):g} GPUs, too few for one worker of {cpus:g} CPUs and {gpus:g} GPUs")
    shards = _shards(todo, slots)
    workers_inside = options.workers if options.workers is not None else max(0, int(cpus) - 1)
    worker_options = replace(options, workers=workers_inside, ray=None)
    actor = ray.remote(num_cpus=cpus, num_gpus=gpus, max_restarts=MAX_RETRIES, max_task_retries=MAX_RETRIES)(ShardWorker)
    workers = [actor.remote(worker_options, "cuda" if gpus else "cpu") for _ in range(min(slots, len(shards)))]
    run_dir = str(cache.path.parent.resolve())
    cache.path.parent.mkdir(parents=True, exist_ok=True)
    _check_nodes(ray, workers, [p for _, p in todo if os.access(p, os.R_OK)], run_dir)
    report.settings = ray.get(workers[0].settings.remote())
    cache.check_settings(report.settings)  # before any work: a cache made otherwise is refused now
    _dispatch(ray, workers, shards, run_dir, frame_counts, progress, report, options)
    # counted from the cache, not from the workers' reports: a killed worker's report is lost with it,
    # while the videos it had committed are in the cache and were not detected again
    report.videos_done = len({v for v, _ in todo} & cache.videos())


def _shards(todo: list[tuple[str, str]], slots: int) -> list[list[tuple[str, str]]]:
    count = min(len(todo), max(SHARDS_PER_WORKER * slots, math.ceil(len(todo) / MAX_SHARD_VIDEOS)))
    return [todo[i::count] for i in range(count)]


def _check_nodes(ray, workers, paths: list[str], run_dir: str) -> None:
    """Every worker's node must read the videos and write the run dir at the same paths (``paths``: those
    this machine reads; one missing here too is skipped and listed, as by the single-process runner)."""
    for host, missing in ray.get([w.unreadable.remote(paths, run_dir) for w in workers]):
        if missing:
            raise CascadeError(
                f"{missing[0]}: not readable (or, for the run dir, not writable) on Ray node {host} "
                f"({len(missing)} path(s) in all); with --ray, every node must see the videos and the run "
                "directory at the same paths (shared storage)")


def _dispatch(ray, workers, shards, run_dir: str, frame_counts, progress, report, options) -> None:
    from cascade.detect.local import expected_frames

    queue = deque(shards)
    running: dict = {}
    start = time.monotonic()

    def submit(worker) -> None:
        running[worker.detect_shard.remote(run_dir, queue.popleft())] = worker

    total = expected_frames([v for shard in shards for v in shard], options.stride, frame_counts)
    with tqdm(total=total or None, unit="frame", desc="detect (ray)", disable=not progress) as bar:
        for worker in workers:
            if queue:
                submit(worker)
        while running:
            done, _ = ray.wait(list(running), num_returns=1)
            worker = running.pop(done[0])
            try:
                result = ray.get(done[0])
            except ray.exceptions.RayActorError as exc:
                raise CascadeError(f"a Ray worker died {MAX_RETRIES + 1} times ({str(exc).splitlines()[0][:200]}); "
                                   "finished videos are saved: run again to continue") from None
            if queue:
                submit(worker)
            report.frames += result["frames"]
            report.failed.update(result["failed"])
            bar.update(result["frames"])
    report.seconds = time.monotonic() - start
