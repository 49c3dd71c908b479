"""Stage 3's cache: per-actor evidence computed once, so that action heads train in seconds.

The expensive pass (decoding, a pretrained backbone, a pose model) runs once per video into
``RUN/features/``, as detection runs once into the detections cache; every head trained on it, and
every cross-validation of those heads, only reads it.

- :mod:`~cascade.features.settings`: what makes the features (one frozen object, recorded in the cache);
- :mod:`~cascade.features.embeddings`: pooled backbone embeddings of whole frames and actor boxes;
- :mod:`~cascade.features.pose`: 17 keypoints per person box from an Ultralytics pose model;
- :mod:`~cascade.features.motion`: boxes linked across sampled frames, their speed and change of shape;
- :mod:`~cascade.features.cache`: the Parquet parts under ``RUN/features/``, resumable, settings checked;
- :mod:`~cascade.features.local`: computing what the cache lacks in this process (or one Ray worker);
- :mod:`~cascade.features.ray_runner`: shards of videos on a Ray cluster;
- :mod:`~cascade.features.runner`: what to compute, and which runner does it.
"""
