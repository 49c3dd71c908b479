"""Pretrained networks, below both the features (:mod:`cascade.features`) and the heads (:mod:`cascade.heads`).

- :mod:`~cascade.backbones.preprocess`: a frame or a padded box squashed to a square, normalised;
- :mod:`~cascade.backbones.torchvision_nets`: image backbones by name (ResNet-34, ResNet-18, MobileNetV2)
  and where their first weights come from;
- :mod:`~cascade.backbones.temporal`: their temporal-shift versions, which take clips;
- :mod:`~cascade.backbones.i3d`: DeepMind's Kinetics-400 I3D, a video network;
- :mod:`~cascade.backbones.i3d_weights`: finding, fetching and converting its weights.
"""
