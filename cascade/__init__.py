"""cascade: which actors do which actions in a video.

A modular cascade for the A2D actor-action task: a COCO detector scores each actor group per
video, tuned thresholds decide which groups are present, and one ResNet-34 head per group names
the action. Each stage is a module that can be used, tuned and retrained on its own.
"""

__version__ = "0.1.0"
