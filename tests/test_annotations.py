import h5py
import numpy as np
import pytest

from cascade.data.annotations import read_annotation, write_annotation
from cascade.errors import CascadeError


def test_single_instance_round_trip_in_matlab_layout(tmp_path):
    path = tmp_path / "00001.mat"
    write_annotation(path, [77], [[10, 20, 110, 220]], height=320, width=568)
    ann = read_annotation(path)
    assert ann.pairs.tolist() == [77]
    assert ann.boxes.tolist() == [[10, 20, 110, 220]]
    with h5py.File(path) as mat:  # stored transposed, as MATLAB writes: (W, H) mask, 1 x N as (N, 1)
        assert mat["reMask"].shape == (568, 320)
        assert mat["reS_id"].shape == (568, 320)
        assert mat["id"].shape == (1, 1)
        assert mat["reBBox"].shape == (1, 4)
        assert mat["reS_id"][50, 100] == 77 and mat["reS_id"][300, 100] == 0
        chars = mat[mat["class"][0, 0]][()].ravel()
        assert "".join(map(chr, chars)) == "dog"
    assert open(path, "rb").read(19) == b"MATLAB 7.3 MAT-file"


def test_several_instances_of_several_actors(tmp_path):
    path = tmp_path / "00007.mat"
    boxes = [[0, 0, 50, 60], [100, 100, 200, 250], [5, 5, 10, 10]]
    write_annotation(path, [17, 36, 14], boxes, height=240, width=320)  # 14 is not a valid pair
    ann = read_annotation(path)
    assert ann.pairs.tolist() == [17, 36, 14]
    with h5py.File(path) as mat:
        assert mat["reMask"].shape == (3, 320, 240)
    valid = ann.valid
    assert valid.pairs.tolist() == [17, 36]
    assert np.array_equal(valid.boxes, np.array(boxes[:2], float))


def test_annotation_without_expected_fields(tmp_path):
    path = tmp_path / "00001.mat"
    with h5py.File(path, "w") as mat:
        mat["reMask"] = np.zeros((4, 4))
    with pytest.raises(CascadeError, match=r"00001.mat: annotation lacks field\(s\) id, reBBox"):
        read_annotation(path)


def test_not_an_hdf5_file(tmp_path):
    path = tmp_path / "00001.mat"
    path.write_bytes(b"MATLAB 5.0 MAT-file, not v7.3")
    with pytest.raises(CascadeError, match="not a readable MATLAB v7.3"):
        read_annotation(path)


def test_mismatched_ids_and_boxes(tmp_path):
    path = tmp_path / "00002.mat"
    with h5py.File(path, "w") as mat:
        mat["id"] = np.array([[11.0], [12.0]])
        mat["reBBox"] = np.zeros((1, 4))
    with pytest.raises(CascadeError, match="2 ids but 1 boxes"):
        read_annotation(path)
