"""The actor stage on real labelled clips: the seed's method against cascade's default, cross-validated.

Data: the clips of ``../shared/clips/labels.csv`` (clip-level A2D labels; 52 of the 53 decode, one is
truncated and reported), detected by the shared YOLO11n INT8 export at every frame (the first run
detects them, about 13 minutes on 2 cores; ``--run-dir`` reuses a cache). Truth: the groups each
clip's labels name.

Every method tunes on K-1 folds of clips and decides the held-out fold (``cascade tune-thresholds
--cv``): the seed's method (``builtin``: YOLO11n, confidence 0.5, fraction of frames, the published
thresholds), constant 0.15, grid, the seed's PSO, and ``margin`` (the default). Printed: the table
on one set of folds, the difference of ``margin`` and the seed's method overall and per group, and
the same over five fold seeds with K = 5 and 10, because with a few clips per actor one set of folds
can flatter or hurt a group by one clip.

    python3 benchmarks/actor_cv.py                     # K = 5, fold seed 0, plus the robustness runs
    python3 benchmarks/actor_cv.py --run-dir runs/clips
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from _data import LABELLED_CLIPS, REPO, SHARED, machine, record
from cascade.data import open_dataset
from cascade.detect import DetectOptions, detect_dataset
from cascade.labels import GROUP_NAMES
from cascade.thresholds.crossval import cross_validate
from cascade.thresholds.report import cv_summary
from cascade.thresholds.workflow import labelled_scores

SEED_METHOD, OURS = "builtin", "margin"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", type=Path, default=LABELLED_CLIPS)
    parser.add_argument("--run-dir", type=Path, default=REPO / "runs" / "actor-cv")
    parser.add_argument("--weights", default=str(SHARED / "weights" / "yolo11n_int8_openvino_model"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--fold-seed", type=int, default=0)
    args = parser.parse_args()

    dataset = open_dataset(args.labels)
    start = time.perf_counter()
    detected = detect_dataset(dataset, args.run_dir, "all", DetectOptions(weights=args.weights, device="cpu"), progress=False)
    scores, truth = labelled_scores(dataset, "all", args.run_dir, conf=0.5)
    videos = dataset.labelled_videos("all").set_index("video").loc[scores.index].reset_index()
    print(f"machine: {machine()}")
    print(f"clips: {len(scores)} of {len(dataset.labelled_videos())} labelled clips decode"
          f"{'; skipped: ' + '; '.join(detected.failed.values()) if detected.failed else ''}")
    print(f"detections: {args.weights} at every frame, {detected.frames} frames detected now, "
          f"{detected.videos_cached} clips already cached ({time.perf_counter() - start:.0f} s)")
    print(f"videos per group: {dict(zip(GROUP_NAMES, truth.sum(0).tolist()))}\n")

    main_cv = cross_validate(scores, truth, videos, args.folds, args.fold_seed)
    print(cv_summary(main_cv))
    ours, seed = main_cv.table.loc[OURS], main_cv.table.loc[SEED_METHOD]
    difference = {m: 100 * (ours[f"{m}_mean"] - seed[f"{m}_mean"]) for m in ("precision", "recall", "f1")}
    per_group = {g: 100 * (ours[f"f1_{g}"] - seed[f"f1_{g}"]) for g in GROUP_NAMES}
    print(f"\n{OURS} - seed's method ({SEED_METHOD}), same folds: P {difference['precision']:+.1f}  "
          f"R {difference['recall']:+.1f}  F1 {difference['f1']:+.1f}; per group F1: "
          + "  ".join(f"{g} {v:+.1f}" for g, v in per_group.items()))
    print(f"{OURS} - the seed's tuning (pso), same folds: F1 {100 * (ours.f1_mean - main_cv.table.loc['pso'].f1_mean):+.1f}")

    rows = []
    for k in (5, 10):
        for fold_seed in range(5):
            cv = cross_validate(scores, truth, videos, k, fold_seed, (SEED_METHOD, "pso", OURS))
            for name, row in cv.table.iterrows():
                rows.append({"method": name, "K": k, "fold_seed": fold_seed, "f1": 100 * row.f1_mean,
                             **{g: 100 * row[f"f1_{g}"] for g in GROUP_NAMES}})
    spread = pd.DataFrame(rows)
    summary = spread.groupby("method", sort=False).agg(["mean", "min", "max"]).drop(columns=["K", "fold_seed"])
    print("\nover 10 sets of folds (K = 5 and 10, fold seeds 0-4): F1 and per-group F1, mean [min, max]")
    for name, row in summary.iterrows():
        cells = [f"{col} {row[(col, 'mean')]:5.1f} [{row[(col, 'min')]:5.1f}, {row[(col, 'max')]:5.1f}]"
                 for col in ("f1", *GROUP_NAMES)]
        print(f"  {name:8s} " + "  ".join(cells))
    mean_diff = summary.loc[OURS, ("f1", "mean")] - summary.loc[SEED_METHOD, ("f1", "mean")]
    print(f"{OURS} - seed's method, mean over the 10 sets of folds: F1 {mean_diff:+.1f}")

    record("actor_cv", {
        "clips": int(len(scores)), "folds": args.folds, "fold_seed": args.fold_seed,
        "seed_f1": round(100 * seed.f1_mean, 2), "cascade_f1": round(100 * ours.f1_mean, 2),
        "f1_difference": round(difference["f1"], 2),
        "seed_precision": round(100 * seed.precision_mean, 2), "cascade_precision": round(100 * ours.precision_mean, 2),
        "seed_recall": round(100 * seed.recall_mean, 2), "cascade_recall": round(100 * ours.recall_mean, 2),
        "group_f1_difference": {g: round(v, 2) for g, v in per_group.items()},
        "pso_f1": round(100 * main_cv.table.loc["pso"].f1_mean, 2),
        "ten_fold_sets_f1_difference": round(float(mean_diff), 2),
        "ten_fold_sets": {m: {c: round(float(summary.loc[m, (c, "mean")]), 2) for c in ("f1", *GROUP_NAMES)}
                          for m in summary.index},
    })


if __name__ == "__main__":
    main()
