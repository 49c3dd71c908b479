import os
import signal
import subprocess
import sys
import time

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from cascade.data import open_dataset
from cascade.data.frames import iter_frames
from cascade.detect import CACHE_NAME, DetectionCache, DetectOptions, NO_BOX, detect_dataset, detect_videos, load_detections
from cascade.errors import CascadeError
from cascade.labels import COCO_CLASSES
from cascade.detect.detector import Detector, batched_nms, resolve_weights
from cascade.scores import group_scores
from conftest import CLIPS, WEIGHTS


def _frames(clip, count):
    return np.stack([f for n, f in iter_frames(clip, check_complete=False) if n <= count])


def test_batched_nms_equals_ultralytics_nms(detector):
    from ultralytics.utils.nms import non_max_suppression

    frames = _frames(CLIPS / "louiselalanne_soccer.mp4", 4)
    x, _ = detector.preprocess(torch.from_numpy(frames))
    prediction = detector.backend(x)
    prediction = torch.as_tensor(prediction[0] if isinstance(prediction, (list, tuple)) else prediction)
    theirs = non_max_suppression(prediction, 0.05, 0.7, classes=list(COCO_CLASSES), max_det=300)
    image, boxes, conf, cls = batched_nms(prediction, 0.05, 0.7, torch.tensor(COCO_CLASSES), 300)
    assert sum(len(t) for t in theirs) > 4
    for i, reference in enumerate(theirs):
        ours = torch.cat([boxes[image == i], conf[image == i, None], cls[image == i, None].float()], 1)
        order = reference[:, 4].argsort(descending=True)
        assert torch.allclose(ours, reference[order], atol=1e-4)


def test_detector_matches_predict_on_real_frames(detector):
    from ultralytics import YOLO

    frames = _frames(CLIPS / "vtest.avi", 3)
    found = detector(torch.from_numpy(frames))
    model = YOLO(str(WEIGHTS), task="detect")
    for i, frame in enumerate(frames):
        result = model.predict(frame, conf=0.25, classes=list(COCO_CLASSES), verbose=False)[0]
        reference = result.boxes
        ours = (found.image == i) & (found.conf >= 0.2)
        assert len(reference) >= 3  # vtest shows several pedestrians
        for box, cls in zip(reference.xyxy.numpy(), reference.cls.numpy()):
            same_class = ours & (found.cls == cls)
            ious = _iou(box, found.boxes[same_class])
            assert ious.size and ious.max() > 0.9


def _iou(box, boxes):
    x1 = np.maximum(box[0], boxes[:, 0]); y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2]); y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / (area(box) + area(boxes) - inter)


def test_cache_has_a_row_for_every_decoded_frame(detected_run, sample_release):
    detections = load_detections(detected_run)
    videos = open_dataset(sample_release).video_paths()
    per_video = detections.groupby("video").frame.agg(["nunique", "min", "max"])
    for video, path in videos.items():
        decoded = sum(1 for _ in iter_frames(path))
        assert tuple(per_video.loc[video]) == (decoded, 1, decoded)
    assert (detections[detections.cls != NO_BOX].conf >= 0.05).all()
    assert set(detections.cls.unique()) <= set(COCO_CLASSES) | {NO_BOX}
    parts = sorted((detected_run / CACHE_NAME).glob("part-*.parquet"))
    assert parts and all(b'"imgsz": [640, 640]' in pq.read_schema(p).metadata[b"cascade"] for p in parts)
    assert all(b'"stride": 1' in pq.read_schema(p).metadata[b"cascade"] for p in parts)


def test_people_score_above_zero_where_people_are(detected_run):
    scores = group_scores(load_detections(detected_run), conf=0.5)
    assert scores.loc["walk_a", "person"] > 0.5
    assert scores.loc["driver_a", "person"] > 0.5
    assert scores.loc["dog_a", "dog"] > 0
    assert scores.loc["cat_a", "person"] == 0


def test_second_run_adds_nothing(run_copy, sample_release, detector):
    before = {p.name: p.read_bytes() for p in (run_copy / CACHE_NAME).iterdir()}
    report = detect_dataset(sample_release, run_copy, "all", DetectOptions(workers=0), detector=detector, progress=False)
    assert report.videos_done == 0 and report.videos_cached == 16
    assert {p.name: p.read_bytes() for p in (run_copy / CACHE_NAME).iterdir()} == before


def test_corrupt_and_missing_videos_are_skipped_and_listed(tmp_path, detector, sample_release):
    videos = {"tree": CLIPS / "tree.avi", "gone": tmp_path / "gone.mp4",
              "dog": sample_release / "clips320H" / "dog_a.mp4"}
    report = detect_videos(videos, tmp_path, DetectOptions(workers=1), detector=detector, progress=False)
    assert set(report.failed) == {"tree", "gone"}
    assert "truncated" in report.failed["tree"] and "not found" in report.failed["gone"]
    assert "tree.avi" in report.summary()
    assert set(load_detections(tmp_path).video) == {"dog"}


def test_other_settings_refuse_the_cache(run_copy, sample_release):
    with pytest.raises(CascadeError, match="made with stride=1"):
        detect_videos({"x": CLIPS / "bikes.mp4"}, run_copy, DetectOptions(weights=str(WEIGHTS), device="cpu", stride=2))
    cached = open_dataset(sample_release).video_paths()  # nothing left to detect: still checked
    with pytest.raises(CascadeError, match="made with stride=1"):
        detect_videos(cached, run_copy, DetectOptions(stride=3))
    with pytest.raises(CascadeError, match="made with model="):
        detect_videos(cached, run_copy, DetectOptions(weights="yolo11n.yaml"))


def test_missing_weights_say_where_we_looked(monkeypatch):
    monkeypatch.setenv("CASCADE_WEIGHTS", "/nowhere/best.pt")
    with pytest.raises(CascadeError, match=r"from \$CASCADE_WEIGHTS.*looked at --weights"):
        resolve_weights(None)
    monkeypatch.delenv("CASCADE_WEIGHTS")
    assert resolve_weights(None) == "yolo11n.pt"


def test_weights_of_no_model_format_are_bad_input_in_one_line(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not weights")
    for weights in (notes, tmp_path):  # Ultralytics' TypeError for these was reported as a bug in cascade
        with pytest.raises(CascadeError) as caught:
            Detector(str(weights), device="cpu")
        assert str(caught.value) == (f"cannot load detector weights {str(weights)!r} (not a model format Ultralytics "
                                     "reads); pass --weights PATH to a YOLO .pt file or exported model folder (or set "
                                     "CASCADE_WEIGHTS)")


KILLABLE = """
import sys
from cascade.detect import DetectOptions, detect_dataset
detect_dataset(sys.argv[1], sys.argv[2], "all", DetectOptions(weights=sys.argv[3], device="cpu", workers=0),
               commit_every=0, progress=False)
"""


def test_a_killed_run_keeps_its_cache_and_resumes(tmp_path, sample_release, detected_run, detector):
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE, str(sample_release), str(run), str(WEIGHTS)],
                            env={**os.environ, "YOLO_OFFLINE": "1"})
    deadline = time.monotonic() + 240
    while not DetectionCache(run).videos() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = load_detections(run)  # readable: never half-written
    done = set(partial.video)
    assert 0 < len(done) < 16
    report = detect_dataset(sample_release, run, "all", DetectOptions(workers=0), detector=detector, progress=False)
    assert report.videos_cached == len(done) and report.videos_done == 16 - len(done)
    full, reference = load_detections(run), load_detections(detected_run)
    order = ["video", "frame", "conf", "cls"]
    full, reference = (t.sort_values(order).reset_index(drop=True) for t in (full, reference))
    # nothing lost, nothing doubled, and the same boxes exactly: the killed process, with Ultralytics'
    # OMP_NUM_THREADS=1 inherited from this one, and the resume in this process detect identically
    assert full.equals(reference)


def test_batches_across_videos_give_each_video_its_own_detections(tmp_path, sample_release, detected_run, detector):
    # cat_a, dog_a, bird_a and cat_b share one frame size; a batch of 5 frames from chunks of 3 splits
    # every 24-frame video across batches and puts two videos in most batches, and the last is padded
    names = ["cat_a", "dog_a", "bird_a", "cat_b", "walk_a"]
    videos = {v: sample_release / "clips320H" / f"{v}.mp4" for v in names}
    report = detect_videos(videos, tmp_path, DetectOptions(batch=5, chunk=3, workers=0), detector=detector, progress=False)
    assert report.videos_done == 5 and report.frames == 5 * 24
    order = ["video", "frame", "conf", "cls"]
    mixed = load_detections(tmp_path).sort_values(order).reset_index(drop=True)
    alone = load_detections(detected_run, names).sort_values(order).reset_index(drop=True)  # batch 4 = chunk 4
    assert mixed.equals(alone)


def test_cpu_detection_decodes_in_process_and_gpu_detection_uses_workers():
    from cascade.workers import default_workers

    assert default_workers(3, on_gpu=False) == 0
    assert default_workers(3, on_gpu=True) >= 1
    assert default_workers(1, on_gpu=True) == 1  # never more workers than videos
