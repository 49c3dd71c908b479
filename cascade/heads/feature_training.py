"""Training one feature head: samples from the features cache, an inner cross-validation by source, one file.

Samples: each labelled actor instance of the group in a train frame (:func:`~cascade.heads.samples.instance_table`)
gives its window of cached features (:mod:`cascade.heads.feature_inputs`). Instances that share a frame and
a box (the clip-level labels' frames, which carry every pair of the clip and no box) are one sample whose
target holds all their pairs, each with an equal share: a clip of an adult running and jumping teaches
both.

Before the final fit, the training videos are split into ``defaults.FEATURE_INNER_FOLDS`` folds that keep
each source whole (:func:`~cascade.data.splits.group_folds` on the videos' groups), and every sample gets a
probability from a model that did not see its source. From those out-of-fold probabilities:

* a ``linear`` head chooses its L2 strength among ``defaults.FEATURE_L2_GRID``: the best mean per-sample F1
  of its top pair, ties to the stronger penalty (the simpler rule when the evidence is thin);
* every head chooses its **pair cut** (:func:`~cascade.heads.pairs.best_cut`): also report each other pair
  of the actor whose probability reaches it, kept only where it beats the top pair alone on those
  held-out samples. The cut is stored with the head, so ``predict`` can name two pairs of one actor with
  no flag (``--pair-cut`` still overrides it).

With fewer than two sources among the training videos there is nothing to cross-validate: the middle
L2 of the grid and no cut. The checkpoint records the model, the L2, the cut, the out-of-fold F1 of each
candidate and the recipe.

Example::

    report = train_feature_head(open_dataset("labels.csv"), "runs", group("dog"), FeatureRecipe(), model="linear",
                                received={}, val_fraction=0.0, seed=0)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from cascade import __version__, defaults
from cascade.data.splits import group_folds
from cascade.detect.runner import detect_videos
from cascade.errors import CascadeError
from cascade.features.cache import FeatureCache
from cascade.features.local import embedder_for
from cascade.features.runner import compute_features
from cascade.heads.checkpoint import head_path, save_head
from cascade.heads.feature_inputs import FeatureRecipe, feature_windows
from cascade.heads.feature_model import FeatureHead, fit_linear, fit_mlp
from cascade.heads.kinds import FEATURES
from cascade.heads.pairs import best_cut, reported
from cascade.heads.samples import TrainReport, instance_table, split_frames
from cascade.labels import Group
from cascade.metrics import sample_prf

@dataclass
class FeatureSamples:
    """Feature windows and what they teach: ``windows`` (N, W, F), ``targets`` (N, P) distributions over the
    group's pairs, ``truth`` (N, P) bool, ``sources`` (N,) the video group of each sample."""

    windows: torch.Tensor
    targets: torch.Tensor
    truth: np.ndarray
    sources: np.ndarray

    def __len__(self) -> int:
        return len(self.truth)

    def subset(self, keep: np.ndarray) -> "FeatureSamples":
        index = torch.from_numpy(np.flatnonzero(keep))
        return FeatureSamples(self.windows[index], self.targets[index], self.truth[keep], self.sources[keep])


def merge_instances(instances: pd.DataFrame, group: Group) -> pd.DataFrame:
    """One row per (video, frame, box): instances sharing them merged, ``pairs`` the tuple of their pairs."""
    if instances.empty:
        return instances.assign(pairs=[])
    key = [f"{v}\0{f}\0{np.round(np.asarray(b, float), 1).tobytes().hex()}" for v, f, b in
           zip(instances.video, instances.frame, instances.box)]
    merged = instances.assign(key=key).groupby("key", sort=False).agg(
        video=("video", "first"), path=("path", "first"), frame=("frame", "first"), box=("box", "first"),
        pairs=("pair", lambda p: tuple(sorted(set(int(v) for v in p)))))
    return merged.reset_index(drop=True)


def feature_samples(instances: pd.DataFrame, cache: FeatureCache, group: Group, recipe: FeatureRecipe,
                    source_of: dict[str, str]) -> FeatureSamples:
    """The samples of the group's (merged) instances, their windows read from the cache once."""
    merged = merge_instances(instances, group)
    column = {p: i for i, p in enumerate(group.pairs)}
    truth = np.zeros((len(merged), len(group.pairs)), bool)
    for row, pairs in enumerate(merged.pairs):
        truth[row, [column[p] for p in pairs]] = True
    targets = truth / np.maximum(truth.sum(1, keepdims=True), 1)
    windows = torch.from_numpy(feature_windows(merged, cache, group, recipe))
    sources = np.array([source_of.get(v, v) for v in merged.video], dtype=object)
    return FeatureSamples(windows, torch.from_numpy(targets.astype(np.float32)), truth, sources)


def fit_head(samples: FeatureSamples, model: str, l2: float, seed: int, val: FeatureSamples | None = None
             ) -> tuple[FeatureHead, int, list[dict]]:
    """A head of kind ``model`` fitted to ``samples`` (an MLP keeps its best step on ``val``); returns it,
    the step kept (0 for a linear head) and the scored steps."""
    torch.manual_seed(seed)
    head = FeatureHead(samples.windows.shape[-1], samples.targets.shape[1], 0 if model == "linear" else defaults.FEATURE_HIDDEN)
    if model == "linear":
        loss = fit_linear(head, samples.windows, samples.targets, l2)
        return head.eval(), 0, [{"loss": loss}]
    step, history = fit_mlp(head, samples.windows, samples.targets, None if val is None else val.windows,
                            lambda probs: float(sample_prf(reported(probs.numpy()), val.truth)[2]),
                            defaults.FEATURE_EPOCHS, defaults.FEATURE_LR, seed)
    return head.eval(), step, history


def out_of_fold(samples: FeatureSamples, model: str, l2: float, folds: np.ndarray, seed: int) -> np.ndarray:
    """(N, P) probabilities, each sample's from a head fitted without its fold (its source)."""
    probs = np.zeros(samples.truth.shape, np.float32)
    for fold in np.unique(folds):
        held = folds == fold
        head, _, _ = fit_head(samples.subset(~held), model, l2, seed)
        with torch.inference_mode():
            probs[held] = head(samples.windows[torch.from_numpy(np.flatnonzero(held))]).softmax(1).numpy()
    return probs


def inner_cv(samples: FeatureSamples, model: str, seed: int) -> dict:
    """The L2 strength and the pair cut chosen on out-of-fold probabilities (see the module docstring)."""
    grid = defaults.FEATURE_L2_GRID if model == "linear" else (0.0,)
    middle = grid[len(grid) // 2]
    folds = group_folds(list(samples.sources), defaults.FEATURE_INNER_FOLDS, seed)
    if len(np.unique(folds)) < 2:
        return {"l2": middle, "pair_cut": None, "folds": 1, "l2_f1": {}}
    scored = {}
    for l2 in grid:
        probs = out_of_fold(samples, model, l2, folds, seed)
        scored[l2] = (float(sample_prf(reported(probs), samples.truth)[2]), probs)
    best = max(grid, key=lambda l2: (round(scored[l2][0], 6), l2))  # ties: the stronger penalty
    cut, cut_f1 = best_cut(scored[best][1], samples.truth)
    return {"l2": best, "pair_cut": cut, "pair_cut_f1": cut_f1, "top_pair_f1": scored[best][0],
            "folds": int(len(np.unique(folds))), "l2_f1": {str(k): round(v[0], 4) for k, v in scored.items()}}


def train_feature_head(dataset, run_dir: str | Path, group: Group, recipe: FeatureRecipe, *, model: str,
                       received: dict, val_fraction: float, seed: int, split: str = "train", detect=None,
                       progress: bool = True) -> TrainReport:
    """Train and save ``group``'s feature head on ``dataset``'s train frames (see :func:`cascade.heads.training.train_head`,
    which calls this for ``head="features"``); returns its :class:`~cascade.heads.samples.TrainReport`."""
    if model not in defaults.FEATURE_MODEL_CHOICES:
        raise CascadeError(f"unknown --feature-model {model!r}; valid: {', '.join(defaults.FEATURE_MODEL_CHOICES)}")
    recipe = FeatureRecipe(recipe.kinds, recipe.window, FeatureCache(run_dir).resolve(recipe.settings)).for_group(group)
    start = time.monotonic()
    train_frames, val_frames = split_frames(dataset, val_fraction, seed, split)
    train_inst, val_inst = instance_table(train_frames, group), instance_table(val_frames, group)
    if train_inst.empty:
        raise CascadeError(f"{dataset.source}: no training frames show a {group.name}; nothing to train its head on")
    both = pd.concat([train_inst, val_inst])
    paths = dict(zip(both.video, both.path))
    detected = detect_videos(paths, run_dir, detect, progress=progress) if detect is not None else None
    computed = compute_features({v: p for v, p in paths.items() if detected is None or v not in detected.failed},
                                run_dir, recipe.settings, progress=progress)
    # the weights the features were made with, by their file: predict finds them again without the variable
    recipe = FeatureRecipe(recipe.kinds, recipe.window,
                           recipe.settings.pinned(embedder_for(recipe.settings).weights_file))
    cache = FeatureCache(run_dir)
    known = set(computed.videos)
    train_inst, val_inst = (i[i.video.isin(known)].reset_index(drop=True) for i in (train_inst, val_inst))
    features_seconds = time.monotonic() - start
    videos = dataset.labelled_videos("all")
    source_of = dict(zip(videos.video, videos.group))
    train = feature_samples(train_inst, cache, group, recipe, source_of)
    val = feature_samples(val_inst, cache, group, recipe, source_of) if len(val_inst) else None
    chosen = inner_cv(train, model, seed)
    head, step, history = fit_head(train, model, chosen["l2"], seed, val)
    path = head_path(run_dir, group)
    meta = {"group": group.name, "pairs": list(group.pairs), "head": FEATURES, **recipe.to_meta(),
            "model": model, "inputs": int(train.windows.shape[-1]), "hidden": 0 if model == "linear" else defaults.FEATURE_HIDDEN,
            "l2": chosen["l2"] if model == "linear" else None, "pair_cut": chosen["pair_cut"], "inner_cv": chosen, "args": received, "step": step,
            "metrics": history[-1] if history else {}, "cascade_version": __version__, "torch_version": torch.__version__}
    save_head(path, head, meta)
    seconds = time.monotonic() - start
    return TrainReport(group.name, str(path), f"features {', '.join(recipe.kinds)}, {model}", len(train),
                       0 if val is None else len(val), step, epochs=history, seconds=seconds,
                       decode_seconds=features_seconds,
                       images_per_s=len(train) / max(seconds - features_seconds, 1e-9),
                       frames_per_sample=recipe.window, input_mib=train.windows.nbytes / 2**20,
                       skipped=dict(computed.failed), inputs="float32 feature windows",
                       fitted=(f"fitted by L-BFGS with L2 {chosen['l2']:g} (inner cross-validation by source): loss "
                               f"{history[-1]['loss']:.3f}" if model == "linear" else ""))
