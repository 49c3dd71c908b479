"""Video features: windows of consecutive frames around each sampled frame, tubes that follow their actor,
the I3D columns of the features cache, and feature heads that learn two pairs of one actor from one clip.

Everything real: the decoder, the detector, the I3D network (random weights at a tiny size where the
numbers it gives do not matter, only their shape and place), the linear head's L-BFGS and its inner
cross-validation by source. Commands that run I3D run as processes of their own, as a user runs them
(with OpenVINO's I3D in the test process, a later test's ``subprocess.run`` crashed: see test_i3d.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from cascade.data.frames import in_runs
from cascade.features.settings import FeatureSettings
from cascade.features.video import tube_box, window_frames, window_stride
from conftest import CLIPS, SHARED, WEIGHTS

POSE = SHARED / "weights" / "yolov8n-pose_int8_openvino_model"
#: I3D features at a tiny size: random weights, 8-frame windows of 32 px.
TINY_I3D = ["--feature-backbone", "i3d", "--pretrained", "none", "--feature-imgsz", "32", "--video-frames", "8",
            "--pose-weights", POSE, "--device", "cpu"]


def test_a_window_is_consecutive_frames_centred_on_its_key():
    frames = window_frames(40, 16, 2, last=300)
    assert frames == list(range(24, 56, 2)) and frames[16 // 2] == 40  # 16 frames 2 apart, the key at index 8
    assert window_frames(40, 8, 1, last=300) == list(range(36, 44))
    # near the ends the window slides inside the video instead of repeating frames; a short video repeats its last
    assert window_frames(3, 16, 1, last=100) == list(range(1, 17))
    assert window_frames(99, 16, 1, last=100) == list(range(85, 101))
    assert window_frames(3, 16, 1, last=10) == list(range(1, 11)) + [10] * 6


def test_the_window_stride_gives_about_12_5_frames_per_second():
    assert [window_stride(fps, 12.5) for fps in (25, 29.97, 12.5, 10, 60)] == [2, 2, 1, 1, 5]


def test_runs_as_long_as_the_window_are_one_window_each():
    # sample-clips --runs 3 with 16-frame runs, --every 16: each sampled frame's window is exactly one run
    total = 3 * 16
    assert in_runs(3, 16, 1, 300)[:3] == [44, 45, 46] and len(in_runs(3, 16, 1, 300)) == total
    keys = FeatureSettings(every=16).sampled(range(1, total + 1))
    assert keys == [9, 25, 41]
    assert [window_frames(k, 16, 1, total) for k in keys] == [list(range(1 + 16 * r, 17 + 16 * r)) for r in range(3)]
    assert FeatureSettings(every=16).sampled(range(1, total + 1, 2)) == keys  # detected every second frame: the same


def test_a_tube_follows_its_track_and_not_its_neighbour():
    # actor A walks right 10 px a frame; actor B, the same class, stands still a little further right
    frames = list(range(1, 9))
    a = {n: np.array([10.0 + 10 * (n - 1), 50, 40 + 10 * (n - 1), 110]) for n in frames}
    b = np.array([150.0, 50, 180, 110])
    boxes = {n: np.stack([b, a[n]]) for n in frames}  # B listed first in every frame
    tube = tube_box(a[4], boxes, frames, 4, (200, 400), pad=0.0)
    # A's boxes from x 10 to 110, y 50 to 110: 100 px wide, centred at 60, 80 -> a 100 px square
    np.testing.assert_allclose(tube, [10, 30, 110, 130])
    still = tube_box(b, boxes, frames, 4, (200, 400), pad=0.0)  # B's tube stays on B: its 60 px height, squared
    np.testing.assert_allclose(still, [135, 50, 195, 110])
    lost = tube_box(a[4], {n: boxes[n][:1] for n in frames}, frames, 4, (200, 400), pad=0.0)  # only B detected
    np.testing.assert_allclose(lost, [25, 50, 85, 110])  # A's key box alone, squared: B never overlaps it


@pytest.fixture(scope="module")
def two_pair_clips(tmp_path_factory):
    """Condensed real dog clips: a clip of a dog running and jumping, as three copies given three sources,
    and one-pair dog clips from three other sources."""
    root = tmp_path_factory.mktemp("two-pair")
    rows = []
    for copy in "abc":
        shutil.copy(CLIPS / "sam2_01_dog.mp4", root / f"jumper_{copy}.mp4")
        rows.append((f"jumper_{copy}.mp4", "dog-running;dog-jumping", f"source-{copy}"))
    for name, label in (("ForeverOMC_dog.mp4", "dog-running"), ("Elhison__dog0.mp4", "dog-none"),
                        ("Vitgracer__dog.mp4", "dog-walking")):
        shutil.copy(CLIPS / name, root / name)
        rows.append((name, label, name))
    pd.DataFrame(rows, columns=["video", "labels", "group"]).to_csv(root / "source.csv", index=False)
    from cascade.data.sample import build_sample_clips

    labels, skipped = build_sample_clips(root / "source.csv", root / "condensed", frames_per_clip=16, runs=2)
    assert not skipped
    table = pd.read_csv(labels, dtype=str, keep_default_na=False).assign(split="train")
    table.to_csv(labels, index=False)
    return labels


def cascade(*args) -> subprocess.CompletedProcess:
    """``cascade ARGS`` as a process (the shared detector named by $CASCADE_WEIGHTS, I3D's IR kept in $CASCADE_DATA)."""
    return subprocess.run([sys.executable, "-m", "cascade.cli.main", *map(str, args)], capture_output=True, text=True,
                          timeout=900, env={**os.environ, "CASCADE_WEIGHTS": str(WEIGHTS), "YOLO_OFFLINE": "1"})


def test_i3d_features_fill_their_columns(two_pair_clips, tmp_path):
    run = tmp_path / "run"
    done = cascade("features", "--data", two_pair_clips, "--run-dir", run, "--every", "8", *TINY_I3D, "--json")
    assert done.returncode == 0, done.stderr
    from cascade.features.cache import WHOLE_FRAME, FeatureCache

    rows = FeatureCache(run).read()
    frames, boxes = rows[rows.cls == WHOLE_FRAME], rows[rows.cls != WHOLE_FRAME]
    assert len(frames) == 6 * 2 and len(boxes)  # 2 runs of 8 frames, every 8: one sampled frame per run
    assert sorted(frames.frame.unique()) == [5, 13]
    assert all(len(e) == 1024 for e in rows.embedding)
    assert all(len(k) == 400 and np.isclose(np.exp(k).sum(), 1, atol=1e-3) for k in frames.kinetics)
    assert boxes.kinetics.isna().all()


def test_a_head_trained_on_a_two_pair_clip_puts_both_pairs_above_its_cut(two_pair_clips, tmp_path):
    run = tmp_path / "run"
    done = cascade("train-head", "--actor", "dog", "--data", two_pair_clips, "--run-dir", run, "--features", "video",
                   "--feature-model", "linear", "--val-fraction", "0", "--every", "8", *TINY_I3D, "--json")
    assert done.returncode == 0, done.stderr
    from cascade.detect.cache import load_detections
    from cascade.heads.checkpoint import head_path, load_head
    from cascade.heads.feature_inputs import feature_probabilities
    from cascade.heads.pairs import reported
    from cascade.labels import group, parse_pair

    dog = group("dog")
    model, meta = load_head(head_path(run, dog), dog)
    cut = meta["pair_cut"]
    assert meta["model"] == "linear" and meta["inner_cv"]["folds"] == 3 and cut is not None
    assert meta["metrics"]["loss"] < np.log(len(dog.pairs)) - 0.1  # fitted: below the zero weights' (uniform) loss
    clip = two_pair_clips.parent / "jumper_a.mp4"
    probs = feature_probabilities(model, meta, run, "jumper_a", clip, [4, 12], load_detections(run, ["jumper_a"]), dog)
    named = {dog.pairs[k] for k in np.flatnonzero(reported(probs.mean(0, keepdims=True), cut)[0])}
    assert named == {parse_pair("dog-running"), parse_pair("dog-jumping")}
    torch.testing.assert_close(torch.tensor(probs.sum(1)), torch.ones(2))


def test_sample_clips_keeps_runs_of_consecutive_frames_at_their_own_rate(two_pair_clips):
    import cv2

    from cascade.data.frames import frame_rate, iter_frames

    source, condensed = CLIPS / "ForeverOMC_dog.mp4", two_pair_clips.parent / "ForeverOMC_dog.mp4"
    step = max(1, round(frame_rate(source) / 12.5))
    assert frame_rate(condensed) == pytest.approx(frame_rate(source) / step, rel=1e-3)  # time runs as in the source
    kept = [frame for _, frame in iter_frames(condensed)]
    assert len(kept) == 16  # 2 runs of 8
    total = sum(1 for _ in iter_frames(source, check_complete=False))
    picked = in_runs(2, 8, step, total)
    assert picked[7] - picked[0] == 7 * step and picked[8] > picked[7] + step  # consecutive in a run, a jump between
    originals = {n: f for n, f in iter_frames(source, check_complete=False) if n in set(picked)}
    height, width = kept[0].shape[:2]

    def difference(a, b):
        return float(np.abs(cv2.resize(a, (width, height), interpolation=cv2.INTER_AREA).astype(float) - b).mean())

    same = [difference(originals[n], frame) for n, frame in zip(picked, kept)]
    shifted = [difference(originals[n], frame) for n, frame in zip(picked[1:], kept[:-1])]
    assert max(same) < 8 and np.mean(shifted) > 2 * np.mean(same)  # each kept frame is its source frame
