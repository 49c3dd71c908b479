import numpy as np
import pytest

from cascade.cli.main import main
from cascade.data import A2DRelease, CSVDataset, open_dataset
from cascade.data.frames import CorruptVideoError, decodable_frames, evenly_spaced, iter_frames, read_frames
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


def test_decodable_frames_are_picked_among_the_frames_that_decode_not_by_the_declared_count():
    for clip, decodes, declares in (("tree.avi", 68, 444), ("carphone_pristine.mp4", 120, 120)):
        every = dict(iter_frames(CLIPS / clip, check_complete=False))
        picked, decoded, declared = decodable_frames(CLIPS / clip, lambda total: evenly_spaced(6, total))
        assert (len(every), decoded, declared) == (decodes, decodes, declares)
        assert sorted(picked) == evenly_spaced(6, decodes)  # over 444, frames past 68 would be asked for
        assert all(np.array_equal(frame, every[number]) for number, frame in picked.items())


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


@pytest.mark.parametrize("text, message", [
    ("video,frame,labels\nclip.mp4,x,dog-running\n",
     "{csv}:2: frame must be a whole number from 1 (the first frame), found 'x'"),
    ("video,frame,labels\n,1,dog-running\n", "{csv}:2: empty video path"),
    ("video,frame,labels,boxes\nclip.mp4,1,dog-running;cat-none,1 2 3 4\n",
     "{csv}:2: boxes must give 4 numbers 'x1 y1 x2 y2' for each label, separated by ';', found '1 2 3 4'"),
    ("video,frame,labels\nclip.mp4,0,dog-running\n",
     "{csv}:2: frame must be a whole number from 1 (the first frame), found '0'"),
    ("video,frame,labels,boxes\nclip.mp4,1,dog-running;cat-none,1 2 3 4;a b c d\n",  # was a ValueError, a 'bug'
     "{csv}:2: boxes must give 4 numbers 'x1 y1 x2 y2' for each label, separated by ';', found '1 2 3 4;a b c d'"),
    ("video,frame,labels\na.mp4,1,dog-running\nb.mp4,1,dog-running,extra\n",
     "{csv}:3: 4 fields, but the header names 3; put double quotes around a field that holds a comma"),
    ("", "{csv}: empty; its first line names the columns: video,frame,labels (video,labels for whole clips)"),
    ("video,frame,labels\n", "{csv}: nothing labelled; it needs a row for each labelled frame or clip"),
    ("video,frame,labels\nd\xe9j\xe0.mp4,1,dog-running\n".encode("latin-1"), "{csv}: not UTF-8 text; save it as UTF-8"),
])
def test_a_bad_labels_csv_is_one_line_naming_file_row_cause_and_fix(tmp_path, text, message):
    csv = tmp_path / "labels.csv"
    csv.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(CascadeError) as caught:
        open_dataset(csv).labelled_frames("all")
    assert str(caught.value) == message.format(csv=csv)


def test_an_empty_split_names_the_splits_that_hold_labels_and_data_that_is_no_csv(tmp_path, capsys):
    csv = tmp_path / "labels.csv"
    csv.write_text("video,frame,labels,split\nclip.mp4,1,dog-running,train\n")
    with pytest.raises(CascadeError) as caught:
        open_dataset(csv).labelled_frames("test")
    assert str(caught.value) == (f"{csv}: nothing labelled in split 'test', only in train; pass --split all (or "
                                 "train), or put some videos in split test")
    video = CLIPS / "Elhison__dog0.mp4"  # the video itself, not the labels that list it
    assert main(["tune-thresholds", "--data", str(video), "--run-dir", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err == (f"cascade tune-thresholds: error: {video}: --data takes a labels CSV (a .csv "
                                       "file) or an A2D release folder, not this file\n")


def test_cli_sample_release_refuses_to_overwrite(tmp_path, capsys):
    root = tmp_path / "sample"
    assert main(["sample-release", str(root), "--clips", str(CLIPS), "--frames-per-video", "6"]) == 0
    assert len(A2DRelease(root).labelled_frames()) == 3 * len(SAMPLE_VIDEOS)
    before = (root / "videoset.csv").read_bytes()
    assert main(["sample-release", str(root), "--clips", str(CLIPS)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already holds a release" in err
    assert main(["sample-release", str(root), "--clips", str(CLIPS), "--overwrite", "--frames-per-video", "2"]) == 2
    assert capsys.readouterr().err == "cascade sample-release: error: --frames-per-video must be at least 3, got 2\n"
    assert (root / "videoset.csv").read_bytes() == before


def test_cli_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("detect", "tune-thresholds", "train-head", "predict", "evaluate"):
        assert command in out
