"""``tune-thresholds`` as a library call: detect what is missing, score, tune, compare, save, report.

The truth for a video is the set of groups in its annotated frames. PSO is tuned on the chosen
split and written to ``RUN/thresholds.json``; the constant and grid baselines are scored on the
same videos. The report in ``RUN/thresholds/`` holds ``table.csv`` (method, thresholds, P, R, F1,
fitness), ``sweep.png`` (P/R/F1 against one constant threshold from 0 to 1) and ``pso_cost.png``
(best cost per iteration, each restart).
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cascade import defaults
from cascade.data import open_dataset
from cascade.detect.cache import load_detections
from cascade.detect.runner import detect_dataset
from cascade.errors import CascadeError
from cascade.fileio import atomic_path, write_text_atomic
from cascade.labels import GROUP_NAMES
from cascade.metrics import indicator
from cascade.scores import group_scores
from cascade.thresholds.files import FILE_NAME, Thresholds, save_thresholds
from cascade.thresholds.tune import TuneResult, constant_baseline, constant_sweep, grid_search, tune_pso

REPORT_DIR = "thresholds"


@dataclass
class TuningReport:
    """The methods compared, the thresholds saved, and the files written."""

    table: pd.DataFrame
    thresholds: Thresholds
    files: dict[str, str]
    skipped: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        shown = self.table.copy()
        for col in ("precision", "recall", "f1"):
            shown[col] = (100 * shown[col]).map("{:.1f}".format)
        lines = [shown.to_string(index=False), f"saved {self.files['thresholds']} (PSO)",
                 f"report: {', '.join(v for k, v in self.files.items() if k != 'thresholds')}"]
        if self.skipped:
            lines.append(f"{len(self.skipped)} video(s) skipped, not decodable: " + "; ".join(self.skipped.values()))
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {"table": self.table.to_dict("records"), "thresholds": self.thresholds.to_json(),
                "files": self.files, "skipped": self.skipped}


def labelled_scores(dataset, split: str, run_dir: Path, conf: float) -> tuple[pd.DataFrame, np.ndarray]:
    """Scores of the split's videos that are in the cache, and their true group indicators."""
    videos = dataset.labelled_videos(split)
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
    fitness: str = defaults.FITNESS,
    particles: int = defaults.PSO_PARTICLES,
    iters: int = defaults.PSO_ITERS,
    restarts: int = defaults.PSO_RESTARTS,
    bounds: tuple[float, float] = defaults.PSO_BOUNDS,
    seed: int = defaults.SEED,
    conf: float = defaults.DETECT_CONF,
    progress: bool = True,
    **detect_options,
) -> TuningReport:
    """Tune the per-group thresholds on the labelled videos of ``split`` and save them.

    Detects what the cache lacks (``detect_options`` as for ``cascade detect``), scores each video at
    detection confidence ``conf``, runs seeded PSO (best of ``restarts``) for ``fitness``, scores the
    constant and grid baselines on the same videos, writes ``RUN/thresholds.json`` (PSO) and the
    report in ``RUN/thresholds/``.
    """
    run_dir = Path(run_dir)
    dataset = open_dataset(data)
    detected = detect_dataset(dataset, run_dir, split, conf, progress=progress, **detect_options)
    scores, truth = labelled_scores(dataset, split, run_dir, conf)
    values = scores.to_numpy()
    pso = tune_pso(values, truth, fitness, particles, iters, restarts, tuple(bounds), seed)
    results = [pso, constant_baseline(values, truth, fitness=fitness), grid_search(values, truth, fitness, tuple(bounds))]
    thresholds = Thresholds(
        values=dict(zip(GROUP_NAMES, map(float, pso.thresholds))), conf=conf, method="pso", fitness=fitness,
        precision=pso.precision, recall=pso.recall, f1=pso.f1, data=str(data), split=split,
        command=shlex.join(["cascade", *sys.argv[1:]]) if Path(sys.argv[0]).name == "cascade" else None,
    )
    files = {"thresholds": str(save_thresholds(run_dir / FILE_NAME, thresholds))}
    files.update(write_report(run_dir / REPORT_DIR, results, values, truth))
    return TuningReport(_table(results), thresholds, files, detected.failed)


def _table(results: list[TuneResult]) -> pd.DataFrame:
    rows = [{"method": r.method, **dict(zip(GROUP_NAMES, np.round(r.thresholds, 3))), "precision": r.precision,
             "recall": r.recall, "f1": r.f1, f"fitness_{r.fitness}": r.value} for r in results]
    return pd.DataFrame(rows)


def write_report(folder: Path, results: list[TuneResult], scores: np.ndarray, truth: np.ndarray) -> dict[str, str]:
    """Table and figures of a tuning run, each written atomically."""
    plt = _pyplot()
    files = {"table": folder / "table.csv", "sweep": folder / "sweep.png", "pso_cost": folder / "pso_cost.png"}
    write_text_atomic(files["table"], _table(results).to_csv(index=False))

    values, precision, recall, f1 = constant_sweep(scores, truth)
    fig, ax = plt.subplots(figsize=(6, 4))
    for series, name in ((precision, "precision"), (recall, "recall"), (f1, "F1")):
        ax.plot(values, series, label=name)
    ax.set(xlabel="constant threshold on every group", ylabel="score", title="Actor P/R/F1 vs threshold", ylim=(0, 1.02))
    ax.legend()
    _save(fig, files["sweep"])

    fig, ax = plt.subplots(figsize=(6, 4))
    pso = next(r for r in results if r.method == "pso")
    for restart, history in enumerate(pso.history):
        ax.plot(range(1, len(history) + 1), history, marker="o", label=f"restart {restart}")
    ax.set(xlabel="iteration", ylabel=f"best cost (-{pso.fitness})", title="PSO cost per iteration")
    ax.legend()
    _save(fig, files["pso_cost"])
    return {k: str(v) for k, v in files.items()}


def _pyplot():
    """pyplot on the file-only Agg backend: reports are written on machines with no display."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    _pyplot().close(fig)
