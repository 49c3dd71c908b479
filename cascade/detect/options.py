"""The detector's options: one set of names for the library's keyword arguments and the CLI's flags.

Every command that may have to detect first (``detect``, ``tune-thresholds``, ``predict``,
``evaluate``) takes exactly these: the CLI builds one object from its flags by name, once, so a flag
can not be left out of one command or ignored by another, and the library passes that object on as
it is (to Ray workers too). Defaults live in :mod:`cascade.defaults`.

Example::

    options = DetectOptions(weights="yolo11n.pt", stride=5)
    detect_videos(videos, "runs", options)
"""

from __future__ import annotations

from dataclasses import dataclass

from cascade import defaults
from cascade.errors import CascadeError
from cascade.ray_pool import RayOptions


@dataclass(frozen=True)
class DetectOptions:
    """How to run the detector; ``None`` means "choose for the device" (batch, workers, image size)."""

    weights: str | None = None
    imgsz: int | None = None
    stride: int = defaults.STRIDE
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

    @property
    def ray_options(self) -> RayOptions | None:
        """The Ray flags as the pool takes them (features run on Ray with the same flags); None without --ray."""
        if self.ray is None:
            return None
        return RayOptions(self.ray, self.ray_cpus_per_worker, self.ray_gpus_per_worker, self.device)

    def batch_for(self, device_type: str) -> int:
        """Frames per forward pass: the given batch, else the default for the device type."""
        return self.batch or defaults.DETECT_BATCH["cuda" if device_type == "cuda" else "cpu"]
