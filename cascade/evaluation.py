"""``evaluate`` as a library call: the cascade scored as the A2D challenge scores it.

A *sample* is what the labels describe: an annotated frame (A2D, a per-frame CSV) or a whole clip
(a clip-level CSV). For a frame the heads look at that frame; for a clip, at ``head_frames``
evenly spaced frames, their probabilities averaged, exactly as ``predict`` does. A temporal head
looks at the window its checkpoint records around each of those frames.

* **overall**: per sample, the predicted pair set (each present group's head, through the same head
  stage as ``predict``: :meth:`~cascade.pipeline.Cascade.head_stage`) against the true pairs:
  challenge P/R/F1 over samples; beside it the *most frequent pair* row, which needs no network: the
  same present groups with heads, each given its most frequent pair in the training split's labels.
  A head that does not beat it has learned nothing;
* **actors** (stage 1-2 alone): per video, predicted groups against the groups its labels name,
  challenge P/R/F1 plus a per-group table (undefined where a group has no video);
* **heads** (stage 3 alone, like the seed's Table 7): per head, on the samples where its group
  truly appears, its predicted pair against the group's true pairs;
* **pairs**: per-pair precision/recall/F1 of the whole cascade;
* **samples**: each sample's true and predicted pairs;
* **instances** (labels whose frames give each instance's box and id, ``ids`` in a frame CSV, A2D's
  ``instance``): the actor instances ``predict`` follows scored frame by frame against the labelled ones
  (:mod:`cascade.instances.scoring`: hits, misses, false alarms, precision, recall, F1, identity
  switches; ``segments``, the mean number of action segments per followed instance, against
  ``labelled_segments``, the mean number of runs of one action per labelled instance), beside the same tracks
  each given its video's top pair for its actor.

All tables are written as CSV to ``RUN/evaluate/`` (fractions) and printed (precision, recall, F1
and accuracy as percentages, as ``tune-thresholds`` prints them).

Example::

    report = evaluate("A2D", "runs", split="test")
    print(report.summary())
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from cascade import defaults
from cascade.data import open_dataset
from cascade.data.frames import evenly_spaced, frame_rate
from cascade.detect.report import none_read
from cascade.errors import CascadeError
from cascade.fileio import write_text_atomic
from cascade.labels import GROUP_NAMES, GROUPS, VALID_PAIRS, group as find_group, group_of_pair, pair_name, parse_pair
from cascade.metrics import class_table, indicator, sample_prf
from cascade.pipeline import Cascade, CascadeSettings
from cascade.instances.actions import pairs_held
from cascade.instances.cache import TrackCache
from cascade.instances.scoring import instance_score
from cascade.instances.tracking import CORNERS
from cascade.instances.timeline import label_at
from cascade.prediction import ActorScores

REPORT_DIR = "evaluate"


PERCENT_COLUMNS = ("precision", "recall", "f1", "accuracy")


@dataclass
class EvaluationReport:
    """The tables, the files they were written to, the videos skipped, and each head's probabilities
    on the samples it looked at (``head_probs``: group -> row, probs, truth; kept for tuning and study)."""

    tables: dict[str, pd.DataFrame]
    files: dict[str, str]
    skipped: dict[str, str] = field(default_factory=dict)
    head_probs: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def summary(self) -> str:
        parts = []
        for name in ("overall", "actors", "heads", *(["instances"] if "instances" in self.tables else [])):
            shown = self.tables[name].copy()
            for column in set(PERCENT_COLUMNS) & set(shown.columns):
                shown[column] = 100 * shown[column]
            parts += [f"== {name} (%) ==", shown.to_string(float_format="{:.1f}".format, na_rep="-")]
        absent = self.tables["actors"].query("videos == 0").index.tolist()
        if absent:
            parts.append(f"no labelled videos of: {', '.join(absent)} (their scores are undefined, shown as -)")
        parts.append(f"written: {', '.join(self.files.values())}")
        if self.skipped:
            parts.append(f"skipped (not decodable): {'; '.join(self.skipped.values())}")
        return "\n".join(parts)

    def to_json(self) -> dict:
        """The tables as lists of rows; undefined values are null."""
        rows = {k: v.reset_index() for k, v in self.tables.items()}
        plain = {k: v.astype(object).where(v.notna(), None) for k, v in rows.items()}
        return {"tables": {k: v.to_dict("records") for k, v in plain.items()},
                "files": self.files, "skipped": self.skipped}


def _prf_row(pred: np.ndarray, true: np.ndarray, count_name: str) -> dict:
    p, r, f1 = (float(v) for v in sample_prf(pred, true))
    return {"precision": p, "recall": r, "f1": f1, count_name: len(true)}


#: evaluate's settings unless given: the run's thresholds file, which must exist (evaluating the
#: built-in thresholds by accident would flatter nobody).
EVALUATE_SETTINGS = CascadeSettings(thresholds="file")


def evaluate(data, run_dir: str | Path = defaults.RUN_DIR, split: str = "test", seed: int = defaults.SEED,
             settings: CascadeSettings = EVALUATE_SETTINGS, progress: bool = True) -> EvaluationReport:
    """Score the run's cascade, built with ``settings`` (:class:`~cascade.pipeline.CascadeSettings`),
    on the labelled videos of ``split`` as the challenge does (see the module docstring), detecting
    what the cache lacks; tables are returned and written as CSV. ``seed``: the split of clip-level
    labels without one.
    """
    dataset = open_dataset(data, seed, run_dir)  # first: --data is what the user named, the run dir follows
    videos = dataset.labelled_videos(split)
    cascade = Cascade.from_run_dir(run_dir, settings)
    actor = cascade.scores(dataset.video_paths(split), progress)
    videos = videos[videos.video.isin(actor.scores.index)].reset_index(drop=True)
    if videos.empty:
        raise none_read(dataset.source, split, actor.failed)
    samples = _samples(dataset, split, videos, actor, settings.head_frames)

    present = cascade.thresholds_.present(actor.scores.loc[videos.video].to_numpy())
    present_by_video = {v: set(np.array(GROUP_NAMES)[row]) for v, row in zip(videos.video, present)}
    head_probs = _head_probabilities(cascade, actor, samples, present_by_video, progress)
    predicted = [set() for _ in range(len(samples))]
    held = _held_by_instances(cascade, dataset, split, videos, actor, present_by_video)
    for group_name, outputs in head_probs.items():
        group = find_group(group_name)
        for row, probs in zip(outputs.row, outputs.probs):
            if group_name in present_by_video[samples.video[row]]:
                pairs = held.get((samples.video[row], group_name))
                predicted[row].update(pairs or (pair for pair, _ in cascade.reported_pairs(group, probs)))
    true_pairs = indicator(samples.pairs.tolist(), VALID_PAIRS)
    pred_pairs = indicator([sorted(p) for p in predicted], VALID_PAIRS)
    unit = "videos" if dataset.clip_level else "frames"
    truth_groups = indicator(videos.groups.tolist(), GROUP_NAMES)
    overall = [pd.DataFrame([_prf_row(pred_pairs, true_pairs, unit)], index=["cascade"])]
    frequent = most_frequent_pairs(dataset)
    if frequent:
        baseline = [sorted(frequent[g] for g in present_by_video[v] if g in cascade.heads_ and g in frequent)
                    for v in samples.video]
        overall.append(pd.DataFrame([_prf_row(indicator(baseline, VALID_PAIRS), true_pairs, unit)],
                                    index=["most frequent pair"]))

    tables = {
        "overall": pd.concat(overall),
        "actors": pd.concat([
            pd.DataFrame([_prf_row(present, truth_groups, "videos")], index=["per-video"]),
            class_table(present, truth_groups, GROUP_NAMES).rename(columns={"support": "videos"}),
        ]),
        "heads": _head_table(head_probs, unit),
        "pairs": class_table(pred_pairs, true_pairs, [pair_name(p) for p in VALID_PAIRS]),
        "samples": pd.DataFrame({"video": samples.video, "frames": [" ".join(map(str, f)) for f in samples.frames],
                                 "true": [" ".join(map(pair_name, p)) for p in samples.pairs],
                                 "predicted": [" ".join(map(pair_name, sorted(p))) for p in predicted]}),
    }
    instances = _instance_table(cascade, dataset, split, videos, actor, present_by_video, samples, head_probs)
    if instances is not None:
        tables["instances"] = instances
    folder = Path(run_dir) / REPORT_DIR
    files = {}
    for name, table in tables.items():
        files[name] = str(folder / f"{name}.csv")
        write_text_atomic(files[name], table.to_csv(index=name != "samples"))
    return EvaluationReport(tables, files, actor.failed, head_probs)


def _held_by_instances(cascade: Cascade, dataset, split: str, videos: pd.DataFrame, actor: ActorScores,
                       present_by_video: dict) -> dict[tuple[str, str], set[int]]:
    """With ``labels_from_instances`` (clip-level labels: a clip is a sample), (video, group) -> the pairs the
    group's instances hold (:func:`~cascade.instances.actions.pairs_held`), as ``predict`` reports them."""
    settings = cascade.settings.instances
    if not settings.labels_from_instances or not dataset.clip_level:
        return {}
    held = {}
    for video, path in zip(videos.video, videos.path):
        groups = [find_group(g) for g in present_by_video[video] if g in cascade.heads_]
        for group_name, found in cascade.instances(Path(path), video, groups, actor.detections).items():
            held[(video, group_name)] = {parse_pair(name) for name in pairs_held(found, settings.min_seconds)}
    return held


def _instance_table(cascade: Cascade, dataset, split: str, videos: pd.DataFrame, actor: ActorScores,
                    present_by_video: dict, samples: pd.DataFrame, head_probs: dict) -> pd.DataFrame | None:
    """The instance scores (see the module docstring) of the videos whose labels name instances; None
    when none do. The baseline's pair for a group in a video: the most probable of its head's mean
    probabilities over the video's samples."""
    frames = dataset.labelled_frames(split)
    frames = frames[frames.video.isin(videos.video)]
    truth = [(row.video, int(row.frame), int(i), int(p), *box) for row in frames.itertuples(index=False)
             for p, box, i in zip(row.instance_pairs, row.boxes, row.instance_ids)
             if i >= 0 and np.all(np.isfinite(box))]
    if not truth:
        return None
    truth = pd.DataFrame(truth, columns=["video", "frame", "id", "pair", *CORNERS])
    labelled = videos[videos.video.isin(truth.video)]
    found, baseline, segments = [], [], []
    for video, path in zip(labelled.video, labelled.path):
        groups = [find_group(g) for g in present_by_video[video] if g in cascade.heads_]
        followed = cascade.instances(Path(path), video, groups, actor.detections)
        fps = frame_rate(path)
        tracks = TrackCache(cascade.run_dir).read([video])
        top = {}
        for group_name in followed:
            outputs = head_probs[group_name]
            mine = [probs for row, probs in zip(outputs.row, outputs.probs) if samples.video[row] == video]
            top[group_name] = find_group(group_name).pairs[int(np.mean(mine, axis=0).argmax())] if mine else -1
        segments += [len(i["actions"]) for found_in_group in followed.values() for i in found_in_group]
        for number in truth.frame[truth.video == video].unique():
            for instance in (i for found_in_group in followed.values() for i in found_in_group):
                mine = tracks[tracks.track == instance["track"]]
                if not mine.frame.min() <= number <= mine.frame.max():
                    continue
                box = mine.iloc[int(np.abs(mine.frame.to_numpy() - number).argmin())][CORNERS].tolist()
                named = label_at(instance["actions"], (number - 1) / fps)
                row = (video, int(number), instance["track"], *box)
                found.append((*row, parse_pair(named) if named else -1))
                baseline.append((*row, top.get(instance["group"], -1)))
    columns = ["video", "frame", "track", *CORNERS, "pair"]
    scores = {name: instance_score(truth, pd.DataFrame(rows, columns=columns))
              for name, rows in (("cascade", found), ("every track its video's top pair", baseline))}
    table = pd.DataFrame.from_dict(scores, orient="index")
    runs = truth.sort_values("frame").groupby(["video", "id"]).pair.agg(lambda p: int((np.diff(p) != 0).sum()) + 1)
    return table.assign(segments=[float(np.mean(segments)) if segments else np.nan, 1.0],
                        labelled_segments=float(runs.mean()))


def most_frequent_pairs(dataset) -> dict[str, int]:
    """Each group's most frequent pair among the actor instances of the training split (ties: the lower
    pair id); empty when the data has no training split."""
    try:
        frames = dataset.labelled_frames("train")
    except CascadeError:  # no training split: no baseline
        return {}
    counts = pd.Series([int(p) for pairs in frames.instance_pairs for p in pairs], dtype=np.int64).value_counts()
    ranked = counts.rename_axis("pair").reset_index(name="count").sort_values(["count", "pair"], ascending=[False, True])
    ranked["group"] = [group_of_pair(p).name for p in ranked.pair]
    return {g: int(rows.pair.iat[0]) for g, rows in ranked.groupby("group", sort=False)}


def _samples(dataset, split: str, videos: pd.DataFrame, actor: ActorScores, head_frames: int) -> pd.DataFrame:
    """video, path, frames (the frames the heads look at), pairs (the true ones): one row per sample."""
    if not dataset.clip_level:
        frames = dataset.labelled_frames(split)
        frames = frames[frames.video.isin(videos.video)].reset_index(drop=True)
        return pd.DataFrame({"video": frames.video, "path": frames.path, "frames": [[f] for f in frames.frame],
                             "pairs": frames.pairs})
    clips = dataset.clips.set_index("video").loc[videos.video]
    last = actor.detections.groupby("video").frame.max()
    return pd.DataFrame({"video": videos.video, "path": clips.path.to_numpy(),
                         "frames": [evenly_spaced(head_frames, int(last[v])) for v in videos.video],
                         "pairs": clips.pairs.to_numpy()})


def _head_probabilities(cascade: Cascade, actor: ActorScores, samples: pd.DataFrame, present_by_video: dict,
                        progress: bool) -> dict[str, pd.DataFrame]:
    """Per head: its probabilities (averaged over each sample's frames) and the group's true pairs, on
    every sample where the group is predicted present or truly appears (the latter for the heads table);
    columns ``row`` (of ``samples``), ``probs``, ``truth``."""
    out: dict[str, list[tuple[int, np.ndarray, set]]] = {g: [] for g in cascade.heads_}
    heads = [g for g in GROUPS if g.name in cascade.heads_]
    for video, rows in tqdm(samples.groupby("video", sort=False), desc="heads", unit="video", disable=not progress):
        truths = {g.name: [set(p) & set(g.pairs) for p in rows.pairs] for g in heads}
        wanted = [g for g in heads if g.name in present_by_video[video] or any(truths[g.name])]
        keys = sorted({n for f in rows.frames for n in f})
        probs = cascade.head_stage(Path(rows.path.iloc[0]), video, wanted, keys, actor.detections)
        for group in wanted:
            for index, sample_frames, truth in zip(rows.index, rows.frames, truths[group.name]):
                if truth or group.name in present_by_video[video]:
                    out[group.name].append((index, np.mean([probs[group.name][n] for n in sample_frames], 0), truth))
    return {g: pd.DataFrame(records, columns=["row", "probs", "truth"]) for g, records in out.items()}


def _head_table(head_probs: dict[str, pd.DataFrame], unit: str) -> pd.DataFrame:
    """Stage 3 alone: each head's most probable pair on the samples where its group truly appears."""
    rows = {}
    for group_name, outputs in head_probs.items():
        seen = outputs[[bool(t) for t in outputs.truth]] if len(outputs) else outputs
        if seen.empty:
            continue
        group_pairs = find_group(group_name).pairs
        top = [group_pairs[int(p.argmax())] for p in seen.probs]
        pred = indicator([[p] for p in top], group_pairs)
        true = indicator([sorted(t) for t in seen.truth], group_pairs)
        rows[group_name] = {**_prf_row(pred, true, unit),
                            "accuracy": float(np.mean([p in t for p, t in zip(top, seen.truth)]))}
    return pd.DataFrame.from_dict(rows, orient="index")
