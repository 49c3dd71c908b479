"""The whole cascade: videos -> detections cache -> actor scores -> thresholds -> heads -> labels.

:class:`Cascade` is built from a run directory, which holds everything a trained cascade is:
``detections/`` (reused, never detected twice), ``thresholds.json`` (else the built-in
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
from cascade.data.frames import evenly_spaced, frame_rate, read_frames
from cascade.detect.cache import empty_detections, load_detections
from cascade.detect.options import DetectOptions
from cascade.detect.runner import detect_videos
from cascade.errors import CascadeError
from cascade.instances.actions import InstanceSettings, instance_actions, pairs_held
from cascade.instances.cache import TrackCache, tracks_of
from cascade.labels import GROUPS, Group, pair_name, parse_pair
from cascade.device import select_device
from cascade.heads.checkpoint import head_path, load_head
from cascade.heads.feature_inputs import feature_probabilities
from cascade.heads.kinds import is_feature_head
from cascade.heads.inputs import HeadInput, best_boxes, check_window
from cascade.heads.model import predict_batches
from cascade.heads.pairs import reported
from cascade.prediction import ActorScores, Prediction
from cascade.scores import group_scores
from cascade.thresholds.files import Thresholds, load_thresholds


@dataclass(frozen=True)
class CascadeSettings:
    """How a cascade runs, one object from the flags to the library (as Ultralytics' predictor carries
    its settings): ``head_frames``, frames a head looks at per video when none are named;
    ``thresholds``, see :data:`~cascade.defaults.THRESHOLD_SOURCES`; ``temporal``, ``clip_len``,
    ``clip_stride``, what every head must have been trained with (None: each as trained); ``pair_cut``,
    also report every pair of an actor whose probability reaches it, not only the most probable one
    (:mod:`cascade.heads.pairs`; None: the cut each head chose on its training clips, else the top pair
    alone, the seed's); ``device``, where the heads run;
    ``detect``, the detector's options for what the cache lacks; ``instances``, how each actor instance is
    followed and its actions named over time (:mod:`cascade.instances`)."""

    head_frames: int = defaults.HEAD_FRAMES
    thresholds: str = defaults.THRESHOLDS
    temporal: str | None = None
    clip_len: int | None = None
    clip_stride: int | None = None
    pair_cut: float | None = None
    device: str = defaults.DEVICE
    detect: DetectOptions = field(default_factory=DetectOptions)
    instances: InstanceSettings = field(default_factory=InstanceSettings)

    def __post_init__(self) -> None:
        check_window(self.temporal, self.clip_len, self.clip_stride)
        if self.head_frames < 1:
            raise CascadeError(f"--head-frames must be at least 1, got {self.head_frames}")
        if self.pair_cut is not None and not 0 < self.pair_cut <= 1:
            raise CascadeError(f"--pair-cut must lie in (0, 1], got {self.pair_cut}")


class Cascade:
    """Detector + thresholds + heads, as a run directory holds them.

    Built in one way, :meth:`from_run_dir`, which loads what was learned (``thresholds_``, ``heads_``)
    under the given :class:`CascadeSettings`.
    """

    def __init__(self, run_dir: str | Path = defaults.RUN_DIR, settings: CascadeSettings = CascadeSettings()) -> None:
        self.run_dir = Path(run_dir)
        self.settings = settings
        self.thresholds_: Thresholds | None = None
        self.heads_: dict[str, tuple[torch.nn.Module, dict]] | None = None

    @classmethod
    def from_run_dir(cls, run_dir: str | Path = defaults.RUN_DIR,
                     settings: CascadeSettings = CascadeSettings()) -> "Cascade":
        """A cascade with the run's thresholds (as ``settings.thresholds`` says) and every head found in
        it, on ``settings.device``; a head trained otherwise than ``settings`` says is refused."""
        cascade = cls(run_dir, settings)
        cascade.thresholds_ = load_thresholds(run_dir, settings.thresholds)
        torch_device = select_device(settings.device)
        expected = {"temporal": settings.temporal, "clip_len": settings.clip_len, "clip_stride": settings.clip_stride}
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
        report = detect_videos(videos, self.run_dir, self.settings.detect, progress=progress)
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
        return sorted({n for g in groups for n in HeadInput.from_meta(self.heads_[g.name][1]).frames_needed(keys)})

    def head_probabilities(self, group: Group, frames: Mapping[int, np.ndarray], keys: Iterable[int],
                           boxes: Mapping[int, np.ndarray] | None = None) -> np.ndarray:
        """The head's softmax over its pairs for each key frame, (keys, pairs). ``frames``: the decoded
        frames, windows included (:meth:`frames_needed`). A crop head looks at the frame's box in
        ``boxes`` (a temporal head: else the key frame's; the whole frame where there is none); other
        heads ignore boxes."""
        model, meta = self.heads_[group.name]
        recipe = HeadInput.from_meta(meta)
        images = torch.stack([recipe.sample(frames, key, boxes or {}) for key in keys])
        return predict_batches(model, images, next(model.parameters()).device).numpy()

    def head_stage(self, path: Path, video: str, groups: Iterable[Group], keys: list[int],
                   detections: pd.DataFrame) -> dict[str, dict[int, np.ndarray]]:
        """The one head stage of ``predict`` and ``evaluate``: the key frames (and temporal heads' windows)
        of one video decoded once, each group's head fed what it was trained on (a crop head: the group's
        most confident detected box in each frame, :func:`~cascade.heads.inputs.best_boxes`; a feature
        head: the cached features of the window of sampled frames around each key frame, computed first
        where the run's features cache lacks them, :mod:`cascade.heads.feature_inputs`), and its softmax over
        its pairs returned for each key frame: group -> key frame -> probabilities."""
        groups = list(groups)
        if not groups or not keys:
            return {}
        networks = [g for g in groups if not is_feature_head(self.heads_[g.name][1])]
        probs = {}
        if networks:
            decoded = read_frames(path, keys, past_end=self.frames_needed(keys, networks))
            probs = {group.name: dict(zip(keys, self.head_probabilities(
                         group, decoded, keys, best_boxes(detections, video, group, decoded))))
                     for group in networks}
        for group in groups:
            if group not in networks:
                model, meta = self.heads_[group.name]
                probs[group.name] = dict(zip(keys, feature_probabilities(model, meta, self.run_dir, video, path, keys,
                                                                         detections, group)))
        return {group.name: probs[group.name] for group in groups}

    def pair_cut(self, group: Group) -> float | None:
        """The cut above which an actor's other pairs are reported too: ``settings.pair_cut`` when given, else
        the one its head chose on its training clips (None: the top pair alone)."""
        if self.settings.pair_cut is not None:
            return self.settings.pair_cut
        cut = self.heads_[group.name][1].get("pair_cut")
        return None if cut is None else float(cut)

    def reported_pairs(self, group: Group, probs: np.ndarray) -> list[tuple[int, float]]:
        """(pair, probability) the cascade reports for an actor whose head gave ``probs`` (averaged over
        its frames): the most probable pair, and every other that reaches the pair cut (:meth:`pair_cut`)."""
        chosen = reported(probs[None], self.pair_cut(group))[0]
        order = np.argsort(-probs, kind="stable")
        return [(group.pairs[k], float(probs[k])) for k in order if chosen[k]]

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
                tracks = TrackCache(self.run_dir).read([video]) if results[-1].instances else None
                results[-1].files = save_pictures(results[-1], path, rows, self.thresholds_.conf, Path(save), name, tracks)
        return results

    def _predict_video(self, path: Path, actor: ActorScores, frames: list[int] | None) -> Prediction:
        video = str(path.resolve())
        row = actor.scores.loc[video]
        present = self.present(row)
        with_head = [g for g in present if g.name in self.heads_]
        last = int(actor.detections.frame[actor.detections.video == video].max())  # the last detected frame
        numbers = (frames or evenly_spaced(self.settings.head_frames, last)) if with_head else []
        result = Prediction(
            str(path), scores={k: float(v) for k, v in row.items()}, frames=list(numbers),
            actors=[{"actor": g.name, "score": float(row[g.name]), "threshold": self.thresholds_.values[g.name]}
                    for g in present],
            untrained={g.name: f"cascade train-head --actor {g.name} --data DATA --run-dir {self.run_dir}"
                       for g in present if g.name not in self.heads_},
        )
        probs = self.head_stage(path, video, with_head, list(numbers), actor.detections)
        for group in with_head:
            mean = np.mean([probs[group.name][n] for n in numbers], axis=0)
            result.labels += [{"label": pair_name(pair), "pair": pair, "actor": group.name, "confidence": confidence}
                              for pair, confidence in self.reported_pairs(group, mean)]
        followed = self.instances(path, video, with_head, actor.detections)
        result.instances = [instance for found in followed.values() for instance in found]
        for group_name, found in followed.items():
            held = pairs_held(found, self.settings.instances.min_seconds)
            if self.settings.instances.labels_from_instances and held:  # the group's labels: what its instances hold
                result.labels = [label for label in result.labels if label["actor"] != group_name]
                result.labels += [{"label": name, "pair": parse_pair(name), "actor": group_name, "confidence": p}
                                  for name, p in sorted(held.items(), key=lambda item: -item[1])]
        return result

    def instances(self, path: Path, video: str, groups: Iterable[Group], detections: pd.DataFrame) -> dict[str, list[dict]]:
        """Group -> its instances in one video and their actions over time (:mod:`cascade.instances`), for the
        ``groups`` whose head is a feature head; the video's tracks linked once into the run's tracks cache."""
        groups = [g for g in groups if is_feature_head(self.heads_[g.name][1])]
        if not groups:
            return {}
        settings = self.settings.instances
        tracks = tracks_of([video], self.run_dir, detections, settings.tracks)
        fps = frame_rate(path)
        return {group.name: instance_actions(*self.heads_[group.name], group, self.run_dir, video, path, detections,
                                             tracks, fps, settings) for group in groups}


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
