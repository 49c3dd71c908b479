"""``evaluate`` as a library call: the cascade scored as the A2D challenge scores it.

* **overall**: for every annotated frame of the split, the predicted pair set (each present
  group's head on that frame) against the frame's true pairs: challenge P/R/F1 over frames;
* **actors** (stage 1-2 alone): per video, predicted groups against the groups in its annotated
  frames, challenge P/R/F1 plus a per-group table;
* **heads** (stage 3 alone, like the seed's Table 7): per head, on the frames where its group
  truly appears, its predicted pair against the group's true pairs;
* **pairs**: per-pair precision/recall/F1 of the whole cascade.

All tables are printed and written as CSV to ``RUN/evaluate/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from cascade import defaults
from cascade.data import open_dataset
from cascade.data.frames import read_frames
from cascade.fileio import write_text_atomic
from cascade.labels import GROUP_NAMES, GROUPS, VALID_PAIRS, group as find_group, pair_name
from cascade.metrics import class_table, indicator, sample_prf
from cascade.pipeline import ActorScores, Cascade, best_boxes
from cascade.scores import presence

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
        plain = {k: v.reset_index().astype(object).where(v.reset_index().notna(), None) for k, v in self.tables.items()}
        return {"tables": {k: v.to_dict("records") for k, v in plain.items()},
                "files": self.files, "skipped": self.skipped}


def _prf_row(pred: np.ndarray, true: np.ndarray, count_name: str) -> dict:
    p, r, f1 = (float(v) for v in sample_prf(pred, true))
    return {"precision": p, "recall": r, "f1": f1, count_name: len(true)}


def evaluate(data, run_dir: str | Path = defaults.RUN_DIR, split: str = "test", thresholds: str = "file",
             progress: bool = True, **detect_options) -> EvaluationReport:
    """Score the run's cascade on the labelled videos of ``split`` as the challenge does (see the
    module docstring), detecting what the cache lacks; tables are returned and written as CSV.

    ``thresholds``: the run's file (``file``, the default: evaluating built-in thresholds by accident
    would flatter nobody), ``auto`` or ``builtin``. ``detect_options`` as for ``cascade detect``.
    """
    cascade = Cascade.from_run_dir(run_dir, thresholds=thresholds, **detect_options)
    dataset = open_dataset(data)
    videos = dataset.labelled_videos(split)
    actor = cascade.scores(dataset.video_paths(split), progress)
    videos = videos[videos.video.isin(actor.scores.index)].reset_index(drop=True)
    frames = dataset.labelled_frames(split)
    frames = frames[frames.video.isin(videos.video)].reset_index(drop=True)

    present = presence(actor.scores.loc[videos.video].to_numpy(), cascade.thresholds_.array())
    truth_groups = indicator(videos.groups.tolist(), GROUP_NAMES)
    head_pairs = _head_predictions(cascade, actor, frames, present, videos, progress)

    predicted = [set() for _ in range(len(frames))]
    for group_name, (rows, pairs, _) in head_pairs.items():
        group_present = _present_rows(frames, videos, present, group_name)
        for row, pair in zip(rows, pairs):
            if group_present[row]:
                predicted[row].add(pair)
    true_pairs = indicator(frames.pairs.tolist(), VALID_PAIRS)
    pred_pairs = indicator([sorted(p) for p in predicted], VALID_PAIRS)

    tables = {
        "overall": pd.DataFrame([_prf_row(pred_pairs, true_pairs, "frames")], index=["cascade"]),
        "actors": pd.concat([
            pd.DataFrame([_prf_row(present, truth_groups, "videos")], index=["per-video"]),
            class_table(present, truth_groups, GROUP_NAMES).rename(columns={"support": "videos"}),
        ]),
        "heads": _head_table(head_pairs),
        "pairs": class_table(pred_pairs, true_pairs, [pair_name(p) for p in VALID_PAIRS]),
        "frames": pd.DataFrame({"video": frames.video, "frame": frames.frame,
                                "true": [" ".join(map(pair_name, p)) for p in frames.pairs],
                                "predicted": [" ".join(map(pair_name, sorted(p))) for p in predicted]}),
    }
    folder = Path(run_dir) / REPORT_DIR
    files = {}
    for name, table in tables.items():
        files[name] = str(folder / f"{name}.csv")
        write_text_atomic(files[name], table.to_csv(index=name != "frames"))
    return EvaluationReport(tables, files, actor.failed)


def _present_rows(frames: pd.DataFrame, videos: pd.DataFrame, present: np.ndarray, group_name: str) -> np.ndarray:
    column = GROUP_NAMES.index(group_name)
    by_video = dict(zip(videos.video, present[:, column]))
    return frames.video.map(by_video).to_numpy(dtype=bool)


def _head_predictions(cascade: Cascade, actor: ActorScores, frames: pd.DataFrame, present: np.ndarray,
                      videos: pd.DataFrame, progress: bool) -> dict[str, tuple[list[int], list[int], list[set]]]:
    """Per head: (frame rows, predicted pair, true pairs of the group) on every frame where the
    group is predicted present or truly appears (the latter for the heads table)."""
    out: dict[str, tuple[list[int], list[int], list[set]]] = {g: ([], [], []) for g in cascade.heads_}
    present_by_video = {v: set(np.array(GROUP_NAMES)[row]) for v, row in zip(videos.video, present)}
    for video, rows in tqdm(frames.groupby("video", sort=False), desc="heads", unit="video", disable=not progress):
        decoded = read_frames(rows.path.iloc[0], rows.frame)
        for group in GROUPS:
            if group.name not in cascade.heads_:
                continue
            true_sets = [set(p) & set(group.pairs) for p in rows.pairs]
            wanted = [bool(t) or group.name in present_by_video[video] for t in true_sets]
            if not any(wanted):
                continue
            chosen = rows[wanted]
            boxes = best_boxes(actor.detections, video, group, chosen.frame.tolist())
            probs = cascade.head_probabilities(group, {n: decoded[n] for n in chosen.frame}, boxes)
            rows_out, pairs_out, truth_out = out[group.name]
            rows_out += chosen.index.tolist()
            pairs_out += [group.pairs[i] for i in probs.argmax(1)]
            truth_out += [t for t, w in zip(true_sets, wanted) if w]
    return out


def _head_table(head_pairs: dict) -> pd.DataFrame:
    rows = {}
    for group_name, (_, pairs, truths) in head_pairs.items():
        pairs_with_truth = [(p, t) for p, t in zip(pairs, truths) if t]
        if not pairs_with_truth:
            continue
        group_pairs = find_group(group_name).pairs
        pred = indicator([[p] for p, _ in pairs_with_truth], group_pairs)
        true = indicator([sorted(t) for _, t in pairs_with_truth], group_pairs)
        rows[group_name] = {**_prf_row(pred, true, "frames"),
                            "accuracy": float(np.mean([p in t for p, t in pairs_with_truth]))}
    return pd.DataFrame.from_dict(rows, orient="index")
