"""An instance's actions over time: its head's probabilities at the key frames of its life, smoothed, cut
into segments. Pure numpy.

Smoothing (``smooth``):

* ``none``: each key frame's most probable pair;
* ``median``: each pair's probability replaced by its median over ``window`` neighbouring key frames,
  then the most probable pair (a one-key blip of another pair is voted down);
* ``viterbi``: the sequence of pairs ``s_1 .. s_K`` that maximises

      sum_k log p_k(s_k) - switch_cost * #{k : s_k != s_(k-1)}

  (a hidden Markov model whose only prior is that an actor keeps doing what it does), found by dynamic
  programming over the K x P lattice.

Segments: each key frame stands for the time from half-way to the previous key to half-way to the next,
the first and last reaching the instance's first and last frame; consecutive keys of one pair form a
segment ``{label, start_s, end_s, confidence}`` (frame n at (n - 1) / fps seconds; the confidence is the
mean probability of that pair over the segment's keys).

Example::

    path = smooth_labels(probs, "viterbi", switch_cost=2.0)     # (K,) pair index per key frame
    segments(path, probs, keys=[5, 13, 21], first=1, last=24, fps=25.0, names=["dog-running", "dog-jumping"])
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from cascade import defaults
from cascade.errors import CascadeError


def smooth_labels(probs: np.ndarray, method: str = defaults.SMOOTH, window: int = defaults.SMOOTH_WINDOW,
                  switch_cost: float = defaults.SWITCH_COST) -> np.ndarray:
    """The pair index of each key frame from its probabilities ``probs`` (K, P) as ``method`` says."""
    probs = np.asarray(probs, float)
    if method not in defaults.SMOOTH_CHOICES:
        raise CascadeError(f"unknown --smooth {method!r}; valid: {', '.join(defaults.SMOOTH_CHOICES)}")
    if not len(probs):
        return np.zeros(0, np.int64)
    if method == "none":
        return probs.argmax(1)
    if method == "median":
        half = window // 2
        padded = np.pad(probs, ((half, half), (0, 0)), mode="edge")
        stacked = np.stack([padded[k : k + len(probs)] for k in range(2 * half + 1)])
        return np.median(stacked, axis=0).argmax(1)
    return viterbi(np.log(np.clip(probs, 1e-9, 1.0)), switch_cost)


def viterbi(log_probs: np.ndarray, switch_cost: float) -> np.ndarray:
    """The best path through (K, P) log-probabilities with ``switch_cost`` per change of state."""
    steps, states = log_probs.shape
    score = log_probs[0].copy()
    back = np.zeros((steps, states), np.int64)
    stay = np.eye(states, dtype=bool)
    for k in range(1, steps):
        moves = score[:, None] - switch_cost * ~stay  # from (rows) -> to (columns)
        back[k] = moves.argmax(0)
        score = moves.max(0) + log_probs[k]
    path = np.zeros(steps, np.int64)
    path[-1] = int(score.argmax())
    for k in range(steps - 1, 0, -1):
        path[k - 1] = back[k, path[k]]
    return path


def segments(path: np.ndarray, probs: np.ndarray, keys: Sequence[int], first: int, last: int, fps: float,
             names: Sequence[str]) -> list[dict]:
    """The segments of a smoothed ``path`` over key frames ``keys`` (increasing) of an instance seen from
    frame ``first`` to ``last`` (see the module docstring); ``names``: the pairs' names by index."""
    keys = np.asarray(keys, float)
    if not len(keys):
        return []
    edges = np.concatenate([[first], (keys[1:] + keys[:-1]) / 2, [last + 1]])  # key k spans [edges[k], edges[k+1])
    out: list[dict] = []
    start = 0
    for k in range(1, len(keys) + 1):
        if k == len(keys) or path[k] != path[start]:
            label = int(path[start])
            out.append({"label": names[label], "start_s": round(float((edges[start] - 1) / fps), 3),
                        "end_s": round(float((edges[k] - 1) / fps), 3),
                        "confidence": round(float(np.mean(np.asarray(probs)[start:k, label])), 4)})
            start = k
    return out


def label_at(instance_segments: list[dict], seconds: float) -> str | None:
    """The label of the segment holding time ``seconds`` (None: outside the instance's life)."""
    for segment in instance_segments:
        if segment["start_s"] <= seconds < segment["end_s"] or seconds == segment["end_s"] == instance_segments[-1]["end_s"]:
            return segment["label"]
    return None
