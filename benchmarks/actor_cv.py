"""The actor stage on real labelled clips, judged on sources it never saw: the seed's thresholds
against every tuning method, cross-validated with each source on one side of a fold.

Data: the clips of ``../shared/clips/labels.csv`` (clip-level A2D labels) with their source from
``../shared/clips/SOURCES.csv`` (a repository: four clips of one climbing channel, five of one
user's pets, UCF101 clips of one class), in two forms:

* **full**: the clips as they are (full resolution), detected by the shared YOLO11n INT8 export at
  every ``--stride``-th frame (8 by default: about 5,600 frames, most of an hour on 2 busy cores);
* **demo**: the main job's condensed clips (``cascade sample-clips``: 12 frames spread over each
  clip, 320 px high, A2D's own resolution), detected at every frame.

Every method tunes on K-1 folds and decides the held-out fold (:mod:`cascade.thresholds.crossval`;
``shrink``'s own inner cross-validation runs inside the training folds: nested): ``builtin`` (the
seed's published thresholds, the default), ``shrink``, ``margin`` (the default before this
benchmark), and ``pso`` (the seed's tuning). Two kinds of folds, over K = 5 and 10 and fold seeds
0-4: **by source** (what holds on new sources) and **by video** (sources straddle the folds: the
estimate that chose ``margin``). Printed per form: F1 and per-group F1, mean [min, max] over the
ten sets of folds; each method minus the seed's; and, for K = 5, fold seed 0, a 95 % interval of
that difference from resampling sources (the noise a difference must beat).

    python3 benchmarks/actor_cv.py --work runs/actor-cv
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from _data import LABELLED_CLIPS, REPO, SHARED, machine, record
from cascade.data import open_dataset
from cascade.data.sample import build_sample_clips
from cascade.detect import DetectOptions, detect_dataset
from cascade.labels import GROUP_NAMES
from cascade.metrics import per_sample_prf
from cascade.scores import presence
from cascade.thresholds.crossval import cross_validate
from cascade.thresholds.methods import tune_method
from cascade.thresholds.workflow import labelled_scores
from cascade.data.splits import cv_folds

SEED_METHOD, DEFAULT = "builtin", "builtin"
METHODS = ("builtin", "shrink", "margin", "pso")
FOLD_SETS = [(k, fold_seed) for k in (5, 10) for fold_seed in range(5)]


def grouped_labels(labels: Path, target: Path) -> Path:
    """A copy of a clip-level labels CSV with a ``group`` column: each clip's source repository."""
    sources = pd.read_csv(SHARED / "clips" / "SOURCES.csv")
    source_of = dict(zip(sources.file.map(lambda f: Path(f).stem), sources.source_repo))
    table = pd.read_csv(labels, dtype=str, keep_default_na=False)
    table["group"] = [source_of[Path(v).stem] for v in table.video]
    table["video"] = [str((labels.parent / v).resolve()) for v in table.video]
    target.parent.mkdir(parents=True, exist_ok=True)
    table[["video", "labels", "group"]].to_csv(target, index=False)
    return target


def scored(labels: Path, run_dir: Path, options: DetectOptions,
           conf: float = 0.5) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, float]:
    """Detect what the cache lacks; the clips' scores at counting confidence ``conf``, truth and
    videos (with their group)."""
    start = time.perf_counter()
    dataset = open_dataset(labels)
    detected = detect_dataset(dataset, run_dir, "all", options, progress=False)
    scores, truth = labelled_scores(dataset, "all", run_dir, conf=conf, failed=detected.failed)
    videos = dataset.labelled_videos("all").set_index("video").loc[scores.index].reset_index()
    return scores, truth, videos, time.perf_counter() - start


def source_interval(scores: np.ndarray, truth: np.ndarray, videos: pd.DataFrame, method: str,
                    draws: int = 2000) -> tuple[float, float, float]:
    """Held-out F1 of ``method`` minus the seed's (K = 5 by source, fold seed 0), in points, with a
    95 % interval from resampling whole sources (the noise of a difference on this many sources)."""
    folds = cv_folds(videos, 5, 0)
    sources, truth = videos.group.to_numpy(), truth.astype(bool)
    ours, seed = np.zeros_like(truth), presence(scores, tune_method(SEED_METHOD, scores, truth).thresholds)
    for held_out in folds:
        held = videos.video.isin(held_out).to_numpy()
        tuned = tune_method(method, scores[~held], truth[~held], groups=sources[~held])
        ours[held] = presence(scores[held], tuned.thresholds, tuned.rules)
    per_video = [per_sample_prf((p & truth).sum(1), p.sum(1), truth.sum(1))[2] for p in (ours, seed)]
    difference = pd.Series(per_video[0] - per_video[1]).groupby(sources)
    sums, counts = difference.sum().to_numpy(), difference.size().to_numpy()
    picks = np.random.default_rng(0).integers(0, len(sums), (draws, len(sums)))
    resampled = sums[picks].sum(1) / counts[picks].sum(1)
    low, high = np.percentile(resampled, [2.5, 97.5])
    return 100 * sums.sum() / counts.sum(), 100 * low, 100 * high


def cross_validated(scores: pd.DataFrame, truth: np.ndarray, videos: pd.DataFrame, by_source: bool,
                    methods: tuple[str, ...] = METHODS) -> pd.DataFrame:
    """Pooled held-out F1 (overall and per group) of each method over the ten sets of folds."""
    folds_of = videos if by_source else videos.drop(columns="group")
    rows = []
    for k, fold_seed in FOLD_SETS:
        cv = cross_validate(scores, truth, folds_of, k, fold_seed, methods)
        for name, row in cv.table.iterrows():
            pooled_f1 = cv.per_fold[cv.per_fold.method == name]
            rows.append({"method": name, "K": k, "fold_seed": fold_seed,
                         "f1": 100 * float((pooled_f1.f1 * pooled_f1.videos).sum() / pooled_f1.videos.sum()),
                         **{g: 100 * row[f"f1_{g}"] for g in GROUP_NAMES}})
    return pd.DataFrame(rows)


def report(name: str, scores: pd.DataFrame, truth: np.ndarray, videos: pd.DataFrame) -> dict:
    """Print one form's tables; return its figures."""
    figures: dict = {"clips": int(len(scores)), "sources": int(videos.group.nunique())}
    for folds in ("by source", "by video"):
        table = cross_validated(scores, truth, videos, folds == "by source")
        summary = table.drop(columns=["K", "fold_seed"]).groupby("method", sort=False).agg(["mean", "min", "max"])
        seed = summary.loc[SEED_METHOD]
        print(f"\n{name}, folds {folds}: held-out F1 and per-group F1, mean [min, max] over K = 5, 10 x fold seeds 0-4")
        for method, row in summary.iterrows():
            cells = [f"{col} {row[(col, 'mean')]:5.1f} [{row[(col, 'min')]:5.1f}, {row[(col, 'max')]:5.1f}]"
                     for col in ("f1", *GROUP_NAMES)]
            print(f"  {method:8s} " + "  ".join(cells))
        for method in METHODS[1:]:
            worst = min(GROUP_NAMES, key=lambda g: summary.loc[method, (g, "mean")] - seed[(g, "mean")])
            print(f"  {method} - seed's thresholds: F1 {summary.loc[method, ('f1', 'mean')] - seed[('f1', 'mean')]:+.1f}"
                  f" (per group: " + "  ".join(f"{g} {summary.loc[method, (g, 'mean')] - seed[(g, 'mean')]:+.1f}"
                                              for g in GROUP_NAMES) + f"; worst {worst})")
        figures[folds.replace(" ", "_")] = {
            method: {"f1": round(float(summary.loc[method, ("f1", "mean")]), 2),
                     "f1_min": round(float(summary.loc[method, ("f1", "min")]), 2),
                     "f1_max": round(float(summary.loc[method, ("f1", "max")]), 2),
                     **{g: round(float(summary.loc[method, (g, "mean")]), 2) for g in GROUP_NAMES}}
            for method in summary.index}
    print(f"\n{name}: each method - seed's thresholds, K = 5 by source, fold seed 0, with a 95 % interval from "
          "resampling sources")
    figures["interval"] = {}
    for method in METHODS[1:]:
        mean, low, high = source_interval(scores.to_numpy(), truth, videos, method)
        print(f"  {method:8s} {mean:+5.1f} [{low:+5.1f}, {high:+5.1f}]")
        figures["interval"][method] = [round(mean, 2), round(low, 2), round(high, 2)]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", type=Path, default=LABELLED_CLIPS)
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "actor-cv",
                        help="condensed clips and detection caches (reused when present)")
    parser.add_argument("--weights", default=str(SHARED / "weights" / "yolo11n_int8_openvino_model"))
    parser.add_argument("--stride", type=int, default=8, help="full form: detect every N-th frame")
    parser.add_argument("--demo-frames", type=int, default=12, help="demo form: frames per condensed clip")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    forms = {}
    full = grouped_labels(args.labels, args.work / "full-labels.csv")
    forms["full"] = scored(full, args.work / "full", DetectOptions(weights=args.weights, device="cpu",
                                                                     stride=args.stride))
    condensed = args.work / "demo-clips"
    if not (condensed / "labels.csv").exists():
        build_sample_clips(args.labels, condensed, frames_per_clip=args.demo_frames, overwrite=True)
    demo = grouped_labels(condensed / "labels.csv", args.work / "demo-labels.csv")
    forms["demo"] = scored(demo, args.work / "demo", DetectOptions(weights=args.weights, device="cpu"))

    figures = {"methods": list(METHODS), "default": DEFAULT, "fold_sets": len(FOLD_SETS), "stride": args.stride,
               "demo_frames": args.demo_frames}
    for name, (scores, truth, videos, seconds) in forms.items():
        print(f"\n== {name}: {len(scores)} clips from {videos.group.nunique()} sources, videos per group "
              f"{dict(zip(GROUP_NAMES, truth.sum(0).tolist()))} (scores ready in {seconds:.0f} s)")
        figures[name] = report(name, scores, truth, videos)
    figures["counting_confidence"] = richer_scores(forms, demo, args.work)
    record("actor_cv", figures)


def richer_scores(forms: dict, demo_labels: Path, work: Path) -> dict:
    """Scores counted at a lower detection confidence (small balls and distant birds score under 0.5):
    F1 by source, mean over the ten sets of folds, beside the seed's thresholds at confidence 0.5."""
    print("\nricher scores: the fraction of frames counted at another detection confidence, folds by source, "
          "F1 mean over the ten sets of folds (seed's thresholds at 0.5 for reference)")
    figures = {}
    for name, labels in (("full", work / "full-labels.csv"), ("demo", demo_labels)):
        dataset = open_dataset(labels)
        reference = float(cross_validated(*forms[name][:2], forms[name][2], True, ("builtin",)).f1.mean())
        for conf in (0.25, 0.35):
            scores, truth = labelled_scores(dataset, "all", work / name, conf=conf)
            table = cross_validated(scores, truth, forms[name][2], True, ("builtin", "shrink", "margin"))
            means = table.groupby("method", sort=False).f1.mean()
            print(f"  {name} conf {conf}: " + "  ".join(f"{m} {v:5.1f} ({v - reference:+.1f})" for m, v in means.items()))
            figures[f"{name}_conf_{conf}"] = {m: round(float(v), 2) for m, v in means.items()}
    return figures


if __name__ == "__main__":
    main()
