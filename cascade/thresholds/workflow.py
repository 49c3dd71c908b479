"""``tune-thresholds`` as a library call: detect what is missing, score, tune, compare, save, report.

The truth for a video is the set of groups its labels name. Every method of
:mod:`cascade.thresholds.methods` is scored on the chosen split; the one asked for (``builtin``,
the seed's published thresholds, by default) is saved to ``RUN/thresholds.json`` with its rules,
bounds and detection confidence, so ``predict`` and ``evaluate`` apply exactly what was chosen.
With ``cv=K``, every method is also cross-validated over K folds of the split's videos first, each
video's group (its source) whole in one fold (:mod:`cascade.thresholds.crossval`); the saved
thresholds are still tuned on all of them. Tables and figures: :mod:`cascade.thresholds.report`.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from cascade import defaults
from cascade.data import open_dataset
from cascade.detect.cache import load_detections
from cascade.detect.options import DetectOptions
from cascade.detect.report import none_read
from cascade.detect.runner import detect_dataset
from cascade.errors import CascadeError
from cascade.labels import GROUP_NAMES
from cascade.metrics import indicator
from cascade.scores import group_scores
from cascade.thresholds.crossval import CrossValidation, cross_validate
from cascade.thresholds.files import FILE_NAME, Thresholds, save_thresholds
from cascade.thresholds.methods import method as find_method, tune_method
from cascade.thresholds.report import cv_summary, methods_table, write_report

REPORT_DIR = "thresholds"


@dataclass
class TuningReport:
    """The methods compared, the cross-validation (when asked), the thresholds saved, the files written."""

    table: pd.DataFrame
    thresholds: Thresholds
    files: dict[str, str]
    skipped: dict[str, str] = field(default_factory=dict)
    cv: CrossValidation | None = None

    def summary(self) -> str:
        shown = self.table.copy()
        for col in ("precision", "recall", "f1"):
            shown[col] = (100 * shown[col]).map("{:.1f}".format)
        lines = [f"on the {len(self.thresholds.videos or [])} tuning videos:", shown.to_string(index=False)]
        if self.cv is not None:
            lines.append(cv_summary(self.cv))
        lines += [f"saved {self.files['thresholds']} ({self.thresholds.method})",
                  f"report: {', '.join(v for k, v in self.files.items() if k != 'thresholds')}"]
        if self.skipped:
            lines.append(f"{len(self.skipped)} video(s) skipped, not decodable: " + "; ".join(self.skipped.values()))
        return "\n".join(lines)

    def to_json(self) -> dict:
        cv = None if self.cv is None else self.cv.table.reset_index().to_dict("records")
        return {"table": self.table.to_dict("records"), "cv": cv, "thresholds": self.thresholds.to_json(),
                "files": self.files, "skipped": self.skipped}


def labelled_scores(dataset, split: str, run_dir: Path, conf: float,
                    failed: Mapping[str, str] | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Scores of the split's videos that are in the cache, and their true group indicators. When
    every video ``failed`` to decode (video -> why), the error says so (there is no cache to blame)."""
    videos = dataset.labelled_videos(split)
    if failed and videos.video.isin(failed).all():
        raise none_read(dataset.source, split, failed)
    scores = group_scores(load_detections(run_dir, videos.video), conf)
    videos = videos[videos.video.isin(scores.index)]
    if videos.empty:
        raise CascadeError(f"{dataset.source}: none of the {split} videos could be detected")
    return scores.loc[videos.video], indicator(videos.groups.tolist(), GROUP_NAMES)


def tune_thresholds(
    data,
    run_dir: str | Path = defaults.RUN_DIR,
    *,
    split: str = "train",
    method: str = defaults.THRESHOLD_METHOD,
    fitness: str = defaults.FITNESS,
    bounds: tuple[float, float] | None = None,
    rules: tuple[str, ...] | None = None,
    cv: int | None = None,
    particles: int = defaults.PSO_PARTICLES,
    iters: int = defaults.PSO_ITERS,
    restarts: int = defaults.PSO_RESTARTS,
    seed: int = defaults.SEED,
    conf: float = defaults.DETECT_CONF,
    options: DetectOptions = DetectOptions(),
    progress: bool = True,
) -> TuningReport:
    """Tune the per-group thresholds on the labelled videos of ``split`` and save them.

    Detects what the cache lacks (``options`` as for ``cascade detect``), scores each video at
    detection confidence ``conf``, scores every method on those videos, cross-validates them over
    ``cv`` folds when asked, and saves the thresholds of ``method`` (``bounds`` and ``rules``
    default to the method's own) to ``RUN/thresholds.json``, with the report in ``RUN/thresholds/``.
    """
    find_method(method)
    run_dir = Path(run_dir)
    dataset = open_dataset(data, seed, run_dir)
    detected = detect_dataset(dataset, run_dir, split, options, seed=seed, progress=progress)
    scores, truth = labelled_scores(dataset, split, run_dir, conf, detected.failed)
    values = scores.to_numpy()
    videos = dataset.labelled_videos(split).set_index("video").loc[scores.index].reset_index()
    tuning = {"fitness": fitness, "particles": particles, "iters": iters, "restarts": restarts}
    mine = {"bounds": bounds, "rules": rules}
    results = [tune_method(name, values, truth, seed=seed, groups=videos.group.tolist(), **tuning,
                           **(mine if name == method else {})) for name in defaults.METHOD_CHOICES]
    chosen = next(r for r in results if r.method == method)
    crossed = None
    if cv is not None:
        crossed = cross_validate(scores, truth, videos, cv, seed, defaults.METHOD_CHOICES, **tuning)
    thresholds = Thresholds(
        values=dict(zip(GROUP_NAMES, map(float, chosen.thresholds))), conf=conf, method=method, fitness=fitness,
        rules=list(chosen.rules), bounds=list(bounds or find_method(method).bounds or []) or None,
        precision=chosen.precision, recall=chosen.recall, f1=chosen.f1, data=str(data), split=split,
        videos=sorted(scores.index), cv=None if crossed is None else _cv_record(crossed, method),
        command=shlex.join(["cascade", *sys.argv[1:]]) if Path(sys.argv[0]).name == "cascade" else None,
    )
    files = {"thresholds": str(save_thresholds(run_dir / FILE_NAME, thresholds))}
    files.update(write_report(run_dir / REPORT_DIR, results, values, truth, crossed))
    return TuningReport(methods_table(results), thresholds, files, detected.failed, crossed)


def _cv_record(crossed: CrossValidation, method: str) -> dict:
    """What thresholds.json keeps of the cross-validation: the saved method's and the seed's figures."""
    row = lambda name: {k: round(float(v), 4) for k, v in crossed.table.loc[name].items()}
    return {"folds": len(crossed.folds), "method": row(method), "pso": row("pso"), "builtin": row("builtin")}
