"""Pictures of what the cascade said about a video: an annotated copy and a contact sheet.

``cascade predict --save DIR`` writes, for each video:

* ``DIR/<name>.mp4``: every frame with the present actors' boxes from the detections cache (at the
  thresholds' detection confidence), each labelled with the actor's predicted pair (or its group
  name, without a head) and the box's confidence, drawn by Ultralytics' ``Annotator`` as its own
  ``save=True`` does. Frames the detector skipped (``--stride``) keep the last boxes drawn;
* ``DIR/<name>.png``: a contact sheet of a few evenly spaced annotated frames under a caption
  with the video's labels, for a quick look.

Both are written atomically. Names that repeat within one call get ``-2``, ``-3`` ...

Example::

    files = save_pictures(prediction, Path("clip.mp4"), detections, conf=0.5, folder=Path("out"), name="clip")
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import pandas as pd

from cascade.data.frames import evenly_spaced, frame_rate, iter_frames, write_video
from cascade.errors import CascadeError
from cascade.fileio import atomic_path
from cascade.labels import GROUPS
from cascade.prediction import Prediction

SHEET_FRAMES = 6
SHEET_COLUMNS = 3
SHEET_HEIGHT = 240  # pixels per frame in the contact sheet


def save_pictures(prediction: Prediction, path: Path, detections: pd.DataFrame, conf: float,
                  folder: Path, name: str) -> dict[str, str]:
    """Write ``folder/<name>.mp4`` and ``folder/<name>.png`` for one video; returns their paths.
    ``detections``: the video's rows of the cache."""
    detected = set(detections.frame.tolist())
    boxes = _present_boxes(prediction, detections, conf)
    files = {"video": folder / f"{name}.mp4", "sheet": folder / f"{name}.png"}
    count = write_video(files["video"], (frame for _, frame in _annotated(path, boxes, detected)), frame_rate(path))
    wanted = set(evenly_spaced(SHEET_FRAMES, count))
    sheet = [frame for number, frame in _annotated(path, boxes, detected) if number in wanted]
    _write_png(files["sheet"], _contact_sheet(sheet, f"{path.name}: {_caption(prediction)}"))
    return {k: str(v) for k, v in files.items()}


def picture_names(paths: list[Path]) -> list[str]:
    """A file name per video: its stem, with ``-2``, ``-3`` ... where stems repeat."""
    seen: dict[str, int] = {}
    names = []
    for path in paths:
        seen[path.stem] = seen.get(path.stem, 0) + 1
        names.append(path.stem if seen[path.stem] == 1 else f"{path.stem}-{seen[path.stem]}")
    return names


def _present_boxes(prediction: Prediction, detections: pd.DataFrame, conf: float) -> pd.DataFrame:
    """The kept boxes of the present groups, with the text and colour each is drawn with."""
    text = {g["actor"]: g["actor"] for g in prediction.actors}
    text.update({label["actor"]: label["label"] for label in prediction.labels})
    coco = {g.coco_class: g for g in GROUPS if g.name in text}
    rows = detections[detections.cls.isin(list(coco)) & (detections.conf >= conf)]
    return rows.assign(text=[f"{text[coco[c].name]} {p:.2f}" for c, p in zip(rows.cls, rows.conf)],
                       colour=[GROUPS.index(coco[c]) for c in rows.cls])


def _annotated(path: Path, boxes: pd.DataFrame, detected: set[int]) -> Iterator[tuple[int, np.ndarray]]:
    """Every frame with its boxes drawn; a frame the detector skipped keeps the last detected frame's boxes."""
    from ultralytics.utils.plotting import Annotator, colors

    by_frame = {int(f): rows for f, rows in boxes.groupby("frame")}
    current = boxes.iloc[:0]
    for number, frame in iter_frames(path, check_complete=False):
        if number in detected:
            current = by_frame.get(number, boxes.iloc[:0])
        annotator = Annotator(np.ascontiguousarray(frame), pil=False)
        for row in current.itertuples():
            annotator.box_label((row.x1, row.y1, row.x2, row.y2), row.text, color=colors(row.colour, True))
        yield number, annotator.result()


def _caption(prediction: Prediction) -> str:
    found = [f"{l['label']} {l['confidence']:.2f}" for l in prediction.labels]
    found += [f"{g} (no head)" for g in prediction.untrained]
    return ", ".join(found) or "no actor found"


def _contact_sheet(frames: list[np.ndarray], caption: str) -> np.ndarray:
    """Frames resized to one height, in rows of SHEET_COLUMNS, under a caption strip."""
    if not frames:
        raise CascadeError(f"no frame to draw for the contact sheet of {caption}")
    tiles = [cv2.resize(f, (round(f.shape[1] * SHEET_HEIGHT / f.shape[0]), SHEET_HEIGHT), interpolation=cv2.INTER_AREA)
             for f in frames]
    width = max(t.shape[1] for t in tiles)
    tiles = [cv2.copyMakeBorder(t, 0, 0, 0, width - t.shape[1], cv2.BORDER_CONSTANT, value=(0, 0, 0)) for t in tiles]
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % SHEET_COLUMNS)
    rows = [np.hstack(tiles[i:i + SHEET_COLUMNS]) for i in range(0, len(tiles), SHEET_COLUMNS)]
    grid = np.vstack(rows)
    strip = np.full((36, grid.shape[1], 3), 255, np.uint8)
    cv2.putText(strip, caption, (8, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([strip, grid])


def _write_png(target: Path, image: np.ndarray) -> None:
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise CascadeError(f"{target}: OpenCV could not encode the contact sheet")
    with atomic_path(target) as tmp:
        tmp.write_bytes(encoded.tobytes())
