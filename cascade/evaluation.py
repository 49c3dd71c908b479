"""``evaluate`` as a library call: the cascade scored as the A2D challenge scores it.

A *sample* is what the labels describe: an annotated frame (A2D, a per-frame CSV) or a whole clip
(a clip-level CSV). For a frame the heads look at that frame; for a clip, at ``head_frames``
evenly spaced frames, their probabilities averaged, exactly as ``predict`` does. A temporal head
looks at the window its checkpoint records around each of those frames.

* **overall**: per sample, the predicted pair set (each present group's head) against the true
  pairs: challenge P/R/F1 over samples;
* **actors** (stage 1-2 alone): per video, predicted groups against the groups its labels name,
  challenge P/R/F1 plus a per-group table (undefined where a group has no video);
* **heads** (stage 3 alone, like the seed's Table 7): per head, on the samples where its group
  truly appears, its predicted pair against the group's true pairs;
* **pairs**: per-pair precision/recall/F1 of the whole cascade;
* **samples**: each sample's true and predicted pairs.

All tables are printed and written as CSV to ``RUN/evaluate/``.

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
from cascade.data.frames import evenly_spaced, read_frames
from cascade.detect.report import none_read
from cascade.fileio import write_text_atomic
from cascade.labels import GROUP_NAMES, GROUPS, VALID_PAIRS, group as find_group, group_of_pair, pair_name
from cascade.metrics import class_table, indicator, sample_prf
from cascade.pipeline import Cascade, CascadeSettings, best_boxes
from cascade.prediction import ActorScores

REPORT_DIR = "evaluate"


@dataclass
class EvaluationReport:
    tables: dict[str, pd.DataFrame]
    files: dict[str, str]
    skipped: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        parts = []
        for name in ("overall", "actors", "heads"):
            parts += [f"== {name} ==", self.tables[name].to_string(float_format="{:.3f}".format, na_rep="-")]
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
    head_pairs = _head_predictions(cascade, actor, samples, present_by_video, progress)
    predicted = [set() for _ in range(len(samples))]
    for rows, pairs, _ in head_pairs.values():
        for row, pair in zip(rows, pairs):
            if group_of_pair(pair).name in present_by_video[samples.video[row]]:
                predicted[row].add(pair)
    true_pairs = indicator(samples.pairs.tolist(), VALID_PAIRS)
    pred_pairs = indicator([sorted(p) for p in predicted], VALID_PAIRS)
    unit = "videos" if dataset.clip_level else "frames"
    truth_groups = indicator(videos.groups.tolist(), GROUP_NAMES)

    tables = {
        "overall": pd.DataFrame([_prf_row(pred_pairs, true_pairs, unit)], index=["cascade"]),
        "actors": pd.concat([
            pd.DataFrame([_prf_row(present, truth_groups, "videos")], index=["per-video"]),
            class_table(present, truth_groups, GROUP_NAMES).rename(columns={"support": "videos"}),
        ]),
        "heads": _head_table(head_pairs, unit),
        "pairs": class_table(pred_pairs, true_pairs, [pair_name(p) for p in VALID_PAIRS]),
        "samples": pd.DataFrame({"video": samples.video, "frames": [" ".join(map(str, f)) for f in samples.frames],
                                 "true": [" ".join(map(pair_name, p)) for p in samples.pairs],
                                 "predicted": [" ".join(map(pair_name, sorted(p))) for p in predicted]}),
    }
    folder = Path(run_dir) / REPORT_DIR
    files = {}
    for name, table in tables.items():
        files[name] = str(folder / f"{name}.csv")
        write_text_atomic(files[name], table.to_csv(index=name != "samples"))
    return EvaluationReport(tables, files, actor.failed)


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


def _head_predictions(cascade: Cascade, actor: ActorScores, samples: pd.DataFrame, present_by_video: dict,
                      progress: bool) -> dict[str, tuple[list[int], list[int], list[set]]]:
    """Per head: (sample rows, predicted pair, true pairs of the group) on every sample where the group
    is predicted present or truly appears (the latter for the heads table)."""
    out: dict[str, tuple[list[int], list[int], list[set]]] = {g: ([], [], []) for g in cascade.heads_}
    heads = [g for g in GROUPS if g.name in cascade.heads_]
    for video, rows in tqdm(samples.groupby("video", sort=False), desc="heads", unit="video", disable=not progress):
        keys = sorted({n for f in rows.frames for n in f})
        decoded = read_frames(rows.path.iloc[0], keys, past_end=cascade.frames_needed(keys, heads))
        for group in heads:
            true_sets = [set(p) & set(group.pairs) for p in rows.pairs]
            wanted = [bool(t) or group.name in present_by_video[video] for t in true_sets]
            if not any(wanted):
                continue
            chosen = rows[wanted]
            numbers = sorted({n for f in chosen.frames for n in f})  # one pass of the head per video
            boxes = best_boxes(actor.detections, video, group, list(decoded))
            probs = dict(zip(numbers, cascade.head_probabilities(group, decoded, numbers, boxes)))
            rows_out, pairs_out, truth_out = out[group.name]
            for index, sample_frames, truth in zip(chosen.index, chosen.frames, (t for t, w in zip(true_sets, wanted) if w)):
                mean = np.mean([probs[n] for n in sample_frames], axis=0)
                rows_out.append(index)
                pairs_out.append(group.pairs[int(mean.argmax())])
                truth_out.append(truth)
    return out


def _head_table(head_pairs: dict, unit: str) -> pd.DataFrame:
    rows = {}
    for group_name, (_, pairs, truths) in head_pairs.items():
        pairs_with_truth = [(p, t) for p, t in zip(pairs, truths) if t]
        if not pairs_with_truth:
            continue
        group_pairs = find_group(group_name).pairs
        pred = indicator([[p] for p, _ in pairs_with_truth], group_pairs)
        true = indicator([sorted(t) for _, t in pairs_with_truth], group_pairs)
        rows[group_name] = {**_prf_row(pred, true, unit),
                            "accuracy": float(np.mean([p in t for p, t in pairs_with_truth]))}
    return pd.DataFrame.from_dict(rows, orient="index")
