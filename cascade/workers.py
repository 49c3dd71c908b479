"""How cascade starts worker processes for decoding.

Workers only decode video with OpenCV and numpy; they never touch CUDA. Forking is therefore safe
even after the parent has initialised CUDA (PyTorch's DataLoader forks in the same situation) and
starts workers in milliseconds, where spawning re-imports torch and OpenCV in every worker
(seconds each). Spawn is used only where fork does not exist.
"""

from __future__ import annotations

import multiprocessing
import os


def worker_context() -> multiprocessing.context.BaseContext:
    return multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_workers(jobs: int) -> int:
    """Leave a core or two for the process feeding the device; never more workers than jobs."""
    cores = available_cores()
    return max(1, min(cores - 2 if cores > 4 else cores - 1, jobs))
