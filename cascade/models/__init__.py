"""Models: the COCO detector that scores actors, and the ResNet-34 action heads."""
