"""The whole cascade for one video: detect -> score -> threshold -> heads -> actor-action labels.

:class:`Cascade` is built from a run directory, which holds everything a trained cascade is:
``detections.parquet`` (reused, never detected twice), ``thresholds.json`` (else the built-in
defaults) and ``heads/<group>.pt``. As in scikit-learn, what was learned carries a trailing
underscore: ``thresholds_`` and ``heads_``.

For a present group, its head looks at a few frames (evenly spaced unless given) and its softmax
probabilities are averaged; a head trained with ``crop`` looks at the group's most confident
detected box in each frame instead of the whole frame. A present group without a head is reported
as the actor alone, with the command that trains its head.

Example::

    cascade = Cascade.from_run_dir("runs")
    result = cascade.predict("video.mp4")
    print(result.summary())          # adult-walking 0.91, dog-running 0.77
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
import torch

from cascade import defaults
from cascade.data.frames import evenly_spaced, read_frames
from cascade.detect.cache import empty_detections, load_detections
from cascade.detect.options import DetectOptions
from cascade.detect.runner import detect_videos
from cascade.errors import CascadeError
from cascade.labels import GROUPS, Group, pair_name
from cascade.models.device import select_device
from cascade.models.heads import HEADS_DIR, head_path, load_head, predict_batches
from cascade.models.inputs import head_input
from cascade.scores import group_scores, presence
from cascade.thresholds.files import Thresholds, load_thresholds


@dataclass
class Prediction:
    """What the cascade says about one video."""

    video: str
    scores: dict[str, float]
    thresholds: dict[str, float]
    labels: list[dict] = field(default_factory=list)  # {"label", "pair", "confidence", "actor_score"}
    untrained: dict[str, str] = field(default_factory=dict)  # present group -> command that trains its head
    frames: list[int] = field(default_factory=list)

    def summary(self) -> str:
        found = [f"{l['label']} {l['confidence']:.2f}" for l in self.labels]
        found += [f"{g} (no head: {cmd})" for g, cmd in self.untrained.items()]
        text = ", ".join(found) if found else "no actor found"
        return f"{self.video}: {text}"

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass
class ActorScores:
    """The actor stage's view of some videos: their group scores, the detections those were counted
    from (crop heads take their boxes from them), and the videos that could not be decoded."""

    scores: pd.DataFrame  # video x group
    detections: pd.DataFrame
    failed: dict[str, str] = field(default_factory=dict)


def best_boxes(detections: pd.DataFrame, video: str, group: Group, numbers: list[int]) -> dict[int, np.ndarray]:
    """The group's most confident detected box in each of the given frames that has one."""
    rows = detections[(detections.video == video) & (detections.cls == group.coco_class) & detections.frame.isin(numbers)]
    best = rows.sort_values("conf", ascending=False, kind="stable").drop_duplicates("frame")
    return {int(r.frame): np.array([r.x1, r.y1, r.x2, r.y2]) for r in best.itertuples()}


class Cascade:
    """Detector + thresholds + heads, as a run directory holds them.

    Parameters are stored as given (``head_frames``: frames a head looks at per video when none are
    named; ``thresholds``: see :data:`~cascade.defaults.THRESHOLD_SOURCES`; the rest are
    detector options); :meth:`from_run_dir` loads what was learned.
    """

    def __init__(self, run_dir: str | Path = defaults.RUN_DIR, *, head_frames: int = defaults.HEAD_FRAMES,
                 thresholds: str = defaults.THRESHOLDS, **detect_options) -> None:
        self.run_dir = Path(run_dir)
        self.head_frames, self.thresholds = head_frames, thresholds
        self.detect_options = DetectOptions(**detect_options)
        self.thresholds_: Thresholds | None = None
        self.heads_: dict[str, tuple[torch.nn.Module, dict]] | None = None

    @classmethod
    def from_run_dir(cls, run_dir: str | Path = defaults.RUN_DIR, *, head_frames: int = defaults.HEAD_FRAMES,
                     thresholds: str = defaults.THRESHOLDS, **detect_options) -> "Cascade":
        """A cascade with the run's thresholds (as ``thresholds`` says) and every head found in it."""
        cascade = cls(run_dir, head_frames=head_frames, thresholds=thresholds, **detect_options)
        cascade.thresholds_ = load_thresholds(run_dir, cascade.thresholds)
        torch_device = select_device(cascade.detect_options.device)
        cascade.heads_ = {
            g.name: load_head(head_path(run_dir, g), g, torch_device) for g in GROUPS if head_path(run_dir, g).exists()
        }
        if not cascade.heads_:
            raise CascadeError(
                f"{Path(run_dir) / HEADS_DIR}: no action heads; train one with `cascade train-head --actor dog "
                f"--data ROOT --run-dir {run_dir}`"
            )
        return cascade

    def _check_fitted(self) -> None:
        if self.thresholds_ is None or self.heads_ is None:
            raise CascadeError("this Cascade has no thresholds or heads; build it with Cascade.from_run_dir(run_dir)")

    def scores(self, videos: Mapping[str, str | Path], progress: bool = False) -> ActorScores:
        """Group scores of the videos, detecting what the cache lacks."""
        self._check_fitted()
        report = detect_videos(videos, self.run_dir, progress=progress, **self.detect_options.to_kwargs())
        decoded = [v for v in videos if v not in report.failed]
        detections = load_detections(self.run_dir, decoded) if decoded else empty_detections()
        return ActorScores(group_scores(detections, self.thresholds_.conf), detections, report.failed)

    def present(self, scores: pd.Series) -> list[Group]:
        """Groups whose score reaches their threshold."""
        found = presence(scores[[g.name for g in GROUPS]].to_numpy(), self.thresholds_.array())
        return [g for g, is_present in zip(GROUPS, found) if is_present]

    def head_probabilities(self, group: Group, frames: Mapping[int, np.ndarray],
                           boxes: Mapping[int, np.ndarray] | None = None) -> np.ndarray:
        """The head's softmax over its pairs for each given frame, (frames, pairs). A crop head looks at
        the frame's box in ``boxes`` (whole frame where there is none); other heads ignore boxes."""
        model, meta = self.heads_[group.name]
        boxes = (boxes or {}) if meta["crop"] else {}
        images = torch.stack([head_input(f, boxes.get(n), meta["imgsz"], meta["crop_pad"]) for n, f in frames.items()])
        return predict_batches(model, images, next(model.parameters()).device).numpy()

    def predict(self, video_path: str | Path, frames: list[int] | None = None, progress: bool = False) -> Prediction:
        """Actor-action labels for one video, with confidences."""
        self._check_fitted()
        path = Path(video_path)
        if not path.is_file():
            raise CascadeError(f"{path}: video not found")
        video = str(path.resolve())
        actor = self.scores({video: path}, progress)
        if video in actor.failed:
            raise CascadeError(actor.failed[video])
        row = actor.scores.loc[video]
        present = self.present(row)
        total = int(actor.detections.frame.nunique())
        numbers = frames or evenly_spaced(self.head_frames, total)
        result = Prediction(str(path), {k: float(v) for k, v in row.items()}, dict(self.thresholds_.values),
                            frames=list(numbers))
        decoded = read_frames(path, numbers) if any(g.name in self.heads_ for g in present) else {}
        for group in present:
            if group.name not in self.heads_:
                result.untrained[group.name] = f"cascade train-head --actor {group.name} --run-dir {self.run_dir}"
                continue
            boxes = best_boxes(actor.detections, video, group, list(decoded))
            probs = self.head_probabilities(group, decoded, boxes).mean(0)
            best = int(probs.argmax())
            result.labels.append({"label": pair_name(group.pairs[best]), "pair": group.pairs[best],
                                  "confidence": float(probs[best]), "actor_score": float(row[group.name])})
        return result
