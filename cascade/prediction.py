"""What the cascade says: results objects that the pipeline makes and pictures, JSON and tables read.

:class:`Prediction` is one video's answer (``summary()`` for people, ``to_json()`` for machines);
:class:`ActorScores` is the actor stage's view of some videos. They live below both the pipeline
that makes them and :mod:`cascade.annotate` that draws them, so neither imports the other
(as Ultralytics' ``Results`` is drawn by code that imports it).

Example::

    result = Prediction("clip.mp4", labels=[{"label": "dog-running", "pair": 77, "actor": "dog", "confidence": 0.8}])
    print(result.summary())          # clip.mp4: dog-running 0.80
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass
class Prediction:
    """What the cascade says about one video (see :meth:`to_json` for the fields)."""

    video: str
    actors: list[dict] = field(default_factory=list)  # present groups: {"actor", "score", "threshold"}
    labels: list[dict] = field(default_factory=list)  # {"label", "pair", "actor", "confidence"}
    untrained: dict[str, str] = field(default_factory=dict)  # present group -> command that trains its head
    frames: list[int] = field(default_factory=list)  # the frames the heads looked at
    scores: dict[str, float] = field(default_factory=dict)  # every group's score
    error: str | None = None  # why the video could not be read
    files: dict[str, str] = field(default_factory=dict)  # pictures written with save=
    instances: list[dict] = field(default_factory=list)  # each actor instance and its actions over time

    def summary(self) -> str:
        if self.error:
            return f"{self.video}: error: {self.error}"
        found = [f"{l['label']} {l['confidence']:.2f}" for l in self.labels]
        found += [f"{g} {self._actor(g)['score']:.2f} (no head: {cmd})" for g, cmd in self.untrained.items()]
        if not found:
            best = max(self.scores, key=self.scores.get)
            found = [f"no actor found (highest score: {best} {self.scores[best]:.2f})"]
        return f"{self.video}: {', '.join(found)}"

    def _actor(self, group: str) -> dict:
        return next(a for a in self.actors if a["actor"] == group)

    def to_json(self) -> dict:
        """``video``, ``actors`` (present groups with score and threshold), ``labels`` (pairs with
        confidence), ``untrained`` (group -> command), ``frames``, ``scores`` (all groups), ``error``
        (null when the video was read), ``files`` (pictures written, when asked) and ``instances`` (each actor
        instance a group with a feature head follows: actor, track, start_s, end_s, its ``actions`` as
        segments ``{label, start_s, end_s, confidence}`` and its ``boxes`` at the sampled frames;
        :mod:`cascade.instances.actions`)."""
        return dict(self.__dict__)


@dataclass
class ActorScores:
    """The actor stage's view of some videos: their group scores, the detections those were counted
    from (crop heads take their boxes from them), and the videos that could not be decoded."""

    scores: pd.DataFrame  # video x group
    detections: pd.DataFrame
    failed: dict[str, str] = field(default_factory=dict)
