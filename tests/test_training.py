"""Head training internals on the real sample release: threaded decoding, the epoch that is kept."""

import numpy as np
import torch

from cascade.data import open_dataset
from cascade.data.frames import read_frames
from cascade.labels import group
from cascade.heads.checkpoint import load_head
from cascade.backbones.preprocess import head_input
from cascade.heads.training import decode_samples, instance_table, split_frames, train_head


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
    settings = dict(actor="adult", head="finetune", batch=4, lr=0.003, imgsz=48, pretrained="none", device="cpu",
                    val_fraction=0.5, seed=10, progress=False)
    _, held_out = split_frames(open_dataset(labels), 0.5, seed=10)
    assert sorted(held_out.video.unique()) == ["baby_a_copy", "driver_a", "walk_a_copy"]  # one of each pair
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


class _Seen(torch.nn.Module):
    """A tiny real model that records the first pixel of every sample each step held."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)
        self.steps: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.steps.append(x[:, 0, 0, 0].detach().clone())
        return self.fc(x.mean((2, 3)))


def _steps(order: torch.Tensor | None) -> list[list[int]]:
    """Which samples each step of one epoch held (sample ``i`` is an image filled with 40 * i)."""
    from tqdm import tqdm

    from cascade.backbones.preprocess import normalise
    from cascade.heads.training import Samples, train_one_epoch

    images = (40 * torch.arange(6, dtype=torch.uint8))[:, None, None, None].expand(6, 3, 2, 2).contiguous()
    samples = Samples(images, torch.tensor([0, 1, 0, 1, 0, 1]), np.arange(6), np.zeros((6, 2), bool))
    model = _Seen()
    with tqdm(disable=True) as bar:
        train_one_epoch(model, samples, torch.optim.SGD(model.parameters(), lr=0.1), torch.device("cpu"), 2,
                        torch.Generator().manual_seed(0), bar, order=order)
    pixel = normalise(images, torch.device("cpu"))[:, 0, 0, 0]
    return [[int((pixel - v).abs().argmin()) for v in step] for step in model.steps]


def test_an_epoch_visits_the_samples_in_the_order_given_else_in_a_seeded_permutation():
    assert _steps(torch.tensor([4, 5, 0, 1, 3, 2])) == [[4, 5], [0, 1], [3, 2]]
    seeded = _steps(None)
    assert sorted(sum(seeded, [])) == list(range(6)) and seeded == _steps(None)
    assert seeded != [[0, 1], [2, 3], [4, 5]]  # shuffled (seed 0 happens not to give the identity)
