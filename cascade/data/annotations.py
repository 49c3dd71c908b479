"""A2D annotation files: MATLAB v7.3 (HDF5) ``Annotations/mat/<id>/<frame:05d>.mat``.

Each file describes one annotated frame. MATLAB stores arrays column-major, so h5py reads them
transposed: ``reBBox`` comes back as (N, 4) rows of x1 y1 x2 y2 when written 4 x N, ``id`` as
(N, 1), and ``reMask`` as (W, H) for one instance or (N, W, H) for several. The reader accepts
both one and many instances, and :func:`write_annotation` writes exactly that layout so that
files we produce read the same way as the real ones.

Example::

    ann = read_annotation("A2D/Annotations/mat/-0cOo0cRVZU/00001.mat")
    ann.pairs, ann.boxes   # (N,) valid pair ids, (N, 4) boxes
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from cascade.errors import CascadeError
from cascade.fileio import atomic_path
from cascade.labels import ACTORS, VALID_PAIRS

REQUIRED_FIELDS = ("id", "reBBox")


@dataclass(frozen=True)
class Annotation:
    """One annotated frame: per instance, its pair id, its box (x1, y1, x2, y2 pixels) and its instance id
    (the release's ``instance`` field: the same actor keeps it over the video's frames; -1 where absent)."""

    pairs: np.ndarray  # (N,) int
    boxes: np.ndarray  # (N, 4) float
    instances: np.ndarray | None = None  # (N,) int

    @property
    def valid(self) -> "Annotation":
        """Only the instances whose id is one of the 43 valid pairs (A2D has a few others)."""
        keep = np.isin(self.pairs, VALID_PAIRS)
        return Annotation(self.pairs[keep], self.boxes[keep], self.ids[keep])

    @property
    def ids(self) -> np.ndarray:
        return self.instances if self.instances is not None else np.full(len(self.pairs), -1, np.int64)


def read_annotation(path: str | Path) -> Annotation:
    """Read one annotation file; a missing or malformed file is a :class:`CascadeError`."""
    path = Path(path)
    if not path.is_file():
        raise CascadeError(f"{path}: annotation file not found")
    try:
        with h5py.File(path, "r") as mat:
            missing = [f for f in REQUIRED_FIELDS if f not in mat]
            if missing:
                raise CascadeError(
                    f"{path}: annotation lacks field(s) {', '.join(missing)}; "
                    "expected an A2D MATLAB v7.3 file with id and reBBox"
                )
            ids = np.asarray(mat["id"][()], dtype=np.float64).reshape(-1)
            boxes = np.asarray(mat["reBBox"][()], dtype=np.float64)
            instances = np.asarray(mat["instance"][()], dtype=np.float64).reshape(-1) if "instance" in mat else None
    except OSError as exc:
        raise CascadeError(f"{path}: not a readable MATLAB v7.3 (HDF5) file ({exc})") from None
    boxes = boxes.reshape(-1, 4) if boxes.size else np.zeros((0, 4))
    if len(boxes) != len(ids):
        raise CascadeError(f"{path}: {len(ids)} ids but {len(boxes)} boxes in reBBox")
    if instances is not None and len(instances) != len(ids):
        instances = None  # a release without per-instance ids for this frame: none known
    return Annotation(ids.astype(np.int64), boxes, None if instances is None else instances.astype(np.int64))


def write_annotation(
    path: str | Path, pairs: np.ndarray, boxes: np.ndarray, height: int, width: int
) -> None:
    """Write an A2D-layout v7.3 annotation file (boxes also painted into masks and reS_id)."""
    pairs = np.asarray(pairs, dtype=np.float64).reshape(-1)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    masks = np.zeros((len(pairs), height, width), dtype=np.uint8)
    id_map = np.zeros((height, width), dtype=np.float64)
    for i, (pair, (x1, y1, x2, y2)) in enumerate(zip(pairs, boxes)):
        rows, cols = slice(int(y1), int(y2) + 1), slice(int(x1), int(x2) + 1)
        masks[i, rows, cols] = 1
        id_map[rows, cols] = pair
    # MATLAB writes column-major: each array is stored transposed, as in the real files.
    arrays = {
        "id": pairs.reshape(-1, 1),  # 1 x N in MATLAB
        "reBBox": boxes,  # 4 x N in MATLAB
        "reMask": masks[0].T if len(pairs) == 1 else masks.transpose(0, 2, 1),
        "reS_id": id_map.T,
        "instance": np.arange(len(pairs), dtype=np.float64).reshape(-1, 1),
    }
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w", userblock_size=512) as mat:
            for name, array in arrays.items():
                # MATLAB v7.3 deflates its arrays as well; the per-pixel maps are mostly zeros.
                mat.create_dataset(name, data=array, compression="gzip" if array.size > 64 else None)
                mat[name].attrs["MATLAB_class"] = np.bytes_(_MATLAB_CLASS[array.dtype.kind])
            _write_cellstr(mat, "class", [_ACTOR_NAMES[int(p) // 10] for p in pairs])
        _stamp_matlab_header(tmp)


_MATLAB_CLASS = {"f": "double", "u": "uint8"}
_ACTOR_NAMES = {v: k for k, v in ACTORS.items()}


def _write_cellstr(mat: h5py.File, name: str, strings: list[str]) -> None:
    """A MATLAB cell array of strings: references to uint16 char arrays under ``#refs#``."""
    refs = mat.require_group("#refs#")
    handles = []
    for i, text in enumerate(strings):
        chars = refs.create_dataset(f"{name}_{i}", data=np.array([[ord(c)] for c in text], np.uint16))
        chars.attrs["MATLAB_class"] = np.bytes_("char")
        handles.append(chars.ref)
    cell = mat.create_dataset(name, (len(strings), 1), dtype=h5py.ref_dtype)
    cell[:, 0] = handles
    cell.attrs["MATLAB_class"] = np.bytes_("cell")


def _stamp_matlab_header(path: Path) -> None:
    """Write the 128-byte MATLAB 7.3 text header into the HDF5 user block, as MATLAB does."""
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created by: cascade HDF5 schema 1.00 ."
    header = header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"
    with open(path, "r+b") as handle:
        handle.write(header)
