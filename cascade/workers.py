"""How cascade starts worker processes for decoding.

Forking is cheap (workers start in milliseconds, sharing the parent's imports) but unsafe once the
parent has initialised CUDA; spawning is always safe but each worker re-imports torch and OpenCV
(seconds). So: fork while CUDA is untouched, spawn after.
"""

from __future__ import annotations

import multiprocessing
import os

import torch


def worker_context() -> multiprocessing.context.BaseContext:
    method = "fork" if os.name == "posix" and not torch.cuda.is_initialized() else "spawn"
    return multiprocessing.get_context(method)


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_workers(jobs: int) -> int:
    """Leave a core or two for the process feeding the device; never more workers than jobs."""
    cores = available_cores()
    return max(1, min(cores - 2 if cores > 4 else cores - 1, jobs))
