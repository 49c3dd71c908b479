"""I3D at the hardware's limit: compiled by OpenVINO on a CPU, plain PyTorch on a GPU.

In plain PyTorch, I3D costs 0.5-1 s per 16-frame window at 224 px on two CPU cores, so a features pass
over a few hundred clips would take longer than everything else together. OpenVINO runs the same
network several times faster on a CPU: the module (:class:`~cascade.backbones.i3d.ClipEncoder`, which
takes uint8 clips) is converted once per clip shape (``openvino.convert_model``, a few seconds),
saved as OpenVINO IR beside the weights in cascade's data folder, and later processes only read and
compile it (the conversion runs in a child process, :func:`_compile`). OpenVINO picks the CPU's fastest precision (bf16 where the CPU has it, else f32); the
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
import subprocess
import sys
import uuid
import warnings
from pathlib import Path

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

        if runtime == "auto":
            runtime = "torch" if self.device.type == "cuda" or not _has_openvino() else "openvino"
        if runtime == "openvino":
            self._compiled = _compile(self.weights_file, self.init, frames, imgsz, batch, precision)
            precision = self._compiled.get_property("INFERENCE_PRECISION_HINT").to_string()
            import openvino

            self.runtime = f"openvino {openvino.__version__.split('-')[0]} {precision}"
            self._encoder = None
        else:
            self._compiled = None
            self._encoder = clip_encoder(self.weights_file).to(self.device)
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


def clip_encoder(weights: Path | None) -> ClipEncoder:
    """I3D with the weights of ``weights`` (None: random weights, the same ones every time)."""
    if weights is not None:
        return ClipEncoder(load_i3d(weights, read_weights(weights)))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return ClipEncoder(I3D().eval())


def _compile(weights: Path | None, init: str, frames: int, imgsz: int, batch: int, precision: str | None):
    """The encoder compiled by OpenVINO for the CPU, its IR converted once per weights and shape and kept
    in the data folder (written aside, then renamed in: a concurrent process keeps the first one).

    The conversion runs in a child process (:func:`convert`): tracing the network for OpenVINO inside a
    process that goes on to run other native code was seen to corrupt its memory (a later, unrelated
    ``subprocess.run`` crashed in the test suite, never with the IR converted elsewhere); a child also
    returns the memory the tracing takes."""
    import openvino as ov

    key = hashlib.sha256(init.encode()).hexdigest()[:16]
    folder = data_folder() / "openvino" / f"{key}-b{batch}-t{frames}-s{imgsz}"
    ir = folder / "encoder.xml"
    if not ir.is_file():
        aside = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}")
        aside.mkdir(parents=True)
        command = [sys.executable, "-m", __name__, str(weights or ""), str(frames), str(imgsz), str(batch),
                   str(aside / ir.name)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            shutil.rmtree(aside, ignore_errors=True)
            reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1][:200]
            raise CascadeError(f"{ir}: converting I3D for OpenVINO failed ({reason}); pass --device cuda, or "
                               "uninstall openvino to run I3D in PyTorch")
        try:
            os.replace(aside, folder)
        except OSError:  # another process put its copy there first
            shutil.rmtree(aside, ignore_errors=True)
    core = ov.Core()
    config = {"PERFORMANCE_HINT": "LATENCY", **({"INFERENCE_PRECISION_HINT": precision} if precision else {})}
    return core.compile_model(core.read_model(ir), "CPU", config)


def convert(weights: Path | None, frames: int, imgsz: int, batch: int, target: Path) -> None:
    """Convert the encoder for clips (batch, frames, imgsz, imgsz, 3) to OpenVINO IR at ``target`` (the child
    process of :func:`_compile`)."""
    import openvino as ov

    module = clip_encoder(weights)
    example = torch.zeros((batch, frames, imgsz, imgsz, 3), dtype=torch.uint8)
    with warnings.catch_warnings():  # the tracer's notes on shapes read as Python numbers: fixed by design
        warnings.simplefilter("ignore")
        model = ov.convert_model(module, example_input=example)
    ov.save_model(model, target, compress_to_fp16=False)


if __name__ == "__main__":
    given, *shape, out = sys.argv[1:]
    convert(Path(given) if given else None, *(int(v) for v in shape), Path(out))
