"""End to end on the sample release, tiny sizes: tune -> train two heads -> predict -> evaluate."""

import json
import logging

import pytest
import torch

from cascade.cli.main import main
from cascade.errors import CascadeError
from cascade.labels import VALID_PAIRS, group
from cascade.heads.checkpoint import load_head
from cascade.heads.model import build_head
from builders import constant_head
from conftest import CLIPS, TINY_TRAIN, WEIGHTS, run_cli




@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, detected_run, sample_release):
    import shutil

    run = tmp_path_factory.mktemp("trained") / "run"
    shutil.copytree(detected_run, run)
    common = ["--data", sample_release, "--run-dir", run]
    assert main([str(a) for a in ["tune-thresholds", *common, "--weights", WEIGHTS, "--device", "cpu",
                                  "--particles", "10", "--iters", "3", "--restarts", "1"]]) == 0
    for actor in ("dog", "adult"):
        assert main([str(a) for a in ["train-head", "--actor", actor, *common, *TINY_TRAIN, "--val-fraction", "0.5"]]) == 0
    return run


def test_checkpoints_carry_their_metadata(trained_run, sample_release):
    for name, actor in (("dog", "dog"), ("person", "adult")):
        checkpoint = torch.load(trained_run / "heads" / f"{name}.pt", weights_only=True)
        meta = checkpoint["meta"]
        assert meta["group"] == name and meta["pairs"] == list(group(name).pairs)
        assert meta["imgsz"] == 64 and meta["crop"] is False and meta["init"] == "random" and "metrics" in meta
        assert meta["args"] == {  # what train_head received from the flags, defaults included
            "data": str(sample_release), "run_dir": str(trained_run), "actor": actor, "epochs": 1, "batch": 8,
            "lr": 0.001, "imgsz": 64, "crop": False, "temporal": "none", "clip_len": 8, "clip_stride": 2,
            "backbone": "resnet34", "pretrained": "none", "freeze_bn": False, "val_fraction": 0.5, "device": "cpu",
            "seed": 0, "amp": True, "head": "finetune", "features": None, "window": 5,
            "split": "train",
            "feature_model": "linear",
            "feature_settings": {"every": None, "feature_backbone": None, "pretrained": "none",  # None: the run's
                                 "feature_imgsz": None, "conf": None, "pose_weights": None,
                                 "video_frames": None, "video_fps": None}}
        assert meta["backbone"] == "resnet34"  # the seed's, and what loading builds
        assert (meta["temporal"], meta["clip_len"], meta["clip_stride"]) == ("none", 1, 1)  # one frame per sample
        assert checkpoint["state_dict"]["fc.weight"].shape == (len(group(name).pairs), 512)


def test_training_one_head_leaves_the_others_untouched(trained_run, sample_release, capsys):
    dog_before = (trained_run / "heads" / "dog.pt").read_bytes()
    code, out, _ = run_cli(capsys, "train-head", "--actor", "cat", "--data", sample_release, "--run-dir", trained_run,
                        *TINY_TRAIN, "--json")
    assert code == 0 and json.loads(out)["group"] == "cat"
    assert (trained_run / "heads" / "dog.pt").read_bytes() == dog_before


def test_same_seed_gives_the_same_head(tmp_path, sample_release):
    for run in ("a", "b"):
        assert main([str(a) for a in ["train-head", "--actor", "bird", "--data", sample_release,
                                      "--run-dir", tmp_path / run, *TINY_TRAIN, "--seed", "5"]]) == 0
    a = torch.load(tmp_path / "a" / "heads" / "bird.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b" / "heads" / "bird.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_predict_a_real_clip(trained_run, sample_release, capsys):
    code, out, _ = run_cli(capsys, "predict", sample_release / "clips320H" / "walk_b.mp4", "--run-dir", trained_run,
                        "--weights", WEIGHTS, "--device", "cpu", "--json", "--frames", "2,10")
    assert code == 0
    result = json.loads(out)
    assert result["frames"] == [2, 10] and result["scores"]["person"] > 0.5
    assert result["labels"] and all(label["pair"] in VALID_PAIRS for label in result["labels"])
    person = next(l for l in result["labels"] if l["pair"] // 10 in (1, 2))
    assert 0 < person["confidence"] <= 1
    for present, command in result["untrained"].items():
        assert f"--actor {present}" in command


def test_checkpoints_that_do_not_fit_are_refused_with_one_line(tmp_path):
    cat = constant_head(tmp_path / "a", "cat", 69)
    with pytest.raises(CascadeError, match="holds the 'cat' head, not the 'dog' head"):
        load_head(cat, group("dog"))
    garbage = tmp_path / "dog.pt"
    not_ours = (f"{garbage}: not a cascade head checkpoint (train-head writes tensors and plain data under 'meta' and "
                "'state_dict'); move it away, or replace it with `cascade train-head --actor dog`")
    # not a PyTorch file; one of another's objects (PyTorch's refusal of it is pages about its own loader); a
    # PyTorch file of tensors without our metadata
    for write in (lambda: garbage.write_bytes(b"not a checkpoint"), lambda: torch.save(torch.nn.Linear(2, 7), garbage),
                  lambda: torch.save({"fc.weight": torch.zeros(7, 512)}, garbage)):
        write()
        with pytest.raises(CascadeError) as caught:
            load_head(garbage, group("dog"))
        assert str(caught.value) == not_ours
    checkpoint = torch.load(constant_head(tmp_path / "b", "dog", 77), weights_only=True)
    wrong_pairs = {**checkpoint, "meta": {**checkpoint["meta"], "pairs": [72, 73]}}
    torch.save(wrong_pairs, tmp_path / "pairs.pt")
    with pytest.raises(CascadeError, match=r"its outputs \[72, 73\] are not the dog pairs .*; train it again with "):
        load_head(tmp_path / "pairs.pt", group("dog"))
    state = dict(checkpoint["state_dict"])
    state["fc.weight"], state["fc.bias"] = state["fc.weight"][:3], state["fc.bias"][:3]  # 3 outputs, not 7
    torch.save({**checkpoint, "state_dict": state}, tmp_path / "shape.pt")
    with pytest.raises(CascadeError) as caught:
        load_head(tmp_path / "shape.pt", group("dog"))
    assert str(caught.value) == (f"{tmp_path / 'shape.pt'}: weights do not fit a resnet34 dog head (fc.weight is "
                                 "(3, 512), not (7, 512)); train it again with `cascade train-head --actor dog`")


@pytest.mark.parametrize("args, needle", [
    (["train-head", "--actor", "horse"], "unknown actor 'horse'; valid: person, ball"),
    (["train-head", "--actor", "car"], "no training frames show a car"),
])
def test_train_head_bad_input(args, needle, sample_release, tmp_path, capsys):
    code, _, err = run_cli(capsys, *args, "--data", sample_release, "--run-dir", tmp_path, *TINY_TRAIN)
    assert code == 2 and needle in err and err.count("\n") == 1


def test_evaluate_needs_tuned_thresholds(tmp_path, sample_release, capsys):
    code, _, err = run_cli(capsys, "evaluate", "--data", sample_release, "--run-dir", tmp_path / "x")
    assert code == 2 and "no thresholds; run `cascade tune-thresholds` first" in err and err.count("\n") == 1


def test_a_head_or_thresholds_file_that_is_not_ours_is_one_line_in_our_words(tmp_path, sample_release, capsys):
    run = tmp_path / "run"
    (run / "heads").mkdir(parents=True)
    torch.save(torch.nn.Linear(2, 7), run / "heads" / "dog.pt")  # someone else's model where the dog head goes
    evaluate = ["evaluate", "--data", sample_release, "--run-dir", run, "--device", "cpu"]
    code, _, err = run_cli(capsys, *evaluate, "--thresholds", "builtin")
    assert code == 2 and err == (f"cascade evaluate: error: {run / 'heads' / 'dog.pt'}: not a cascade head checkpoint "
                                 "(train-head writes tensors and plain data under 'meta' and 'state_dict'); move it "
                                 "away, or replace it with `cascade train-head --actor dog`\n")
    (run / "thresholds.json").write_bytes((run / "heads" / "dog.pt").read_bytes())
    code, _, err = run_cli(capsys, *evaluate)
    assert code == 2 and err == (f"cascade evaluate: error: {run / 'thresholds.json'}: not a cascade thresholds file "
                                 "(not JSON text); run `cascade tune-thresholds` to replace it, or pass --thresholds "
                                 "builtin\n")


def test_predict_an_undecodable_video(trained_run, capsys):
    code, _, err = run_cli(capsys, "predict", CLIPS / "tree.avi", "--run-dir", trained_run, "--weights", WEIGHTS,
                        "--device", "cpu")
    assert code == 2 and "tree.avi: truncated" in err


def test_imagenet_weights_or_a_clear_warning(caplog, monkeypatch):
    monkeypatch.delenv("CASCADE_PRETRAINED", raising=False)  # torchvision's own weights, or the warning
    with caplog.at_level(logging.WARNING):
        model, init = build_head(group("ball"), "imagenet")
    assert model.fc.out_features == 4
    if init == "random":  # no network and no cached torchvision weights on this machine
        assert "RANDOM weights" in caplog.text and "--pretrained none" in caplog.text and "CASCADE_PRETRAINED" in caplog.text
    else:
        assert init.startswith("imagenet (torchvision") and not caplog.text


def test_crop_heads_train_on_boxes_and_predict_on_detections(trained_run, sample_release, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    code, out, _ = run_cli(capsys, "train-head", "--actor", "dog", "--data", sample_release, "--run-dir", run,
                        *TINY_TRAIN, "--crop", "--json")
    assert code == 0
    assert torch.load(run / "heads" / "dog.pt", weights_only=True)["meta"]["crop"] is True
    code, out, _ = run_cli(capsys, "predict", sample_release / "clips320H" / "dog_c.mp4", "--run-dir", run,
                        "--weights", WEIGHTS, "--device", "cpu", "--json")
    assert code == 0
    dog = [l for l in json.loads(out)["labels"] if l["pair"] // 10 == 7]
    assert len(dog) == 1 and dog[0]["pair"] in group("dog").pairs


def test_crop_needs_boxes(tmp_path, sample_release, capsys):
    labels = tmp_path / "labels.csv"
    clip = sample_release / "clips320H" / "dog_a.mp4"
    labels.write_text(f"video,frame,labels\n{clip},3,dog-none\n")
    code, _, err = run_cli(capsys, "train-head", "--actor", "dog", "--data", labels, "--run-dir", tmp_path, *TINY_TRAIN, "--crop")
    assert code == 2 and "--crop needs a box" in err


def test_an_interrupted_training_leaves_the_previous_head_as_it_was(trained_run, sample_release, tmp_path, capsys):
    import _thread
    import shutil
    import signal
    import sys
    import threading

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    before = (run / "heads" / "dog.pt").read_bytes()
    landed, done, main = [], threading.Event(), threading.main_thread().ident

    def main_stack() -> list[str]:
        frame, stack = sys._current_frames().get(main), []
        while frame is not None:
            stack.append(frame.f_code.co_name)
            frame = frame.f_back
        return stack

    def ctrl_c_inside_an_epoch() -> None:
        # Watch the main thread (no OS timer, no signal handler another library could replace) and press
        # Ctrl-C once it is inside an epoch; again only if training is still going a second later (the
        # first can land in a finalizer, where Python swallows the KeyboardInterrupt)
        while not done.wait(0.02):
            stack = main_stack()
            if "train_one_epoch" in stack:
                landed.append(stack)
                _thread.interrupt_main()
                if done.wait(1.0):
                    return

    # Ctrl-C as a terminal gives it, whatever an earlier test or library left behind
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    watcher = threading.Thread(target=ctrl_c_inside_an_epoch, daemon=True)
    watcher.start()
    try:  # far more epochs than the test waits for, yet bounded: a missed interrupt fails, never hangs
        code, _, err = run_cli(capsys, "train-head", "--actor", "dog", "--data", sample_release, "--run-dir", run,
                            *TINY_TRAIN, "--epochs", "300")
    finally:
        done.set()
        watcher.join()
        signal.signal(signal.SIGINT, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    assert landed and "train_head" in landed[0]  # Ctrl-C came inside an epoch of train_head
    assert code == 130 and "interrupted" in err
    assert (run / "heads" / "dog.pt").read_bytes() == before
    assert sorted(p.name for p in (run / "heads").iterdir()) == sorted(p.name for p in (trained_run / "heads").iterdir())
