"""The tuning report's tables and figures, each written atomically into ``RUN/thresholds/``.

* ``table.csv``: every method on the tuning videos (thresholds, rules, P, R, F1, fitness);
* ``sweep.png``: P/R/F1 against one constant threshold from 0 to 1 (the seed's Fig. 2);
* ``pso_cost.png``: PSO's best cost per iteration, each restart;
* with cross-validation, ``cv.csv`` (per method: mean and sd over folds of P, R, F1, and the
  pooled per-group F1, like the seed's Table 1), ``cv_folds.csv`` (each fold) and ``cv.png``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cascade.fileio import atomic_path, write_text_atomic
from cascade.labels import GROUP_NAMES
from cascade.thresholds.crossval import CrossValidation
from cascade.thresholds.tune import TuneResult, constant_sweep


def methods_table(results: list[TuneResult]) -> pd.DataFrame:
    rows = [{"method": r.method, **dict(zip(GROUP_NAMES, np.round(r.thresholds, 3))), "rules": " ".join(r.rules),
             "precision": r.precision, "recall": r.recall, "f1": r.f1, f"fitness_{r.fitness}": r.value}
            for r in results]
    return pd.DataFrame(rows)


def write_report(folder: Path, results: list[TuneResult], scores: np.ndarray, truth: np.ndarray,
                 cv: CrossValidation | None = None) -> dict[str, str]:
    """Tables and figures of a tuning run; returns name -> path."""
    plt = _pyplot()
    files = {"table": folder / "table.csv", "sweep": folder / "sweep.png", "pso_cost": folder / "pso_cost.png"}
    write_text_atomic(files["table"], methods_table(results).to_csv(index=False))

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
    if cv is not None:
        files.update(write_cv(folder, cv))
    return {k: str(v) for k, v in files.items()}


def write_cv(folder: Path, cv: CrossValidation) -> dict[str, Path]:
    files = {"cv": folder / "cv.csv", "cv_folds": folder / "cv_folds.csv", "cv_plot": folder / "cv.png"}
    write_text_atomic(files["cv"], cv.table.to_csv())
    write_text_atomic(files["cv_folds"], cv.per_fold.to_csv(index=False))
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.26
    x = np.arange(len(cv.table))
    for i, metric in enumerate(("precision", "recall", "f1")):
        ax.bar(x + (i - 1) * width, 100 * cv.table[f"{metric}_mean"], width, yerr=100 * cv.table[f"{metric}_std"],
               capsize=3, label="F1" if metric == "f1" else metric)
    ax.set_xticks(x, cv.table.index)
    ax.set(ylabel="held-out score (%)", ylim=(0, 105),
           title=f"Actor stage, {len(cv.folds)}-fold cross-validation over {sum(map(len, cv.folds))} videos")
    ax.legend(loc="lower right")
    _save(fig, files["cv_plot"])
    return files


def cv_summary(cv: CrossValidation) -> str:
    """The cross-validation table as text: P/R/F1 mean +- sd over folds, then pooled F1 per group."""
    rows = []
    for name, row in cv.table.iterrows():
        prf = "  ".join(f"{100 * row[f'{m}_mean']:5.1f} +- {100 * row[f'{m}_std']:4.1f}" for m in ("precision", "recall", "f1"))
        groups = " ".join(f"{100 * row[f'f1_{g}']:5.1f}" if np.isfinite(row[f"f1_{g}"]) else "    -" for g in GROUP_NAMES)
        rows.append(f"{name:9s} {prf}   {groups}")
    head = (f"{'method':9s} {'P':>13s}  {'R':>13s}  {'F1':>13s}   " + " ".join(f"{g[:5]:>5s}" for g in GROUP_NAMES))
    return "\n".join([f"{len(cv.folds)}-fold cross-validation, held-out P/R/F1 (mean +- sd over folds) and F1 per group:",
                      head, *rows])


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
