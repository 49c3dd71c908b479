"""The features cache and feature heads: real decoding, real backbone, real pose model, real training.

Fixture: ``tests/data/two_people.jpg`` is frame 5 of ZeshanFareed__jogging.mp4 condensed to 48 frames
(``../shared/clips``), two joggers side by side; the person boxes are the shared YOLO11n's on that
frame, and the keypoints below were checked by eye on a drawing of the pose model's output (the
woman's nose at (175, 90), the man's at (92, 79)).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import REPO, SHARED, WEIGHTS, on_cpu, run_cli
from cascade.errors import CascadeError
from cascade.features.motion import link_boxes, track_motion
from cascade.features.settings import FeatureSettings

POSE = SHARED / "weights" / "yolov8n-pose_int8_openvino_model"
MOBILENET = SHARED / "weights" / "mobilenet_v2_imagenet" / "mobilenet_v2_imagenet1001.pt"
#: Features at tiny size: random backbone weights, every 8th frame, 32 px.
TINY = FeatureSettings(every=8, pretrained="none", feature_imgsz=32, pose_weights=str(POSE))
TINY_FLAGS = ["--every", "8", "--pretrained", "none", "--feature-imgsz", "32", "--pose-weights", POSE, "--device", "cpu"]
WOMAN = [147.930038, 72.675758, 218.172379, 300.485291]
MAN = [48.758034, 49.004436, 124.364861, 299.205078]


def test_a_box_moving_at_a_known_speed_gives_that_speed():
    # 20 px high, 6 px right and 8 px down every 4 frames at 25 fps: 10 px / 20 px per 0.16 s = 3.125 heights/s
    frames = np.array([1, 5, 9, 13])
    boxes = np.array([[10 + 6 * k, 20 + 8 * k, 20 + 6 * k, 40 + 8 * k] for k in range(4)], float)
    motion = track_motion(frames, boxes, fps=25, frame_size=(100, 200))
    np.testing.assert_allclose(motion.speed, 3.125)
    np.testing.assert_allclose(motion.scale_rate, 0, atol=1e-9)
    np.testing.assert_allclose(motion.aspect_rate, 0, atol=1e-9)
    np.testing.assert_allclose(motion.cy, (30 + 8 * np.arange(4)) / 100)
    np.testing.assert_allclose(motion.width, 10 / 200)
    assert motion.linked.tolist() == [1, 1, 1, 1]


def test_a_growing_box_has_a_positive_scale_rate_and_a_lone_box_no_motion():
    grown = track_motion(np.array([1, 26]), np.array([[0, 0, 10, 10], [0, 0, 20, 20]], float), fps=25)
    np.testing.assert_allclose(grown.scale_rate, np.log(2))  # twice the side in one second
    alone = track_motion(np.array([7]), np.array([[0, 0, 10, 10]], float), fps=25)
    assert alone.speed.tolist() == [0] and alone.linked.tolist() == [0]


def test_boxes_are_linked_by_overlap_whatever_their_order():
    first = np.array([[0, 0, 10, 10], [50, 0, 60, 10]], float)
    second = np.array([[52, 0, 62, 10], [1, 0, 11, 10], [200, 200, 210, 210]], float)  # order swapped, a newcomer
    tracks = link_boxes([first, second])
    assert tracks[0].tolist() == [0, 1] and tracks[1].tolist() == [1, 0, 2]


def test_keypoints_land_on_the_right_person_box_in_a_frame_with_two_people():
    from cascade.features.pose import PoseModel, normalise_keypoints

    frame = cv2.imread(str(REPO / "tests" / "data" / "two_people.jpg"))
    boxes = np.array([WOMAN, MAN])  # the pose model lists the man first: matching must not go by order
    keypoints = PoseModel(str(POSE)).keypoints([frame], [boxes])[0]
    assert keypoints.shape == (2, 17, 3)
    np.testing.assert_allclose(keypoints[0, 0, :2], [175, 90], atol=6)  # nose
    np.testing.assert_allclose(keypoints[1, 0, :2], [92, 79], atol=6)
    inside = normalise_keypoints(keypoints, boxes).reshape(2, 17, 3)
    sure = inside[..., 2] > 0.5
    assert sure.sum() > 20 and np.all((inside[..., :2][sure] > -0.1) & (inside[..., :2][sure] < 1.1))


def _video(boxes: list[tuple[int, int, float, float]], frames=(1, 5, 9, 13, 17)):
    """One video's cached rows as a head reads them: whole frames (vector: the frame number) and dog boxes
    (frame, track, conf, x1; 10 px squares; vector: 1 + the box's row number; no box: 0)."""
    import pandas as pd
    from cascade.heads.feature_inputs import CachedRows
    from cascade.labels import group

    rows = [("v", n, -1, 1.0, 0.0, 0.0, 320.0, 240.0, -1) for n in frames]
    rows += [("v", n, group("dog").coco_class, conf, x, 0.0, x + 10, 10.0, track) for n, track, conf, x in boxes]
    table = pd.DataFrame(rows, columns=["video", "frame", "cls", "conf", "x1", "y1", "x2", "y2", "track"])
    return CachedRows(table, np.arange(1, len(table) + 1, dtype=np.float32)[:, None], table.frame.to_numpy(np.float32)[:, None])


def test_a_window_follows_the_actors_track_and_falls_back_to_the_most_confident_box():
    from cascade.heads.feature_inputs import FeatureRecipe, actor_windows
    from cascade.labels import group

    # track 0 (conf 0.6, x 0) in every frame but 17; track 1 (conf 0.9, x 50) in 1, 5 and 13: vectors 6 .. 12
    boxes = [(1, 0, 0.6, 0), (5, 0, 0.6, 0), (9, 0, 0.6, 0), (13, 0, 0.6, 0), (1, 1, 0.9, 50), (5, 1, 0.9, 50),
             (13, 1, 0.9, 50)]
    cached, recipe = _video(boxes), FeatureRecipe(("appearance",), window=3)
    windows = actor_windows(cached, group("dog"), [5, 6, 16, 17], recipe, [None, np.array([0, 0, 10, 10.]), None, None])
    box_row, frame = windows[..., 0], windows[..., 1]
    assert frame.tolist() == [[1, 5, 9], [1, 5, 9], [13, 17, 17], [13, 17, 17]]  # nearest sampled frame, clamped
    assert box_row[0].tolist() == [10, 11, 8]  # most confident: track 1; frame 9 has no track 1 -> its best box
    assert box_row[1].tolist() == [6, 7, 8]  # the labelled box picks track 0
    # keys 16 and 17 centre on frame 17, which has no dog: no track to follow, frame 13's best box, then none
    assert box_row[2].tolist() == box_row[3].tolist() == [12, 0, 0]
    no_dog = actor_windows(_video([]), group("dog"), [9], recipe)
    assert no_dog[..., 0].tolist() == [[0, 0, 0]] and no_dog[..., 1].tolist() == [[5, 9, 13]]


def _committed(run: Path) -> bool:
    """A video is in the cache once its part's index line is whole."""
    index = run / "features" / "index.jsonl"
    return index.exists() and index.read_bytes().endswith(b"\n")


def test_the_features_cache_resumes_after_a_kill_and_refuses_other_settings(run_copy, sample_release, capsys):
    from cascade.features.cache import FeatureCache
    from cascade.features.runner import compute_features

    videos = {name: str(sample_release / "clips320H" / f"{name}.mp4") for name in ("cat_a", "cat_b", "dog_a", "bird_a")}
    script = (f"from cascade.features.runner import compute_features; from cascade.features.settings import "
              f"FeatureSettings; compute_features({videos!r}, {str(run_copy)!r}, FeatureSettings(every=8, "
              f"pretrained='none', feature_imgsz=32, pose_weights={str(POSE)!r}), commit_every=0, progress=False)")
    child = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + 120
    while not _committed(run_copy) and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    kept = FeatureCache(run_copy).videos()
    assert 0 < len(kept) < len(videos), "killed after its first commit, before its last"

    report = compute_features(videos, run_copy, TINY, progress=False)
    assert report.cached == len(kept) and report.computed == len(videos) - len(kept)
    rows = FeatureCache(run_copy).read()
    frames = rows[rows.cls == -1]
    assert set(frames.video) == set(videos) and not frames.duplicated(["video", "frame"]).any()
    assert set(frames.frame) == {5, 13, 21}  # the centre of each block of 8 of 24 detected frames

    again = compute_features(videos, run_copy, TINY, progress=False)
    assert again.computed == 0 and again.cached == len(videos)
    with pytest.raises(CascadeError, match="every"):
        compute_features(videos, run_copy, FeatureSettings(every=4, pretrained="none", feature_imgsz=32,
                                                           pose_weights=str(POSE)), progress=False)
    code, _, err = run_cli(capsys, "features", "--data", sample_release, "--run-dir", run_copy, *TINY_FLAGS[:2],
                           "--pretrained", "none", "--feature-imgsz", "64", "--pose-weights", POSE, "--device", "cpu")
    assert code == 2 and "imgsz" in err and len(err.strip().splitlines()) == 1


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_features_head_trains_and_predicts_end_to_end_and_retraining_one_leaves_the_others(run_copy, sample_release,
                                                                                             capsys, caplog):
    from cascade.heads.checkpoint import head_path, load_head
    from cascade.labels import group
    from cascade.pipeline import Cascade

    for actor in ("dog", "adult"):
        code, out, err = run_cli(capsys, "train-head", "--data", sample_release, "--run-dir", run_copy, "--actor", actor,
                                 "--head", "features", *TINY_FLAGS, "--json")
        assert code == 0, err
    person, dog = head_path(run_copy, group("person")), head_path(run_copy, group("dog"))
    before = _digest(person), _digest(dog)
    _, meta = load_head(person, group("person"))
    assert meta["head"] == "features" and meta["features"] == ["appearance", "motion", "pose"]
    assert load_head(dog, group("dog"))[1]["features"] == ["appearance", "motion"]  # no keypoints for a dog

    code, _, err = run_cli(capsys, "train-head", "--data", sample_release, "--run-dir", run_copy, "--actor", "dog",
                           "--features", "appearance", "--epochs", "3", "--no-crop", *TINY_FLAGS)  # the default head
    assert code == 0, err
    assert "--head features does not read --epochs (flags of --head finetune)" in caplog.text
    assert "--crop" not in caplog.text  # --no-crop is the default: nothing to say of it
    assert load_head(dog, group("dog"))[1]["head"] == "features"
    assert _digest(person) == before[0] and _digest(dog) != before[1]

    cascade = Cascade.from_run_dir(run_copy, on_cpu({"weights": str(WEIGHTS)}))
    video = sample_release / "clips320H" / "dog_c.mp4"
    result = cascade.predict(video)
    assert any(label["actor"] == "dog" for label in result.labels), result.summary()
    probs = cascade.head_stage(video, str(video.resolve()), [group("dog"), group("person")], [3, 12],
                               cascade.scores({str(video.resolve()): video}).detections)
    assert set(probs) == {"dog", "person"} and probs["dog"][3].shape == (len(group("dog").pairs),)
    np.testing.assert_allclose(sum(probs["person"][12]), 1, rtol=1e-5)
