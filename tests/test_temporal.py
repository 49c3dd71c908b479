"""Temporal (TSM) heads: the shift, ImageNet-compatible weights, the windows a head is trained and
asked on (clamped at the video's ends, boxes per frame), and checkpoints old and new."""

import json
import shutil

import cv2
import numpy as np
import pytest
import torch
from torchvision.models import resnet34

from builders import constant_head, write_cache
from cascade.data import open_dataset
from cascade.data.frames import read_frames
from cascade.labels import group
from cascade.heads.checkpoint import head_path, load_head
from cascade.heads.model import build_head, predict_batches
from cascade.backbones.preprocess import head_input
from cascade.backbones.temporal import TSMResNet, temporal_shift
from cascade.heads.inputs import Window
from cascade.heads.training import decode_samples, instance_table
from cascade.pipeline import Cascade
from conftest import TINY_TRAIN, WEIGHTS, on_cpu, run_cli

TINY = [*TINY_TRAIN, "--batch", "4", "--imgsz", "32"]  # clips: smaller still
TSM = ["--temporal", "tsm", "--clip-len", "3", "--clip-stride", "2"]



def test_the_shift_moves_an_eighth_of_the_channels_one_frame_each_way():
    # two clips of 3 frames, 8 channels (one shifted each way), 1 x 1 pixels: value 100 clip + 10 frame + channel
    x = torch.tensor([[[100 * c + 10 * t + ch for ch in range(8)] for t in range(3)] for c in range(2)])
    x = x.float().view(6, 8, 1, 1)
    expected = torch.tensor([
        [10, 0, 2, 3, 4, 5, 6, 7],  # channel 0 from the next frame, channel 1 from the previous (none: 0)
        [20, 1, 12, 13, 14, 15, 16, 17],
        [0, 11, 22, 23, 24, 25, 26, 27],  # the last frame has no next one
        [110, 0, 102, 103, 104, 105, 106, 107],  # nothing crosses from one clip to the next
        [120, 101, 112, 113, 114, 115, 116, 117],
        [0, 111, 122, 123, 124, 125, 126, 127],
    ]).float()
    assert torch.equal(temporal_shift(x, 3).view(6, 8), expected)
    channels_last = temporal_shift(x.contiguous(memory_format=torch.channels_last), 3)
    assert torch.equal(channels_last.view(6, 8), expected)


def test_a_tsm_resnet34_loads_a_plain_resnet34_state_dict_unchanged():
    plain, tsm = resnet34().state_dict(), TSMResNet(clip_len=4)
    assert list(tsm.state_dict()) == list(plain)  # no parameter added, none renamed
    tsm.load_state_dict(plain)  # strict
    assert all(torch.equal(v, plain[k]) for k, v in tsm.state_dict().items())
    shifted = [m for m in tsm.modules() if type(m).__name__ == "TemporalShiftConv2d"]
    assert len(shifted) == 16 and all(block.conv1 in shifted for layer in (tsm.layer1, tsm.layer4) for block in layer)


def test_a_tsm_head_sees_the_order_of_frames_and_a_single_frame_head_cannot():
    torch.manual_seed(0)
    tsm, _ = build_head(group("dog"), "none", Window(4, 2))
    single, _ = build_head(group("dog"), "none")
    clips = torch.randint(0, 256, (2, 4, 3, 32, 32), dtype=torch.uint8)
    backwards = clips.flip(1)
    cpu = torch.device("cpu")
    assert predict_batches(tsm, clips, cpu).shape == (2, 7)
    assert not torch.allclose(predict_batches(tsm, clips, cpu), predict_batches(tsm, backwards, cpu))
    per_frame = predict_batches(single, clips.flatten(0, 1), cpu).view(2, 4, 7).mean(1)
    per_frame_backwards = predict_batches(single, backwards.flatten(0, 1), cpu).view(2, 4, 7).mean(1)
    assert torch.allclose(per_frame, per_frame_backwards, atol=1e-6)


def test_crop_windows_use_each_annotated_frame_s_box_else_the_key_frame_s(sample_release, tmp_path):
    clip = sample_release / "clips320H" / "dog_a.mp4"
    first, second = [150, 60, 400, 300], [170, 70, 420, 310]  # the dog moved a little
    labels = tmp_path / "labels.csv"
    labels.write_text("video,frame,labels,boxes\n"
                      f"{clip},5,dog-none,{' '.join(map(str, first))}\n{clip},7,dog-none,{' '.join(map(str, second))}\n")
    instances = instance_table(open_dataset(labels).labelled_frames(), group("dog"))
    samples = decode_samples(instances, group("dog"), 32, crop=True, pad=0.1, progress=False, workers=1,
                             window=Window(3, 2))
    frames = read_frames(clip, [3, 5, 7, 9])
    expected = {  # key 5 sees frames 3, 5, 7; key 7 sees 5, 7, 9
        5: [head_input(frames[3], np.array(first), 32), head_input(frames[5], np.array(first), 32),
            head_input(frames[7], np.array(second), 32)],
        7: [head_input(frames[5], np.array(first), 32), head_input(frames[7], np.array(second), 32),
            head_input(frames[9], np.array(second), 32)],
    }
    assert samples.images.shape == (2, 3, 3, 32, 32) and samples.images.dtype == torch.uint8
    for sample, key in zip(samples.images, (5, 7)):
        assert torch.equal(sample, torch.stack(expected[key]))


def _rgb(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(cv2.resize(image, (32, 32), interpolation=cv2.INTER_AREA)[:, :, ::-1])
                            ).permute(2, 0, 1)


def test_a_tsm_head_trains_predicts_and_evaluates_on_its_windows(run_copy, sample_release, tmp_path, capsys):
    code, out, _ = run_cli(capsys, "train-head", "--actor", "dog", "--data", sample_release, "--run-dir", run_copy,
                        *TINY, *TSM, "--crop", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["frames_per_sample"] == 3 and report["input_mib"] > 0
    meta = torch.load(head_path(run_copy, group("dog")), weights_only=True)["meta"]
    assert (meta["temporal"], meta["clip_len"], meta["clip_stride"], meta["crop"]) == ("tsm", 3, 2, True)
    assert (meta["args"]["temporal"], meta["args"]["clip_len"], meta["args"]["clip_stride"]) == ("tsm", 3, 2)

    code, out, _ = run_cli(capsys, "evaluate", "--data", sample_release, "--run-dir", run_copy, "--thresholds", "builtin",
                        "--weights", WEIGHTS, "--device", "cpu", "--json", "--temporal", "tsm")
    heads = {row["index"]: row for row in json.loads(out)["tables"]["heads"]}
    assert code == 0 and heads["dog"]["frames"] > 0

    # predict feeds each chosen frame's window, clamped at both ends; a frame without a detected box shows the
    # key frame's box, and a key frame without one the whole frames
    clip = (sample_release / "clips320H" / "dog_c.mp4").resolve()
    run = tmp_path / "boxes"
    write_cache(run, {str(clip): {"dog": 10}})  # the box (10, 20, 110, 220) in frames 1-10 only
    (run / "heads").mkdir()
    shutil.copy(head_path(run_copy, group("dog")), head_path(run, group("dog")))
    result = Cascade.from_run_dir(run, on_cpu()).predict(clip, frames=[1, 10, 24])
    frames = read_frames(clip, [1, 3, 8, 10, 12, 22, 24])
    assert max(read_frames(clip, [24], past_end=[26])) == 24  # the video ends at frame 24
    boxed = {n: frames[n][0:240, 0:120] for n in frames}  # the box padded by 10 % per side, clipped
    clips = torch.stack([
        torch.stack([_rgb(boxed[1]), _rgb(boxed[1]), _rgb(boxed[3])]),  # frame -1 clamps to 1
        torch.stack([_rgb(boxed[8]), _rgb(boxed[10]), _rgb(boxed[12])]),  # 12 has no box: frame 10's
        torch.stack([_rgb(frames[22]), _rgb(frames[24]), _rgb(frames[24])]),  # 26 clamps to 24; no box: whole
    ])
    head, _ = load_head(head_path(run, group("dog")), group("dog"))
    expected = predict_batches(head, clips, torch.device("cpu")).mean(0)
    label = next(l for l in result.labels if l["actor"] == "dog")
    assert label["pair"] == group("dog").pairs[int(expected.argmax())]
    assert label["confidence"] == pytest.approx(float(expected.max()), abs=1e-6)


def test_a_single_frame_checkpoint_from_before_temporal_heads_keeps_working(sample_release, tmp_path):
    clip = (sample_release / "clips320H" / "dog_c.mp4").resolve()
    write_cache(tmp_path, {str(clip): {"dog": 24}})
    path = constant_head(tmp_path, "dog", 77)
    checkpoint = torch.load(path, weights_only=True)
    old_meta = {k: v for k, v in checkpoint["meta"].items() if k not in ("temporal", "clip_len", "clip_stride")}
    torch.save({**checkpoint, "meta": old_meta}, path)
    model, _ = load_head(path, group("dog"))
    assert not isinstance(model, TSMResNet)
    result = Cascade.from_run_dir(tmp_path, on_cpu()).predict(clip, frames=[24])
    assert [l["pair"] for l in result.labels] == [77]


@pytest.mark.parametrize("flags, needle", [
    (["--temporal", "tsm"], "dog.pt: this dog head was trained with --temporal none, not --temporal tsm"),
    (["--clip-len", "8"], "dog.pt: this dog head was trained with --clip-len 1, not --clip-len 8"),
    (["--clip-stride", "0"], "--clip-len and --clip-stride must be at least 1"),
])
def test_a_head_trained_otherwise_than_the_flags_say_is_refused(flags, needle, sample_release, tmp_path, capsys):
    clip = (sample_release / "clips320H" / "dog_c.mp4").resolve()
    write_cache(tmp_path, {str(clip): {"dog": 24}})
    constant_head(tmp_path, "dog", 77)
    code, _, err = run_cli(capsys, "predict", clip, "--run-dir", tmp_path, "--device", "cpu", "--workers", "0", *flags)
    assert code == 2 and needle in err and err.count("\n") == 1
    if "--temporal" in flags:
        assert "retrain it with `cascade train-head --actor dog --temporal tsm`" in err


def test_train_head_refuses_a_clip_shorter_than_one_frame(sample_release, tmp_path, capsys):
    code, _, err = run_cli(capsys, "train-head", "--actor", "dog", "--data", sample_release, "--run-dir", tmp_path,
                        *TINY, "--temporal", "tsm", "--clip-len", "0")
    assert code == 2 and "--clip-len and --clip-stride must be at least 1, got 0 and 2" in err
    assert err.count("\n") == 1 and not (tmp_path / "heads").exists()
