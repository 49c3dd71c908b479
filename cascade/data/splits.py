"""Seeded, stratified splits and cross-validation folds of labelled videos, and the record of a split.

Clip-level labels (a CSV without ``frame`` or ``split``) come without a train/test split, and a few
dozen clips with up to seven actors each cannot be split at random without leaving a rare actor
out of one side. Each video is placed in the stratum of its *rarest* group (the one with fewest
videos overall), so every group with at least two videos has one on each side, and every fold gets
its share of each group. The same videos, groups and seed always give the same split and folds.

A split made this way is recorded in ``RUN/split.json`` (seed, fraction, the videos of each side);
a later command on the same run whose seed would split differently is refused, so thresholds are
never tuned on one split and evaluated on another.

Example::

    sides = stratified_split(videos, test_fraction=0.3, seed=0)    # {"clip": "train", ...}
    for held_out in cv_folds(videos, k=5, seed=0): ...             # arrays of video ids
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from cascade.errors import CascadeError
from cascade.fileio import write_json_atomic

SPLIT_FILE = "split.json"


def strata(videos: pd.DataFrame) -> pd.Series:
    """Each video's stratum: its rarest group (ties by name), ``-`` for a video without actors."""
    counts = Counter(g for groups in videos.groups for g in groups)
    rarest = [min(groups, key=lambda g: (counts[g], g)) if groups else "-" for groups in videos.groups]
    return pd.Series(rarest, index=videos.video.to_numpy())


def _shuffled_by_stratum(videos: pd.DataFrame, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    by_stratum = strata(videos.sort_values("video"))
    return [rng.permutation(members.index.to_numpy()) for _, members in by_stratum.groupby(by_stratum, sort=True)]


def stratified_split(videos: pd.DataFrame, test_fraction: float, seed: int) -> dict[str, str]:
    """Video -> ``train`` or ``test``: ``test_fraction`` of each stratum (rounded) is test, but a
    stratum always keeps one training video."""
    if not 0 < test_fraction < 1:
        raise CascadeError(f"the test fraction must lie between 0 and 1, got {test_fraction}")
    sides = {}
    for members in _shuffled_by_stratum(videos, seed):
        n_test = min(len(members) - 1, int(round(test_fraction * len(members))))
        sides.update({v: "test" if i < n_test else "train" for i, v in enumerate(members)})
    return sides


def validation_videos(videos: pd.DataFrame, fraction: float, seed: int) -> set[str]:
    """The videos :func:`stratified_split` holds out as ``fraction`` of them (none for 0): the
    validation videos that choose a head's best epoch, drawn by the same rule as every other split."""
    if fraction == 0:
        return set()
    return {video for video, side in stratified_split(videos, fraction, seed).items() if side == "test"}


def cv_folds(videos: pd.DataFrame, k: int, seed: int) -> list[np.ndarray]:
    """``k`` disjoint folds of video ids covering every video; each stratum is dealt round-robin
    (continuing where the last stratum stopped), so fold sizes differ by at most one. With a ``source``
    column, :func:`grouped_folds`: no source on both sides of a fold."""
    if not 2 <= k <= len(videos):
        raise CascadeError(f"--cv needs 2 <= K <= {len(videos)} (the number of videos), got {k}")
    if "source" in videos.columns:
        return grouped_folds(videos, k, seed)
    folds: list[list[str]] = [[] for _ in range(k)]
    position = 0
    for members in _shuffled_by_stratum(videos, seed):
        for video in members:
            folds[position % k].append(video)
            position += 1
    return [np.array(sorted(fold)) for fold in folds]


def grouped_folds(videos: pd.DataFrame, k: int, seed: int) -> list[np.ndarray]:
    """``k`` disjoint folds of video ids in which every ``source`` (a repository, a channel, a user: clips
    that look alike) lies whole in one fold, so a fold's test videos never share a source with its
    training videos. Sources are visited largest first (ties in a seeded order) and each goes to the
    fold with the fewest videos so far (ties: the fold with fewest videos of the source's rarest group),
    which keeps fold sizes and each group's share close without splitting a source."""
    sources = videos.groupby("source", sort=True)
    if not 2 <= k <= sources.ngroups:
        raise CascadeError(f"cross-validation by source needs 2 <= K <= {sources.ngroups} (the number of sources), "
                           f"got {k}")
    rarest = strata(videos).to_numpy()
    rng = np.random.default_rng(seed)
    order = sorted(((-len(rows), rng.random(), name) for name, rows in sources))
    folds: list[list[str]] = [[] for _ in range(k)]
    by_group = np.zeros((k, len(set(rarest)) + 1))
    names = {g: i for i, g in enumerate(sorted(set(rarest)))}
    for _, _, name in order:
        members = sources.get_group(name)
        groups = [names[rarest[i]] for i in videos.index.get_indexer(members.index)]
        chosen = min(range(k), key=lambda f: (len(folds[f]), by_group[f, groups].sum(), f))
        folds[chosen] += members.video.tolist()
        by_group[chosen, groups] += 1
    return [np.array(sorted(fold)) for fold in folds]


def record_split(run_dir: str | Path, sides: dict[str, str], seed: int, test_fraction: float, source: str) -> Path:
    """Write ``RUN/split.json``, or check that the one there holds the same split."""
    path = Path(run_dir) / SPLIT_FILE
    record = {"data": source, "seed": seed, "test_fraction": test_fraction,
              "train": sorted(v for v, s in sides.items() if s == "train"),
              "test": sorted(v for v, s in sides.items() if s == "test")}
    if path.exists():
        try:
            earlier = json.loads(path.read_text(encoding="utf-8"))
            same = earlier["train"] == record["train"] and earlier["test"] == record["test"]
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError):
            raise CascadeError(f"{path}: not a split record; delete it to record the split again") from None
        if not same:
            raise CascadeError(
                f"{path}: this run's videos were split with --seed {earlier.get('seed')} (test fraction "
                f"{earlier.get('test_fraction')}) and --seed {seed} splits them otherwise; pass --seed "
                f"{earlier.get('seed')} or use another --run-dir"
            )
        return path
    write_json_atomic(path, record)
    return path
