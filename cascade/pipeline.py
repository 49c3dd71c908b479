"""The whole cascade: videos -> detections cache -> actor scores -> thresholds -> heads -> labels.

:class:`Cascade` is built from a run directory, which holds everything a trained cascade is:
``detections.parquet`` (reused, never detected twice), ``thresholds.json`` (else the built-in
defaults) and ``heads/<group>.pt``. As in scikit-learn, what was learned carries a trailing
underscore: ``thresholds_`` and ``heads_``.

The actor stage needs no head: every present group is reported with its score and threshold. For
a present group with a head, the head looks at a few frames (evenly spaced unless given) and its
softmax probabilities are averaged; a head trained with ``crop`` looks at the group's most
confident detected box in each frame instead of the whole frame. A temporal head looks at what it
was trained on, the window of frames its checkpoint records around each of those frames (with
``crop``, each frame's box where the group was detected in it, else the chosen frame's). A present
group without a head is reported with the command that trains one. Many videos are detected in one
pass (batches span videos); a video that cannot be read gets its ``error`` and the others go on.

Example::

    cascade = Cascade.from_run_dir("runs")
    for result in cascade.predict_many(["a.mp4", "clips/"]):
        print(result.summary())      # a.mp4: adult-walking 0.91, dog-running 0.77
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd
import torch

from cascade import defaults
from cascade.annotate import picture_names, save_pictures
from cascade.data.frames import evenly_spaced, read_frames
from cascade.detect.cache import empty_detections, load_detections
from cascade.detect.options import DetectOptions
from cascade.detect.runner import detect_videos
from cascade.errors import CascadeError
from cascade.labels import GROUPS, Group, pair_name
from cascade.models.device import select_device
from cascade.models.heads import check_window, checkpoint_window, head_path, load_head, predict_batches
from cascade.models.inputs import frames_needed, head_sample
from cascade.scores import group_scores
from cascade.thresholds.files import Thresholds, load_thresholds


@dataclass
class Prediction:
    """What the cascade says about one video (see :meth:`to_json` for the fields)."""

    video: str
    actors: list[dict] = field(default_factory=list)  # present groups: {"actor", "score", "threshold"}
    labels: list[dict] = field(default_factory=list)  # {"label", "pair", "actor", "confidence"}
    untrained: dict[str, str] = field(default_factory=dict)  # present group -> command that trains its head
    frames: list[int] = field(default_factory=list)  # the frames the heads looked at
    scores: dict[str, float] = field(default_factory=dict)  # every group's score
    error: str | None = None  # why the video could not be read
    files: dict[str, str] = field(default_factory=dict)  # pictures written with save=

    def summary(self) -> str:
        if self.error:
            return f"{self.video}: error: {self.error}"
        found = [f"{l['label']} {l['confidence']:.2f}" for l in self.labels]
        found += [f"{g} {self._actor(g)['score']:.2f} (no head: {cmd})" for g, cmd in self.untrained.items()]
        if not found:
            best = max(self.scores, key=self.scores.get)
            found = [f"no actor found (highest score: {best} {self.scores[best]:.2f})"]
        return f"{self.video}: {', '.join(found)}"

    def _actor(self, group: str) -> dict:
        return next(a for a in self.actors if a["actor"] == group)

    def to_json(self) -> dict:
        """``video``, ``actors`` (present groups with score and threshold), ``labels`` (pairs with
        confidence), ``untrained`` (group -> command), ``frames``, ``scores`` (all groups), ``error``
        (null when the video was read) and ``files`` (pictures written, when asked)."""
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
    named; ``thresholds``: see :data:`~cascade.defaults.THRESHOLD_SOURCES`; ``temporal``,
    ``clip_len``, ``clip_stride``: what every head must have been trained with, None for as each was
    trained; the rest are detector options); :meth:`from_run_dir` loads what was learned.
    """

    def __init__(self, run_dir: str | Path = defaults.RUN_DIR, *, head_frames: int = defaults.HEAD_FRAMES,
                 thresholds: str = defaults.THRESHOLDS, temporal: str | None = None, clip_len: int | None = None,
                 clip_stride: int | None = None, **detect_options) -> None:
        self.run_dir = Path(run_dir)
        self.head_frames, self.thresholds = head_frames, thresholds
        self.temporal, self.clip_len, self.clip_stride = temporal, clip_len, clip_stride
        self.detect_options = DetectOptions(**detect_options)
        self.thresholds_: Thresholds | None = None
        self.heads_: dict[str, tuple[torch.nn.Module, dict]] | None = None

    @classmethod
    def from_run_dir(cls, run_dir: str | Path = defaults.RUN_DIR, *, head_frames: int = defaults.HEAD_FRAMES,
                     thresholds: str = defaults.THRESHOLDS, temporal: str | None = None, clip_len: int | None = None,
                     clip_stride: int | None = None, **detect_options) -> "Cascade":
        """A cascade with the run's thresholds (as ``thresholds`` says) and every head found in it; a head
        trained otherwise than ``temporal``, ``clip_len`` or ``clip_stride`` say (when given) is refused."""
        check_window(temporal, clip_len, clip_stride)
        cascade = cls(run_dir, head_frames=head_frames, thresholds=thresholds, temporal=temporal, clip_len=clip_len,
                      clip_stride=clip_stride, **detect_options)
        cascade.thresholds_ = load_thresholds(run_dir, cascade.thresholds)
        torch_device = select_device(cascade.detect_options.device)
        expected = {"temporal": temporal, "clip_len": clip_len, "clip_stride": clip_stride}
        cascade.heads_ = {  # none is fine: the actor stage works alone
            g.name: load_head(head_path(run_dir, g), g, torch_device, **expected)
            for g in GROUPS if head_path(run_dir, g).exists()
        }
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
        found = self.thresholds_.present(scores[[g.name for g in GROUPS]].to_numpy()[None])[0]
        return [g for g, is_present in zip(GROUPS, found) if is_present]

    def frames_needed(self, keys: Iterable[int], groups: Iterable[Group]) -> list[int]:
        """Every frame these groups' heads look at for the key frames: the keys, and temporal heads' windows."""
        keys = list(keys)
        return sorted({n for g in groups for n in frames_needed(keys, checkpoint_window(self.heads_[g.name][1]))})

    def head_probabilities(self, group: Group, frames: Mapping[int, np.ndarray], keys: Iterable[int],
                           boxes: Mapping[int, np.ndarray] | None = None) -> np.ndarray:
        """The head's softmax over its pairs for each key frame, (keys, pairs). ``frames``: the decoded
        frames, windows included (:meth:`frames_needed`). A crop head looks at the frame's box in
        ``boxes`` (a temporal head: else the key frame's; the whole frame where there is none); other
        heads ignore boxes."""
        model, meta = self.heads_[group.name]
        boxes = (boxes or {}) if meta["crop"] else {}
        window = checkpoint_window(meta)
        images = torch.stack([head_sample(frames, key, boxes, meta["imgsz"], meta["crop_pad"], window) for key in keys])
        return predict_batches(model, images, next(model.parameters()).device).numpy()

    def predict(self, video_path: str | Path, frames: list[int] | None = None, save: str | Path | None = None,
                progress: bool = False) -> Prediction:
        """Actor-action labels for one video; a video that cannot be read is a :class:`CascadeError`."""
        result = self.predict_many([video_path], frames, save, progress)[0]
        if result.error:
            raise CascadeError(result.error)
        return result

    def predict_many(self, videos: Iterable[str | Path], frames: list[int] | None = None,
                     save: str | Path | None = None, progress: bool = False) -> list[Prediction]:
        """One :class:`Prediction` per video file (folders give the video files inside them, recursively),
        detected in one pass; videos that cannot be read carry their ``error``. ``frames``: the frames
        the heads look at in every video (default: ``head_frames`` evenly spaced). ``save``: a folder for
        an annotated copy and a contact sheet of each video (:mod:`cascade.annotate`)."""
        self._check_fitted()
        paths = video_files(videos)
        readable = {str(p.resolve()): p for p in paths if p.is_file()}
        actor = self.scores(readable, progress)
        results = []
        for path, name in zip(paths, picture_names(paths)):
            video = str(path.resolve())
            error = actor.failed.get(video) or (None if path.is_file() else f"{path}: video not found")
            if error:
                results.append(Prediction(str(path), error=error))
                continue
            results.append(self._predict_video(path, actor, frames))
            if save is not None:
                rows = actor.detections[actor.detections.video == video]
                results[-1].files = save_pictures(results[-1], path, rows, self.thresholds_.conf, Path(save), name)
        return results

    def _predict_video(self, path: Path, actor: ActorScores, frames: list[int] | None) -> Prediction:
        video = str(path.resolve())
        row = actor.scores.loc[video]
        present = self.present(row)
        with_head = [g for g in present if g.name in self.heads_]
        last = int(actor.detections.frame[actor.detections.video == video].max())  # the last detected frame
        numbers = (frames or evenly_spaced(self.head_frames, last)) if with_head else []
        result = Prediction(
            str(path), scores={k: float(v) for k, v in row.items()}, frames=list(numbers),
            actors=[{"actor": g.name, "score": float(row[g.name]), "threshold": self.thresholds_.values[g.name]}
                    for g in present],
            untrained={g.name: f"cascade train-head --actor {g.name} --data DATA --run-dir {self.run_dir}"
                       for g in present if g.name not in self.heads_},
        )
        decoded = read_frames(path, numbers, past_end=self.frames_needed(numbers, with_head)) if numbers else {}
        for group in with_head:
            boxes = best_boxes(actor.detections, video, group, list(decoded))
            probs = self.head_probabilities(group, decoded, numbers, boxes).mean(0)
            best = int(probs.argmax())
            result.labels.append({"label": pair_name(group.pairs[best]), "pair": group.pairs[best],
                                  "actor": group.name, "confidence": float(probs[best])})
        return result


#: File name endings read as videos when a folder is given.
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv")


def video_files(paths: Iterable[str | Path]) -> list[Path]:
    """The given files, and the video files under the given folders (sorted), in the order given.
    A path that does not exist is kept: it is reported as that video's error."""
    found: list[Path] = []
    for given in map(Path, paths):
        if given.is_dir():
            inside = sorted(p for p in given.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
            if not inside:
                raise CascadeError(f"{given}: no video files ({', '.join(VIDEO_SUFFIXES)}) in this folder")
            found += inside
        else:
            found.append(given)
    if not found:
        raise CascadeError("no video given; pass video files or folders holding them")
    return found
