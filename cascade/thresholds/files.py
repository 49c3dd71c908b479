"""The thresholds file, ``RUN/thresholds.json``: the cascade's tuned parameters and their record.

It holds one threshold per group plus what is needed to explain and reproduce them: the method and
fitness, the P/R/F1 reached, the detection confidence the scores were counted at, the data and
split tuned on, and the command line. Without a file the built-in defaults (the seed's published
PSO result) apply.

Example::

    save_thresholds("runs/thresholds.json", Thresholds(values={...}, conf=0.5))
    thresholds = load_thresholds("runs")      # the file, or the built-in defaults
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from cascade import defaults
from cascade.defaults import THRESHOLD_SOURCES
from cascade.errors import CascadeError
from cascade.fileio import write_json_atomic
from cascade.labels import GROUP_NAMES

FILE_NAME = "thresholds.json"


@dataclass
class Thresholds:
    """Per-group presence thresholds and where they came from."""

    values: dict[str, float]
    conf: float = defaults.DETECT_CONF
    method: str = "built-in defaults (the seed's PSO result)"
    fitness: str | None = None
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    data: str | None = None
    split: str | None = None
    command: str | None = None

    def array(self) -> np.ndarray:
        """Thresholds in ``GROUP_NAMES`` order."""
        return np.array([self.values[g] for g in GROUP_NAMES], dtype=float)

    def to_json(self) -> dict:
        return asdict(self)


def builtin_thresholds() -> Thresholds:
    return Thresholds(values=dict(defaults.DEFAULT_THRESHOLDS))


def save_thresholds(path: str | Path, thresholds: Thresholds) -> Path:
    path = Path(path)
    write_json_atomic(path, thresholds.to_json())
    return path


def load_thresholds(run_dir: str | Path, source: str = defaults.THRESHOLDS) -> Thresholds:
    """The thresholds a cascade uses, from ``source`` (see :data:`THRESHOLD_SOURCES`); the file is checked."""
    if source not in THRESHOLD_SOURCES:
        raise CascadeError(f"unknown thresholds source {source!r}; valid: {', '.join(THRESHOLD_SOURCES)}")
    path = Path(run_dir) / FILE_NAME
    if source == "builtin" or (source == "auto" and not path.exists()):
        return builtin_thresholds()
    if not path.exists():
        raise CascadeError(f"{path}: no thresholds; run `cascade tune-thresholds` first, or pass --thresholds builtin")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        values = {g: float(data["values"][g]) for g in GROUP_NAMES}
        fields = {k: data.get(k) for k in Thresholds.__dataclass_fields__ if k != "values"}
        fields = {k: v for k, v in fields.items() if v is not None}
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CascadeError(f"{path}: not valid JSON; delete it or run `cascade tune-thresholds` again") from None
    except (KeyError, TypeError, ValueError):
        raise CascadeError(
            f"{path}: needs a number for each group ({', '.join(GROUP_NAMES)}) under 'values'; "
            "run `cascade tune-thresholds` again"
        ) from None
    return Thresholds(values=values, **fields)
