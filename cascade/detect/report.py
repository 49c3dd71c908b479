"""What a detect run did: counts, speed, the videos it skipped, and the mean actor scores it left."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from cascade.errors import CascadeError


@dataclass
class DetectReport:
    """Counts, speed and skipped videos of one detect run."""

    cache: str
    settings: dict
    videos_done: int = 0
    videos_cached: int = 0
    frames: int = 0
    seconds: float = 0.0
    failed: dict[str, str] = field(default_factory=dict)
    videos: list[str] = field(default_factory=list)  # the videos asked for that are now in the cache
    mean_scores: dict[str, float] = field(default_factory=dict)  # set by `cascade detect`: mean score per group
    scores_conf: float | None = None
    parts_merged: int = 0  # set by `cascade detect --compact`: cache parts merged into one

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        lines = [
            f"detected {self.frames} frames of {self.videos_done} videos in {self.seconds:.1f} s "
            f"({self.fps:.0f} frames/s); {self.videos_cached} videos were already cached",
            f"cache: {self.cache} (model {self.settings.get('model')}, imgsz {self.settings.get('imgsz')}, "
            f"stride {self.settings.get('stride')})",
        ]
        if self.parts_merged:
            lines.append(f"merged the cache's {self.parts_merged} parts into one")
        if self.mean_scores:
            shown = ", ".join(f"{g} {v:.3f}" for g, v in self.mean_scores.items())
            lines.append(f"mean actor scores of these videos at conf {self.scores_conf}: {shown}")
        if self.failed:
            lines.append(f"skipped {len(self.failed)} video(s) that could not be decoded:")
            lines += [f"  {reason}" for reason in self.failed.values()]
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {**self.__dict__, "fps": self.fps}


def none_read(source: str | Path, split: str, failed: Mapping[str, str]) -> CascadeError:
    """The error for labels none of whose videos of ``split`` could be read (``failed``: video -> why):
    it names the first video and why, since the missing detections it leads to are not the cause."""
    first = next(iter(failed.values()), "no video listed")
    return CascadeError(f"{source}: none of the {len(failed)} {split} video(s) it lists could be read; first: {first}")
