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
    (lambda: labels.pair_id("car", "eating"), "valid for car: car-flying, car-jumping"),  # not a valid pair
    (lambda: labels.actor_id("robot"), "adult, baby, ball"),
    (lambda: labels.parse_pair("dogrunning"), "dog-running"),
])
def test_unknown_names_list_the_valid_ones(call, needle):
    with pytest.raises(CascadeError, match=needle):
        call()


ALL_PAIRS = ("11, 12, 13, 15, 16, 17, 18, 19, 21, 22, 26, 28, 29, 34, 35, 36, 39, 41, 43, 44, 45, 46, 48, 49, "
             "54, 55, 56, 57, 59, 61, 63, 65, 66, 67, 68, 69, 72, 73, 75, 76, 77, 78, 79")


@pytest.mark.parametrize("call, message", [
    (lambda: labels.actor_id("robot"), "unknown actor 'robot'; valid: adult, baby, ball, bird, car, cat, dog"),
    (lambda: labels.action_id("sleeping"), "unknown action 'sleeping'; valid: climbing, crawling, eating, flying, "
                                           "jumping, rolling, running, walking, none"),
    (lambda: labels.check_pair(74), f"unknown actor-action id 74; valid: {ALL_PAIRS}"),  # dog-flying
    # a label written by name is answered by name, with the pairs its actor has
    (lambda: labels.parse_pair("dog-flying"), "'dog-flying' is not an A2D actor-action pair; valid for dog: "
                                              "dog-crawling, dog-eating, dog-jumping, dog-rolling, dog-running, "
                                              "dog-walking, dog-none"),
    (lambda: labels.group("horse"), "unknown actor 'horse'; valid: person, ball, bird, car, cat, dog, adult, baby"),
    (lambda: labels.group_of_actor("person"), "unknown actor 'person'; valid: adult, baby, ball, bird, car, cat, dog"),
    # the first '-' splits actor from action, so the rest is named as the unknown action
    (lambda: labels.parse_pair("dog-running-fast"), "unknown action 'running-fast'; valid: climbing, crawling, "
                                                    "eating, flying, jumping, rolling, running, walking, none"),
])
def test_error_messages_name_the_value_and_every_valid_one(call, message):
    with pytest.raises(CascadeError) as caught:
        call()
    assert str(caught.value) == message


def test_every_pair_belongs_to_the_group_of_its_actor():
    for g in labels.GROUPS:
        for pair in g.pairs:
            assert labels.group_of_pair(pair) is g
    assert labels.groups_of_pairs([18, 29, 77, 41]) == {"person", "dog", "bird"}
    assert labels.group_of_actor("baby").name == "person" and labels.group("car").coco_name == "car"


def test_labels_are_read_with_spaces_and_as_numbers():
    assert labels.parse_pair(" 77 ") == 77 and labels.parse_pair(" bird-flying\n") == 44
    assert labels.check_pair(77.0) == 77 and type(labels.check_pair(77.0)) is int
