"""Light action heads on cached features: one small model per actor group, trained in seconds.

A feature head reads, for each key frame, a window of ``window`` sampled frames around it (the key's
nearest sampled frame in the middle, clamped at the video's ends) from the features cache
(:mod:`cascade.features`), and for each frame of the window one vector of what its ``kinds`` name:

* ``appearance``: the backbone embedding of the actor's box and of the whole frame;
* ``motion``: the box's geometry and motion (:data:`~cascade.features.motion.MOTION_COLUMNS`);
* ``pose``: the person box's 17 keypoints inside the box with their confidences (person head only).

Each vector ends with a 1 where the actor has a box in that frame (0 and zeros elsewhere). The
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
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
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

    def frame_vector(self, frame_row: pd.Series, box_row: pd.Series | None) -> np.ndarray:
        """One frame's vector: the kinds' features of the actor's box (zeros where it has none), then 1 or 0."""
        parts = []
        if "appearance" in self.kinds:
            frame_embedding = np.asarray(frame_row.embedding, np.float32)
            box_embedding = np.asarray(box_row.embedding, np.float32) if box_row is not None else 0 * frame_embedding
            parts += [box_embedding, frame_embedding]
        if "motion" in self.kinds:
            parts.append(np.array([box_row[c] for c in MOTION_COLUMNS], np.float32) if box_row is not None
                         else np.zeros(len(MOTION_COLUMNS), np.float32))
        if "pose" in self.kinds:
            keypoints = box_row.keypoints if box_row is not None else None
            pose = np.zeros(KEYPOINTS * 3 + 1, np.float32)
            if keypoints is not None and np.isfinite(keypoints).all():
                pose[:-1], pose[-1] = keypoints, 1.0
            parts.append(pose)
        parts.append(np.array([box_row is not None], np.float32))
        return np.concatenate(parts)


def actor_windows(rows: pd.DataFrame, group: Group, keys: Sequence[int], recipe: FeatureRecipe,
                  labelled: Sequence[np.ndarray | None] | None = None) -> np.ndarray:
    """(len(keys), window, features) for one video's cached ``rows``: each key frame's window of sampled
    frames, the group's actor followed by its track (see the module docstring). ``labelled``: a box per
    key from the labels (NaN or None: none), to pick the labelled actor in the key frame."""
    frames = rows[rows.cls == WHOLE_FRAME].set_index("frame").sort_index()
    if frames.empty:
        raise CascadeError(f"no cached features of video {rows.video.iat[0] if len(rows) else '?'}")
    numbers = frames.index.to_numpy()
    boxes = rows[rows.cls == group.coco_class].sort_values("conf", ascending=False, kind="stable")
    by_frame = {int(n): b for n, b in boxes.groupby("frame")}
    half = recipe.window // 2
    out = []
    for k, key in enumerate(keys):
        centre = int(np.argmin(np.abs(numbers - key)))
        chosen = [numbers[min(max(centre + i - half, 0), len(numbers) - 1)] for i in range(recipe.window)]
        in_key = by_frame.get(int(numbers[centre]))
        anchor = None
        if in_key is not None:
            anchor = in_key.iloc[0]
            box = labelled[k] if labelled is not None else None
            if box is not None and np.all(np.isfinite(box)):
                overlap = iou_matrix(np.asarray(box)[None], in_key[["x1", "y1", "x2", "y2"]].to_numpy())[0]
                anchor = in_key.iloc[int(np.argmax(overlap))]
        vectors = []
        for number in chosen:
            candidates = by_frame.get(int(number))
            box_row = None
            if candidates is not None:
                same = candidates[candidates.track == anchor.track] if anchor is not None else candidates.iloc[:0]
                box_row = (same if len(same) else candidates).iloc[0]
            vectors.append(recipe.frame_vector(frames.loc[number], box_row))
        out.append(np.stack(vectors))
    return np.stack(out) if out else np.empty((0, recipe.window, 0), np.float32)


class FeatureHead(nn.Module):
    """Window statistics (mean, maximum over frames) of standardised features -> hidden layer -> pairs."""

    def __init__(self, inputs: int, outputs: int, hidden: int = defaults.FEATURE_HIDDEN) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(inputs))
        self.register_buffer("std", torch.ones(inputs))
        self.mlp = nn.Sequential(nn.Linear(2 * inputs, hidden), nn.ReLU(), nn.Dropout(0.3), nn.Linear(hidden, outputs))

    def standardise_on(self, x: torch.Tensor) -> None:
        """Take the standardisation from training windows (N, W, F)."""
        flat = x.reshape(-1, x.shape[-1])
        self.mean.copy_(flat.mean(0))
        self.std.copy_(flat.std(0).clamp_min(1e-3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x - self.mean) / self.std
        return self.mlp(torch.cat([z.mean(1), z.amax(1)], dim=1))


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
    windows = actor_windows(FeatureCache(run_dir).read([video]), group, keys, recipe)
    model.eval()
    with torch.inference_mode():
        return model(torch.from_numpy(windows)).softmax(1).numpy()


def fit(model: FeatureHead, x: torch.Tensor, y: torch.Tensor, val_x: torch.Tensor | None, val_score, steps: int,
        lr: float, seed: int) -> tuple[int, list[dict]]:
    """Full-batch Adam for ``steps`` steps; every tenth step scored on validation windows by ``val_score``
    (probabilities -> F1), the best step's weights kept. Returns the step kept and the scored steps."""
    torch.manual_seed(seed)
    model.standardise_on(x)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=defaults.FEATURE_WEIGHT_DECAY)
    loss_fn = nn.CrossEntropyLoss()
    history, best, best_state, best_step = [], -1.0, None, steps
    for step in range(1, steps + 1):
        model.train()
        loss = loss_fn(model(x), y)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if val_x is not None and (step % 10 == 0 or step == steps):
            model.eval()
            with torch.inference_mode():
                f1 = val_score(model(val_x).softmax(1))
            history.append({"step": step, "loss": float(loss), "val_f1": f1})
            if f1 > best:
                best, best_step = f1, step
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if best_state is not None:
        model.load_state_dict(best_state)
    elif not history:
        history.append({"step": steps, "loss": float(loss.detach())})
    return best_step, history


def feature_windows(instances: pd.DataFrame, cache: FeatureCache, group: Group, recipe: FeatureRecipe) -> np.ndarray:
    """(instances, window, features): each labelled instance's window, videos read from the cache once."""
    if instances.empty:
        return np.empty((0, recipe.window, 0), np.float32)
    out = np.empty(len(instances), object)
    for video, rows in instances.groupby("video", sort=False):
        windows = actor_windows(cache.read([video]), group, rows.frame.tolist(), recipe, list(rows.box))
        for position, window in zip(rows.index, windows):
            out[instances.index.get_loc(position)] = window
    return np.stack(list(out)).astype(np.float32)


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
                       skipped={v: computed.failed[v] for v in computed.failed})
