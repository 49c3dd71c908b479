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
PRELOAD = ["cascade.data.decoding"]


def worker_context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_workers(jobs: int) -> int:
    """Leave a core or two for the process feeding the device; never more workers than jobs."""
    cores = available_cores()
    return max(1, min(cores - 2 if cores > 4 else cores - 1, jobs))
