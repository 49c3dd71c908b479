import numpy as np
import pytest

from cascade.cli.main import main
from cascade.data import A2DRelease, CSVDataset, open_dataset
from cascade.data.frames import CorruptVideoError, iter_frames, read_frames
from cascade.data.sample import SAMPLE_VIDEOS
from cascade.errors import CascadeError
from conftest import CLIPS, FRAMES_PER_VIDEO


def test_sample_release_has_the_a2d_layout(sample_release):
    release = A2DRelease(sample_release)
    assert len(release.videos) == len(SAMPLE_VIDEOS)
    assert set(release.videos.split) == {"train", "test"}
    for spec in SAMPLE_VIDEOS:
        clip = sample_release / "clips320H" / f"{spec.video}.mp4"
        assert sum(1 for _ in iter_frames(clip)) == FRAMES_PER_VIDEO
        _, first = next(iter_frames(clip))
        assert first.shape[0] == 320
        mats = sorted((sample_release / "Annotations" / "mat" / spec.video).glob("*.mat"))
        assert len(mats) == 3 and all(m.stem.isdigit() and len(m.stem) == 5 for m in mats)


def test_release_and_csv_readers_agree(sample_release):
    a2d = open_dataset(sample_release).labelled_frames()
    csv = open_dataset(sample_release / "labels.csv").labelled_frames()
    assert isinstance(open_dataset(sample_release / "labels.csv"), CSVDataset)
    key = ["video", "frame"]
    a2d, csv = a2d.sort_values(key).reset_index(drop=True), csv.sort_values(key).reset_index(drop=True)
    assert a2d[key + ["pairs", "split"]].equals(csv[key + ["pairs", "split"]])
    assert all(np.array_equal(a, b) for a, b in zip(a2d.boxes, csv.boxes))
    soccer = a2d[a2d.video == "soccer_a"].iloc[0]
    assert soccer.pairs == (17, 36)


def test_labelled_videos_hold_their_groups(sample_release):
    videos = open_dataset(sample_release).labelled_videos("test").set_index("video")
    assert videos.loc["cat_c", "groups"] == {"cat"}
    assert videos.loc["walk_b", "groups"] == {"person"}
    train = open_dataset(sample_release).labelled_videos("train").set_index("video")
    assert train.loc["soccer_a", "groups"] == {"person", "ball"}


def test_frames_are_numbered_from_one(sample_release):
    clip = sample_release / "clips320H" / "dog_a.mp4"
    all_frames = dict(iter_frames(clip))
    picked = read_frames(clip, [1, 7])
    assert np.array_equal(picked[1], all_frames[1]) and np.array_equal(picked[7], all_frames[7])
    with pytest.raises(CascadeError, match=f"frame 99 asked for, but the video has only {FRAMES_PER_VIDEO}"):
        read_frames(clip, [99])


def test_truncated_and_empty_videos_are_reported(tmp_path):
    with pytest.raises(CorruptVideoError, match="tree.avi: truncated, only 68 of 444"):
        list(iter_frames(CLIPS / "tree.avi"))
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(CorruptVideoError, match="empty.mp4"):
        list(iter_frames(empty))
    with pytest.raises(CascadeError, match="missing.mp4: video not found"):
        list(iter_frames(tmp_path / "missing.mp4"))


def test_missing_root_and_annotations(tmp_path, sample_release):
    with pytest.raises(CascadeError, match="release root not found"):
        A2DRelease(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "videoset.csv").write_text((sample_release / "videoset.csv").read_text())
    with pytest.raises(CascadeError, match="no annotation files for video cat_a"):
        A2DRelease(broken).labelled_frames()


def test_user_csv_errors(tmp_path):
    bad = tmp_path / "labels.csv"
    bad.write_text("video,frame,labels\nclip.mp4,3,dog-flying\n")
    with pytest.raises(CascadeError, match="labels.csv:2: 'dog-flying' is not an A2D actor-action pair; valid "
                                           "for dog: dog-crawling, "):
        open_dataset(bad)
    bad.write_text("video,frame\nclip.mp4,3\n")
    with pytest.raises(CascadeError, match="missing column"):
        open_dataset(bad)


def test_cli_sample_release_refuses_to_overwrite(tmp_path, capsys):
    root = tmp_path / "sample"
    assert main(["sample-release", str(root), "--clips", str(CLIPS), "--frames-per-video", "6"]) == 0
    assert len(A2DRelease(root).labelled_frames()) == 3 * len(SAMPLE_VIDEOS)
    before = (root / "videoset.csv").read_bytes()
    assert main(["sample-release", str(root), "--clips", str(CLIPS)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already holds a release" in err
    assert (root / "videoset.csv").read_bytes() == before


def test_cli_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("detect", "tune-thresholds", "train-head", "predict", "evaluate"):
        assert command in out
