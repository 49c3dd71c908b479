"""Splits and cross-validation folds of labelled videos that hold as videos are added, and the record of a split.

A video's side of a split, and its fold, depend only on its **group**, the seed and the fraction (or
K): a stable hash (:func:`stable_unit`, BLAKE2 of the seed and the group) places each group, so
adding videos never moves the ones already placed, and every video of a group lies on one side.
The group is where a video comes from (a repository, a channel, one person's pets: clips that look
alike, see :func:`cascade.data.base.video_groups`); judged on sources it never saw, a tuning step
must not have seen the test videos' look-alikes. Without groups, each video is its own group.

The price of stability is balance: sides and folds hold the requested share only on average, and a
rare actor can miss a side (:func:`missing_sides` names it; the commands warn). A balanced deal
(the rarest actor's videos dealt round-robin, as cascade did before) moves every later video when
one is added, which is the failure a growing dataset cannot have.

A split made this way is recorded in ``RUN/split.json`` (seed, fraction, the videos of each side).
Videos new since then are added to it with a warning that counts them; a video the new split would
put on the other side (another seed or fraction, or a record from before groups) is refused with
the cause, so thresholds are never tuned on one split and evaluated on another.

Example::

    sides = hashed_split(videos, test_fraction=0.3, seed=0)     # {"clip": "train", ...}
    for held_out in cv_folds(videos, k=5, seed=0): ...          # arrays of video ids
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from cascade.errors import CascadeError
from cascade.fileio import write_json_atomic

log = logging.getLogger(__name__)

SPLIT_FILE = "split.json"


def stable_unit(key: str, seed: int, purpose: str) -> float:
    """A number in [0, 1) from ``purpose``, ``seed`` and ``key`` alone: the same on every machine,
    Python and run (unlike ``hash()``), and independent between purposes (a group's fold says
    nothing about its side of the split)."""
    digest = hashlib.blake2b(f"{purpose}:{seed}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def groups_of(videos: pd.DataFrame) -> pd.Series:
    """Each video's group: the ``group`` column where there is one, else the video itself."""
    if "group" in videos.columns:
        return pd.Series(videos.group.to_numpy(), index=videos.video.to_numpy())
    return pd.Series(videos.video.to_numpy(), index=videos.video.to_numpy())


def hashed_split(videos: pd.DataFrame, test_fraction: float, seed: int) -> dict[str, str]:
    """Video -> ``train`` or ``test``: a group is test when its stable unit falls below ``test_fraction``."""
    if not 0 < test_fraction < 1:
        raise CascadeError(f"the test fraction must lie between 0 and 1, got {test_fraction}")
    return {video: "test" if stable_unit(group, seed, "split") < test_fraction else "train"
            for video, group in groups_of(videos).items()}


def missing_sides(videos: pd.DataFrame, sides: dict[str, str]) -> dict[str, str]:
    """Actor group -> the side of the split without any of its videos (groups absent from every video
    are not reported), so that a command can warn before a head or a threshold is left without data."""
    missing = {}
    for actor in sorted({g for groups in videos.groups for g in groups}):
        held = {sides[v] for v, groups in zip(videos.video, videos.groups) if actor in groups}
        if len(held) == 1:
            missing[actor] = "test" if "train" in held else "train"
    return missing


def validation_videos(videos: pd.DataFrame, fraction: float, seed: int) -> set[str]:
    """The videos :func:`hashed_split` holds out as ``fraction`` of them (none for 0): the validation
    videos that choose a head's best epoch, drawn by the same rule as every other split, except that an
    actor whose every video the hash would hold out keeps them for training (a head must learn from
    something; with few videos, that is the common case)."""
    if fraction == 0:
        return set()
    sides = hashed_split(videos, fraction, seed)
    for actor, side in missing_sides(videos, sides).items():
        if side == "train":
            sides.update({v: "train" for v, groups in zip(videos.video, videos.groups) if actor in groups})
    return {video for video, side in sides.items() if side == "test"}


def group_folds(groups: Sequence[str], k: int, seed: int) -> np.ndarray:
    """The fold (0 .. k-1) of each item from its group alone: equal groups share a fold."""
    return np.array([int(stable_unit(str(group), seed, "fold") * k) for group in groups], dtype=np.intp)


def cv_folds(videos: pd.DataFrame, k: int, seed: int) -> list[np.ndarray]:
    """The non-empty ones of ``k`` disjoint folds of video ids covering every video, each group whole
    in the fold :func:`group_folds` picks; fold sizes are equal only on average. Fewer than two
    non-empty folds (too few groups for K) is an error naming the number of groups."""
    groups = groups_of(videos)
    if not 2 <= k <= groups.nunique():
        raise CascadeError(f"--cv needs 2 <= K <= {groups.nunique()} (the number of video groups), got {k}")
    fold = group_folds(groups.tolist(), k, seed)
    folds = [np.array(sorted(groups.index[fold == i])) for i in range(k) if (fold == i).any()]
    if len(folds) < 2:
        raise CascadeError(f"--cv {k} with seed {seed} put all {groups.nunique()} video groups in one fold; "
                           "pass another --seed or a larger K")
    return folds


def strata(videos: pd.DataFrame) -> pd.Series:
    """Each video's stratum: its rarest group (ties by name), ``-`` for a video without actors."""
    counts = Counter(g for groups in videos.groups for g in groups)
    rarest = [min(groups, key=lambda g: (counts[g], g)) if groups else "-" for groups in videos.groups]
    return pd.Series(rarest, index=videos.video.to_numpy())


def grouped_folds(videos: pd.DataFrame, k: int, seed: int) -> list[np.ndarray]:
    """``k`` disjoint folds of video ids in which every ``source`` (a repository, a channel, a user: clips
    that look alike) lies whole in one fold, so a fold's test videos never share a source with its
    training videos. Sources are visited largest first (ties in a seeded order) and each goes to the
    fold with the fewest videos so far (ties: the fold with fewest videos of the source's rarest group),
    which keeps fold sizes and each group's share close without splitting a source. Balanced, hence not
    stable: a source added later moves others, so it serves a fixed set of clips (``benchmarks/action_cv.py``),
    not a dataset that grows (:func:`cv_folds`)."""
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
    """Write ``RUN/split.json``, or check the one there: videos it holds must keep their sides; videos
    new since it was written are added to it, with a warning that counts them and says where they went."""
    path = Path(run_dir) / SPLIT_FILE
    if not path.exists():
        write_json_atomic(path, _split_record(source, seed, test_fraction, sides))
        return path
    try:
        earlier = json.loads(path.read_text(encoding="utf-8"))
        before = {**{v: "train" for v in earlier["train"]}, **{v: "test" for v in earlier["test"]}}
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError):
        raise CascadeError(f"{path}: not a split record; delete it to record the split again") from None
    moved = sorted(v for v in before.keys() & sides.keys() if before[v] != sides[v])
    if moved:
        was = f"--seed {earlier.get('seed')} (test fraction {earlier.get('test_fraction')})"
        if (earlier.get("seed"), earlier.get("test_fraction")) != (seed, test_fraction):
            cause = (f"this run's videos were split with {was}; --seed {seed} (test fraction {test_fraction}) would "
                     f"move {len(moved)} of them (e.g. {moved[0]}) to the other side; pass --seed {earlier.get('seed')} "
                     "or use another --run-dir")
        else:
            cause = (f"{len(moved)} of this run's videos (e.g. {moved[0]}) would change sides with the same {was}: "
                     "the split was recorded by an earlier version of cascade or with other video groups; use "
                     "another --run-dir, or delete this file with the run's thresholds.json and heads/ to start over")
        raise CascadeError(f"{path}: {cause}")
    new = sorted(sides.keys() - before.keys())
    if new:
        tested = sum(sides[v] == "test" for v in new)
        log.warning("%s: %d video(s) new since this run's split: %d to train, %d to test (the %d already split "
                    "keep their sides); recorded", path, len(new), len(new) - tested, tested, len(before))
        write_json_atomic(path, _split_record(earlier.get("data", source), earlier.get("seed", seed),
                                              earlier.get("test_fraction", test_fraction),
                                              {**before, **{v: sides[v] for v in new}}))
    return path


def _split_record(source: str, seed: int, test_fraction: float, sides: dict[str, str]) -> dict:
    return {"data": source, "seed": seed, "test_fraction": test_fraction,
            "train": sorted(v for v, s in sides.items() if s == "train"),
            "test": sorted(v for v, s in sides.items() if s == "test")}
