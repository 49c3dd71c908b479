"""A run dir remembers how it was made: later commands take its caches' settings as their defaults.

Detected with ``--stride 3``, a run is used by ``train-head`` (which has no detection flags), ``predict`` and
``evaluate`` without the flag, and detects new videos with the recorded weights and stride; the features
cache's settings (backbone weights, size, pose model) are the next feature head's. Only a given flag that
contradicts a cache is refused, in one line; a recorded weights file that is gone is one line naming it.
"""

from __future__ import annotations

import shutil

from cascade.detect import DetectOptions, load_detections
from cascade.features.cache import FeatureCache
from cascade.features.settings import FeatureSettings
from conftest import SHARED, WEIGHTS, run_cli

POSE = SHARED / "weights" / "yolov8n-pose_int8_openvino_model"
MOBILENET = SHARED / "weights" / "mobilenet_v2_imagenet" / "mobilenet_v2_imagenet1001.pt"
#: Features at tiny size (random backbone weights, 32 px), on the CPU.
TINY_FEATURES = ["--pretrained", "none", "--feature-imgsz", "32", "--pose-weights", POSE, "--device", "cpu"]
ON_CPU = ["--device", "cpu", "--workers", "0"]


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_a_setting_left_unset_is_the_run_s_and_a_given_one_stays():
    recorded = {"model": "w/yolo.pt", "imgsz": [640, 640], "stride": 3, "keep_conf": 0.05}
    assert DetectOptions().resolved(recorded) == DetectOptions(weights="w/yolo.pt", imgsz=640, stride=3)
    assert DetectOptions(stride=1, imgsz=320).resolved(recorded).stride == 1  # given: kept (the cache refuses it)
    assert DetectOptions().resolved(None) == DetectOptions(stride=1)  # a new run: the defaults
    assert DetectOptions().resolved({**recorded, "imgsz": [320, 576]}).imgsz is None  # a fixed export's own shape

    made = FeatureSettings(every=4, pretrained="/w/m.pt", feature_imgsz=32, pose_weights="/w/pose")
    recorded = made.resolved().describe("file /w/m.pt (sha256 ab)")
    assert FeatureSettings().resolved(recorded) == made.resolved()
    assert FeatureSettings(every=2).resolved(recorded).every == 2
    assert FeatureSettings().resolved(None) == FeatureSettings(
        every=8, feature_backbone="mobilenet_v2", pretrained="imagenet", conf=0.5, pose_weights="yolo11n-pose.pt",
        video_frames=32, video_fps=12.5)
    # a cache recorded before the settings themselves were: its checked settings that are a setting's value
    older = {"every": 4, "backbone": "i3d", "backbone_weights": "random", "imgsz": 160, "conf": 0.3,
             "pose_model": "yolo11n-pose.pt", "video_frames": 8, "video_fps": 25.0}
    assert FeatureSettings().resolved(older) == FeatureSettings(
        every=4, feature_backbone="i3d", pretrained="imagenet", feature_imgsz=160, conf=0.3,
        pose_weights="yolo11n-pose.pt", video_frames=8, video_fps=25.0)


def test_a_run_detected_with_stride_3_serves_train_head_predict_and_evaluate_without_the_flag(tmp_path, sample_release,
                                                                                             capsys):
    run = tmp_path / "run"
    code, out, err = run_cli(capsys, "detect", "--data", sample_release, "--run-dir", run, "--weights", WEIGHTS,
                             "--stride", "3", *ON_CPU)
    assert code == 0 and "stride 3" in out, err

    # train-head has no detection flags: it takes the run's stride (before, the cache refused stride=1)
    code, _, err = run_cli(capsys, "train-head", "--data", sample_release, "--run-dir", run, "--actor", "dog",
                           "--head", "features", *TINY_FEATURES)
    assert code == 0, err
    # the next head takes the features' settings from the run: 32 px, random weights, the shared pose model
    code, _, err = run_cli(capsys, "train-head", "--data", sample_release, "--run-dir", run, "--actor", "adult",
                           "--device", "cpu")
    assert code == 0, err
    assert FeatureCache(run).settings["imgsz"] == 32 and FeatureCache(run).settings["backbone_weights"] == "random"

    # a new video is detected with the run's weights and stride, and its features computed as the heads' were
    clip = sample_release / "clips320H" / "dog_c.mp4"  # cached as dog_c; predict detects it again under its path
    code, out, err = run_cli(capsys, "predict", clip, "--run-dir", run, *ON_CPU, "--json")
    assert code == 0, err
    assert sorted(load_detections(run, [str(clip.resolve())]).frame.unique()) == [1, 4, 7, 10, 13, 16, 19, 22]
    assert str(clip.resolve()) in FeatureCache(run).videos()
    code, _, err = run_cli(capsys, "evaluate", "--data", sample_release, "--run-dir", run, "--thresholds", "builtin",
                           *ON_CPU)
    assert code == 0, err

    # a given flag that contradicts a cache is refused, in one line
    code, _, err = run_cli(capsys, "predict", clip, "--run-dir", run, *ON_CPU, "--stride", "1")
    assert code == 2 and "made with stride=3, not stride=1" in _one_line(err)
    code, _, err = run_cli(capsys, "features", "--data", sample_release, "--run-dir", run, *ON_CPU,
                           "--feature-imgsz", "64")
    assert code == 2 and "imgsz=32, not imgsz=64" in _one_line(err)


def test_a_head_whose_weights_file_moved_names_it_in_one_line(tmp_path, run_copy, sample_release, capsys):
    weights = tmp_path / "weights" / "mobilenet.pt"
    weights.parent.mkdir()
    shutil.copyfile(MOBILENET, weights)
    code, _, err = run_cli(capsys, "train-head", "--data", sample_release, "--run-dir", run_copy, "--actor", "dog",
                           "--pretrained", weights, "--feature-imgsz", "32", "--pose-weights", POSE, "--device", "cpu")
    assert code == 0, err
    weights.rename(tmp_path / "elsewhere.pt")

    clip = sample_release / "clips320H" / "dog_c.mp4"
    code, _, err = run_cli(capsys, "predict", clip, "--run-dir", run_copy, *ON_CPU)
    line = _one_line(err)
    assert code == 2 and f"{weights.resolve()} (--pretrained), which are not there any more" in line
    assert "dog.pt: this dog head" in line and "put them back there" in line
    # the run's features were made with them too: computing more without naming weights says the same
    code, _, err = run_cli(capsys, "features", "--data", sample_release, "--run-dir", run_copy, *ON_CPU)
    line = _one_line(err)
    assert code == 2 and f"{weights.resolve()} (--pretrained), which are not there any more" in line
