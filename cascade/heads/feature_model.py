"""The feature head's model: a window's statistics, standardised, then a linear layer or a small MLP.

The window of per-frame feature vectors (:mod:`cascade.heads.feature_inputs`) is pooled into its mean
and maximum over the frames, standardised by the training samples' mean and spread (kept in the model),
and mapped to one output per pair of the group, by:

* ``linear``: multinomial logistic regression, full-batch L-BFGS on the mean cross-entropy plus
  ``l2 * ||W||^2`` (a few hundred clips cannot feed more parameters than that; :mod:`cascade.heads.feature_training`
  chooses ``l2`` by an inner cross-validation by source);
* ``mlp``: one hidden layer of ``hidden`` units with dropout, AdamW for a fixed number of full-batch
  steps, the best step on validation windows kept when there are any.

Targets are distributions over the group's pairs: a clip labelled ``adult-running;adult-jumping``
teaches both pairs, half each, in one sample (cross-entropy with soft targets), rather than one of
them by chance.

Example::

    model = FeatureHead(inputs=2055, outputs=13, hidden=0)          # linear
    fit_linear(model, windows, targets, l2=1e-2)                   # (N, W, 2055), (N, 13) rows summing to 1
    probs = model(windows).softmax(1)
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from cascade import defaults


class FeatureHead(nn.Module):
    """Window statistics (mean, maximum over frames), standardised -> a linear layer (``hidden`` 0) or a
    hidden layer -> pairs.

    Training sees each window only through :meth:`inputs`, fixed for all steps, so it computes them once
    and steps :meth:`classify` alone."""

    def __init__(self, inputs: int, outputs: int, hidden: int = defaults.FEATURE_HIDDEN) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(2 * inputs))
        self.register_buffer("std", torch.ones(2 * inputs))
        if hidden:
            self.mlp = nn.Sequential(nn.Linear(2 * inputs, hidden), nn.ReLU(), nn.Dropout(0.3), nn.Linear(hidden, outputs))
        else:
            self.mlp = nn.Sequential(nn.Linear(2 * inputs, outputs))

    @staticmethod
    def pool(x: torch.Tensor) -> torch.Tensor:
        """Windows (N, W, F) -> their statistics (N, 2F)."""
        return torch.cat([x.mean(1), x.amax(1)], dim=1)

    def standardise_on(self, x: torch.Tensor) -> None:
        """Take the standardisation from the training windows' statistics."""
        pooled = self.pool(x)
        self.mean.copy_(pooled.mean(0))
        self.std.copy_(pooled.std(0, correction=0).clamp_min(1e-3))

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        return (self.pool(x) - self.mean) / self.std

    def classify(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.mlp(inputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.inputs(x))


def build_feature_head(meta: dict, outputs: int) -> nn.Module:
    """An untrained feature head shaped as a checkpoint's ``meta`` says (to load its weights into)."""
    return FeatureHead(int(meta["inputs"]), outputs, int(meta["hidden"]))


def one_thread(fit: Callable) -> Callable:
    """Run ``fit`` on one torch thread: on a model this small, a second thread costs more in waiting than
    it computes (3.6x slower with two threads on a busy 2-core machine)."""

    def wrapped(*args, **kwargs):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fit(*args, **kwargs)
        finally:
            torch.set_num_threads(threads)

    wrapped.__doc__, wrapped.__name__ = fit.__doc__, fit.__name__
    return wrapped


@one_thread
def fit_linear(model: FeatureHead, x: torch.Tensor, y: torch.Tensor, l2: float, max_iter: int = 200) -> float:
    """Fit a linear ``model`` to windows ``x`` (N, W, F) and target distributions ``y`` (N, P) by full-batch
    L-BFGS on the mean cross-entropy + ``l2`` * squared weights (the bias is free), from zeros; returns the
    final loss. Convex: the same data give the same weights whatever the start. A history of 10 steps
    reaches the same loss as torch's default 100 at a third of the time (the history's Python loop is
    most of the cost on a problem this small)."""
    model.standardise_on(x)
    inputs = model.inputs(x).detach()
    layer = model.mlp[-1]
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
    optimiser = torch.optim.LBFGS(layer.parameters(), lr=1.0, max_iter=max_iter, history_size=10,
                                  tolerance_grad=1e-6, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(layer(inputs), y) + l2 * layer.weight.square().sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    with torch.no_grad():  # LBFGS.step returns the loss it started from
        return float(nn.functional.cross_entropy(layer(inputs), y) + l2 * layer.weight.square().sum())


@one_thread
def fit_mlp(model: FeatureHead, x: torch.Tensor, y: torch.Tensor, val_x: torch.Tensor | None, val_score,
            steps: int, lr: float, seed: int) -> tuple[int, list[dict]]:
    """Full-batch AdamW for ``steps`` steps on target distributions ``y`` (N, P); every tenth step scored on
    validation windows by ``val_score`` (probabilities -> F1), the best step's weights kept. Returns the step
    kept and the scored steps."""
    torch.manual_seed(seed)
    model.standardise_on(x)
    x = model.inputs(x)  # once: the inputs are fixed, only what reads them learns
    val_x = None if val_x is None else model.inputs(val_x)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=defaults.FEATURE_WEIGHT_DECAY)
    history, best, best_state, best_step = [], -1.0, None, steps
    for step in range(1, steps + 1):
        model.train()
        loss = nn.functional.cross_entropy(model.classify(x), y)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if val_x is not None and (step % 10 == 0 or step == steps):
            model.eval()
            with torch.inference_mode():
                f1 = val_score(model.classify(val_x).softmax(1))
            history.append({"step": step, "loss": float(loss.detach()), "val_f1": f1})
            if f1 > best:
                best, best_step = f1, step
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if best_state is not None:
        model.load_state_dict(best_state)
    elif not history:
        history.append({"step": steps, "loss": float(loss.detach())})
    return best_step, history
