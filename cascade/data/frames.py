"""Video reading and writing with OpenCV: frame n (1-based) is the n-th decoded frame.

A2D's frame numbers come from ffmpeg's ``%05d`` extraction, which counts decoded frames from 1, so
we decode sequentially rather than trusting container seeks. A video that opens but decodes no
frame, or stops well short of the frame count its container declares, is corrupt: the reader says
so in one line naming the file.

Example::

    for number, frame in iter_frames("clip.mp4"):   # BGR uint8 (H, W, 3)
        ...
    frames = read_frames("clip.mp4", [1, 40])         # {1: ..., 40: ...}
    picked, decoded, declared = decodable_frames("clip.mp4", lambda total: evenly_spaced(8, total))
    write_video("copy.mp4", (f for _, f in iter_frames("clip.mp4")), fps=25)
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Iterator

import cv2
import numpy as np

from cascade.errors import CascadeError
from cascade.fileio import atomic_path

#: A video that decodes fewer than this share of its declared frames is reported as truncated.
MIN_DECODED_SHARE = 0.9


class CorruptVideoError(CascadeError):
    """The file exists but cannot be decoded (fully)."""


def _open(path: Path) -> cv2.VideoCapture:
    if not path.is_file():
        raise CascadeError(f"{path}: video not found")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise CorruptVideoError(f"{path}: cannot open as a video; check the file or re-encode it")
    return capture


def declared_frame_count(path: str | Path) -> int:
    """The frame count the container declares (may be wrong for damaged files)."""
    capture = _open(Path(path))
    try:
        return max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), 0)
    finally:
        capture.release()


def iter_frames(path: str | Path, check_complete: bool = True) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(frame_number, bgr_frame)`` from 1; raise :class:`CorruptVideoError` at the end
    if nothing decoded or (with ``check_complete``) far fewer frames than declared did."""
    path = Path(path)
    capture = _open(path)
    declared = max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), 0)
    number = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            number += 1
            yield number, frame
    finally:
        capture.release()
    if number == 0:
        raise CorruptVideoError(f"{path}: no frame could be decoded; the video is empty or corrupt")
    if check_complete and declared and number < MIN_DECODED_SHARE * declared:
        raise CorruptVideoError(
            f"{path}: truncated, only {number} of {declared} declared frames decode; re-encode or replace it"
        )


def read_frames(path: str | Path, numbers: Iterable[int], past_end: Iterable[int] = ()) -> dict[int, np.ndarray]:
    """Decode the given 1-based frame numbers (sequentially, stopping after the last one). Numbers in
    ``past_end`` may lie beyond the video's end (a window around a frame near it): when one does, the
    video's last frame is returned too, under its own number, so the caller can clamp to it."""
    required = {int(n) for n in numbers}
    wanted = required | {int(n) for n in past_end}
    if not wanted:
        return {}
    if min(wanted) < 1:
        raise CascadeError(f"{path}: frame numbers start at 1, asked for {min(wanted)}")
    final = max(wanted)
    found: dict[int, np.ndarray] = {}
    last, last_frame = 0, None
    for number, frame in iter_frames(path, check_complete=False):
        last, last_frame = number, frame
        if number in wanted:
            found[number] = frame
            if number == final:
                break
    missing = sorted(required - set(found))
    if missing:
        raise CascadeError(f"{path}: frame {missing[0]} asked for, but the video has only {last} frames")
    if last < final:
        found[last] = last_frame
    return found


def decodable_frames(path: str | Path, choose: Callable[[int], Iterable[int]]
                     ) -> tuple[dict[int, np.ndarray], int, int]:
    """The frames that ``choose(total)`` picks (1-based numbers) among the ``total`` frames of the video
    that decode, whatever its container declares: ``(frames by number, decoded, declared)``.

    Frames are first picked by the declared count as they decode, in one pass; where the count is
    wrong (a truncated file, a header off by a few frames, or none), those picks are dropped and a
    second pass, stopping at the last pick, takes ``choose(decoded)``. Only picked frames are held.
    Whether a video that decodes short is still usable is the caller's rule."""
    path = Path(path)
    declared = declared_frame_count(path)
    wanted = {int(n) for n in choose(declared)} if declared else set()
    found: dict[int, np.ndarray] = {}
    decoded = 0
    for decoded, frame in iter_frames(path, check_complete=False):
        if decoded in wanted:
            found[decoded] = frame
    if decoded != declared:
        found = read_frames(path, choose(decoded))
    return found, decoded, declared


def evenly_spaced(count: int, total: int) -> list[int]:
    """``count`` 1-based frame numbers spread evenly over ``total`` frames (centres of equal bins)."""
    count = max(1, min(count, total))
    return sorted({int((i + 0.5) * total / count) + 1 for i in range(count)})


def in_runs(runs: int, length: int, step: int, total: int) -> list[int]:
    """``runs`` runs of ``length`` frame numbers ``step`` apart, each centred in one of ``runs`` equal bins of
    ``total`` frames (clamped inside the video; runs of a short video may overlap, their frames kept once)."""
    span = step * (length - 1)
    picked: set[int] = set()
    for i in range(max(1, runs)):
        start = int((i + 0.5) * total / max(1, runs)) + 1 - span // 2
        start = min(max(start, 1), max(total - span, 1))
        picked.update(min(start + step * k, total) for k in range(length))
    return sorted(picked)


def frame_rate(path: str | Path, default: float = 25.0) -> float:
    """The frame rate the container declares, else ``default``."""
    capture = _open(Path(path))
    try:
        fps = capture.get(cv2.CAP_PROP_FPS)
    finally:
        capture.release()
    return fps if fps and np.isfinite(fps) and fps > 0 else default


def write_video(target: str | Path, frames: Iterable[np.ndarray], fps: float) -> int:
    """Encode BGR frames (all of one size) as an mp4 file, atomically; returns the number written."""
    target = Path(target)
    count = 0
    with atomic_path(target) as tmp:
        mp4 = tmp.with_suffix(".mp4")  # OpenCV picks the container from the name
        writer = None
        try:
            for frame in frames:
                if writer is None:
                    height, width = frame.shape[:2]
                    writer = cv2.VideoWriter(str(mp4), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
                    if not writer.isOpened():
                        raise CascadeError(f"{target}: OpenCV cannot write mp4 video here")
                writer.write(frame)
                count += 1
        finally:
            if writer is not None:
                writer.release()
        if not count:
            raise CascadeError(f"{target}: no frame to write")
        mp4.replace(tmp)
    return count
