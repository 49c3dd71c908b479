"""Actor instances on labelled clips: which linker keeps each actor's identity, and which smoothing names
its actions over time best.

Data: ``tests/data/instances.csv``: frames of real clips of ``../shared/clips`` labelled by hand, every
instance with its box, its id (the same actor keeps it over the clip) and its pair at that moment
(``tests/data/INSTANCES.md`` says how). The clips are detected once, at every frame, by the shared
YOLO11n INT8 export.

Part 1, tracks (no heads): every linker of :mod:`cascade.instances.tracking` (``iou`` with motion,
Ultralytics' ``bytetrack`` and ``botsort`` on the cached boxes), each with the gap and flicker rules at a
few settings, on the detections at every frame and at every ``--stride``-th frame. Per setting, over all
labelled instances (:mod:`cascade.instances.scoring`, the pair left out): the labelled boxes a track
covers (IoU >= 0.5), the track boxes no labelled instance covers on the labelled frames, identity
switches, and tracks per labelled actor (fragmentation).

Part 2, actions over time: feature heads trained on the condensed clips of ``benchmarks/action_cv.py``'s
work folder (``--acv-work``: its clips and its features of the default feature settings) whose source
is none of the labelled clips' (sources from ``../shared/clips/SOURCES.csv``), then ``evaluate`` on the
labelled frames: the instance score of every smoothing (none, a median of 3, Viterbi at several switch
costs) beside the baseline that gives every track its video's top pair. The figures go to ``benchmarks/latest.json``
under ``tracking_tracks`` (part 1) and ``tracking_actions`` (part 2).

    python3 benchmarks/tracking.py            # after benchmarks/action_cv.py (its clips and features)
"""

from __future__ import annotations

import argparse
import shutil
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from _data import REPO, SHARED, machine, record
from cascade import defaults
from cascade.data.clips import ClipDataset
from cascade.detect import CACHE_NAME, DetectOptions, detect_dataset
from cascade.detect.cache import load_detections
from cascade.evaluation import evaluate
from cascade.features.cache import FEATURES_DIR
from cascade.heads.training import train_head
from cascade.instances.actions import InstanceSettings
from cascade.instances.scoring import instance_score
from cascade.instances.tracking import TrackSettings, video_tracks
from cascade.labels import group_of_pair
from cascade.pipeline import CascadeSettings

LABELS = REPO / "tests" / "data" / "instances.csv"
WEIGHTS = SHARED / "weights" / "yolo11n_int8_openvino_model"
LINKERS = [(method, gap, least) for method in defaults.TRACK_METHOD_CHOICES for gap, least in ((0, 1), (2, 3), (5, 3))]
SMOOTHING = [("none", 0.0), ("median", 0.0), *(("viterbi", cost) for cost in (1.0, 2.0, 4.0))]


def labelled_frames(args: argparse.Namespace) -> tuple[Path, pd.DataFrame]:
    """The instance labels as a frame CSV beside the work folder (paths to the clips), and as a table of
    labelled instances (video, frame, id, pair, box)."""
    table = pd.read_csv(args.labels, dtype=str, keep_default_na=False)
    sources = pd.read_csv(SHARED / "clips" / "SOURCES.csv")
    source_of = dict(zip(sources.file, sources.source_repo))
    csv = args.work / "instances.csv"
    args.work.mkdir(parents=True, exist_ok=True)
    table.assign(video=[str(SHARED / "clips" / v) for v in table.video], split="test",
                 group=[source_of.get(v, v) for v in table.video]).to_csv(csv, index=False)
    rows = []
    for row in table.itertuples(index=False):
        for pair, box, ident in zip(row.labels.split(";"), row.boxes.split(";"), row.ids.split(";")):
            if pair.strip():
                rows.append((Path(row.video).stem, int(row.frame), int(ident), 0, *map(float, box.split())))
    return csv, pd.DataFrame(rows, columns=["video", "frame", "id", "pair", "x1", "y1", "x2", "y2"])


def track_scores(truth: pd.DataFrame, detections: pd.DataFrame, settings: TrackSettings, stride: int) -> dict:
    """Part 1's figures for one linker setting on detections thinned to every ``stride``-th frame."""
    found = []
    for video, rows in detections[(detections.frame - 1) % stride == 0].groupby("video"):
        tracks = video_tracks(rows, settings)
        labelled = truth[truth.video == video]
        for number in labelled.frame.unique():
            for track, mine in tracks.groupby("track"):
                if mine.frame.min() <= number <= mine.frame.max():
                    nearest = mine.iloc[(mine.frame - number).abs().argmin()]
                    found.append((video, int(number), int(track), 0, *nearest[["x1", "y1", "x2", "y2"]].tolist()))
    found = pd.DataFrame(found, columns=["video", "frame", "track", "pair", "x1", "y1", "x2", "y2"])
    score = instance_score(truth, found)
    return {"covered": score["matched"] / max(score["labelled"], 1), "uncovered_track_boxes": score["track_boxes"]
            - score["matched"], "id_switches": score["id_switches"],
            "tracks_per_actor": _tracks_per_actor(truth, found)}


def _tracks_per_actor(truth: pd.DataFrame, found: pd.DataFrame) -> float:
    """The mean number of distinct tracks that cover one labelled actor over its frames."""
    from cascade.instances.scoring import match_frame

    covering: dict[tuple[str, int], set[int]] = {}
    by_frame = {key: rows.reset_index(drop=True) for key, rows in found.groupby(["video", "frame"])}
    for key, labelled in truth.groupby(["video", "frame"]):
        labelled = labelled.reset_index(drop=True)
        there = by_frame.get(key, found.iloc[:0])
        for t, f in match_frame(labelled, there, defaults.INSTANCE_MATCH_IOU):
            covering.setdefault((key[0], int(labelled.id.iat[t])), set()).add(int(there.track.iat[f]))
    return sum(map(len, covering.values())) / max(len(covering), 1)


def heads_run(args: argparse.Namespace, held_sources: set[str]) -> Path:
    """Feature heads for every group, trained on action_cv's condensed clips from other sources, in a run
    dir holding those clips' detections and default features."""
    run = args.work / "heads"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    shutil.copytree(args.acv_work / "detected" / CACHE_NAME, run / CACHE_NAME)
    shutil.copytree(args.acv_work / "features" / args.features_key / FEATURES_DIR, run / FEATURES_DIR)
    table = pd.read_csv(args.acv_work / "labels.csv", dtype=str, keep_default_na=False)
    table = table[~table.group.isin(held_sources)]
    table = table.assign(split="train", video=[str(args.acv_work / v) for v in table.video])
    csv = run / "train.csv"
    table.to_csv(csv, index=False)
    dataset = ClipDataset(csv, pd.read_csv(csv, dtype=str, keep_default_na=False), frames_per_clip=12)
    groups = sorted({group_of_pair(p).name for pairs in dataset.clips.pairs for p in pairs})
    for group_name in groups:
        train_head(dataset, run, actor=group_name, device="cpu", val_fraction=0, seed=0, progress=False,
                   features=tuple(args.features), feature_model=args.feature_model)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "tracking")
    parser.add_argument("--stride", type=int, default=2, help="part 1 also at every N-th detected frame")
    parser.add_argument("--acv-work", type=Path, default=REPO / "runs" / "action-cv",
                        help="benchmarks/action_cv.py's --work: its condensed clips and features caches")
    parser.add_argument("--features-key", required=True,
                        help="the folder under ACV_WORK/features holding the features the heads read")
    parser.add_argument("--features", nargs="+", default=list(defaults.FEATURE_KINDS))
    parser.add_argument("--feature-model", default=defaults.FEATURE_MODEL)
    parser.add_argument("--parts", nargs="+", choices=("tracks", "actions"), default=["tracks", "actions"])
    args = parser.parse_args()
    args.acv_work = args.acv_work.resolve()  # the heads' train.csv names its clips by absolute path
    start = time.perf_counter()
    csv, truth = labelled_frames(args)
    detected = args.work / "detected"
    detect_dataset(csv, detected, "all", DetectOptions(weights=str(WEIGHTS), device="cpu"), progress=False)
    detections = load_detections(detected, sorted(truth.video.unique()))
    print(f"machine: {machine()}")
    print(f"labelled: {truth.video.nunique()} clips, {len(truth.groupby(['video', 'frame']))} frames, "
          f"{len(truth)} instances, {len(truth.groupby(['video', 'id']))} actors")
    rows = []
    for method, gap, least in LINKERS if "tracks" in args.parts else []:
        for stride in (1, args.stride):
            settings = TrackSettings(method=method, max_gap=gap, min_frames=least)
            rows.append({"method": method, "max_gap": gap, "min_frames": least, "stride": stride,
                         **track_scores(truth, detections, settings, stride)})
            print(rows[-1], flush=True)
    counts = {"clips": int(truth.video.nunique()), "instances": int(len(truth)),
              "actors": int(len(truth.groupby(['video', 'id'])))}
    if rows:
        print(pd.DataFrame(rows).to_string(float_format="{:.3f}".format, index=False))
        record("tracking_tracks", {**counts, "tracks": rows, "seconds": round(time.perf_counter() - start, 1)})
    if "actions" not in args.parts:
        return

    sources = pd.read_csv(SHARED / "clips" / "SOURCES.csv")
    held = set(sources[sources.file.isin(pd.read_csv(args.labels).video)].source_repo)
    run = args.work / "evaluate"  # its own caches: action_cv's condensed clips bear the labelled clips' names
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(heads_run(args, held) / "heads", run / "heads")
    base = CascadeSettings(device="cpu", thresholds="builtin",
                           detect=DetectOptions(device="cpu", workers=0, weights=str(WEIGHTS)))
    actions = {}
    for smooth, cost in SMOOTHING:
        settings = replace(base, instances=InstanceSettings(smooth=smooth, switch_cost=cost or defaults.SWITCH_COST))
        report = evaluate(csv, run, split="test", settings=settings, progress=False)
        table = report.tables["instances"]
        actions[f"{smooth}" + (f" {cost:g}" if smooth == "viterbi" else "")] = table.loc["cascade"].to_dict()
        actions["every track its video's top pair"] = table.loc["every track its video's top pair"].to_dict()
    actions_table = pd.DataFrame(actions).T[["hits", "labelled", "track_boxes", "precision", "recall", "f1",
                                              "id_switches", "segments", "labelled_segments"]]
    print(actions_table.to_string(float_format="{:.3f}".format))
    print(f"whole run: {time.perf_counter() - start:.0f} s")
    record("tracking_actions", {**counts, "track_method": defaults.TRACK_METHOD,
                        "actions": {k: {c: float(v) for c, v in row.items()} for k, row in actions_table.iterrows()},
                        "features_key": args.features_key, "features": args.features,
                        "feature_model": args.feature_model, "seconds": round(time.perf_counter() - start, 1)})


if __name__ == "__main__":
    main()
