import pytest

from cascade import labels
from cascade.errors import CascadeError


def test_43_valid_pairs_in_challenge_order():
    assert len(labels.VALID_PAIRS) == 43
    assert labels.VALID_PAIRS[:8] == (11, 12, 13, 15, 16, 17, 18, 19)
    assert labels.VALID_PAIRS[-7:] == (72, 73, 75, 76, 77, 78, 79)
    assert list(labels.VALID_PAIRS) == sorted(labels.VALID_PAIRS)


def test_groups_partition_the_pairs():
    sizes = {g.name: len(g.pairs) for g in labels.GROUPS}
    assert sizes == {"person": 13, "ball": 4, "bird": 7, "car": 5, "cat": 7, "dog": 7}
    assert sorted(p for g in labels.GROUPS for p in g.pairs) == list(labels.VALID_PAIRS)
    assert {g.name: g.coco_class for g in labels.GROUPS} == {
        "person": 0, "ball": 32, "bird": 14, "car": 2, "cat": 15, "dog": 16}


def test_names_and_ids_round_trip():
    for pair in labels.VALID_PAIRS:
        assert labels.parse_pair(labels.pair_name(pair)) == pair
        assert labels.parse_pair(str(pair)) == pair
    assert labels.pair_id("dog", "running") == 77
    assert labels.pair_name(18) == "adult-walking"


def test_adult_and_baby_name_the_person_group():
    assert labels.group("adult").name == labels.group("baby").name == "person"
    assert labels.group_of_pair(29).name == "person"
    coco_to_group = dict(zip(labels.COCO_CLASSES, labels.GROUP_NAMES))
    assert coco_to_group[16] == "dog" and 1 not in coco_to_group  # bicycle: not an actor


@pytest.mark.parametrize("call, needle", [
    (lambda: labels.group("horse"), "person, ball, bird, car, cat, dog, adult, baby"),
    (lambda: labels.pair_id("car", "eating"), "11, 12"),  # car-eating is not a valid pair
    (lambda: labels.actor_id("robot"), "adult, baby, ball"),
    (lambda: labels.parse_pair("dogrunning"), "dog-running"),
])
def test_unknown_names_list_the_valid_ones(call, needle):
    with pytest.raises(CascadeError, match=needle):
        call()
