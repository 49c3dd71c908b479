"""The action stage on real labelled clips: which heads name actions right, cross-validated by source.

Data: the clips of ``../shared/clips/labels.csv`` (clip-level A2D labels), condensed as the main job
condenses them (``cascade sample-clips``: 48 frames spread over each clip, 320 px high) and detected
once at every frame by the shared YOLO11n INT8 export. Folds: K folds of the clips in which each
source repository (``../shared/clips/SOURCES.csv``) lies whole in one fold, so no fold is tested on
clips that look like its training clips (:func:`cascade.data.splits.grouped_folds`). Inside each fold
the real pipeline runs as a user runs it: ``tune_thresholds`` (the default margin method) on the
training clips, ``train_head`` for every group with training labels, ``evaluate`` on the held-out
clips. Every row sees the same folds and the same tuned actor stage.

Rows (all heads at the same reduced size, for a 2-core CPU; say so when quoting):

* ``most frequent pair``: no network; each present actor with a head gets its most frequent pair in
  the training folds (``evaluate``'s baseline row). A head that does not beat it has learned nothing;
* ``seed``: ResNet-34 from random weights (no ImageNet ResNet-34 can be had here), single frame,
  whole frame, the seed's optimiser (SGD lr 1e-3 momentum 0.9, batch 4);
* ``mnv2``: MobileNetV2 from the shared ImageNet state dict, fine-tuned, whole frame;
* ``mnv2 frozen-bn``: the same with batch norm statistics frozen (measure, keep what the table says);
* ``mnv2 crop``: the actor's detected box instead of the whole frame;
* ``mnv2 crop tsm``: the same over windows of frames with temporal shift modules;
* ``feat app``, ``feat app+motion``, ``feat app+motion+pose``: light heads on the features cache
  (``train-head --head features``: backbone embeddings of the actor's box and the frame; + the box's
  geometry and motion; + the person's keypoints), the cache computed once for every clip before the
  folds (its cost is timed from scratch on ``--cost-clips`` clips in a run dir of their own), at every
  ``--every``-th frame with windows of ``--window`` sampled frames (the defaults of ``cascade features``
  and ``train-head``; a cache at another ``--every`` needs a ``--work`` of its own);
* ``+ pair cut``: the best network row, reporting also every other pair above a cut tuned per head
  on its training clips (:mod:`cascade.heads.pairs`), against the top pair alone.

Printed: whole-cascade P/R/F1 over all held-out clips (the challenge's per-sample scores over pair
sets), its spread over folds, actor-stage F1, per-head accuracy on clips where the actor truly is,
training time (all heads of all folds, each head's mean and slowest, the whole K-fold run of the row),
person-pair F1 (the clips holding a person pair, on those pairs) and the issue's feature goals side by
side; the same figures go to ``benchmarks/latest.json`` under ``--record-key`` (``action_cv``).

    python3 benchmarks/action_cv.py                    # K = 3, 4 epochs at 112 px: about 25 minutes on 2 cores
    python3 benchmarks/action_cv.py --rows mnv2 --folds 2 --epochs 1     # a quick look
    python3 benchmarks/action_cv.py --work runs/acv-every8 --rows "feat app+motion+pose" --every 8 \
        --record-key action_cv_every8                  # the feature rows at another --every
"""

from __future__ import annotations

import argparse
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from _data import LABELLED_CLIPS, REPO, SHARED, machine, record
from cascade import defaults
from cascade.data.clips import ClipDataset
from cascade.data.sample import build_sample_clips
from cascade.data.splits import grouped_folds
from cascade.detect import CACHE_NAME, DetectOptions, detect_dataset
from cascade.evaluation import evaluate
from cascade.features.cache import FEATURES_DIR, WHOLE_FRAME, FeatureCache
from cascade.features.runner import compute_features
from cascade.features.settings import FeatureSettings
from cascade.heads.pairs import best_cut, reported
from cascade.heads.training import train_head
from cascade.labels import VALID_PAIRS, group, group_of_pair, parse_pair
from cascade.metrics import indicator, sample_prf
from cascade.pipeline import CascadeSettings
from cascade.thresholds.workflow import tune_thresholds

MOBILENET = SHARED / "weights" / "mobilenet_v2_imagenet" / "mobilenet_v2_imagenet1001.pt"
POSE = SHARED / "weights" / "yolov8n-pose_int8_openvino_model"
#: Row name -> train_head settings beyond the common ones.
ROWS = {
    "seed": dict(head="finetune", backbone="resnet34", pretrained="none", lr=1e-3, batch=4),
    "mnv2": dict(head="finetune", backbone="mobilenet_v2", pretrained=str(MOBILENET)),
    "mnv2 frozen-bn": dict(head="finetune", backbone="mobilenet_v2", pretrained=str(MOBILENET), freeze_bn=True),
    "mnv2 crop": dict(head="finetune", backbone="mobilenet_v2", pretrained=str(MOBILENET), crop=True),
    "mnv2 crop tsm": dict(head="finetune", backbone="mobilenet_v2", pretrained=str(MOBILENET), crop=True,
                          temporal="tsm", clip_len=4, clip_stride=2),
    "feat app": dict(head="features", features=("appearance",)),
    "feat app+motion": dict(head="features", features=("appearance", "motion")),
    "feat app+motion+pose": dict(head="features", features=("appearance", "motion", "pose")),
}
#: Rows that read the features cache (trained on ``--feature-train-frames`` frames per clip, with the
#: settings of :func:`feature_settings` and a window of ``--window`` sampled frames).
FEATURE_ROWS = tuple(name for name, row in ROWS.items() if row.get("head") == "features")
PERSON_PAIRS = group("person").pairs
BASELINE = "most frequent pair"


@dataclass
class RowResult:
    """One row's held-out samples over all folds, and what each fold said."""

    true: list[tuple[int, ...]] = field(default_factory=list)
    predicted: list[list[int]] = field(default_factory=list)
    fold_f1: list[float] = field(default_factory=list)
    actor_f1: list[float] = field(default_factory=list)
    head_hits: dict[str, list[bool]] = field(default_factory=dict)
    baseline_f1: list[float] = field(default_factory=list)  # the most frequent pair's, same folds
    train_seconds: float = 0.0
    heads_trained: int = 0
    head_seconds: list[float] = field(default_factory=list)  # each head's training, end to end
    row_seconds: float = 0.0  # the whole K-fold run of the row: training and evaluation

    def scores(self, pairs: tuple[int, ...] | None = None) -> tuple[float, float, float]:
        """P/R/F1 over all held-out clips; with ``pairs`` (the person pairs, say: those one head names),
        over the clips whose truth holds one of them, on those pairs only."""
        if pairs is None:
            true, predicted, pairs = self.true, self.predicted, VALID_PAIRS
        else:
            kept = [i for i, t in enumerate(self.true) if set(t) & set(pairs)]
            true = [[p for p in self.true[i] if p in pairs] for i in kept]
            predicted = [[p for p in self.predicted[i] if p in pairs] for i in kept]
        return tuple(100 * float(v) for v in sample_prf(indicator(predicted, pairs), indicator(true, pairs)))


def prepare(args: argparse.Namespace) -> tuple[Path, pd.DataFrame]:
    """Condensed clips with a source column (once), and their detections (once)."""
    clips = args.work / "clips"
    if not (clips / "labels.csv").exists():
        build_sample_clips(args.labels, clips, frames_per_clip=args.frames_per_clip, overwrite=True)
    sources = pd.read_csv(SHARED / "clips" / "SOURCES.csv")
    source_of = dict(zip(sources.file.map(lambda f: Path(f).stem), sources.source_repo))
    table = pd.read_csv(clips / "labels.csv", dtype=str, keep_default_na=False)
    table["source"] = [source_of[Path(v).stem] for v in table.video]
    labels = args.work / "labels.csv"
    table[["video", "labels", "source"]].to_csv(labels, index=False)
    detected = detect_dataset(labels, args.work / "detected", "all", DetectOptions(weights=args.weights, device="cpu"),
                              seed=args.fold_seed, progress=False)
    kept = table[[Path(v).stem in set(detected.videos) for v in table.video]]
    return labels, kept


def fold_csv(folder: Path, table: pd.DataFrame, held_out: set[str]) -> Path:
    """The fold's labels: the held-out clips are its test split."""
    folder.mkdir(parents=True, exist_ok=True)
    split = ["test" if Path(v).stem in held_out else "train" for v in table.video]
    path = folder / "labels.csv"
    table.assign(video=[str((table.attrs["root"] / v).resolve()) for v in table.video], split=split)[
        ["video", "labels", "split"]].to_csv(path, index=False)
    return path


def fresh_run(run: Path, cache: Path) -> Path:
    """A run dir that starts with the shared detections and features, so nothing is computed twice."""
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    shutil.copytree(cache / CACHE_NAME, run / CACHE_NAME)
    if (cache / FEATURES_DIR).is_dir():
        shutil.copytree(cache / FEATURES_DIR, run / FEATURES_DIR)
    return run


def feature_settings(args: argparse.Namespace) -> FeatureSettings:
    """The features every feature row reads: every ``--every``-th frame, the fine-tuned rows' MobileNetV2
    weights, the shared pose model."""
    return FeatureSettings(every=args.every, pretrained=str(MOBILENET), pose_weights=str(POSE))


def features_cost(args: argparse.Namespace, table: pd.DataFrame) -> dict:
    """Features of ``--cost-clips`` clips computed from scratch in a run of their own (frames/s on this
    CPU, cache size per 1,000 sampled frames); then every clip's features into the shared cache once."""
    run = fresh_run(args.work / "features-cost", args.work / "detected")
    shutil.rmtree(run / FEATURES_DIR, ignore_errors=True)
    chosen = table.sample(min(args.cost_clips, len(table)), random_state=args.fold_seed)
    settings = feature_settings(args)
    report = compute_features({Path(v).stem: args.work / "clips" / v for v in chosen.video}, run, settings,
                              progress=False)
    everything = compute_features({Path(v).stem: args.work / "clips" / v for v in table.video}, args.work / "detected",
                                  settings, progress=False)
    cached = FeatureCache(args.work / "detected").read(everything.videos)
    return {"every": args.every, "clips": len(chosen), "frames": report.frames, "seconds": round(report.seconds, 1),
            "frames_per_s": round(report.frames_per_s, 2), "mib_per_1000_frames": round(
                report.cache_bytes / 2**20 / max(report.frames, 1) * 1000, 1),
            "all_clips_computed_now": everything.computed, "all_clips_cached": everything.cached,
            "all_clips_sampled_frames": int((cached.cls == WHOLE_FRAME).sum()),
            "all_clips_frames_computed_now": everything.frames, "all_clips_seconds": round(everything.seconds, 1)}


def run_row(name: str, args, csv: Path, run: Path, settings: CascadeSettings, result: RowResult,
            cut_result: RowResult | None) -> None:
    """Train every head the fold's training clips can train, evaluate on the held-out clips."""
    frames, row = args.train_frames, {"epochs": args.epochs, "imgsz": args.imgsz, "batch": args.batch, "lr": args.lr,
                                      **ROWS[name]}
    if name in FEATURE_ROWS:  # a feature head reads none of the network's flags (and would warn of them)
        frames, row = args.feature_train_frames, {**ROWS[name], "feature_settings": feature_settings(args),
                                                  "window": args.window}
    dataset = ClipDataset(csv, pd.read_csv(csv, dtype=str, keep_default_na=False), frames_per_clip=frames)
    groups = sorted({group_of_pair(p).name for pairs in dataset.clips[dataset.clips.split == "train"].pairs
                     for p in pairs})
    start = time.perf_counter()
    for group_name in groups:
        head_start = time.perf_counter()
        train_head(dataset, run, actor=group_name, device="cpu", val_fraction=0, seed=args.fold_seed, progress=False,
                   **row)
        result.head_seconds.append(time.perf_counter() - head_start)
        result.heads_trained += 1
    result.train_seconds += time.perf_counter() - start
    report = evaluate(csv, run, split="test", settings=settings, progress=False)
    result.row_seconds += time.perf_counter() - start
    samples = report.tables["samples"]
    result.true += [tuple(sorted(parse(t))) for t in samples.true]
    result.predicted += [sorted(parse(p)) for p in samples.predicted]
    result.fold_f1.append(100 * float(report.tables["overall"].loc["cascade", "f1"]))
    result.actor_f1.append(100 * float(report.tables["actors"].loc["per-video", "f1"]))
    result.baseline_f1.append(100 * float(report.tables["overall"].loc[BASELINE, "f1"]))
    for group_name, outputs in report.head_probs.items():
        hits = [group(group_name).pairs[int(p.argmax())] in t for p, t in zip(outputs.probs, outputs.truth) if t]
        result.head_hits.setdefault(group_name, []).extend(hits)
    if cut_result is not None:  # the cut each head would choose on its training clips, applied to held-out ones
        trained_on = evaluate(csv, run, split="train", settings=settings, progress=False)
        predicted = [set(p) for p in result.predicted[-len(samples):]]
        present = {g for g in report.head_probs}
        for group_name in present:
            head_group = group(group_name)
            seen = trained_on.head_probs[group_name]
            truth = indicator([sorted(t) for t in seen.truth], head_group.pairs)
            cut, _ = best_cut(np.stack(seen.probs.tolist()), truth) if len(seen) else (None, 0.0)
            outputs = report.head_probs[group_name]
            for row, probs in zip(outputs.row, outputs.probs):
                if any(group_of_pair(p).name == group_name for p in predicted[row]):  # the actor was reported
                    predicted[row] |= {head_group.pairs[k] for k in np.flatnonzero(reported(probs[None], cut)[0])}
        cut_result.true += result.true[-len(samples):]
        cut_result.predicted += [sorted(p) for p in predicted]
        cut_result.fold_f1.append(100 * float(sample_prf(indicator(cut_result.predicted[-len(samples):], VALID_PAIRS),
                                                         indicator(cut_result.true[-len(samples):], VALID_PAIRS))[2]))


def feature_goals(table: pd.DataFrame) -> dict:
    """The issue's goals, side by side: the best feature row against the best fine-tuned row (F1 over all
    held-out clips and training time), and the person pairs with pose against without."""
    features = [r for r in table.index if r in FEATURE_ROWS]
    networks = [r for r in table.index if r in ROWS and r not in FEATURE_ROWS]
    out: dict = {"lines": []}
    if features and networks:
        feature, network = table.loc[features].f1.idxmax(), table.loc[networks].f1.idxmax()
        gain = table.loc[feature, "f1"] - table.loc[network, "f1"]
        speed = table.loc[network, "train_s"] / max(table.loc[feature, "train_s"], 1e-9)
        out.update(best_feature=feature, best_finetuned=network, f1_difference=round(float(gain), 2),
                   training_time_ratio=round(float(speed), 1))
        out["lines"].append(f"best feature row {feature!r} minus best fine-tuned row {network!r}: F1 {gain:+.1f}, "
                            f"training {speed:.0f}x faster ({table.loc[feature, 'train_s']:.0f} s against "
                            f"{table.loc[network, 'train_s']:.0f} s for all heads of all folds)")
    with_pose, without = "feat app+motion+pose", "feat app+motion"
    if with_pose in table.index and without in table.index:
        gain = table.loc[with_pose, "person_f1"] - table.loc[without, "person_f1"]
        out["person_pose_gain"] = round(float(gain), 2)
        out["lines"].append(f"person pairs (clips with one), with pose minus without: F1 {gain:+.1f} "
                            f"({table.loc[with_pose, 'person_f1']:.1f} against {table.loc[without, 'person_f1']:.1f})")
    if features:
        slowest = float(table.loc[features, "head_max_s"].max())
        out["slowest_feature_head_s"] = round(slowest, 2)
        out["lines"].append(f"slowest feature head to train: {slowest:.1f} s (goal: under 10 s on 2 cores)")
    return out


def parse(names: str) -> list[int]:
    """Pair ids from names separated by spaces (the samples table's cells)."""
    return [parse_pair(n) for n in str(names).split() if n and n != "nan"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", type=Path, default=LABELLED_CLIPS)
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "action-cv")
    parser.add_argument("--weights", default=str(SHARED / "weights" / "yolo11n_int8_openvino_model"))
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--fold-seed", type=int, default=0)
    parser.add_argument("--frames-per-clip", type=int, default=48, help="condensed clips, as the main job's")
    parser.add_argument("--train-frames", type=int, default=4, help="frames per training clip a head learns from")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--imgsz", type=int, default=112)
    parser.add_argument("--batch", type=int, default=16, help="every row but the seed's (4)")
    parser.add_argument("--lr", type=float, default=3e-3, help="every row but the seed's (1e-3)")
    parser.add_argument("--feature-train-frames", type=int, default=12,
                        help="frames per training clip a feature head learns from (default: a quarter of a 48-frame "
                             "clip's, the same labelled frames at any --every, each taking the sampled frame nearest "
                             "to it)")
    parser.add_argument("--every", type=int, default=defaults.FEATURE_EVERY,
                        help="the feature rows' features: every N-th detected frame (cascade features --every)")
    parser.add_argument("--window", type=int, default=defaults.FEATURE_WINDOW,
                        help="sampled frames a feature head sees around each key frame (train-head --window)")
    parser.add_argument("--cost-clips", type=int, default=8, help="clips whose features are timed from scratch")
    parser.add_argument("--record-key", default="action_cv",
                        help="the key of benchmarks/latest.json the figures go to (another one for a run that "
                             "measures something else, say --every, so the main table's figures stay)")
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS),
                        help="rows to measure (default: all; rows measured in different runs see the same folds "
                             "with the same --fold-seed, but say which run measured which)")
    args = parser.parse_args()

    start = time.perf_counter()
    _, table = prepare(args)
    table.attrs["root"] = args.work / "clips"
    videos = pd.DataFrame({"video": [Path(v).stem for v in table.video], "source": table.source.to_numpy(),
                           "groups": [frozenset(group_of_pair(p).name for p in parse(labels.replace(";", " ")))
                                      for labels in table.labels]})
    folds = grouped_folds(videos, args.folds, args.fold_seed)
    print(f"machine: {machine()}")
    print(f"clips: {len(table)} condensed to {args.frames_per_clip} frames at 320 px, from {videos.source.nunique()} "
          f"sources; {args.folds} folds by source (sizes {[len(f) for f in folds]}), fold seed {args.fold_seed}")
    print(f"heads: {args.epochs} epochs at {args.imgsz} px on {args.train_frames} frames per clip, batch {args.batch}, "
          f"lr {args.lr} "
          f"(the seed row: batch 4, lr 1e-3); evaluate: 5 frames per clip\n")
    cost = features_cost(args, table) if set(args.rows) & set(FEATURE_ROWS) else None
    if cost:
        print(f"features at every {args.every}, window {args.window}: {cost['all_clips_sampled_frames']} sampled frames "
              f"in all; {cost['frames']} sampled frames of {cost['clips']} clips from scratch in {cost['seconds']} s, "
              f"{cost['frames_per_s']} frames/s on this CPU, {cost['mib_per_1000_frames']} MiB per 1,000 frames; "
              f"all clips: {cost['all_clips_computed_now']} computed now ({cost['all_clips_frames_computed_now']} frames in "
              f"{cost['all_clips_seconds']} s), {cost['all_clips_cached']} already cached\n")
    settings = CascadeSettings(thresholds="file", device="cpu", detect=DetectOptions(device="cpu", workers=0))
    results = {name: RowResult() for name in [BASELINE, *args.rows]}
    best_network = "mnv2" if "mnv2" in args.rows else args.rows[-1]
    cut_name = f"{best_network} + pair cut"
    results[cut_name] = RowResult()
    for number, held_out in enumerate(folds):
        csv = fold_csv(args.work / f"fold{number}", table, set(held_out))
        base = fresh_run(args.work / f"fold{number}" / "actor", args.work / "detected")
        tune_thresholds(csv, base, split="train", seed=args.fold_seed, progress=False)
        for name in args.rows:
            run = fresh_run(args.work / f"fold{number}" / name.replace(" ", "-"), args.work / "detected")
            shutil.copy(base / "thresholds.json", run / "thresholds.json")
            run_row(name, args, csv, run, settings, results[name], results[cut_name] if name == best_network else None)
            if name == args.rows[0]:  # the baseline: evaluate's row beside the cascade's, on the held-out clips
                results[BASELINE].fold_f1.append(results[name].baseline_f1[-1])
            print(f"fold {number}: {name}: F1 {results[name].fold_f1[-1]:.1f} ({time.perf_counter() - start:.0f} s)",
                  flush=True)
    baseline = results.pop(BASELINE)
    rows = []
    for name, result in results.items():
        p, r, f1 = result.scores()
        rows.append({"row": name, "precision": p, "recall": r, "f1": f1,
                     "fold_mean": np.mean(result.fold_f1) if result.fold_f1 else np.nan,
                     "fold_f1": " ".join(f"{v:.1f}" for v in result.fold_f1) or "-",
                     "actor_f1": np.mean(result.actor_f1) if result.actor_f1 else np.nan,
                     "head_accuracy": 100 * np.mean([h for hits in result.head_hits.values() for h in hits])
                     if result.head_hits else np.nan,
                     "person_f1": result.scores(PERSON_PAIRS)[2],
                     "train_s": result.train_seconds, "head_s": np.mean(result.head_seconds) if result.head_seconds
                     else np.nan, "head_max_s": max(result.head_seconds, default=np.nan),
                     "kfold_s": result.row_seconds, "heads": result.heads_trained})
    table_out = pd.DataFrame(rows).set_index("row")
    print(table_out.to_string(float_format="{:.1f}".format, na_rep="-"))
    base_f1 = float(np.mean(baseline.fold_f1))
    print(f"\n{BASELINE} (no network, same folds and actor stage): F1 by fold "
          + " ".join(f"{v:.1f}" for v in baseline.fold_f1) + f", mean {base_f1:.1f}")
    best = table_out.f1.idxmax()
    best_fold_mean = float(table_out.loc[best, "fold_mean"]) if not np.isnan(table_out.loc[best, "fold_mean"]) else np.nan
    print(f"best row: {best}, F1 {table_out.f1.max():.1f} over all held-out clips; its mean fold F1 minus the "
          f"baseline's: {best_fold_mean - base_f1:+.1f}"
          + (f"; F1 minus the seed row's: {table_out.f1.max() - table_out.loc['seed', 'f1']:+.1f}"
             if "seed" in table_out.index else ""))
    trained = max((n for n in results if results[n].head_hits), key=lambda n: table_out.loc[n, "f1"])
    print(f"per-head accuracy on held-out clips where the actor truly is, {trained}: "
          + ", ".join(f"{g} {100 * np.mean(h):.0f} % ({len(h)})" for g, h in sorted(results[trained].head_hits.items())))
    goals = feature_goals(table_out)
    for line in goals.get("lines", []):
        print(line)
    print(f"whole run: {time.perf_counter() - start:.0f} s")
    record(args.record_key, {
        "clips": int(len(table)), "sources": int(videos.source.nunique()), "folds": args.folds,
        "fold_seed": args.fold_seed, "epochs": args.epochs, "imgsz": args.imgsz, "train_frames": args.train_frames,
        "feature_train_frames": args.feature_train_frames, "every": args.every, "window": args.window,
        "baseline_fold_f1": [round(v, 2) for v in baseline.fold_f1], "baseline_f1": round(base_f1, 2),
        "rows": {name: {k: (None if pd.isna(v) else round(float(v), 2)) if isinstance(v, (float, np.floating)) else v
                        for k, v in row.items()} for name, row in table_out.iterrows()},
        "best_row": best, "best_fold_mean_minus_baseline": round(best_fold_mean - base_f1, 2),
        "features_cost": cost, "feature_goals": {k: v for k, v in goals.items() if k != "lines"}, "rows_measured": args.rows,
        "seconds": round(time.perf_counter() - start, 1),
    })


if __name__ == "__main__":
    main()
