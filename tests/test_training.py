"""Head training internals on the real sample release: threaded decoding, the epoch that is kept."""

import numpy as np
import torch

from cascade.data import open_dataset
from cascade.data.frames import read_frames
from cascade.labels import group
from cascade.models.heads import load_head
from cascade.models.inputs import head_input
from cascade.models.training import decode_samples, instance_table, split_frames, train_head


def _person_instances(sample_release):
    frames, _ = split_frames(open_dataset(sample_release), 0.0, seed=0)
    return instance_table(frames, group("person"))


def test_threads_decode_the_same_inputs_as_one_thread(sample_release):
    instances = _person_instances(sample_release)
    assert instances.path.nunique() >= 3  # several videos, so the threads share the work
    serial = decode_samples(instances, group("person"), 64, crop=False, pad=0.1, progress=False, workers=1)
    threaded = decode_samples(instances, group("person"), 64, crop=False, pad=0.1, progress=False, workers=4)
    assert torch.equal(serial.images, threaded.images) and torch.equal(serial.targets, threaded.targets)
    # rows follow (path, frame) order; the last row is that frame's input, decoded independently here
    last = instances.sort_values(["path", "frame"], kind="stable").iloc[-1]
    frame = read_frames(last.path, [last.frame])[last.frame]
    assert torch.equal(threaded.images[-1], head_input(frame, None, 64))
    assert threaded.images.shape == (len(instances), 3, 64, 64) and threaded.images.dtype == torch.uint8


def _memorisable(sample_release, folder):
    """Three person clips, each also listed under a second name: with half the videos held out for
    validation, the held-out videos are copies of training ones, so validation F1 moves as the head
    learns (a held-out video the head never saw leaves a tiny random head at F1 0 throughout)."""
    rows = ["video,frame,labels,split"]
    for name, label in (("walk_a", "adult-walking"), ("baby_a", "baby-none"), ("driver_a", "adult-none")):
        for copy in (name, f"{name}_copy"):
            (folder / f"{copy}.mp4").symlink_to(sample_release / "clips320H" / f"{name}.mp4")
            rows += [f"{copy}.mp4,{frame},{label},train" for frame in range(1, 25, 3)]
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    return folder / "labels.csv"


def test_the_saved_head_is_the_best_validation_epoch(sample_release, tmp_path):
    labels = _memorisable(sample_release, tmp_path)
    settings = dict(actor="adult", batch=4, lr=0.003, imgsz=48, pretrained="none", device="cpu", val_fraction=0.5,
                    progress=False)
    report = train_head(labels, tmp_path / "run", epochs=6, **settings)
    scores = [row["val_f1"] for row in report.epochs]
    assert report.val_samples == report.train_samples == 24
    assert report.best_epoch == 1 + int(np.argmax(scores))  # the first of the best, as "improves on" means
    assert 1 < report.best_epoch < len(scores) and max(scores) > min(scores)  # neither the first nor the last
    assert all(row["seconds"] > 0 for row in report.epochs)
    model, meta = load_head(report.file, group("adult"))
    assert meta["epoch"] == report.best_epoch and meta["metrics"]["val_f1"] == max(scores)
    # the file holds that epoch's weights: seeded training stopped at that epoch gives the same ones
    stopped = train_head(labels, tmp_path / "stopped", epochs=report.best_epoch, **settings)
    kept = load_head(stopped.file, group("adult"))[0].state_dict()
    assert all(torch.equal(v, kept[k]) for k, v in model.state_dict().items())
