import pytest

from cascade.data.splits import validation_videos
from cascade.data.videoset import read_videoset
from cascade.errors import CascadeError
from cascade.labels import group_of_pair
from conftest import VIDEOSET


def test_real_videoset_counts():
    videos = read_videoset(VIDEOSET)
    assert len(videos) == 3782
    assert (videos.split == "train").sum() == 3036
    assert (videos.split == "test").sum() == 746
    assert videos.frames.sum() == 513214
    assert videos.iloc[0].video == "--h5fAKYurM" and videos.iloc[0].label == 43
    assert set(videos.height) == {320}


def test_validation_split_is_seeded_and_each_actor_gives_about_its_share():
    videos = read_videoset(VIDEOSET)
    train = videos[videos.split == "train"].assign(groups=lambda t: t.label.map(lambda p: frozenset({group_of_pair(p).name})))
    held = validation_videos(train, 0.1, seed=0)
    assert held == validation_videos(train, 0.1, seed=0)
    assert held != validation_videos(train, 0.1, seed=1)
    assert held <= set(train.video) and validation_videos(train, 0.0, seed=0) == set()
    assert abs(len(held) - 0.1 * len(train)) < 50
    share = train[train.video.isin(held)].groups.value_counts() / train.groups.value_counts()
    assert share.dropna().between(0.05, 0.15).all()  # every group gives about its share


@pytest.mark.parametrize("row, needle", [
    ("abc,11,00:00:00,00:00:01,320,568,10,3", "expected 9 columns"),
    ("abc,11,00:00:00,00:00:01,320,wide,10,3,0", "height, width, frames, annotated and split must be integers"),
    ("abc,11,00:00:00,00:00:01,320,568,10,3,7", "split must be 0"),
    ("abc,xx,00:00:00,00:00:01,320,568,10,3,0", "label must be"),
])
def test_malformed_rows_name_file_and_line(tmp_path, row, needle):
    path = tmp_path / "videoset.csv"
    path.write_text("ok1,11,00:00:00,00:00:01,320,568,10,3,0\n" + row + "\n")
    with pytest.raises(CascadeError, match=f"videoset.csv:2: {needle}"):
        read_videoset(path)


def test_missing_videoset(tmp_path):
    with pytest.raises(CascadeError, match="videoset.csv not found"):
        read_videoset(tmp_path / "videoset.csv")
