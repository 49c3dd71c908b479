"""Pictures of what the cascade said about a video: an annotated copy and a contact sheet.

``cascade predict --save DIR`` writes, for each video:

* ``DIR/<name>.mp4``: every frame with the present actors' boxes from the detections cache (at the
  thresholds' detection confidence), each labelled with the actor's predicted pair (or its group
  name, without a head) and the box's confidence, drawn by Ultralytics' ``Annotator`` as its own
  ``save=True`` does; an actor followed as an instance (:mod:`cascade.instances`) is drawn from its
  track instead, labelled with its track id and its action at that moment, in a colour of its own.
  Frames the detector skipped (``--stride``) keep the last boxes drawn;
* ``DIR/<name>.png``: a contact sheet of a few evenly spaced annotated frames under a caption
  with the video's labels, and under the frames a timeline strip per instance: its life over the
  video's length, coloured by its action, named by its track and actor, for a quick look.

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
from cascade.instances.timeline import label_at
from cascade.labels import GROUPS, parse_pair
from cascade.prediction import Prediction

SHEET_FRAMES = 6
SHEET_COLUMNS = 3
SHEET_HEIGHT = 240  # pixels per frame in the contact sheet
TIMELINE_HEIGHT = 22  # pixels per instance's timeline strip under the contact sheet


def save_pictures(prediction: Prediction, path: Path, detections: pd.DataFrame, conf: float,
                  folder: Path, name: str, tracks: pd.DataFrame | None = None) -> dict[str, str]:
    """Write ``folder/<name>.mp4`` and ``folder/<name>.png`` for one video; returns their paths.
    ``detections``: the video's rows of the cache; ``tracks``: its rows of the tracks cache (the boxes of
    the prediction's instances)."""
    detected = set(detections.frame.tolist())
    fps = frame_rate(path)
    boxes = pd.concat([_present_boxes(prediction, detections, conf), _instance_boxes(prediction, tracks, fps)])
    files = {"video": folder / f"{name}.mp4", "sheet": folder / f"{name}.png"}
    count = write_video(files["video"], (frame for _, frame in _annotated(path, boxes, detected)), fps)
    wanted = set(evenly_spaced(SHEET_FRAMES, count))
    sheet = [frame for number, frame in _annotated(path, boxes, detected) if number in wanted]
    image = _contact_sheet(sheet, f"{path.name}: {_caption(prediction)}")
    _write_png(files["sheet"], np.vstack([image, *_timelines(prediction.instances, count / fps, image.shape[1])]))
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
    """The kept boxes of the present groups followed by no instance, with the text and colour each is drawn with."""
    followed = {instance["group"] for instance in prediction.instances}
    text = {g["actor"]: g["actor"] for g in prediction.actors if g["actor"] not in followed}
    text.update({label["actor"]: label["label"] for label in prediction.labels if label["actor"] not in followed})
    coco = {g.coco_class: g for g in GROUPS if g.name in text}
    rows = detections[detections.cls.isin(list(coco)) & (detections.conf >= conf)]
    return rows.assign(text=[f"{text[coco[c].name]} {p:.2f}" for c, p in zip(rows.cls, rows.conf)],
                       colour=[GROUPS.index(coco[c]) for c in rows.cls])


def _instance_boxes(prediction: Prediction, tracks: pd.DataFrame | None, fps: float) -> pd.DataFrame:
    """Every box of the prediction's instances (its track's), with its track id and its action at that moment."""
    if tracks is None or not prediction.instances:
        return pd.DataFrame(columns=["frame", "x1", "y1", "x2", "y2", "text", "colour"])
    rows = []
    for instance in prediction.instances:
        mine = tracks[tracks.track == instance["track"]]
        for row in mine.itertuples():
            doing = label_at(instance["actions"], (row.frame - 1) / fps) or instance["actor"]
            rows.append((row.frame, row.x1, row.y1, row.x2, row.y2, f"#{instance['track']} {doing}", instance["track"]))
    return pd.DataFrame(rows, columns=["frame", "x1", "y1", "x2", "y2", "text", "colour"])


def _timelines(instances: list[dict], seconds: float, width: int) -> list[np.ndarray]:
    """A strip per instance: its life over the video's ``seconds``, each action's segment in its pair's
    colour and named where it fits, after the track id and actor."""
    from ultralytics.utils.plotting import colors

    strips = []
    margin = 110  # pixels for the name at the left
    scale = (width - margin - 8) / max(seconds, 1e-6)
    for instance in instances:
        strip = np.full((TIMELINE_HEIGHT, width, 3), 255, np.uint8)
        cv2.putText(strip, f"#{instance['track']} {instance['actor']}", (6, TIMELINE_HEIGHT - 7),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        for segment in instance["actions"]:
            x1, x2 = (margin + int(round(segment[k] * scale)) for k in ("start_s", "end_s"))
            colour = colors(parse_pair(segment["label"]), True)
            cv2.rectangle(strip, (x1, 3), (max(x2, x1 + 1), TIMELINE_HEIGHT - 3), colour, -1)
            text = segment["label"].split("-", 1)[1]
            if cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)[0][0] < x2 - x1 - 4:
                cv2.putText(strip, text, (x1 + 3, TIMELINE_HEIGHT - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                            (255, 255, 255), 1, cv2.LINE_AA)
        strips.append(strip)
    return strips


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
