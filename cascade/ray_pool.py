"""The Ray pool: shards of videos on Ray workers that commit straight into a run's cache.

Detection (:mod:`cascade.detect.ray_runner`) and features (:mod:`cascade.features.ray_runner`) are
both "for each video the cache lacks, an expensive pass, then a commit into a
:class:`~cascade.store.PartStore`", so they share one way of running on a cluster: ``--ray local``
starts Ray on this machine; ``--ray auto`` joins the cluster this machine belongs to (``ray start
--head`` / ``ray start --address``); ``--ray ray://host:10001`` connects through Ray Client. The videos
still to do are dealt into shards of a few videos; each shard runs on a worker, a Ray actor that loads
its models once (a subclass of :class:`PoolWorker`) and runs the same local runner a single process
runs, committing each finished video as its own part (parts named uniquely, the index under a file
lock, so workers never lose each other's videos). The driver only deals shards and gathers reports:
it never holds the rows. So:

* a worker killed mid-shard is restarted by Ray and the shard retried (``MAX_RETRIES``); the retry
  skips the videos already committed; nothing is lost or doubled;
* a killed driver leaves every video its workers committed; the next run, on Ray or not, does only
  what is missing, as after a killed single-process run.

Every node must read the videos and the run directory at the same paths (shared storage, as is usual
on a cluster, with working POSIX file locks: NFSv4 and Lustre have them), and have cascade installed;
each worker checks this before it starts, and a node that cannot is one clear error. Every worker must
also make rows with the same settings (the same weights on every node): the driver compares them
before any work.

Example::

    report = run_pool(DetectWorker, (options, "cpu"), todo, "runs", RayOptions("local"), check=cache.check_settings)
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Sequence

from cascade import defaults
from cascade.errors import CascadeError

log = logging.getLogger(__name__)

MAX_RETRIES = 3  # restarts of a killed worker, and retries of the shard it was running
SHARDS_PER_WORKER = 4  # at least this many shards per worker, so that fast workers take more
MAX_SHARD_VIDEOS = 64
#: given to the workers when set here: offline Ultralytics, and where the weights lie
FORWARDED_ENV = ("YOLO_OFFLINE", "CASCADE_WEIGHTS", "CASCADE_PRETRAINED")


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide to run: ``address`` (local, auto or ray://host:port), CPUs and GPUs per worker
    (``gpus_per_worker`` None: 1 where the cluster has GPUs and ``device`` is not the CPU)."""

    address: str
    cpus_per_worker: float | None = None
    gpus_per_worker: float | None = None
    device: str = defaults.DEVICE


@dataclass
class PoolReport:
    """What the workers reported: frames done, videos that failed (video -> why), seconds, settings."""

    frames: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    settings: dict = field(default_factory=dict)


class PoolWorker:
    """A Ray actor's base: subclasses load their models once in ``__init__`` and define
    :meth:`settings` (what their rows are made with) and :meth:`run_shard`."""

    def unreadable(self, paths: list[str], run_dir: str) -> tuple[str, list[str]]:
        """This node's name and the paths it cannot use: videos it cannot read, a run dir it cannot write."""
        missing = [p for p in paths if not os.access(p, os.R_OK)]
        return socket.gethostname(), missing + ([] if os.access(run_dir, os.W_OK) else [run_dir])

    def settings(self) -> dict:
        raise NotImplementedError

    def run_shard(self, run_dir: str, videos: list[tuple[str, str]]) -> dict:
        """Do the shard's videos the run's cache lacks, committing each as it finishes; returns
        ``{"frames": int, "failed": {video: why}}``."""
        raise NotImplementedError


def run_pool(worker: type[PoolWorker], worker_args: tuple, todo: list[tuple[str, str]], run_dir: str,
             options: RayOptions, *, check: Callable[[dict], None], gpus: bool = True, desc: str = "ray",
             total_frames: int = 0, progress: bool = True) -> PoolReport:
    """Run ``todo`` (video, path) pairs on Ray workers of class ``worker`` (built with ``worker_args``,
    the device "cuda" or "cpu" appended), writing into ``run_dir``. ``check`` sees the workers' settings
    before any work (a cache made otherwise refuses them there); ``gpus`` False keeps workers off GPUs
    (CPU work); ``total_frames`` sizes the progress bar (0: unknown)."""
    ray = _import_ray()
    started = _connect(ray, options.address)
    try:
        return _run(ray, worker, worker_args, todo, run_dir, options, check, gpus, desc, total_frames, progress)
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


def _run(ray, worker, worker_args, todo, run_dir, options, check, use_gpus, desc, total_frames, progress) -> PoolReport:
    resources = ray.cluster_resources()
    gpus = options.gpus_per_worker if use_gpus else 0.0
    if gpus is None:
        gpus = 1.0 if resources.get("GPU", 0) and options.device != "cpu" else 0.0
    cpus = options.cpus_per_worker or 1.0
    slots = int(resources.get("GPU", 0) // gpus) if gpus else int(resources.get("CPU", 1) // cpus)
    if slots < 1:
        raise CascadeError(f"--ray {options.address}: the cluster has {resources.get('CPU', 0):g} CPUs and "
                           f"{resources.get('GPU', 0):g} GPUs, too few for one worker of {cpus:g} CPUs and {gpus:g} GPUs")
    shards = _shards(todo, slots)
    actor = ray.remote(num_cpus=cpus, num_gpus=gpus, max_restarts=MAX_RETRIES, max_task_retries=MAX_RETRIES)(worker)
    workers = [actor.remote(*worker_args, "cuda" if gpus else "cpu") for _ in range(min(slots, len(shards)))]
    os.makedirs(run_dir, exist_ok=True)
    _check_nodes(ray, workers, [p for _, p in todo if os.access(p, os.R_OK)], run_dir)
    report = PoolReport(settings=_same_settings(ray, workers))
    check(report.settings)  # before any work: a cache made otherwise is refused now
    _dispatch(ray, workers, shards, run_dir, desc, total_frames, progress, report)
    return report


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


def _same_settings(ray, workers: Sequence) -> dict:
    """The workers' one settings: two nodes with other weights would mix rows that mean other things."""
    found = ray.get([w.settings.remote() for w in workers])
    differ = [s for s in found if s != found[0]]
    if differ:
        keys = sorted(k for k in found[0] if found[0].get(k) != differ[0].get(k))
        raise CascadeError(f"--ray: workers on different nodes load different models ({', '.join(keys)}: "
                           f"{[found[0].get(k) for k in keys]} and {[differ[0].get(k) for k in keys]}); give every "
                           "node the same weights at the same path")
    return found[0]


def _dispatch(ray, workers, shards, run_dir: str, desc: str, total_frames: int, progress: bool,
              report: PoolReport) -> None:
    from tqdm import tqdm  # not on import: DetectOptions imports RayOptions, and every command imports it

    queue = deque(shards)
    running: dict = {}
    start = time.monotonic()

    def submit(worker) -> None:
        running[worker.run_shard.remote(run_dir, queue.popleft())] = worker

    with tqdm(total=total_frames or None, unit="frame", desc=f"{desc} (ray)", disable=not progress) as bar:
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
