"""Small real datasets to try the tool on: an A2D-layout release, and condensed labelled clips.

**Sample release** (:func:`build_sample_release`), for tests and the fastest try:

Each source clip is cut into short segments; each segment becomes one "video" of the release,
re-encoded to 320 px high in ``clips320H/``, listed in ``videoset.csv``, with a few annotated
frames written as MATLAB v7.3 files exactly as the real release lays them out. A ``labels.csv`` in
the user-CSV format is written beside it, describing the same frames, so both readers can be tried.

The labels are ours, chosen by looking at the clips; boxes are coarse hand-drawn rectangles given
as fractions of the frame (x1, y1, x2, y2). ``SAMPLE_VIDEOS`` is the one table of them.

**Sample clips** (:func:`build_sample_clips`), for the main job on real labelled data in minutes:
each clip of a clip-level labels CSV is condensed to ``frames_per_clip`` frames, re-encoded at 320 px
high. Spread evenly over its whole length (``runs`` 0), every actor the clip-level labels name is still
shown and the fraction of frames with a detection stays an unbiased estimate of the whole clip's, but
nothing moves between two frames a second apart. In ``runs`` runs of consecutive frames at about
``defaults.VIDEO_FPS`` (every second frame of a 25 fps clip), centred in equal parts of the clip and
written at that rate, a video network sees motion in each run and the runs still sample the whole
clip; with runs as long as the video network's window and ``--every`` equal to that length, each
sampled frame's window is exactly one run (:meth:`~cascade.features.settings.FeatureSettings.sampled`);
``labels.csv`` beside them keeps each clip's labels, note and group (its source: the labels CSV's
``group`` column, else the repository that a ``SOURCES.csv`` beside it names, as ``../shared/clips``
has, else none), so cross-validation on the condensed clips still keeps a source on one side of a
fold. A clip whose container declares more frames than decode (a truncated file) keeps the frames
that do decode, with one warning; it is skipped and reported only when too little of it decodes to
sample (:func:`_decodable`).

Example::

    build_sample_release("sample", clips="../shared/clips")
    build_sample_clips("../shared/clips/labels.csv", "demo-clips", frames_per_clip=96, runs=3)   # 3 runs of 32
    # cascade sample-release sample --clips ../shared/clips
    # cascade sample-clips ../shared/clips/labels.csv demo-clips
"""

from __future__ import annotations

import csv
import io
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import cv2
import numpy as np

from cascade import defaults
from cascade.data.annotations import write_annotation
from cascade.data.frames import (MIN_DECODED_SHARE, CorruptVideoError, decodable_frames, evenly_spaced, frame_rate,
                                  in_runs, iter_frames, write_video)
from cascade.errors import CascadeError
from cascade.fileio import write_text_atomic
from cascade.labels import pair_name


@dataclass(frozen=True)
class SampleVideo:
    """One segment of a source clip and what it shows."""

    video: str
    clip: str
    start: int  # first source frame (1-based)
    split: str
    instances: tuple[tuple[int, tuple[float, float, float, float]], ...]  # (pair id, box fraction)


_CAT = ((69, (0.05, 0.0, 0.85, 1.0)),)  # cat-none: a white cat standing on gravel
_DOG = ((79, (0.33, 0.25, 0.72, 0.92)),)  # dog-none: a small dog sitting on a sofa
_BIRD = ((49, (0.25, 0.05, 0.75, 0.95)),)  # bird-none: a finch perched on a branch
_BABY = ((29, (0.2, 0.05, 0.8, 0.95)),)  # baby-none: a baby lying on its back
_WALKERS = ((18, (0.0, 0.35, 1.0, 1.0)),)  # adult-walking: pedestrians crossing a square
_DRIVER = ((19, (0.05, 0.0, 0.95, 1.0)),)  # adult-none: a man talking in a car
_SOCCER = ((17, (0.2, 0.2, 0.45, 0.95)), (36, (0.55, 0.65, 0.65, 0.8)))  # a child runs, ball rolls

#: The sample release: segment id, source clip, first frame, split, labelled instances.
SAMPLE_VIDEOS: tuple[SampleVideo, ...] = (
    SampleVideo("cat_a", "AnuraagaNath_cat.mp4", 1, "train", _CAT),
    SampleVideo("cat_b", "AnuraagaNath_cat.mp4", 55, "train", _CAT),
    SampleVideo("cat_c", "AnuraagaNath_cat.mp4", 109, "test", _CAT),
    SampleVideo("dog_a", "DrDoogie_dog.mp4", 1, "train", _DOG),
    SampleVideo("dog_b", "DrDoogie_dog.mp4", 81, "train", _DOG),
    SampleVideo("dog_c", "DrDoogie_dog.mp4", 161, "test", _DOG),
    SampleVideo("bird_a", "StarbirdTech_bird.mp4", 1, "train", _BIRD),
    SampleVideo("bird_b", "StarbirdTech_bird.mp4", 90, "test", _BIRD),
    SampleVideo("baby_a", "taylgragrac_baby.mp4", 1, "train", _BABY),
    SampleVideo("baby_b", "taylgragrac_baby.mp4", 300, "train", _BABY),
    SampleVideo("baby_c", "taylgragrac_baby.mp4", 600, "test", _BABY),
    SampleVideo("walk_a", "vtest.avi", 1, "train", _WALKERS),
    SampleVideo("walk_b", "vtest.avi", 400, "test", _WALKERS),
    SampleVideo("driver_a", "carphone_pristine.mp4", 1, "train", _DRIVER),
    SampleVideo("driver_b", "carphone_pristine.mp4", 70, "test", _DRIVER),
    SampleVideo("soccer_a", "louiselalanne_soccer.mp4", 1, "train", _SOCCER),
)

SOURCES = "SOURCES.csv"  # beside a labels CSV: each clip's source repository (../shared/clips has one)
HEIGHT = 320
SPREAD_FPS = 25.0  # the rate frames spread over a clip are written at (A2D's); their spacing is not kept
ANNOTATED_PER_VIDEO = 3
log = logging.getLogger(__name__)


def build_sample_release(
    root: str | Path, clips: str | Path, frames_per_video: int = 48, overwrite: bool = False
) -> Path:
    """Write the sample release under ``root`` from the source clips in the folder ``clips``, and return
    it; refuses to overwrite unless asked."""
    root, clips_dir = Path(root), Path(clips)
    if (root / "videoset.csv").exists() and not overwrite:
        raise CascadeError(f"{root}: already holds a release; choose another folder or pass --overwrite")
    if frames_per_video < ANNOTATED_PER_VIDEO:
        raise CascadeError(f"--frames-per-video must be at least {ANNOTATED_PER_VIDEO}, got {frames_per_video}")
    for sub in ("clips320H", "Annotations"):
        shutil.rmtree(root / sub, ignore_errors=True)
    videoset, label_rows = [], []
    for spec in SAMPLE_VIDEOS:
        frames = _segment(clips_dir / spec.clip, spec.start, frames_per_video)
        height, width = _encode(root / "clips320H" / f"{spec.video}.mp4", frames)
        annotated = evenly_spaced(ANNOTATED_PER_VIDEO, len(frames))
        pairs = [pair for pair, _ in spec.instances]
        boxes = np.array([box for _, box in spec.instances]) * [width, height, width, height]
        boxes = np.round(boxes).clip(0, [width - 1, height - 1, width - 1, height - 1])
        for number in annotated:
            write_annotation(root / "Annotations" / "mat" / spec.video / f"{number:05d}.mat", pairs, boxes, height, width)
            label_rows.append(_csv_labels(spec, number, pairs, boxes))
        split = 0 if spec.split == "train" else 1
        videoset.append([spec.video, pairs[0], "00:00:00", "00:00:02", height, width, len(frames), len(annotated), split])
    _write_csv(root / "videoset.csv", videoset)
    _write_csv(root / "labels.csv", [["video", "frame", "labels", "boxes", "split"], *label_rows])
    return root


def build_sample_clips(labels: str | Path, root: str | Path, frames_per_clip: int = 48, runs: int = 0,
                       overwrite: bool = False) -> tuple[Path, dict[str, str]]:
    """Condense every clip of a clip-level labels CSV into ``root`` (see the module docstring): with ``runs``
    0, ``frames_per_clip`` frames spread over it; else that many frames in ``runs`` runs of consecutive
    frames at about ``defaults.VIDEO_FPS``. Returns the new ``labels.csv`` and the clips skipped, with why."""
    from cascade.data import open_dataset

    labels, root = Path(labels), Path(root)
    clips = open_dataset(labels).clips  # checked: one clear line for a bad row
    if (root / "labels.csv").exists() and not overwrite:
        raise CascadeError(f"{root}: already holds sample clips; choose another folder or pass --overwrite")
    if frames_per_clip < 2:
        raise CascadeError(f"--frames-per-clip must be at least 2, got {frames_per_clip}")
    if runs < 0 or (runs and frames_per_clip % runs):
        raise CascadeError(f"--runs must be 0 (frames spread over the clip) or divide --frames-per-clip "
                           f"{frames_per_clip} into runs of equal length, got {runs}")
    table = {row["video"]: row for row in csv.DictReader(labels.open(newline="", encoding="utf-8"))}
    listed = _listed_sources(labels.parent / SOURCES)
    rows, skipped = [], {}
    for clip in clips.itertuples(index=False):
        try:
            if runs:
                frames, fps = _runs(Path(clip.path), runs, frames_per_clip // runs)
            else:
                frames, fps = _spread(Path(clip.path), frames_per_clip), SPREAD_FPS
        except CascadeError as exc:
            log.warning("skipping a clip: %s", exc)
            skipped[clip.video] = str(exc)
            continue
        _encode(root / f"{clip.video}.mp4", frames, fps)
        source = next(row for key, row in table.items() if Path(key).stem == clip.video)
        group = (source.get("group") or "").strip() or listed.get(clip.video, "")
        rows.append([f"{clip.video}.mp4", source["labels"], source.get("note", ""), group])
    _write_csv(root / "labels.csv", [["video", "labels", "note", "group"], *rows])
    return root / "labels.csv", skipped


def _listed_sources(path: Path) -> dict[str, str]:
    """Clip (file name without extension) -> source repository, from a ``SOURCES.csv`` (columns ``file``
    and ``source_repo``) beside the labels; empty when there is none or it lacks those columns."""
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {Path(row["file"]).stem: row["source_repo"] for row in rows if row.get("file") and row.get("source_repo")}


def _spread(clip: Path, count: int) -> list[np.ndarray]:
    """``count`` frames spread evenly over the frames of the clip that decode (:func:`_decodable`)."""
    return _decodable(clip, lambda total: evenly_spaced(count, total), count)


def _runs(clip: Path, runs: int, length: int) -> tuple[list[np.ndarray], float]:
    """``runs`` runs of ``length`` consecutive frames at about ``defaults.VIDEO_FPS`` (every ``step``-th frame),
    centred in equal parts of the clip (:func:`~cascade.data.frames.in_runs`), and the frame rate that keeps
    their time: the source's over ``step``."""
    fps = frame_rate(clip)
    step = max(1, int(round(fps / defaults.VIDEO_FPS)))
    frames = _decodable(clip, lambda total: in_runs(runs, length, step, total), runs * length)
    return frames, fps / step


def _decodable(clip: Path, choose: Callable[[int], Iterable[int]], needed: int) -> list[np.ndarray]:
    """The frames ``choose(total)`` picks among the clip's ``total`` frames that decode, in order.

    Containers often declare a wrong frame count, so the picks follow what decodes. A clip with fewer
    than :data:`~cascade.data.frames.MIN_DECODED_SHARE` of its declared frames decodable (truncated)
    is kept with one warning naming the file and the counts, when at least ``needed`` frames (the
    frames per clip asked for) decode; with fewer it is dropped (:class:`CorruptVideoError`): too
    little of it to sample, and its labels, which hold for the whole clip, may lie in the part lost.
    A header off by a few frames is not worth a warning."""
    frames, decoded, declared = decodable_frames(clip, choose)
    if declared and decoded < MIN_DECODED_SHARE * declared:
        if decoded < needed:
            raise CorruptVideoError(f"{clip}: truncated, only {decoded} of {declared} declared frames decode, fewer "
                                    f"than the {needed} frames per clip asked for; re-encode or replace it")
        log.warning("%s: truncated, only %d of %d declared frames decode; sampled from those", clip, decoded, declared)
    return [frames[number] for number in sorted(frames)]


def _segment(clip: Path, start: int, count: int) -> list[np.ndarray]:
    frames = [f for n, f in iter_frames(clip, check_complete=False) if start <= n < start + count]
    if len(frames) < ANNOTATED_PER_VIDEO:
        raise CascadeError(f"{clip}: too few frames from {start} for a sample video")
    return frames


def _encode(target: Path, frames: list[np.ndarray], fps: float = SPREAD_FPS) -> tuple[int, int]:
    """Re-encode frames at 320 px high (even width) and ``fps``, written atomically."""
    src_h, src_w = frames[0].shape[:2]
    width = int(round(src_w * HEIGHT / src_h / 2)) * 2
    write_video(target, (cv2.resize(f, (width, HEIGHT), interpolation=cv2.INTER_AREA) for f in frames), fps)
    return HEIGHT, width


def _csv_labels(spec: SampleVideo, number: int, pairs: list[int], boxes: np.ndarray) -> list[str]:
    return [
        f"clips320H/{spec.video}.mp4",
        str(number),
        ";".join(pair_name(p) for p in pairs),
        ";".join(" ".join(f"{v:g}" for v in box) for box in boxes),
        spec.split,
    ]


def _write_csv(path: Path, rows: list[list]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    write_text_atomic(path, buffer.getvalue())
