"""The COCO detector, run on whole batches of frames on the device.

Ultralytics is the source of the model and its weights (any format it loads: ``.pt``, a YAML for
random weights, an OpenVINO folder, ...). ``model.predict`` spends most of its time per frame on
the CPU, so :class:`Detector` goes one level down, to Ultralytics' ``AutoBackend``, and does the
rest on the device for a whole batch at once:

1. letterbox exactly as Ultralytics' ``LetterBox`` does (same scale, rounding and 114 padding),
   but with a bilinear resize on the device;
2. one forward pass (half precision on CUDA);
3. :func:`batched_nms`: Ultralytics' NMS rules (best class per anchor, then keep the actor classes,
   per-class IoU suppression, ``max_det`` per image) as a single ``torchvision`` call for the batch
   instead of a Python loop over images.

Weights are resolved in order: the explicit path, ``$CASCADE_WEIGHTS``, then Ultralytics' standard
``yolo11n.pt``, which Ultralytics downloads where a network exists.

Example::

    detector = Detector("yolo11n.pt", imgsz=320, device="cuda")
    found = detector(frames_uint8_bgr)   # frames: (B, H, W, 3) torch.uint8
    found.image, found.boxes, found.conf, found.cls
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

from cascade import defaults
from cascade.errors import CascadeError
from cascade.labels import COCO_CLASSES
from cascade.device import select_device

log = logging.getLogger(__name__)

PAD_VALUE = 114  # Ultralytics' letterbox padding


def resolve_weights(weights: str | os.PathLike[str] | None) -> str:
    """The weights to load: ``weights``, else ``$CASCADE_WEIGHTS``, else ``yolo11n.pt``.

    A name without a folder that does not exist locally (``yolo11n.pt``, ``yolo11n.yaml``) is left
    for Ultralytics to fetch or build; a path that does not exist is an error that says where we
    looked and how to supply weights.
    """
    source, chosen = "--weights", weights
    if chosen is None:
        source, chosen = f"${defaults.WEIGHTS_ENV}", os.environ.get(defaults.WEIGHTS_ENV)
    if not chosen:
        source, chosen = "the default", defaults.DETECTOR_WEIGHTS
    path = Path(chosen)
    if path.exists() or (path.parent == Path(".") and path.suffix in {".pt", ".yaml", ".yml"}):
        return str(chosen)
    raise CascadeError(
        f"detector weights {str(chosen)!r} (from {source}) not found; looked at --weights, "
        f"${defaults.WEIGHTS_ENV} and {defaults.DETECTOR_WEIGHTS!r}; pass --weights PATH or set "
        f"{defaults.WEIGHTS_ENV} to a YOLO .pt file or exported model folder"
    )


def load_backend(weights: str, device: torch.device, half: bool):
    """Load weights with Ultralytics and wrap them in its inference backend."""
    from ultralytics import YOLO
    from ultralytics.nn.autobackend import AutoBackend

    def cannot_load(why: str) -> CascadeError:
        return CascadeError(f"cannot load detector weights {weights!r} ({why}); pass --weights PATH to a YOLO .pt "
                            f"file or exported model folder (or set {defaults.WEIGHTS_ENV})")

    try:
        model = YOLO(weights, task="detect").model
    except Exception as exc:  # Ultralytics raises many types for missing, corrupt or unfetchable weights
        raise cannot_load(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__) from None
    try:
        backend = AutoBackend(model, device=device, fp16=half, fuse=True, verbose=False)
    except TypeError:  # another file or folder: Ultralytics' message lists its 30 formats over two lines
        raise cannot_load("not a model format Ultralytics reads") from None
    return backend.eval()  # a model built from a YAML starts in training mode; predict evaluates too


@dataclass(frozen=True)
class Detections:
    """Boxes kept for one batch: ``image`` indexes the batch; boxes are original-frame pixels."""

    image: np.ndarray  # (K,) int
    boxes: np.ndarray  # (K, 4) float32 x1 y1 x2 y2
    conf: np.ndarray  # (K,) float32
    cls: np.ndarray  # (K,) int (COCO ids)


def letterbox_geometry(shape: tuple[int, int], new_shape: tuple[int, int], stride: int, auto: bool):
    """Ultralytics' LetterBox arithmetic: resized (h, w) and (top, bottom, left, right) padding."""
    h, w = shape
    r = min(new_shape[0] / h, new_shape[1] / w)
    new_w, new_h = max(round(w * r), 1), max(round(h * r), 1)
    dw, dh = new_shape[1] - new_w, new_shape[0] - new_h
    if auto:
        dw, dh = dw % stride, dh % stride
    dw, dh = dw / 2, dh / 2
    return (new_h, new_w), (round(dh - 0.1), round(dh + 0.1), round(dw - 0.1), round(dw + 0.1))


def resize_frames(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of uint8 (B, 3, H, W) frames whose result depends on nothing but the frame.

    A frame's detections must not depend on its batch neighbours or on the thread count (a resumed
    run must reproduce an uninterrupted one exactly). torch's float bilinear kernel on the CPU does
    not give that: its vectorised work split changes with the thread count, results move by ~3e-5,
    and rounding turns that into pixels that differ by one. On the CPU, torch's uint8 kernel uses
    fixed-point integer arithmetic, which is exact (and faster); on CUDA each output pixel is
    computed by one thread with the same arithmetic whatever the batch.
    """
    if frames.device.type == "cpu":
        return F.interpolate(frames.contiguous(memory_format=torch.channels_last), size=size, mode="bilinear",
                             align_corners=False, antialias=False).contiguous()
    resized = F.interpolate(frames.float(), size=size, mode="bilinear", align_corners=False)
    return resized.round_().to(torch.uint8)


def batched_nms(
    prediction: torch.Tensor, conf: float, iou: float, classes: torch.Tensor, max_det: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Ultralytics' ``non_max_suppression`` (single label) for a whole batch in one NMS call.

    ``prediction`` is (B, 4 + nc, N) with xywh boxes. Returns image index, xyxy boxes, confidence
    and class of the kept boxes, grouped by image and sorted by confidence within each image.
    """
    prediction = prediction.float()
    scores, labels = prediction[:, 4:, :].max(1)  # best class per anchor, as Ultralytics does
    keep = (scores > conf) & torch.isin(labels, classes)
    image, anchor = keep.nonzero(as_tuple=True)
    xywh = prediction[image, :4, anchor]
    boxes = torch.cat((xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2), 1)
    scores, labels = scores[image, anchor], labels[image, anchor]
    n_classes = prediction.shape[1] - 4
    kept = torchvision.ops.batched_nms(boxes, scores, image * n_classes + labels, iou)  # by score, descending
    kept = kept[torch.sort(image[kept], stable=True).indices]  # group by image, keep score order
    in_order = image[kept]
    rank = torch.arange(len(kept), device=kept.device) - torch.searchsorted(in_order, in_order)
    kept = kept[rank < max_det]
    return image[kept], boxes[kept], scores[kept], labels[kept]


class Detector:
    """A YOLO model that turns batches of BGR frames into actor-class boxes, on one device."""

    def __init__(
        self,
        weights: str | os.PathLike[str] | None = None,
        imgsz: int | None = None,
        device: str = defaults.DEVICE,
        keep_conf: float = defaults.KEEP_CONF,
        iou: float = defaults.NMS_IOU,
        max_det: int = defaults.MAX_DET,
    ) -> None:
        from ultralytics.utils.checks import check_imgsz

        self.weights = resolve_weights(weights)
        requested = select_device(device)
        self.half = requested.type == "cuda"
        self.backend = load_backend(self.weights, requested, self.half)
        self.format = self.backend.format
        # Ultralytics runs exported formats other than TensorRT/ONNX-GPU on the CPU whatever is asked.
        self.device = torch.device(self.backend.device) if self.format == "pt" else torch.device("cpu")
        self.half = self.half and self.format == "pt"
        self.stride = int(self.backend.stride)
        # Exports with a fixed input shape run at that shape, exactly as Ultralytics' predict does.
        self.fixed_shape = self.format != "pt" and not getattr(self.backend, "dynamic", False)
        if self.fixed_shape:
            self.imgsz = tuple(int(v) for v in self.backend.imgsz)
            if imgsz is not None and self.imgsz != (imgsz, imgsz):
                log.warning("%s has a fixed input size %s; --imgsz %s does not apply", self.weights, self.imgsz, imgsz)
        else:
            self.imgsz = tuple(check_imgsz(imgsz or defaults.IMGSZ, stride=self.stride, min_dim=2))
        self.keep_conf, self.iou, self.max_det = keep_conf, iou, max_det
        self.classes = torch.tensor(COCO_CLASSES, device=self.device)

    def describe(self) -> dict:
        """What produced the detections: recorded in the cache beside them."""
        import ultralytics

        return {
            "model": str(self.weights),
            "format": self.format,
            "imgsz": list(self.imgsz),
            "keep_conf": self.keep_conf,
            "iou": self.iou,
            "max_det": self.max_det,
            "ultralytics": ultralytics.__version__,
        }

    def preprocess(self, frames: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """(B, H, W, 3) uint8 BGR -> letterboxed (B, 3, h, w) RGB in [0, 1] on the device."""
        shape = tuple(frames.shape[1:3])
        (new_h, new_w), (top, bottom, left, right) = letterbox_geometry(
            shape, self.imgsz, self.stride, auto=not self.fixed_shape
        )
        x = frames.to(self.device, non_blocking=True).permute(0, 3, 1, 2).flip(1)
        if (new_h, new_w) != shape:
            x = resize_frames(x, (new_h, new_w))
        x = x.half() if self.half else x.float()
        x = F.pad(x, (left, right, top, bottom), value=PAD_VALUE)
        return x.div_(255).contiguous(), shape

    @torch.inference_mode()
    def __call__(self, frames: torch.Tensor) -> Detections:
        """Detect actor classes in a batch of same-sized frames."""
        from ultralytics.utils.ops import scale_boxes

        x, shape = self.preprocess(frames)
        prediction = self.backend(x)
        if isinstance(prediction, (list, tuple)):
            prediction = prediction[0]
        if isinstance(prediction, np.ndarray):
            prediction = torch.from_numpy(prediction)
        prediction = prediction.to(self.device)
        image, boxes, conf, cls = batched_nms(prediction, self.keep_conf, self.iou, self.classes, self.max_det)
        boxes = scale_boxes(x.shape[2:], boxes, shape)
        return Detections(
            image.cpu().numpy(), boxes.cpu().numpy().astype(np.float32),
            conf.cpu().numpy().astype(np.float32), cls.cpu().numpy().astype(np.int64),
        )
