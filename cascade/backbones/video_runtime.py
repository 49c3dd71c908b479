"""I3D at the hardware's limit: compiled by OpenVINO on a CPU, plain PyTorch on a GPU.

In plain PyTorch, I3D costs 0.5-1 s per 16-frame window at 224 px on two CPU cores, so a features pass
over a few hundred clips would take longer than everything else together. OpenVINO runs the same
network several times faster on a CPU: the module (:class:`~cascade.backbones.i3d.ClipEncoder`, which
takes uint8 clips) is converted once per clip shape (``openvino.convert_model``, a few seconds),
saved as OpenVINO IR beside the weights in cascade's data folder, and later processes only read and
compile it. OpenVINO picks the CPU's fastest precision (bf16 where the CPU has it, else f32); the
precision is recorded with the features (``benchmarks/i3d_speed.py`` measures both against PyTorch).
Without the ``openvino`` package, or on a GPU, PyTorch runs the module.

Example::

    network = VideoNetwork(Path("i3d.npz"), frames=16, imgsz=160)
    features, log_probs = network(clips)     # uint8 (N, 16, 160, 160, 3) -> (N, 1024), (N, 400)
    network.runtime                          # 'openvino 2026.4.1 bf16'
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import uuid
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from cascade.backbones.i3d import ClipEncoder, I3D, load_i3d
from cascade.backbones.i3d_weights import data_folder, read_weights
from cascade.errors import CascadeError
from cascade.fileio import file_id

log = logging.getLogger(__name__)
RUNTIMES = ("auto", "openvino", "torch")


class VideoNetwork:
    """I3D for clips of ``frames`` frames of ``imgsz`` pixels, ``batch`` clips per pass, on ``runtime``
    (``auto``: PyTorch on ``device`` when it is a GPU, else OpenVINO when installed, else PyTorch).
    ``weights``: an I3D weights file (:mod:`cascade.backbones.i3d_weights`); None: random weights.
    ``precision``: OpenVINO's inference precision (``f32``, ``bf16``; None: the fastest this CPU has)."""

    def __init__(self, weights: Path | None, frames: int, imgsz: int, runtime: str = "auto", batch: int = 1,
                 device: str | torch.device = "cpu", precision: str | None = None) -> None:
        if runtime not in RUNTIMES:
            raise CascadeError(f"unknown video runtime {runtime!r}; valid: {', '.join(RUNTIMES)}")
        self.frames, self.imgsz, self.batch = frames, imgsz, batch
        self.device = torch.device(device)
        self.init = "random" if weights is None else file_id(Path(weights))
        self.weights_file = None if weights is None else Path(weights).resolve()

        def encoder() -> ClipEncoder:  # built only where it runs or is converted: an IR already made needs none
            return ClipEncoder(I3D().eval() if weights is None else load_i3d(weights, read_weights(weights)))

        if runtime == "auto":
            runtime = "torch" if self.device.type == "cuda" or not _has_openvino() else "openvino"
        if runtime == "openvino":
            self._compiled = _compile(encoder, self.init, frames, imgsz, batch, precision)
            precision = self._compiled.get_property("INFERENCE_PRECISION_HINT").to_string()
            import openvino

            self.runtime = f"openvino {openvino.__version__.split('-')[0]} {precision}"
            self._encoder = None
        else:
            self._compiled = None
            self._encoder = encoder().to(self.device)
            self.runtime = f"torch {self.device.type}"

    def __call__(self, clips: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint8 RGB clips (N, frames, imgsz, imgsz, 3) -> float32 features (N, 1024) and log-probabilities (N, 400)."""
        features, log_probs = [], []
        for start in range(0, len(clips), self.batch):
            chunk = clips[start : start + self.batch]
            short = self.batch - len(chunk)
            if self._compiled is not None:
                padded = np.concatenate([chunk, np.repeat(chunk[-1:], short, 0)]) if short else chunk
                out = self._compiled(np.ascontiguousarray(padded))
                feature, log_prob = (np.asarray(out[i])[: len(chunk)] for i in range(2))
            else:
                with torch.inference_mode():
                    feature, log_prob = (t.float().cpu().numpy() for t in self._encoder(
                        torch.from_numpy(np.ascontiguousarray(chunk)).to(self.device)))
            features.append(feature)
            log_probs.append(log_prob)
        if not features:
            return np.empty((0, 1024), np.float32), np.empty((0, 400), np.float32)
        return np.concatenate(features).astype(np.float32), np.concatenate(log_probs).astype(np.float32)


def _has_openvino() -> bool:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def _compile(encoder: Callable[[], ClipEncoder], init: str, frames: int, imgsz: int, batch: int,
             precision: str | None):
    """The encoder compiled by OpenVINO for the CPU, its IR converted once per weights and shape and kept
    in the data folder (written aside, then renamed in: a concurrent process keeps the first one)."""
    import openvino as ov

    key = hashlib.sha256(init.encode()).hexdigest()[:16]
    folder = data_folder() / "openvino" / f"{key}-b{batch}-t{frames}-s{imgsz}"
    ir = folder / "encoder.xml"
    core = ov.Core()
    if not ir.is_file():
        example = torch.zeros((batch, frames, imgsz, imgsz, 3), dtype=torch.uint8)
        with warnings.catch_warnings():  # the tracer's notes on shapes read as Python numbers: fixed by design
            warnings.simplefilter("ignore")
            model = ov.convert_model(encoder(), example_input=example)
        aside = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}")
        aside.mkdir(parents=True)
        ov.save_model(model, aside / "encoder.xml", compress_to_fp16=False)
        try:
            os.replace(aside, folder)
        except OSError:  # another process put its copy there first
            shutil.rmtree(aside, ignore_errors=True)
    config = {"PERFORMANCE_HINT": "LATENCY", **({"INFERENCE_PRECISION_HINT": precision} if precision else {})}
    return core.compile_model(core.read_model(ir), "CPU", config)
