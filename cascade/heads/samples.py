"""What every head trains on, whatever its kind: labelled instances, samples, scores and the training report.

Samples are actor instances: every instance of the group in an annotated train frame gives one
(input, pair) sample. A seeded share of the train video groups (sources) is held out to choose the
best epoch or step by validation F1, the challenge's per-sample F1 of the predicted pair against the
frame's true pairs of the group (:func:`frame_scores`). Both kinds of head (:mod:`cascade.heads.training`,
:mod:`cascade.heads.feature_training`) build on these, so neither imports the other's module.

Example::

    train, val = split_frames(dataset, 0.1, seed=0)
    instances = instance_table(train, group("dog"))     # video, path, frame, pair, box, frame_id
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from cascade.data.splits import validation_videos
from cascade.errors import CascadeError
from cascade.labels import Group
from cascade.metrics import sample_prf


@dataclass
class Samples:
    """Decoded head inputs and their labels: one row per actor instance."""

    images: torch.Tensor  # (N, 3, S, S) uint8, or (N, T, 3, S, S) for a temporal head
    targets: torch.Tensor  # (N,) index into group.pairs
    frame_ids: np.ndarray  # (N,) which annotated frame each sample came from
    truth: np.ndarray  # (F, P) bool: true pairs of the group in each annotated frame
    skipped: dict[str, str] = field(default_factory=dict)  # video file -> why it could not be decoded


def instance_table(frames: pd.DataFrame, group: Group) -> pd.DataFrame:
    """One row per instance of the group: video, path, frame, pair, box, frame_id."""
    rows = []
    for frame_id, row in enumerate(frames.itertuples(index=False)):
        for pair, box in zip(row.instance_pairs, row.boxes):
            if int(pair) in group.pairs:
                rows.append((row.video, row.path, row.frame, int(pair), np.asarray(box, float), frame_id))
    return pd.DataFrame(rows, columns=["video", "path", "frame", "pair", "box", "frame_id"])


@dataclass
class TrainReport:
    """How a head was trained: per-epoch loss and validation scores, the epoch kept, the file."""

    group: str
    file: str
    init: str
    train_samples: int
    val_samples: int
    best_epoch: int
    epochs: list[dict] = field(default_factory=list)
    seconds: float = 0.0  # end to end: decoding and training
    decode_seconds: float = 0.0
    images_per_s: float = 0.0  # training samples (frames or clips) per second of the whole run
    frames_per_sample: int = 1  # a temporal head's clip length
    input_mib: float = 0.0  # the decoded uint8 inputs, training and validation, kept for all epochs
    skipped: dict[str, str] = field(default_factory=dict)  # video file -> why it could not be decoded
    without_box: int = 0  # crop on clip-level labels: frames left out, no detected box of the group
    inputs: str = "uint8"  # what the kept inputs are: decoded frames (uint8) or feature windows (float32)
    fitted: str = ""  # a head fitted in one solve (a linear feature head): how, instead of epochs to keep one of

    def summary(self) -> str:
        table = pd.DataFrame(self.epochs).to_string(index=False, float_format="{:.3f}".format)
        kept = f"epoch {self.best_epoch} (best validation F1)" if self.val_samples else f"the last epoch ({self.best_epoch}); no validation videos"
        if self.fitted:
            table, kept = self.fitted, "the fit"
        unit = "images" if self.frames_per_sample == 1 else f"clips of {self.frames_per_sample} frames"
        text = (f"{self.group} head: {self.train_samples} training and {self.val_samples} validation samples, "
                f"initialised from {self.init}; inputs kept as {self.inputs}: {self.input_mib:.1f} MiB\n{table}\n"
                f"kept {kept} -> {self.file} ({self.seconds:.1f} s, {self.images_per_s:.0f} {unit}/s)")
        if self.without_box:
            text += f"\n{self.without_box} labelled frame(s) left out: no detected {self.group} box to crop"
        if self.skipped:
            text += f"\n{len(self.skipped)} video(s) skipped, not decodable: " + "; ".join(self.skipped.values())
        return text

    def to_json(self) -> dict:
        return dict(self.__dict__)


def frame_scores(probs: torch.Tensor, samples: Samples) -> tuple[float, float, float]:
    """Challenge P/R/F1 per annotated frame: predicted pairs (argmax per instance) vs true pairs."""
    pred = np.zeros_like(samples.truth)
    pred[samples.frame_ids, probs.argmax(1).numpy()] = True
    return tuple(float(v) for v in sample_prf(pred, samples.truth))


def split_frames(dataset, val_fraction: float, seed: int, split: str = "train") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training frames of ``split`` (``train``; ``all``: every labelled video, for a head to be used on
    videos from elsewhere) and held-out validation frames among them (whole video groups, by the same
    hash as every split)."""
    if not 0 <= val_fraction < 1:
        raise CascadeError(f"--val-fraction must be at least 0 and below 1, got {val_fraction}")
    if split not in ("train", "all"):
        raise CascadeError(f"a head trains on --split train or all, not {split!r}")
    frames = dataset.labelled_frames(split)
    held = validation_videos(dataset.labelled_videos(split), val_fraction, seed)
    is_val = frames.video.isin(held)
    return frames[~is_val].reset_index(drop=True), frames[is_val].reset_index(drop=True)
