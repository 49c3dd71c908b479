"""Light action heads on cached features: one small model per actor group, trained in seconds.

A feature head reads, for each key frame, a window of ``window`` sampled frames around it (the key's
nearest sampled frame in the middle, clamped at the video's ends) from the features cache
(:mod:`cascade.features`), and for each frame of the window one vector of what its ``kinds`` name:

* ``appearance``: the backbone embedding of the actor's box and of the whole frame;
* ``motion``: the box's geometry and motion (:data:`~cascade.features.motion.MOTION_COLUMNS`);
* ``pose``: the person box's 17 keypoints inside the box with their confidences (person head only).

The box's part ends with a 1 where the actor has a box in that frame (0 and zeros elsewhere). The
actor is followed through the window by its track: in the key frame, the group's box overlapping the
labelled box most (A2D's boxed labels) or else its most confident box; in the other frames, the box of
the same track, else the group's most confident one, as a crop head takes its boxes.

The model pools the window into per-feature statistics (mean and maximum over the frames), then a
small MLP with one hidden layer gives one output per pair of the group; inputs are standardised by
the training samples' mean and spread, kept in the model. It is trained full-batch with Adam for a
fixed number of steps, the best step on the held-out videos kept. The checkpoint records which
features it reads and the features' settings, so predict and evaluate feed it exactly that, through
:meth:`~cascade.pipeline.Cascade.head_stage`, computing the features a video lacks first.

Example::

    report = train_feature_head("labels.csv", "runs", actor="dog", kinds=("appearance", "motion"))
    probs = feature_probabilities(model, meta, "runs", "clip", "clip.mp4", [10, 20], detections)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import torch
from torch import nn

from cascade import defaults
from cascade.errors import CascadeError
from cascade.features.cache import WHOLE_FRAME, FeatureCache
from cascade.features.motion import MOTION_COLUMNS, iou_matrix
from cascade.features.pose import KEYPOINTS
from cascade.features.settings import FeatureSettings
from cascade.labels import Group

FEATURE_HEAD = "features"
#: The cache's columns every feature head reads: which row, and the box it describes.
SCALAR_COLUMNS = ("video", "frame", "cls", "conf", "x1", "y1", "x2", "y2", "track")


@dataclass(frozen=True)
class FeatureRecipe:
    """What a feature head reads: which ``kinds`` of features, over a ``window`` of sampled frames,
    computed with ``settings``. Training writes it into the checkpoint and prediction reads it back."""

    kinds: tuple[str, ...] = defaults.FEATURE_KINDS
    window: int = defaults.FEATURE_WINDOW
    settings: FeatureSettings = FeatureSettings()

    def __post_init__(self) -> None:
        unknown = [k for k in self.kinds if k not in defaults.FEATURE_KINDS]
        if unknown or not self.kinds:
            raise CascadeError(f"--features takes some of {', '.join(defaults.FEATURE_KINDS)}, got {','.join(self.kinds)!r}")
        if self.window < 1:
            raise CascadeError(f"--window must be at least 1, got {self.window}")

    def for_group(self, group: Group) -> "FeatureRecipe":
        """The recipe a group's head uses: pose only for the person head (no keypoints for other actors)."""
        kinds = tuple(k for k in self.kinds if k != "pose" or group.name == "person")
        return FeatureRecipe(kinds or ("appearance",), self.window, self.settings)

    def to_meta(self) -> dict:
        return {"head": FEATURE_HEAD, "features": list(self.kinds), "window": self.window,
                "feature_settings": self.settings.to_meta()}

    @classmethod
    def from_meta(cls, meta: dict) -> "FeatureRecipe":
        return cls(tuple(meta["features"]), int(meta["window"]), FeatureSettings.from_meta(meta["feature_settings"]))

    def columns(self) -> list[str]:
        """The cache's columns the kinds read: a head reads no more (the embeddings are most of the cache)."""
        return (list(SCALAR_COLUMNS) + (["embedding"] if "appearance" in self.kinds else [])
                + (list(MOTION_COLUMNS) if "motion" in self.kinds else []) + (["keypoints"] if "pose" in self.kinds else []))

    def read(self, cache: FeatureCache, videos: Sequence[str]) -> "CachedRows":
        """The videos' cached rows with what the kinds read of each (see :class:`CachedRows`)."""
        table = cache.read_table(videos, self.columns())
        parts = []
        if "appearance" in self.kinds:
            parts.append(list_matrix(table.column("embedding")))
        if "motion" in self.kinds:
            parts.append(np.stack([table.column(c).to_numpy() for c in MOTION_COLUMNS], axis=1).astype(np.float32))
        if "pose" in self.kinds:
            keypoints = list_matrix(table.column("keypoints"), KEYPOINTS * 3)
            found = np.isfinite(keypoints).all(1)
            parts += [np.where(found[:, None], keypoints, 0), found[:, None].astype(np.float32)]
        parts.append(np.ones((table.num_rows, 1), np.float32))
        frames = parts[0] if "appearance" in self.kinds else np.zeros((table.num_rows, 0), np.float32)
        return CachedRows(table.select(list(SCALAR_COLUMNS)).to_pandas(), np.concatenate(parts, axis=1), frames)


def list_matrix(column: pa.ChunkedArray, width: int | None = None) -> np.ndarray:
    """(rows, width) float32 from a column of equal-length lists, taken out of Arrow whole; a null list
    (a box without keypoints) gives a row of NaN. ``width``: the lists' length (needed if all are null)."""
    lists = column.combine_chunks()
    values = lists.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    valid = lists.is_valid().to_numpy(zero_copy_only=False)
    width = width if width is not None else len(values) // max(int(valid.sum()), 1)
    out = np.full((len(lists), width), np.nan, np.float32)
    out[valid] = values.reshape(-1, width)
    return out


@dataclass(frozen=True)
class CachedRows:
    """Cached rows as a head reads them: ``rows`` (the :data:`SCALAR_COLUMNS`), and per row what the
    recipe's kinds read of it as a box (``boxes``: (rows, B), ending with a 1) and as a whole frame
    (``frames``: (rows, F), its embedding for ``appearance``)."""

    rows: pd.DataFrame
    boxes: np.ndarray
    frames: np.ndarray

    def by_video(self) -> dict[str, "CachedRows"]:
        return {video: CachedRows(self.rows.iloc[at].reset_index(drop=True), self.boxes[at], self.frames[at])
                for video, at in self.rows.groupby("video", sort=False).indices.items()}


def actor_windows(cached: CachedRows, group: Group, keys: Sequence[int], recipe: FeatureRecipe,
                  labelled: Sequence[np.ndarray | None] | None = None) -> np.ndarray:
    """(len(keys), window, features) for one video's ``cached`` rows: each key frame's window of sampled
    frames, the group's actor followed by its track (see the module docstring): per frame, what the
    kinds read of the actor's box (zeros where it has none) and of the whole frame. ``labelled``: a box
    per key from the labels (NaN or None: none), to pick the labelled actor in the key frame.
    Array lookups throughout, no loop over keys or frames: this runs for every video of every head."""
    rows = cached.rows
    cls, frame = rows.cls.to_numpy(), rows.frame.to_numpy()
    frame_rows = np.flatnonzero(cls == WHOLE_FRAME)
    if not len(frame_rows):
        raise CascadeError(f"no cached features of video {rows.video.iat[0] if len(rows) else '?'}")
    frame_rows = frame_rows[np.argsort(frame[frame_rows], kind="stable")]
    numbers = frame[frame_rows]
    boxes = np.flatnonzero((cls == group.coco_class) & np.isin(frame, numbers))
    boxes = boxes[np.argsort(-rows.conf.to_numpy()[boxes], kind="stable")]  # most confident first
    box_vectors = np.concatenate([cached.boxes[boxes], np.zeros((1, cached.boxes.shape[1]), np.float32)])  # last: none
    track = rows.track.to_numpy()[boxes]
    # each box's sampled frame (its position in numbers); the first (most confident) box of each frame,
    # and of each track in each frame; -1: none
    at = np.searchsorted(numbers, frame[boxes])
    first = np.full(len(numbers), -1)
    places, index = np.unique(at, return_index=True)
    first[places] = index
    tracks = track.max(initial=-1) + 2  # track + 1 in 0 .. tracks - 1 (a box's track is never below -1)
    first_of_track = np.full((len(numbers), tracks), -1)
    places, index = np.unique(at * tracks + track + 1, return_index=True)
    first_of_track.flat[places] = index

    keys = np.asarray(keys, np.int64)
    centre = np.abs(numbers[None, :].astype(np.int64) - keys[:, None]).argmin(1)
    anchor = first[centre]
    corners = rows[["x1", "y1", "x2", "y2"]].to_numpy(float)[boxes]
    for k in range(len(keys)) if labelled is not None else ():
        box = labelled[k]
        if anchor[k] >= 0 and box is not None and np.all(np.isfinite(box)):
            in_key = np.flatnonzero(at == centre[k])
            anchor[k] = in_key[int(np.argmax(iou_matrix(np.asarray(box)[None], corners[in_key])[0]))]
    position = np.clip(centre[:, None] + np.arange(recipe.window) - recipe.window // 2, 0, len(numbers) - 1)
    anchor_track = np.append(track, -1)[anchor]  # the key frame's chosen box's track (none: -1, unused)
    same = np.where(anchor[:, None] >= 0, first_of_track[position, anchor_track[:, None] + 1], -1)
    chosen = np.where(same >= 0, same, first[position])
    return np.concatenate([box_vectors[chosen], cached.frames[frame_rows][position]], axis=2)


class FeatureHead(nn.Module):
    """Window statistics (mean, maximum over frames), standardised -> hidden layer -> pairs.

    Training sees each window only through :meth:`inputs`, fixed for all steps, so it computes them once
    and steps :meth:`classify` alone."""

    def __init__(self, inputs: int, outputs: int, hidden: int = defaults.FEATURE_HIDDEN) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(2 * inputs))
        self.register_buffer("std", torch.ones(2 * inputs))
        self.mlp = nn.Sequential(nn.Linear(2 * inputs, hidden), nn.ReLU(), nn.Dropout(0.3), nn.Linear(hidden, outputs))

    @staticmethod
    def pool(x: torch.Tensor) -> torch.Tensor:
        """Windows (N, W, F) -> their statistics (N, 2F)."""
        return torch.cat([x.mean(1), x.amax(1)], dim=1)

    def standardise_on(self, x: torch.Tensor) -> None:
        """Take the standardisation from the training windows' statistics."""
        pooled = self.pool(x)
        self.mean.copy_(pooled.mean(0))
        self.std.copy_(pooled.std(0).clamp_min(1e-3))

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        return (self.pool(x) - self.mean) / self.std

    def classify(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.mlp(inputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.inputs(x))


def build_feature_head(meta: dict, outputs: int) -> nn.Module:
    """An untrained feature head shaped as a checkpoint's ``meta`` says (to load its weights into)."""
    return FeatureHead(int(meta["inputs"]), outputs, int(meta["hidden"]))


def is_feature_head(meta: dict) -> bool:
    return meta.get("head") == FEATURE_HEAD


def feature_probabilities(model: nn.Module, meta: dict, run_dir: str | Path, video: str, path: str | Path,
                          keys: Sequence[int], detections: pd.DataFrame, group: Group) -> np.ndarray:
    """The head's softmax over its pairs for each key frame (keys, pairs), computing first the features
    the run's cache lacks for this video, with the settings the head was trained on."""
    from cascade.features.runner import compute_features

    recipe = FeatureRecipe.from_meta(meta)
    compute_features({video: path}, run_dir, recipe.settings, detections[detections.video == video], progress=False)
    windows = actor_windows(recipe.read(FeatureCache(run_dir), [video]), group, keys, recipe)
    model.eval()
    with torch.inference_mode():
        return model(torch.from_numpy(windows)).softmax(1).numpy()


def fit(model: FeatureHead, x: torch.Tensor, y: torch.Tensor, val_x: torch.Tensor | None, val_score, steps: int,
        lr: float, seed: int) -> tuple[int, list[dict]]:
    """Full-batch AdamW for ``steps`` steps; every tenth step scored on validation windows by ``val_score``
    (probabilities -> F1), the best step's weights kept. Returns the step kept and the scored steps.
    One thread: on a model this small, torch's second thread costs more in waiting than it computes
    (3.6x slower with two threads on a busy 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _fit(model, x, y, val_x, val_score, steps, lr, seed)
    finally:
        torch.set_num_threads(threads)


def _fit(model: FeatureHead, x: torch.Tensor, y: torch.Tensor, val_x: torch.Tensor | None, val_score, steps: int,
         lr: float, seed: int) -> tuple[int, list[dict]]:
    torch.manual_seed(seed)
    model.standardise_on(x)
    x = model.inputs(x)  # once: the inputs are fixed, only what reads them learns
    val_x = None if val_x is None else model.inputs(val_x)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=defaults.FEATURE_WEIGHT_DECAY)
    loss_fn = nn.CrossEntropyLoss()
    history, best, best_state, best_step = [], -1.0, None, steps
    for step in range(1, steps + 1):
        model.train()
        loss = loss_fn(model.classify(x), y)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if val_x is not None and (step % 10 == 0 or step == steps):
            model.eval()
            with torch.inference_mode():
                f1 = val_score(model.classify(val_x).softmax(1))
            history.append({"step": step, "loss": float(loss.detach()), "val_f1": f1})
            if f1 > best:
                best, best_step = f1, step
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if best_state is not None:
        model.load_state_dict(best_state)
    elif not history:
        history.append({"step": steps, "loss": float(loss.detach())})
    return best_step, history


def feature_windows(instances: pd.DataFrame, cache: FeatureCache, group: Group, recipe: FeatureRecipe) -> np.ndarray:
    """(instances, window, features): each labelled instance's window, the cache read once."""
    if instances.empty:
        return np.empty((0, recipe.window, 0), np.float32)
    videos = recipe.read(cache, instances.video.unique()).by_video()
    out = None
    for video, at in instances.reset_index(drop=True).groupby("video", sort=False).indices.items():
        wanted = instances.iloc[at]
        windows = actor_windows(videos[video], group, wanted.frame.to_numpy(), recipe, list(wanted.box))
        if out is None:
            out = np.empty((len(instances), *windows.shape[1:]), np.float32)
        out[at] = windows
    return out


def train_feature_head(dataset, run_dir: str | Path, group: Group, recipe: FeatureRecipe, *, received: dict,
                       val_fraction: float, seed: int, detect=None, progress: bool = True):
    """Train and save ``group``'s feature head on ``dataset``'s train frames (see :func:`cascade.heads.training.train_head`,
    which calls this for ``head="features"``); returns its :class:`~cascade.heads.training.TrainReport`."""
    from cascade.detect.runner import detect_videos
    from cascade.features.runner import compute_features
    from cascade.heads.checkpoint import head_path, save_head
    from cascade.heads.training import Samples, TrainReport, frame_scores, instance_table, split_frames  # it calls this
    from cascade import __version__

    recipe = recipe.for_group(group)
    start = time.monotonic()
    train_frames, val_frames = split_frames(dataset, val_fraction, seed)
    train_inst, val_inst = instance_table(train_frames, group), instance_table(val_frames, group)
    if train_inst.empty:
        raise CascadeError(f"{dataset.source}: no training frames show a {group.name}; nothing to train its head on")
    both = pd.concat([train_inst, val_inst])
    paths = dict(zip(both.video, both.path))
    detected = detect_videos(paths, run_dir, detect, progress=progress) if detect is not None else None
    computed = compute_features({v: p for v, p in paths.items() if detected is None or v not in detected.failed},
                                run_dir, recipe.settings, progress=progress)
    cache = FeatureCache(run_dir)
    known = set(computed.videos)
    train_inst, val_inst = (i[i.video.isin(known)].reset_index(drop=True) for i in (train_inst, val_inst))
    features_seconds = time.monotonic() - start

    def samples(instances: pd.DataFrame) -> Samples:
        windows = torch.from_numpy(feature_windows(instances, cache, group, recipe))
        column = {p: i for i, p in enumerate(group.pairs)}
        targets = instances.pair.map(column).to_numpy().copy()
        frame_ids, frame_index = np.unique(instances.frame_id.to_numpy(), return_inverse=True)
        truth = np.zeros((len(frame_ids), len(group.pairs)), bool)
        truth[frame_index, targets] = True
        return Samples(windows, torch.as_tensor(targets), frame_index, truth)

    train = samples(train_inst)
    val = samples(val_inst) if len(val_inst) else None
    torch.manual_seed(seed)
    model = FeatureHead(train.images.shape[-1], len(group.pairs))
    best_step, history = fit(model, train.images, train.targets, None if val is None else val.images,
                             lambda probs: frame_scores(probs, val)[2], defaults.FEATURE_EPOCHS, defaults.FEATURE_LR, seed)
    path = head_path(run_dir, group)
    meta = {"group": group.name, "pairs": list(group.pairs), **recipe.to_meta(), "inputs": int(train.images.shape[-1]),
            "hidden": defaults.FEATURE_HIDDEN, "args": received, "step": best_step, "metrics": history[-1] if history else {},
            "cascade_version": __version__, "torch_version": torch.__version__}
    save_head(path, model, meta)
    seconds = time.monotonic() - start
    return TrainReport(group.name, str(path), f"features {', '.join(recipe.kinds)}", len(train.targets),
                       0 if val is None else len(val.targets), best_step,
                       epochs=history, seconds=seconds, decode_seconds=features_seconds,
                       images_per_s=defaults.FEATURE_EPOCHS * len(train.targets) / max(seconds - features_seconds, 1e-9),
                       frames_per_sample=recipe.window, input_mib=train.images.nbytes / 2**20,
                       skipped=dict(computed.failed), inputs="float32 feature windows")
