"""How cascade starts worker processes for decoding.

Forking the main process is fast but unsafe once it runs threads: OpenCV's thread pool (or CUDA,
or OpenVINO) can leave locks held in the child, which then deadlocks - seen on 16-core machines
after the parent had used OpenCV. Spawning is safe but every worker re-imports torch and OpenCV
(seconds each). A forkserver gets both: one clean, single-threaded server imports the decoding
modules once, and workers are forked from it in milliseconds.
"""

from __future__ import annotations

import multiprocessing
import os

#: Modules the fork server imports once, so that forked workers start with them loaded.
PRELOAD = ["cascade.detect.decoding"]


def worker_context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_workers(jobs: int, on_gpu: bool) -> int:
    """Decoding processes for a detector. On a GPU, leave a core or two for the process feeding the
    device, and never more workers than jobs. On the CPU none: the network's own threads already use
    every core, so a decoding process only competes with them and costs its start-up (~1.5 s). On 2
    cores (``benchmarks/predict_latency.py``) a 5-second clip took 0.87x the wall time decoded in
    this process (7 paired runs); 17 clips in one call were within noise (0.90-0.92x across two
    benchmark runs, 1.05x in 2 paired runs)."""
    if not on_gpu:
        return 0
    cores = available_cores()
    return max(1, min(cores - 2 if cores > 4 else cores - 1, jobs))
