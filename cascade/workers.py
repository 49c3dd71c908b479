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

from cascade import defaults

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


def default_workers(jobs: int, on_gpu: bool, frames: int) -> int:
    """Decoding processes for a detector: leave a core or two for the process feeding the device, and
    never more workers than jobs. On the CPU the network's own threads already use every core, so a
    decoding process only pays for its start-up on long jobs: under ``CPU_DECODE_IN_PROCESS_FRAMES``
    frames, decode in this process."""
    if not on_gpu and frames < defaults.CPU_DECODE_IN_PROCESS_FRAMES:
        return 0
    cores = available_cores()
    return max(1, min(cores - 2 if cores > 4 else cores - 1, jobs))
