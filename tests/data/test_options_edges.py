"""Edges of selection and options that a mutation run showed untested (tests/mutation/equivalent.md)."""

from __future__ import annotations

import random

import pytest

from tacos_temporal.data.events import annotations_from_mapping
from tacos_temporal.data.options import ConfusionIndex, choose_distractors
from tacos_temporal.data.selection import select_answer, select_items
from tacos_temporal.errors import BuildError, ConfigError

POOL = ["Dog", "Cat", "Bird", "Fish", "Cow", "Horse", "Sheep", "Goat", "Frog", "Owl", "Bee", "Duck"]


def _clip(*labels):
    return annotations_from_mapping({"1.mp3": {label: [(float(i), float(i) + 1.5)] for i, label in enumerate(labels)}}).clips["1.mp3"]


def test_choose_distractors_builds_its_own_confusion_index_when_none_is_given():
    distractors = choose_distractors(_clip("Dog", "Cat"), "Dog", POOL, random.Random(0))
    assert len(distractors) == 3 and distractors[0] == "Cat"


@pytest.mark.parametrize("seed", range(40))
def test_every_absent_distractor_avoids_the_clip_labels_not_only_the_first(seed):
    # two absent distractors are drawn: the second must still avoid the clip's own labels
    chosen = choose_distractors(_clip("Dog", "Cat"), "Dog", POOL, random.Random(seed), ConfusionIndex(POOL))
    assert chosen[0] == "Cat" and len(set(chosen)) == 3 and not {"Dog", "Cat"} & set(chosen[1:])


def test_a_label_without_words_is_confusable_with_no_worded_label():
    index = ConfusionIndex(["!!", "Dog", "Dog barking"])
    assert index["Dog"] == {"Dog", "Dog barking"} and index["!!"] == {"!!"}


def test_an_unknown_task_is_named_as_a_task():
    with pytest.raises(ConfigError, match="Unknown task 'onset'"):
        select_answer(_clip("Dog", "Cat"), "onset")


def test_colliding_item_ids_are_named_and_only_they():
    events = annotations_from_mapping({
        "1.mp3": {"Dog": [(0.0, 2.0)], "Car": [(3.0, 4.0)]},
        "1.wav": {"Dog": [(0.0, 2.0)], "Car": [(3.0, 4.0)]},
        "2.mp3": {"Dog": [(0.0, 2.0)], "Car": [(3.0, 4.0)]},
    })
    with pytest.raises(BuildError) as err:
        select_items(events, tasks=["earliest_onset"], label_pool=POOL)
    assert str(err.value) == (
        "clip file names collide on item ids EO-1: ids use the file stem, so "
        "'1.mp3' and '1.wav' cannot both be clips; rename one of them"
    )
