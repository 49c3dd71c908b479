"""Does a TSM head see motion? Tasks only motion can solve: was this clip played forwards or backwards
(``--task direction``)? Is it moving or frozen on one frame (``--task motion``)?

Data: the real clips of ``../shared/clips/labels.csv`` (the truncated one is left out), each read
up to ``--frames`` frames and resized to ``--imgsz``. Windows of ``--clip-len`` frames
``--clip-stride`` apart start every ``--gap`` frames; each window gives two samples, played
as played (label 0) and played backwards or frozen on its key frame (label 1). Videos are split (seeded) between train and test, so
the test windows come from videos never seen in training.

* TSM: the cascade's temporal head (ResNet-34 with temporal shifts, mean of per-frame logits) on
  the clips.
* single frame: the cascade's single-frame head given the same windows, as ``predict`` gives it
  frames: trained on every frame of every window with the window's label, its probabilities averaged
  over the window's frames. The two directions hold the same frames, so it must score 50 % on
  ``direction``: the control that shows the task cannot be solved from appearance; a frozen window
  shows one real frame, so on ``motion`` it can only guess from how alike a window's frames look.

Both start from the same seeded random weights (no ImageNet download here), use the cascade's own
training step (SGD momentum 0.9, bf16 and channels-last on CUDA) and the same number of frames per
step; the script prints each one's training loss per epoch (to stderr), test accuracy of each and
their difference, each with a 95 % interval from resampling the test videos (a video's windows are
alike, so counting windows as independent would overstate the evidence), and records them.

    python3 benchmarks/temporal_probe.py                      # on a GPU: about 2 minutes on an H100
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import torch
from torch import nn
from torchvision.models import resnet34
from tqdm import tqdm

from _data import LABELLED_CLIPS, machine, record
from cascade.data.frames import iter_frames
from cascade.errors import CascadeError
from cascade.heads.model import predict_batches
from cascade.backbones.preprocess import head_input
from cascade.backbones.temporal import TSMResNet
from cascade.heads.inputs import Window
from cascade.heads.training import Samples, train_one_epoch

TRUNCATED = {"muhammad-baqir-410_jump.mp4"}


def read_clip(path: str, frames: int, imgsz: int) -> torch.Tensor:
    """The first ``frames`` frames (fewer if the clip is shorter), as head inputs (F, 3, S, S) uint8."""
    kept = []
    for number, frame in iter_frames(path, check_complete=False):
        kept.append(head_input(frame, None, imgsz))
        if number == frames:
            break
    return torch.stack(kept)


def window_samples(videos: list[torch.Tensor], window: Window, gap: int,
                   task: str) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Every window (starting each ``gap`` frames, wholly inside its video) twice: label 0 as played,
    label 1 played backwards (``direction``) or frozen on its key frame (``motion``); and the index of
    each sample's video."""
    span = window.clip_stride * (window.clip_len - 1)
    starts = [(index, start) for index, video in enumerate(videos) for start in range(0, len(video) - span, gap)]
    played = torch.stack([videos[index][start : start + span + 1 : window.clip_stride] for index, start in starts])
    other = played.flip(1) if task == "direction" else played[:, window.clip_len // 2 :][:, :1].expand_as(played)
    images = torch.cat([played, other.contiguous()])
    targets = torch.cat([torch.zeros(len(played), dtype=torch.long), torch.ones(len(played), dtype=torch.long)])
    owners = np.array([index for index, _ in starts])
    return images, targets, np.concatenate([owners, owners])


def video_interval(values: np.ndarray, videos: np.ndarray, seed: int, draws: int = 2000) -> tuple[float, float]:
    """95 % interval of the mean of ``values`` (per test sample) with the test videos resampled with
    replacement: a video's windows are alike, so the video, not the window, is the unit of chance."""
    _, index = np.unique(videos, return_inverse=True)
    sums, counts = np.bincount(index, weights=values), np.bincount(index)
    picks = np.random.default_rng(seed).integers(0, len(counts), (draws, len(counts)))
    low, high = np.percentile(sums[picks].sum(1) / counts[picks].sum(1), [2.5, 97.5])
    return float(low), float(high)


def paired_order(windows: int, per_window: int, generator: torch.Generator) -> torch.Tensor:
    """Sample indices for one epoch: windows in a seeded order, each window's two versions (``i`` and
    ``i + windows``, as :func:`window_samples` lays them out; ``per_window`` samples each) side by
    side, so they share a step and its gradient compares them: what tells them apart is motion only,
    while all else about the window cancels. With the versions in separate steps, random weights and
    CPU-sized runs, neither task was learned at all (TSM 50.0 %)."""
    first = torch.randperm(windows, generator=generator)
    versions = torch.stack([first, first + windows], 1).flatten()
    return (versions[:, None] * per_window + torch.arange(per_window)).flatten()


def train(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, device: torch.device, epochs: int,
          batch: int, lr: float, seed: int, per_window: int) -> float:
    """The cascade's training step for ``epochs`` epochs (lr x0.1 for the last third), a window's two
    versions in the same step (:func:`paired_order`); returns seconds."""
    samples = Samples(images.to(device), targets.to(device), np.arange(len(targets)), np.zeros((len(targets), 2), bool))
    optimiser = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimiser, step_size=max(1, 2 * epochs // 3), gamma=0.1)
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    with tqdm(total=epochs * len(targets), desc=type(model).__name__, unit="sample", disable=None) as bar:
        for epoch in range(epochs):
            order = paired_order(len(targets) // (2 * per_window), per_window, generator)
            loss = train_one_epoch(model, samples, optimiser, device, batch, generator, bar, order=order)
            scheduler.step()
            bar.set_postfix(loss=f"{float(loss):.3f}")
            tqdm.write(f"{type(model).__name__} epoch {epoch + 1}/{epochs}: training loss {float(loss):.3f} "
                       f"(chance ln 2 = 0.693)", file=sys.stderr)
    return time.perf_counter() - start


def two_way(model: nn.Module, device: torch.device) -> nn.Module:
    model.fc = nn.Linear(model.fc.in_features, 2)
    model = model.to(device)
    return model.to(memory_format=torch.channels_last) if device.type == "cuda" else model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--imgsz", type=int, default=112)
    parser.add_argument("--frames", type=int, default=240, help="frames read from the start of each clip")
    parser.add_argument("--clip-len", type=int, default=8)
    parser.add_argument("--clip-stride", type=int, default=2)
    parser.add_argument("--gap", type=int, default=4, help="frames from one window's start to the next")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch", type=int, default=16, help="clips per step (the single-frame side: x clip-len frames)")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--test-fraction", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--task", choices=("direction", "motion"), default="direction",
                        help="direction: forwards or backwards; motion: played or frozen on its key frame")
    args = parser.parse_args()
    device, window = torch.device(args.device), Window(args.clip_len, args.clip_stride)

    table = pd.read_csv(LABELLED_CLIPS)
    paths = [str(LABELLED_CLIPS.parent / v) for v in table.video if v not in TRUNCATED]
    start = time.perf_counter()

    def read(path: str) -> torch.Tensor | None:
        try:
            return read_clip(path, args.frames, args.imgsz)
        except CascadeError as exc:
            print(f"skipped: {exc}")
            return None

    with ThreadPoolExecutor(8) as pool:
        videos = [v for v in pool.map(read, paths) if v is not None]
    decode_seconds = time.perf_counter() - start
    order = np.random.default_rng(args.seed).permutation(len(videos))
    test_count = round(args.test_fraction * len(videos))
    test_videos, train_videos = [videos[i] for i in order[:test_count]], [videos[i] for i in order[test_count:]]
    train_x, train_y, _ = window_samples(train_videos, window, args.gap, args.task)
    test_x, test_y, test_videos_of = window_samples(test_videos, window, args.gap, args.task)
    print(f"machine: {machine()}")
    print(f"data: {len(videos)} real clips ({len(train_videos)} train, {len(test_videos)} test videos), "
          f"{len(train_y) // 2} train and {len(test_y) // 2} test windows of {args.clip_len} frames {args.clip_stride} apart "
          f"at {args.imgsz} px, task {args.task}; decoded in {decode_seconds:.1f} s")

    torch.manual_seed(args.seed)
    tsm = two_way(TSMResNet(args.clip_len), device)
    tsm_seconds = train(tsm, train_x, train_y, device, args.epochs, args.batch, args.lr, args.seed, 1)
    tsm_correct = (predict_batches(tsm, test_x, device).argmax(1) == test_y).numpy().astype(float)

    torch.manual_seed(args.seed)
    single = two_way(resnet34(), device)
    frame_y = train_y.repeat_interleave(args.clip_len)
    single_seconds = train(single, train_x.flatten(0, 1), frame_y, device, args.epochs, args.batch * args.clip_len,
                           args.lr, args.seed, args.clip_len)
    per_frame = predict_batches(single, test_x.flatten(0, 1), device).view(len(test_y), args.clip_len, 2).mean(1)
    single_correct = (per_frame.argmax(1) == test_y).numpy().astype(float)

    figures = {}
    for key, name, values, unit, note in (
            ("tsm_accuracy", "TSM (temporal shift, clips)", tsm_correct, "%", f"; trained in {tsm_seconds:.0f} s"),
            ("single_frame_accuracy", "single frame, same windows", single_correct, "%",
             f"; trained in {single_seconds:.0f} s"),
            ("difference", "TSM - single frame", tsm_correct - single_correct, "points", "")):
        low, high = video_interval(values, test_videos_of, args.seed)
        figures[key], figures[f"{key}_interval"] = round(100 * values.mean(), 2), [round(100 * low, 1), round(100 * high, 1)]
        print(f"{name:30s} {100 * values.mean():5.1f} {unit}  (95 % interval over test videos: "
              f"{100 * low:.1f} to {100 * high:.1f}{note})")
    print(f"chance 50.0 %; {len(test_y) // 2} test windows, each shown both ways, from {len(test_videos)} unseen videos")
    record(f"temporal_probe_{args.task}", {
        "videos": len(videos), "train_videos": len(train_videos), "test_videos": len(test_videos),
        "train_windows": int(len(train_y)) // 2, "test_windows": int(len(test_y)) // 2, "imgsz": args.imgsz,
        "clip_len": args.clip_len, "clip_stride": args.clip_stride, "epochs": args.epochs, "lr": args.lr, **figures,
    })


if __name__ == "__main__":
    main()
