"""Crop heads see the actor's padded box, pixel for pixel, at training and at prediction."""

import json

import cv2
import numpy as np
import pytest
import torch

from builders import write_cache
from cascade.cli.main import main
from cascade.data import open_dataset
from cascade.data.frames import read_frames
from cascade.labels import group
from cascade.heads.checkpoint import head_path, load_head, save_head
from cascade.backbones.preprocess import padded_box
from cascade.heads.inputs import HeadInput
from cascade.heads.model import build_head, head_meta, predict_batches
from cascade.heads.training import decode_samples, instance_table
from cascade.pipeline import Cascade
from conftest import CLIPS, WEIGHTS, on_cpu


def _rgb_tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image[:, :, ::-1])).permute(2, 0, 1)


def test_training_inputs_are_the_resized_padded_box(sample_release):
    frames = open_dataset(sample_release).labelled_frames("train")
    instances = instance_table(frames[frames.video == "dog_a"], group("dog"))
    samples = decode_samples(instances, group("dog"), 64, crop=True, pad=0.1, progress=False, workers=1)
    first = instances.sort_values(["path", "frame"], kind="stable").iloc[0]
    # the sample table's dog box is (0.33, 0.25, 0.72, 0.92) of a 568 x 320 frame: (187, 80, 409, 294);
    # padded by 10 % of its 222 x 214 size per side, floored/ceiled, clipped: x 164..432, y 58..316
    assert first.box.tolist() == [187, 80, 409, 294]
    frame = read_frames(first.path, [first.frame])[first.frame]
    expected = cv2.resize(frame[58:316, 164:432], (64, 64), interpolation=cv2.INTER_AREA)
    assert torch.equal(samples.images[0], _rgb_tensor(expected))
    whole = cv2.resize(frame, (64, 64), interpolation=cv2.INTER_AREA)
    assert not torch.equal(samples.images[0], _rgb_tensor(whole))


def test_prediction_feeds_a_crop_head_the_detected_box(tmp_path, sample_release):
    clip = (sample_release / "clips320H" / "dog_c.mp4").resolve()
    run = tmp_path / "run"
    write_cache(run, {str(clip): {"dog": 24}})  # the box (10, 20, 110, 220) in every frame
    torch.manual_seed(0)
    model, _ = build_head(group("dog"), "none")  # random weights: the output depends on the input
    save_head(head_path(run, group("dog")), model, head_meta(group("dog"), HeadInput(64, True, 0.1), "random", {}))
    cascade = Cascade.from_run_dir(run, on_cpu(head_frames=3))
    result = cascade.predict(clip)
    assert result.frames == [5, 13, 21]
    frames = read_frames(clip, result.frames)
    # padded by 10 % of the 100 x 200 box per side and clipped: x 0..120, y 0..240
    crops = torch.stack([_rgb_tensor(cv2.resize(frames[n][0:240, 0:120], (64, 64), interpolation=cv2.INTER_AREA))
                         for n in result.frames])
    wholes = torch.stack([_rgb_tensor(cv2.resize(frames[n], (64, 64), interpolation=cv2.INTER_AREA))
                          for n in result.frames])
    head, _ = load_head(head_path(run, group("dog")), group("dog"))
    on_crops = predict_batches(head, crops, torch.device("cpu")).mean(0)
    on_wholes = predict_batches(head, wholes, torch.device("cpu")).mean(0)
    label = next(l for l in result.labels if l["actor"] == "dog")
    assert label["pair"] == group("dog").pairs[int(on_crops.argmax())]
    assert label["confidence"] == float(on_crops.max())
    assert not torch.allclose(on_crops, on_wholes)  # the whole frame would have given another answer


def test_crop_without_boxes_names_the_labels_and_the_first_unboxed_frame(tmp_path, capsys):
    labels = tmp_path / "labels.csv"
    labels.write_text(f"video,frame,labels,boxes\n{CLIPS / 'Elhison__dog0.mp4'},5,dog-running,1 2 30 40\n"
                      f"{CLIPS / 'Elhison__dog1.mp4'},7,dog-running,\n")
    code = main(["train-head", "--actor", "dog", "--data", str(labels), "--run-dir", str(tmp_path / "run"), "--crop",
                 "--head", "finetune", "--epochs", "1", "--pretrained", "none", "--device", "cpu", "--imgsz", "32"])
    assert code == 2 and capsys.readouterr().err == (
        f"cascade train-head: error: {labels}: --crop needs a box for every label, and the dog of Elhison__dog1 "
        "frame 7 has none; give its row boxes or train without --crop\n")


def _clip_labels(folder, sample_release, rows):
    labels = folder / "clips.csv"
    labels.write_text("video,labels,split\n" + "".join(f"{sample_release / 'clips320H' / v}.mp4,{l},{s}\n"
                                                        for v, l, s in rows))
    return labels


def test_a_crop_head_on_clip_labels_sees_the_group_s_detected_box(run_copy, sample_release, tmp_path, capsys):
    from cascade.detect import load_detections
    from cascade.heads.training import with_detected_boxes

    # clip-level labels have no boxes: the cached detections give them, as predict takes them
    labels = _clip_labels(tmp_path, sample_release, [("dog_a", "dog-none", "train"), ("dog_b", "dog-none", "train")])
    instances = instance_table(open_dataset(labels).labelled_frames("train"), group("dog"))
    detections = load_detections(run_copy, ["dog_a", "dog_b"])
    boxed, lost = with_detected_boxes(instances, detections, group("dog"))
    samples = decode_samples(boxed, group("dog"), 64, crop=True, pad=0.1, progress=False, workers=1,
                             detections=detections)
    first = boxed.sort_values(["path", "frame"], kind="stable").iloc[0]
    rows = detections[(detections.video == first.video) & (detections.frame == first.frame) & (detections.cls == 16)]
    best = rows.loc[rows.conf.idxmax()]  # the most confident dog box of that frame, read here independently
    assert first.box.tolist() == [best.x1, best.y1, best.x2, best.y2] and lost == len(instances) - len(boxed)
    frame = read_frames(first.path, [first.frame])[first.frame]
    left, top, right, bottom = padded_box(first.box, 0.1, *frame.shape[:2])
    expected = cv2.resize(frame[top:bottom, left:right], (64, 64), interpolation=cv2.INTER_AREA)
    assert torch.equal(samples.images[0], _rgb_tensor(expected))
    # the command: trains on those crops, records it, says how many frames had no box
    code = main(["train-head", "--actor", "dog", "--data", str(labels), "--run-dir", str(run_copy), "--crop", "--json",
                 "--head", "finetune", "--epochs", "1", "--pretrained", "none", "--device", "cpu", "--imgsz", "32", "--val-fraction", "0"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    assert report["train_samples"] == len(boxed) and report["without_box"] == lost
    assert load_head(head_path(run_copy, group("dog")), group("dog"))[1]["crop"] is True


def test_crop_on_clip_labels_of_undetected_videos_says_what_to_run(sample_release, tmp_path, capsys):
    labels = _clip_labels(tmp_path, sample_release, [("dog_a", "dog-none", "train")])
    code = main(["train-head", "--actor", "dog", "--data", str(labels), "--run-dir", str(tmp_path / "run"), "--crop",
                 "--head", "finetune", "--epochs", "1", "--pretrained", "none", "--device", "cpu", "--imgsz", "32"])
    assert code == 2 and capsys.readouterr().err == (
        f"cascade train-head: error: {tmp_path / 'run' / 'detections'}: --crop on clip-level labels crops "
        "the detected boxes, and 1 training video(s) are not detected yet (first: dog_a); run `cascade detect "
        f"--data {labels} --run-dir {tmp_path / 'run'}` first\n")


def test_predict_and_evaluate_share_one_head_stage(run_copy, sample_release, tmp_path):
    from cascade.evaluation import evaluate

    torch.manual_seed(3)
    model, _ = build_head(group("dog"), "none")  # random weights: the output depends on what it is fed
    save_head(head_path(run_copy, group("dog")), model, head_meta(group("dog"), HeadInput(64, True, 0.1), "random", {}))
    labels = _clip_labels(tmp_path, sample_release, [("dog_a", "dog-none", "train"), ("dog_c", "dog-none", "test")])
    settings = on_cpu({"weights": str(WEIGHTS)}, thresholds="builtin")
    report = evaluate(labels, run_copy, split="test", settings=settings, progress=False)
    result = Cascade.from_run_dir(run_copy, settings).predict(sample_release / "clips320H" / "dog_c.mp4")
    sample = report.tables["samples"].set_index("video").loc["dog_c"]
    assert sample.frames == " ".join(map(str, result.frames))
    assert sample.predicted == " ".join(label["label"] for label in result.labels)
    dog = next(label for label in result.labels if label["actor"] == "dog")
    assert dog["confidence"] == pytest.approx(float(report.head_probs["dog"].probs.iloc[0].max()), abs=1e-6)
