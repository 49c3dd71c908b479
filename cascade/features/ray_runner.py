"""The Ray runner for features: each worker loads the backbone and pose model once and commits straight
into the features cache.

The pool (:mod:`cascade.ray_pool`, the one detection uses: ``--ray local|auto|ray://host:port``,
shards, retries of a killed worker, nodes checked for shared paths and for the same weights) deals
the videos whose features the cache lacks; each worker runs the single-process runner
(:func:`cascade.features.local.compute_locally`) on its shard, reading the shard's detections from
the run's cache and committing each finished video as its own part into ``RUN/features/``. Features
run on CPUs (a 128 px backbone and a pose model once per frame that holds a person): one worker per
``--ray-cpus-per-worker`` CPUs (default 1), none of them holding a GPU.

Example::

    compute_features(videos, "runs", FeatureSettings(), ray=RayOptions("local"))
    # cascade features --data A2D --run-dir /shared/runs --ray auto
"""

from __future__ import annotations

from cascade.errors import CascadeError
from cascade.features.local import compute_locally, embedder_for
from cascade.features.settings import FeatureSettings
from cascade.ray_pool import PoolReport, PoolWorker, RayOptions, run_pool


class FeatureWorker(PoolWorker):
    """A Ray actor: one backbone and one pose model, loaded once, computing shard after shard. ``device``
    (the pool's "cpu" here: it holds no GPU) is not read: features are computed on the CPU, as in one process."""

    def __init__(self, settings: FeatureSettings, device: str) -> None:
        self.features = settings
        self.embedder = embedder_for(settings)

    def settings(self) -> dict:
        return self.features.describe(self.embedder.init, self.embedder.weights_file)

    def run_shard(self, run_dir: str, videos: list[tuple[str, str]]) -> dict:
        """Features of the shard's videos the cache lacks, each committed as it finishes (a retry skips what
        the killed attempt committed)."""
        report = compute_locally(dict(videos), run_dir, self.features, commit_every=0, progress=False)
        return {"frames": report.frames, "failed": report.failed}


def features_on_ray(todo: list[tuple[str, str]], run_dir: str, settings: FeatureSettings, described: dict,
                    options: RayOptions, progress: bool) -> PoolReport:
    """Compute ``todo`` (video, path) pairs' features on Ray into ``run_dir``'s cache; the workers' settings
    must be ``described`` (this machine's: the cache was checked against them)."""

    def same_as_here(found: dict) -> None:
        differ = sorted(k for k in described if described.get(k) != found.get(k))
        if differ:
            there = ", ".join(f"{k}={found.get(k)}" for k in differ)
            here = ", ".join(f"{k}={described.get(k)}" for k in differ)
            raise CascadeError(f"--ray: the workers would compute features with {there}, this machine with {here}; "
                               "give every node the same weights at the same path")

    return run_pool(FeatureWorker, (settings,), todo, run_dir, options, check=same_as_here, gpus=False,
                    desc="features", progress=progress)
