"""The action stage on real labelled clips: which heads name actions right, cross-validated by source.

Data: the clips of ``../shared/clips/labels.csv`` (clip-level A2D labels), condensed as the main job
condenses them (``cascade sample-clips --runs``: ``--runs`` runs of consecutive frames at about 12.5 fps,
``--frames-per-clip`` frames in all, 320 px high) and detected once, every ``--stride``-th frame, by the
shared YOLO11n INT8 export. Folds: K folds of the clips in which each source repository
(``../shared/clips/SOURCES.csv``) lies whole in one fold (:func:`cascade.data.splits.grouped_folds`), drawn
with each of ``--fold-seeds``; every row sees the same folds, and the heads' own inner cross-validation
(a linear head's L2, every feature head's pair cut) sees the sources too. Inside each fold the real
pipeline runs as a user runs it: ``tune_thresholds`` (the default, the seed's thresholds) on the
training clips, ``train_head`` for every group with training labels, ``evaluate`` on the held-out clips.

Rows (the feature caches computed once for every clip before the folds, one per row's feature settings;
their cost is printed):

* ``most frequent pair``: no network; each present actor with a head gets its most frequent pair in
  the training folds (``evaluate``'s baseline row). A head that does not beat it has learned nothing;
* ``mnv2 mlp (default before)``: what ``train-head`` did by default before I3D: an MLP on MobileNetV2
  appearance + motion + pose features at every 8th frame; ``mnv2 linear``: the same features, linear head;
* ``i3d frame``, ``i3d tube``, ``i3d frame+tube``, ``i3d +kinetics``, ``i3d +kinetics+motion+pose``:
  I3D features (:mod:`cascade.features.video`) of each run's window, whole frame and/or the actor's
  tube, then the 400 Kinetics log-probabilities, then the boxes' motion and the person's keypoints;
  each with the ``linear`` head and the ``mlp``;
* ``... 112 px``, ``... 224 px`` (160 otherwise), ``... 8 frames``, ``... 16 frames`` (the default
  ``--video-frames`` otherwise, 32): the I3D +kinetics linear row at other sizes and windows, and the tube
  row at 16 frames (the default before 2026-12-05's second run);
* fine-tuned network rows of earlier runs (``seed``, ``mnv2``, ``mnv2 crop``, ``mnv2 crop tsm``) by name.

Printed: whole-cascade P/R/F1 over all held-out clips of each fold seed, their mean and spread, the
same with the top pair alone (no pair cut), with ``--instances`` the same with the labels each clip's actor
instances hold (``predict --labels-from-instances``), actor-stage F1, per-head accuracy on clips where the actor
truly is, training time per head, person-pair F1, and the issue's goals; the same figures go to
``benchmarks/latest.json`` under ``--record-key`` (``action_cv``).

    python3 benchmarks/action_cv.py                          # every default row, 3 fold seeds: about 2 h on 2 cores
    python3 benchmarks/action_cv.py --rows "i3d +kinetics linear" --fold-seeds 0     # a quick look
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field, replace
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
from cascade.heads.training import train_head
from cascade.labels import VALID_PAIRS, group, group_of_pair, parse_pair
from cascade.metrics import indicator, sample_prf
from cascade.pipeline import CascadeSettings
from cascade.thresholds.workflow import tune_thresholds

MOBILENET = SHARED / "weights" / "mobilenet_v2_imagenet" / "mobilenet_v2_imagenet1001.pt"
I3D = SHARED / "weights" / "i3d_kinetics400" / "i3d_kinetics400_rgb_fp16.npz"
POSE = SHARED / "weights" / "yolov8n-pose_int8_openvino_model"
PERSON_PAIRS = group("person").pairs
BASELINE = "most frequent pair"
VIDEO = ("video",)


@dataclass(frozen=True)
class Row:
    """A row: a feature head (``kinds`` read, ``model``, the features' settings beyond the run's) or a
    fine-tuned network (``finetune``: train_head's settings)."""

    kinds: tuple[str, ...] = ()
    model: str = "linear"
    features: tuple[tuple[str, object], ...] = ()  # FeatureSettings fields
    finetune: tuple[tuple[str, object], ...] = ()

    def settings(self, args: argparse.Namespace) -> FeatureSettings:
        """The row's features: I3D rows at one sampled frame per run (every = the runs' length)."""
        base = dict(self.features)
        if base.get("feature_backbone") == "i3d":
            return FeatureSettings(**{"every": args.run_length, "pretrained": str(I3D), "pose_weights": str(POSE), **base})
        return FeatureSettings(**{"every": 8, "pretrained": str(MOBILENET), "pose_weights": str(POSE), **base})


I3D_SETTINGS = (("feature_backbone", "i3d"),)
MNV2_KINDS = ("appearance", "motion", "pose")


def _i3d_rows() -> dict[str, Row]:
    rows = {}
    for name, kinds in (("frame", ("video-frame",)), ("tube", ("video-tube",)), ("frame+tube", VIDEO),
                        ("+kinetics", ("video", "kinetics")), ("+kinetics+motion+pose", ("video", "kinetics", "motion", "pose"))):
        for model in ("linear", "mlp"):
            rows[f"i3d {name} {model}"] = Row(kinds, model, I3D_SETTINGS)
    for label, extra in (("112 px", (("feature_imgsz", 112),)), ("224 px", (("feature_imgsz", 224),)),
                         ("8 frames", (("video_frames", 8),)), ("16 frames", (("video_frames", 16),))):
        rows[f"i3d +kinetics linear {label}"] = Row(("video", "kinetics"), "linear", I3D_SETTINGS + extra)
    rows["i3d tube linear 16 frames"] = Row(("video-tube",), "linear", I3D_SETTINGS + (("video_frames", 16),))
    return rows


ROWS: dict[str, Row] = {
    "mnv2 mlp (default before)": Row(MNV2_KINDS, "mlp"),
    "mnv2 linear": Row(MNV2_KINDS, "linear"),
    **_i3d_rows(),
    "seed": Row(finetune=(("backbone", "resnet34"), ("pretrained", "none"), ("lr", 1e-3), ("batch", 4))),
    "mnv2": Row(finetune=(("backbone", "mobilenet_v2"), ("pretrained", str(MOBILENET)))),
    "mnv2 crop": Row(finetune=(("backbone", "mobilenet_v2"), ("pretrained", str(MOBILENET)), ("crop", True))),
    "mnv2 crop tsm": Row(finetune=(("backbone", "mobilenet_v2"), ("pretrained", str(MOBILENET)), ("crop", True),
                                   ("temporal", "tsm"), ("clip_len", 4), ("clip_stride", 2))),
}
DEFAULT_ROWS = [name for name, row in ROWS.items() if not row.finetune]


@dataclass
class RowResult:
    """One row's held-out samples over all folds of one fold seed, and what each fold said."""

    true: list[tuple[int, ...]] = field(default_factory=list)
    predicted: list[list[int]] = field(default_factory=list)
    predicted_top: list[list[int]] = field(default_factory=list)  # the top pair alone, no pair cut
    predicted_instances: list[list[int]] = field(default_factory=list)  # labels from instances (--instances)
    fold_f1: list[float] = field(default_factory=list)
    actor_f1: list[float] = field(default_factory=list)
    head_hits: dict[str, list[bool]] = field(default_factory=dict)
    head_seconds: list[float] = field(default_factory=list)  # each head's training, end to end

    def scores(self, pairs: tuple[int, ...] | None = None, top: bool = False,
               instances: bool = False) -> tuple[float, float, float]:
        """P/R/F1 over all held-out clips; with ``pairs`` (the person pairs, say: those one head names),
        over the clips whose truth holds one of them, on those pairs only; ``top``: the top pair alone;
        ``instances``: the pairs the clip's instances hold (``--labels-from-instances``)."""
        predicted_all = self.predicted_top if top else self.predicted_instances if instances else self.predicted
        if pairs is None:
            true, predicted, pairs = self.true, predicted_all, VALID_PAIRS
        else:
            kept = [i for i, t in enumerate(self.true) if set(t) & set(pairs)]
            true = [[p for p in self.true[i] if p in pairs] for i in kept]
            predicted = [[p for p in predicted_all[i] if p in pairs] for i in kept]
        return tuple(100 * float(v) for v in sample_prf(indicator(predicted, pairs), indicator(true, pairs)))


def prepare(args: argparse.Namespace) -> pd.DataFrame:
    """Condensed clips with their source (once), and their detections (once)."""
    clips = args.work / "clips"
    if not (clips / "labels.csv").exists():
        build_sample_clips(args.labels, clips, frames_per_clip=args.frames_per_clip, runs=args.runs, overwrite=True)
    sources = pd.read_csv(SHARED / "clips" / "SOURCES.csv")
    source_of = dict(zip(sources.file.map(lambda f: Path(f).stem), sources.source_repo))
    table = pd.read_csv(clips / "labels.csv", dtype=str, keep_default_na=False)
    table["source"] = [source_of[Path(v).stem] for v in table.video]
    labels = args.work / "labels.csv"
    table.assign(video=[f"clips/{v}" for v in table.video], group=table.source)[["video", "labels", "group"]].to_csv(
        labels, index=False)
    detected = detect_dataset(labels, args.work / "detected", "all",
                              DetectOptions(weights=args.weights, device="cpu", stride=args.stride), seed=0,
                              progress=False)
    return table[[Path(v).stem in set(detected.videos) for v in table.video]]


def fold_csv(folder: Path, table: pd.DataFrame, held_out: set[str]) -> Path:
    """The fold's labels: the held-out clips are its test split; the source is each clip's group."""
    folder.mkdir(parents=True, exist_ok=True)
    split = ["test" if Path(v).stem in held_out else "train" for v in table.video]
    path = folder / "labels.csv"
    table.assign(video=[str((table.attrs["root"] / v).resolve()) for v in table.video], split=split,
                 group=table.source)[["video", "labels", "split", "group"]].to_csv(path, index=False)
    return path


def settings_key(settings: FeatureSettings) -> str:
    return hashlib.sha256(json.dumps(settings.to_meta(), sort_keys=True).encode()).hexdigest()[:10]


def features_cache(args: argparse.Namespace, table: pd.DataFrame, settings: FeatureSettings) -> tuple[Path, dict]:
    """A run dir holding the detections and every clip's features with ``settings`` (computed once, timed)."""
    run = args.work / "features" / settings_key(settings)
    if not (run / CACHE_NAME).is_dir():
        run.mkdir(parents=True, exist_ok=True)
        shutil.copytree(args.work / "detected" / CACHE_NAME, run / CACHE_NAME)
    report = compute_features({Path(v).stem: args.work / "clips" / v for v in table.video}, run, settings,
                              progress=False)
    cached = FeatureCache(run).read_table(report.videos, ["cls"]).column("cls").to_numpy()
    rows = int(len(cached))
    return run, {"computed_now": report.computed, "seconds_now": round(report.seconds, 1),
                 "sampled_frames": int((cached == WHOLE_FRAME).sum()), "rows": rows,
                 "frames_per_s_now": round(report.frames_per_s, 2), "mib": round(report.cache_bytes / 2**20, 1)}


def fresh_run(run: Path, detections: Path, features: Path | None) -> Path:
    """A run dir that starts with the shared detections and the row's features, so nothing is computed twice."""
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    shutil.copytree(detections / CACHE_NAME, run / CACHE_NAME)
    if features is not None:
        shutil.copytree(features / FEATURES_DIR, run / FEATURES_DIR)
    return run


def run_row(name: str, args, csv: Path, run: Path, settings: CascadeSettings, result: RowResult
            ) -> tuple[float, pd.DataFrame]:
    """Train every head the fold's training clips can train, evaluate on the held-out clips (with each
    head's pair cut, and with the top pair alone); returns the most frequent pair's F1 there and the samples."""
    row = ROWS[name]
    if row.finetune:
        frames, options = args.train_frames, {"head": "finetune", "epochs": args.epochs, "imgsz": args.imgsz,
                                              "batch": args.batch, "lr": args.lr, **dict(row.finetune)}
    else:
        frames, options = args.feature_train_frames, {"head": "features", "features": row.kinds,
                                                      "feature_model": row.model, "feature_settings": row.settings(args)}
    dataset = ClipDataset(csv, pd.read_csv(csv, dtype=str, keep_default_na=False), frames_per_clip=frames)
    groups = sorted({group_of_pair(p).name for pairs in dataset.clips[dataset.clips.split == "train"].pairs
                     for p in pairs})
    for group_name in groups:
        head_start = time.perf_counter()
        train_head(dataset, run, actor=group_name, device="cpu", val_fraction=0, seed=args.fold_seed, progress=False,
                   **options)
        result.head_seconds.append(time.perf_counter() - head_start)
    report = evaluate(csv, run, split="test", settings=settings, progress=False)
    top = evaluate(csv, run, split="test", settings=replace(settings, pair_cut=1.0), progress=False)
    samples = report.tables["samples"]
    result.true += [tuple(sorted(parse(t))) for t in samples.true]
    result.predicted += [sorted(parse(p)) for p in samples.predicted]
    result.predicted_top += [sorted(parse(p)) for p in top.tables["samples"].predicted]
    if args.instances:
        held = evaluate(csv, run, split="test", progress=False, settings=replace(
            settings, instances=replace(settings.instances, labels_from_instances=True)))
        result.predicted_instances += [sorted(parse(p)) for p in held.tables["samples"].predicted]
    result.fold_f1.append(100 * float(report.tables["overall"].loc["cascade", "f1"]))
    result.actor_f1.append(100 * float(report.tables["actors"].loc["per-video", "f1"]))
    for group_name, outputs in report.head_probs.items():
        hits = [group(group_name).pairs[int(p.argmax())] in t for p, t in zip(outputs.probs, outputs.truth) if t]
        result.head_hits.setdefault(group_name, []).extend(hits)
    return float(report.tables["overall"].loc["most frequent pair", "f1"]) * 100, samples


def parse(names: str) -> list[int]:
    """Pair ids from names separated by spaces (the samples table's cells)."""
    return [parse_pair(n) for n in str(names).split() if n and n != "nan"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", type=Path, default=LABELLED_CLIPS)
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "action-cv")
    parser.add_argument("--weights", default=str(SHARED / "weights" / "yolo11n_int8_openvino_model"))
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--fold-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--frames-per-clip", type=int, default=96, help="condensed clips: frames in all")
    parser.add_argument("--runs", type=int, default=3, help="condensed clips: runs of consecutive frames at ~12.5 fps")
    parser.add_argument("--stride", type=int, default=2, help="detect every N-th frame of the condensed clips")
    parser.add_argument("--train-frames", type=int, default=4, help="fine-tuned rows: frames per training clip")
    parser.add_argument("--epochs", type=int, default=4, help="fine-tuned rows")
    parser.add_argument("--imgsz", type=int, default=112, help="fine-tuned rows")
    parser.add_argument("--batch", type=int, default=16, help="fine-tuned rows but the seed's (4)")
    parser.add_argument("--lr", type=float, default=3e-3, help="fine-tuned rows but the seed's (1e-3)")
    parser.add_argument("--feature-train-frames", type=int, default=12,
                        help="frames per training clip a feature head learns from, each taking the sampled frame "
                             "nearest to it")
    parser.add_argument("--record-key", default="action_cv", help="the key of benchmarks/latest.json")
    parser.add_argument("--rows", nargs="+", default=DEFAULT_ROWS, choices=list(ROWS))
    parser.add_argument("--instances", action="store_true",
                        help="also evaluate each row with the labels its clips' instances hold "
                             "(predict --labels-from-instances): the f1_from_instances column")
    args = parser.parse_args()
    args.run_length = args.frames_per_clip // args.runs

    start = time.perf_counter()
    table = prepare(args)
    table.attrs["root"] = args.work / "clips"
    videos = pd.DataFrame({"video": [Path(v).stem for v in table.video], "source": table.source.to_numpy(),
                           "groups": [frozenset(group_of_pair(p).name for p in parse(labels.replace(";", " ")))
                                      for labels in table.labels]})
    print(f"machine: {machine()}")
    print(f"clips: {len(table)} condensed to {args.runs} runs of {args.run_length} frames at ~12.5 fps, 320 px, "
          f"detected every {args.stride} frames, from {videos.source.nunique()} sources; {args.folds} folds by "
          f"source, fold seeds {args.fold_seeds}")
    caches, costs = {}, {}
    for name in args.rows:
        if not ROWS[name].finetune:
            settings = ROWS[name].settings(args)
            key = settings_key(settings)
            if key not in caches:
                caches[key], costs[key] = features_cache(args, table, settings)
                shown = settings.resolved()
                print(f"features {key} ({shown.feature_backbone}, every {shown.every}, {shown.imgsz} px"
                      f"{f', {shown.video_frames} frames' if shown.video else ''}): {costs[key]}", flush=True)
    cascade_settings = CascadeSettings(thresholds="file", device="cpu",
                                       detect=DetectOptions(device="cpu", workers=0, stride=args.stride))
    results = {seed: {name: RowResult() for name in args.rows} for seed in args.fold_seeds}
    baseline = {seed: ([], []) for seed in args.fold_seeds}  # per fold: the most frequent pair's F1, its clips
    for seed in args.fold_seeds:
        args.fold_seed = seed
        folds = grouped_folds(videos, args.folds, seed)
        for number, held_out in enumerate(folds):
            folder = args.work / f"seed{seed}" / f"fold{number}"
            csv = fold_csv(folder, table, set(held_out))
            base = fresh_run(folder / "actor", args.work / "detected", None)
            tune_thresholds(csv, base, split="train", seed=seed, progress=False,
                            options=DetectOptions(weights=args.weights, device="cpu", stride=args.stride))
            for name in args.rows:
                row = ROWS[name]
                features = None if row.finetune else caches[settings_key(row.settings(args))]
                run = fresh_run(folder / name.replace(" ", "-"), args.work / "detected", features)
                shutil.copy(base / "thresholds.json", run / "thresholds.json")
                base_f1, samples = run_row(name, args, csv, run, cascade_settings, results[seed][name])
                if name == args.rows[0]:  # the same baseline in every row: its clips, pooled as the rows are
                    baseline[seed][0].append(base_f1)
                    baseline[seed][1].append(len(samples))
                print(f"seed {seed} fold {number}: {name}: F1 {results[seed][name].fold_f1[-1]:.1f} "
                      f"({time.perf_counter() - start:.0f} s)", flush=True)
    out_rows = []
    for name in args.rows:
        per_seed = [results[s][name].scores()[2] for s in args.fold_seeds]
        per_seed_top = [results[s][name].scores(top=True)[2] for s in args.fold_seeds]
        folds_all = [f for s in args.fold_seeds for f in results[s][name].fold_f1]
        hits = [h for s in args.fold_seeds for v in results[s][name].head_hits.values() for h in v]
        seconds = [t for s in args.fold_seeds for t in results[s][name].head_seconds]
        out_rows.append({"row": name, "f1": np.mean(per_seed), "f1_by_seed": " ".join(f"{v:.1f}" for v in per_seed),
                         "seed_spread": max(per_seed) - min(per_seed), "fold_sd": float(np.std(folds_all)),
                         "f1_top_pair": np.mean(per_seed_top),
                         "f1_from_instances": np.mean([results[s][name].scores(instances=True)[2] for s in args.fold_seeds])
                         if args.instances else np.nan,
                         "precision": np.mean([results[s][name].scores()[0] for s in args.fold_seeds]),
                         "recall": np.mean([results[s][name].scores()[1] for s in args.fold_seeds]),
                         "actor_f1": np.mean([f for s in args.fold_seeds for f in results[s][name].actor_f1]),
                         "head_accuracy": 100 * np.mean(hits) if hits else np.nan,
                         "person_f1": np.mean([results[s][name].scores(PERSON_PAIRS)[2] for s in args.fold_seeds]),
                         "head_s": np.mean(seconds), "head_max_s": max(seconds), "heads": len(seconds)})
    table_out = pd.DataFrame(out_rows).set_index("row")
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(table_out.to_string(float_format="{:.1f}".format, na_rep="-"))
    # a per-sample mean over all held-out clips: the folds' F1 weighted by their clips
    base_by_seed = [float(np.average(baseline[s][0], weights=baseline[s][1])) for s in args.fold_seeds]
    base_f1 = float(np.mean(base_by_seed))
    print(f"\n{BASELINE} (no network, same folds and actor stage): F1 over all held-out clips by seed "
          + " ".join(f"{v:.1f}" for v in base_by_seed) + f", mean {base_f1:.1f}")
    best = str(table_out.f1.idxmax())
    gain = float(table_out.loc[best, "f1"]) - base_f1
    print(f"best row: {best}, F1 {table_out.loc[best, 'f1']:.1f} (by seed {table_out.loc[best, 'f1_by_seed']}); "
          f"minus the {BASELINE}: {gain:+.1f} (goal: >= +12 and F1 >= 45)")
    for name in [n for n in args.rows if n.startswith("mnv2 mlp")]:
        print(f"best row minus {name!r}: {table_out.loc[best, 'f1'] - table_out.loc[name, 'f1']:+.1f}")
    hits = {g: h for s in args.fold_seeds for g, h in results[s][best].head_hits.items()}
    print(f"per-head accuracy on held-out clips where the actor truly is, {best} (last seed): "
          + ", ".join(f"{g} {100 * np.mean(h):.0f} % ({len(h)})" for g, h in sorted(hits.items())))
    print(f"whole run: {time.perf_counter() - start:.0f} s")
    record(args.record_key, {
        "clips": int(len(table)), "sources": int(videos.source.nunique()), "folds": args.folds,
        "fold_seeds": args.fold_seeds, "frames_per_clip": args.frames_per_clip, "runs": args.runs,
        "stride": args.stride, "feature_train_frames": args.feature_train_frames,
        "baseline_f1_by_seed": [round(v, 2) for v in base_by_seed], "baseline_f1": round(base_f1, 2),
        "rows": {name: {k: (None if pd.isna(v) else round(float(v), 2)) if isinstance(v, (float, np.floating)) else v
                        for k, v in row.items()} for name, row in table_out.iterrows()},
        "best_row": best, "best_minus_baseline": round(gain, 2), "features_cost": costs,
        "seconds": round(time.perf_counter() - start, 1),
    })


if __name__ == "__main__":
    main()
