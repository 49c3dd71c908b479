"""The thresholds file, ``RUN/thresholds.json``: the cascade's tuned parameters and their record.

It holds one threshold per group plus everything ``predict`` and ``evaluate`` must apply to decide
presence exactly as it was tuned (the detection confidence the scores are counted at, the rules
between confused groups), and what explains and reproduces them: the method, its bounds and
fitness, the P/R/F1 reached, the data, split and videos tuned on, the cross-validated figures when
asked for, and the command line. Without a file the built-in defaults (the seed's published PSO
result, no rules) apply.

Example::

    save_thresholds("runs/thresholds.json", Thresholds(values={...}, conf=0.5))
    thresholds = load_thresholds("runs")      # the file, or the built-in defaults
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from cascade import defaults
from cascade.defaults import THRESHOLD_SOURCES
from cascade.errors import CascadeError
from cascade.fileio import write_json_atomic
from cascade.labels import GROUP_NAMES
from cascade.scores import check_rule, presence

FILE_NAME = "thresholds.json"


@dataclass
class Thresholds:
    """Per-group presence thresholds and where they came from."""

    values: dict[str, float]
    conf: float = defaults.DETECT_CONF
    rules: list[str] = field(default_factory=list)
    method: str = "built-in defaults (the seed's PSO result)"
    bounds: list[float] | None = None
    fitness: str | None = None
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    data: str | None = None
    split: str | None = None
    videos: list[str] | None = None
    cv: dict | None = None
    command: str | None = None

    def array(self) -> np.ndarray:
        """Thresholds in ``GROUP_NAMES`` order."""
        return np.array([self.values[g] for g in GROUP_NAMES], dtype=float)

    def present(self, scores: np.ndarray) -> np.ndarray:
        """Presence of each group in each video of a (videos, groups) score table: thresholds, then rules."""
        return presence(scores, self.array(), tuple(self.rules))

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

    def not_ours(why: str) -> CascadeError:
        """tune-thresholds replaces the file without reading it and builtin ignores it: both work whatever
        the file holds (deleting it would not: ``file`` then finds no thresholds)."""
        return CascadeError(f"{path}: not a cascade thresholds file ({why}); run `cascade tune-thresholds` to "
                            "replace it, or pass --thresholds builtin")

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        values = {g: float(data["values"][g]) for g in GROUP_NAMES}
        fields = {k: data.get(k) for k in Thresholds.__dataclass_fields__ if k != "values"}
        fields = {k: v for k, v in fields.items() if v is not None}
        fields["conf"] = float(fields.get("conf", defaults.DETECT_CONF))
        if not isinstance(fields.get("rules", []), list):  # a string would be read as rules of one letter
            raise TypeError("rules")
        fields["rules"] = [str(r) for r in fields.get("rules", [])]
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise not_ours("not JSON text") from None
    except (KeyError, TypeError, ValueError):
        raise not_ours(f"it needs a number under 'values' for each of {', '.join(GROUP_NAMES)}; a number 'conf'; "
                       "a list 'rules'") from None
    try:
        for rule in fields["rules"]:
            check_rule(rule)
    except CascadeError as exc:
        raise CascadeError(f"{path}: {exc}") from None
    return Thresholds(values=values, **fields)
