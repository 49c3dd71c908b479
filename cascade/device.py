"""Choosing the torch device from the ``--device`` flag."""

from __future__ import annotations

import torch

from cascade import defaults
from cascade.errors import CascadeError


def select_device(spec: str = defaults.DEVICE) -> torch.device:
    """``auto`` takes the first GPU when there is one; ``cuda``/``cuda:N`` must exist."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise CascadeError(f"unknown device {spec!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise CascadeError(f"device {spec!r} asked for, but no CUDA GPU is visible; use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise CascadeError(f"device {spec!r} does not exist; {torch.cuda.device_count()} GPU(s) visible")
    elif device.type != "cpu":
        raise CascadeError(f"unsupported device {spec!r}; use auto, cpu, cuda or cuda:N")
    return device
