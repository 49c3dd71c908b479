"""The detector's options: one set of names for the library's keyword arguments and the CLI's flags.

Every command that may have to detect first (``detect``, ``tune-thresholds``, ``predict``,
``evaluate``) takes exactly these: the CLI builds one object from its flags by name, once, so a flag
can not be left out of one command or ignored by another, and the library passes that object on as
it is (to Ray workers too). Defaults live in :mod:`cascade.defaults`.

A setting that decides what the cached rows are (``weights``, ``imgsz``, ``stride``) left at None means
"the run's": :meth:`DetectOptions.resolved` takes it from what the run's detections cache records, else
from the defaults, so a run dir detected with ``--stride 3`` is used by later commands without the flag
(:meth:`~cascade.detect.cache.DetectionCache.resolve` also refuses a given one that contradicts the cache).

Example::

    options = DetectOptions(weights="yolo11n.pt", stride=5)
    detect_videos(videos, "runs", options)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cascade import defaults
from cascade.errors import CascadeError
from cascade.ray_pool import RayOptions


@dataclass(frozen=True)
class DetectOptions:
    """How to run the detector; ``None`` means "the run's" (weights, image size, stride: as the run's
    detections cache records them, else ``$CASCADE_WEIGHTS`` or the default) or "choose for the device"
    (batch, workers, and the image size of a new run)."""

    weights: str | None = None
    imgsz: int | None = None
    stride: int | None = None
    batch: int | None = None
    chunk: int = defaults.DECODE_CHUNK
    prefetch: int = defaults.PREFETCH
    workers: int | None = None
    device: str = defaults.DEVICE
    ray: str | None = None  # local, auto or ray://host:port: detect (and compute features) on Ray (cascade.ray_pool)
    ray_cpus_per_worker: float | None = None
    ray_gpus_per_worker: float | None = None

    def __post_init__(self) -> None:
        for name in ("stride", "batch", "chunk", "prefetch", "imgsz"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise CascadeError(f"--{name} must be at least 1, got {value}")
        if self.workers is not None and self.workers < 0:
            raise CascadeError(f"--workers must be 0 (decode in this process) or more, got {self.workers}")
        for name in ("ray_cpus_per_worker", "ray_gpus_per_worker"):
            value = getattr(self, name)
            if value is not None and (value < 0 or (name == "ray_cpus_per_worker" and value == 0)):
                raise CascadeError(f"--{name.replace('_', '-')} must be positive, got {value}")

    def resolved(self, recorded: dict | None) -> "DetectOptions":
        """These options with the weights, image size and stride left at None taken from a detections cache's
        ``recorded`` settings (None: an empty cache), the stride else the default (the weights stay None:
        ``$CASCADE_WEIGHTS``, else the default model, when the detector loads)."""
        recorded = recorded or {}
        size = recorded.get("imgsz")
        square = size[0] if isinstance(size, list) and len(size) == 2 and size[0] == size[1] else None
        return replace(self, weights=self.weights if self.weights is not None else recorded.get("model"),
                       imgsz=self.imgsz if self.imgsz is not None else square,
                       stride=self.stride if self.stride is not None else recorded.get("stride", defaults.STRIDE))

    @property
    def ray_options(self) -> RayOptions | None:
        """The Ray flags as the pool takes them (features run on Ray with the same flags); None without --ray."""
        if self.ray is None:
            return None
        return RayOptions(self.ray, self.ray_cpus_per_worker, self.ray_gpus_per_worker, self.device)

    def batch_for(self, device_type: str) -> int:
        """Frames per forward pass: the given batch, else the default for the device type."""
        return self.batch or defaults.DETECT_BATCH["cuda" if device_type == "cuda" else "cpu"]
