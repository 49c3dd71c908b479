"""Reading labelled videos: the A2D release, a user's CSV, and video frames."""

from cascade.data.release import A2DRelease, CSVDataset, Dataset, open_dataset

__all__ = ["A2DRelease", "CSVDataset", "Dataset", "open_dataset"]
