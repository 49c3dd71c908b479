"""Shared fixtures: a real sample release built from ../shared/clips, detected once per session.

Nothing here is mocked: the detector is the real OpenVINO YOLO11n export, decoding is OpenCV,
annotation files are real MATLAB v7.3 (HDF5) files.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

os.environ.setdefault("YOLO_OFFLINE", "1")  # Ultralytics: no font, settings or update checks from tests

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CASCADE_SHARED", REPO.parent / "shared"))
CLIPS = SHARED / "clips"
WEIGHTS = SHARED / "weights" / "yolo11n_int8_openvino_model"
VIDEOSET = SHARED / "a2d" / "videoset.csv"
FRAMES_PER_VIDEO = 24
#: train-head flags for real training at tiny sizes: one epoch of small inputs from random weights, on the CPU.
TINY_TRAIN = ["--head", "finetune", "--epochs", "1", "--batch", "8", "--imgsz", "64", "--pretrained", "none", "--device", "cpu"]


def on_cpu(detect: dict | None = None, **settings):
    """:class:`~cascade.pipeline.CascadeSettings` for tests: heads and detector on the CPU, decoding in this
    process; ``detect``: more detector options."""
    from cascade.detect import DetectOptions
    from cascade.pipeline import CascadeSettings

    return CascadeSettings(device="cpu", detect=DetectOptions(**{"device": "cpu", "workers": 0, **(detect or {})}),
                           **settings)


def run_cli(capsys, *args) -> tuple[int, str, str]:
    """Run ``cascade ARGS`` in this process (paths may be Path objects): exit status, stdout, stderr."""
    from cascade.cli.main import main

    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(autouse=True)
def ctrl_c_as_a_terminal_gives_it():
    """Every test starts with Python's own Ctrl-C handler installed. In full shuffled runs SIGINT was
    found ignored below Python (after the in-process Ray tests; Python's getsignal does not show it):
    an interrupt in this process did nothing and child processes, which inherit an ignored signal,
    could not be stopped with Ctrl-C."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield


@pytest.fixture(scope="session")
def sample_release(tmp_path_factory) -> Path:
    from cascade.data.sample import build_sample_release

    return build_sample_release(tmp_path_factory.mktemp("release") / "A2D", CLIPS, FRAMES_PER_VIDEO)


@pytest.fixture(scope="session")
def detector():
    from cascade.detect.detector import Detector

    return Detector(str(WEIGHTS), device="cpu")


@pytest.fixture(scope="session")
def detected_run(sample_release, detector, tmp_path_factory) -> Path:
    """A run dir whose cache holds every sample video (read-only for tests: copy to change it)."""
    from cascade.detect import DetectOptions, detect_dataset

    run = tmp_path_factory.mktemp("detected")
    detect_dataset(sample_release, run, "all", DetectOptions(workers=0), detector=detector, progress=False)
    return run


@pytest.fixture
def run_copy(detected_run, tmp_path) -> Path:
    """A private copy of the detected run dir."""
    target = tmp_path / "run"
    shutil.copytree(detected_run, target)
    return target
