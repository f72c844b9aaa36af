"""The four options: in-clip distractors first, safe absent distractors, balanced letters, evidence.

Clips are small and hand-made: ``Dog`` starts first by 2 s, ends last by 7 s and lasts 9 s longer
than anything else in its clip, so every clip below gives one item per task with answer ``Dog``.
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations

import pytest

from tacos_temporal.data.events import annotations_from_mapping
from tacos_temporal.data.options import confusable, label_words, plan_options
from tacos_temporal.data.selection import select_items
from tacos_temporal.errors import BuildError
from tacos_temporal.names import EARLIEST_ONSET, LETTERS, LONGEST_DURATION, TASKS

DOG = [(0.0, 10.0)]
SHORT = [(2.0, 3.0)]  # any non-answer label: starts 2 s after Dog, ends 7 s before, lasts 1 s
POOL = ("Rain", "Wind", "Bell", "Siren", "Cough", "Laughter", "Applause")


def clip_with(*others):
    return {"Dog": DOG, **{label: SHORT for label in others}}


def eo_item(clips, filename="1.mp3", seed=0, label_pool=POOL):
    pool = tuple(label_pool) + tuple(label for clip in clips.values() for label in clip)
    items = select_items(annotations_from_mapping(clips), seed=seed, tasks=[EARLIEST_ONSET], label_pool=pool)
    return next(item for item in items if item.filename == filename)


def answer_at_letter(item):
    return item.options[LETTERS.index(item.answer)]


# --- shape ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("others", [("Cat",), ("Cat", "Car"), ("Cat", "Car", "Bird"), ("Cat", "Car", "Bird", "Cow", "Eel")])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_four_distinct_options_with_the_answer_label_at_the_answer_letter(others, seed):
    item = eo_item({"1.mp3": clip_with(*others)}, seed=seed)
    assert len(item.options) == 4 == len(set(item.options))
    assert item.answer in LETTERS
    assert answer_at_letter(item) == "Dog" == item.answer_label
    assert item.options.count("Dog") == 1


def test_real_items_have_four_distinct_options_and_one_answer(events_test_csv):
    for item in select_items(events_test_csv, seed=0):
        assert len(set(item.options)) == 4
        assert answer_at_letter(item) == item.answer_label


# --- which distractors ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_a_four_label_clip_uses_all_three_other_labels(seed):
    item = eo_item({"1.mp3": clip_with("Cat", "Car", "Bird")}, seed=seed)
    assert set(item.options) == {"Dog", "Cat", "Car", "Bird"}
    assert all(ev.in_clip for ev in item.events)


def test_a_six_label_clip_draws_three_of_its_five_other_labels():
    others = ("Cat", "Car", "Bird", "Cow", "Eel")
    seen = set()
    for seed in range(30):
        item = eo_item({"1.mp3": clip_with(*others)}, seed=seed)
        distractors = set(item.options) - {"Dog"}
        assert len(distractors) == 3
        assert distractors <= set(others)
        seen |= distractors
    assert seen == set(others)  # drawn, not always the first three


@pytest.mark.parametrize("seed", range(8))
def test_a_two_label_clip_uses_its_other_label_and_two_absent_labels(seed):
    item = eo_item({"1.mp3": clip_with("Cat")}, seed=seed)
    distractors = set(item.options) - {"Dog"}
    assert "Cat" in distractors
    absent = distractors - {"Cat"}
    assert len(absent) == 2 and absent <= set(POOL)
    assert {ev.label for ev in item.events if ev.in_clip} == {"Dog", "Cat"}


@pytest.mark.parametrize("seed", range(8))
def test_a_three_label_clip_uses_both_other_labels_and_one_absent_label(seed):
    item = eo_item({"1.mp3": clip_with("Cat", "Car")}, seed=seed)
    assert {"Cat", "Car"} < set(item.options)
    assert len((set(item.options) - {"Dog", "Cat", "Car"}) & set(POOL)) == 1


def test_absent_distractors_are_drawn_from_the_whole_pool():
    seen = set()
    for seed in range(40):
        item = eo_item({"1.mp3": clip_with("Cat")}, seed=seed)
        seen |= set(item.options) - {"Dog", "Cat"}
    assert seen == set(POOL)


# --- confusable labels ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Ringing", "Bell Ringing"),  # one word inside the other
        ("Bell Ringing", "Bell Ringing Loudly"),
        ("Bell", "Bell Ringing"),
        ("Bell Ringing", "bell_ringing"),  # same words after lower-casing and dropping punctuation
        ("Dog", "Hot Dog"),
        ("River", "Stream_River"),
        ("Sheep_Goat Bleat", "goat bleat"),
    ],
)
def test_labels_are_confusable_when_one_word_sequence_contains_the_other_in_either_direction(a, b):
    assert confusable(a, b)
    assert confusable(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Bell Ringing", "Phone Ringing"),  # a shared word is not enough
        ("Ringing Bell", "Bell Ringing"),  # word order matters
        ("Bell Loud Ringing", "Bell Ringing"),  # the inner sequence must be contiguous
        ("Dog", "Dogs"),  # whole words only
        ("Dog Barking", "Bird Chirp"),
    ],
)
def test_labels_are_not_confusable_otherwise(a, b):
    assert not confusable(a, b)
    assert not confusable(b, a)


def test_label_words_split_on_anything_but_letters_and_digits():
    assert label_words("Sheep_Goat Bleat") == ("sheep", "goat", "bleat")
    assert label_words("Vehicle engine") == ("vehicle", "engine")


def test_absent_distractors_are_never_clip_labels_nor_confusable_with_them():
    clips = {"1.mp3": {"Bell Ringing": DOG, "Dog": SHORT}}
    pool = ("Ringing", "Bell", "Bell Ringing Loudly", "bell_ringing", "Hot Dog", "Dog Barking", "Phone Ringing", "Rain", "Wind")
    allowed = {"Phone Ringing", "Rain", "Wind"}
    seen = set()
    for seed in range(30):
        item = eo_item(clips, seed=seed, label_pool=pool)
        assert item.answer_label == "Bell Ringing"
        absent = [ev.label for ev in item.events if not ev.in_clip]
        assert len(absent) == 2
        assert set(absent) <= allowed
        seen |= set(absent)
    assert seen == allowed


def test_absent_distractors_are_not_confusable_with_each_other():
    clips = {"1.mp3": clip_with("Cat")}
    pool = ("Car", "Car Horn", "Horn", "Rain")  # Car ~ Car Horn ~ Horn, Car and Horn apart
    pairs = set()
    for seed in range(40):
        item = eo_item(clips, seed=seed, label_pool=pool)
        absent = [ev.label for ev in item.events if not ev.in_clip]
        assert len(absent) == 2
        for a, b in combinations(absent, 2):
            assert not confusable(a, b), (seed, a, b)
        pairs.add(frozenset(absent))
    assert frozenset({"Car", "Horn"}) in pairs  # non-confusable labels sharing a neighbour may pair up


def test_a_too_small_label_pool_raises_build_error_naming_clip_and_pool():
    clips = {"7.mp3": clip_with("Cat")}
    with pytest.raises(BuildError, match=r"clip 7\.mp3: only 2 distractor\(s\) for 'Dog'.*label pool.*larger label_pool"):
        select_items(annotations_from_mapping(clips), tasks=[EARLIEST_ONSET], label_pool=("Dog", "Cat", "Rain"))


def test_a_pool_of_only_confusable_labels_is_too_small():
    clips = {"7.mp3": clip_with("Cat")}
    with pytest.raises(BuildError, match="too small"):
        select_items(annotations_from_mapping(clips), tasks=[EARLIEST_ONSET], label_pool=("Hot Dog", "Cat Purr", "Dog Barking"))


# --- answer letters ------------------------------------------------------------------------------


@pytest.mark.parametrize("n", range(1, 10))
def test_answer_letters_are_balanced_within_a_task_for_small_counts(n):
    clips = {f"{i}.mp3": clip_with("Cat", "Car", "Bird") for i in range(n)}
    items = select_items(annotations_from_mapping(clips), label_pool=POOL)
    for task in TASKS:
        letters = Counter(item.answer for item in items if item.task == task)
        assert sum(letters.values()) == n
        counts = [letters[letter] for letter in LETTERS]
        assert max(counts) - min(counts) <= 1, (task, letters)


def test_answer_letters_are_balanced_per_task_when_tasks_have_different_counts():
    clips = {f"{i}.mp3": clip_with("Cat") for i in range(6)}
    # Five more clips qualify for LD only: Dog starts with Cat and ends with it, but lasts 4 s longer.
    clips.update({f"ld{i}.mp3": {"Dog": [(0.0, 5.0)], "Cat": [(0.0, 1.0), (4.0, 5.0)]} for i in range(5)})
    items = select_items(annotations_from_mapping(clips), label_pool=POOL)
    assert Counter(item.task for item in items) == {"earliest_onset": 6, "latest_offset": 6, "longest_duration": 11}
    for task in TASKS:
        counts = Counter(item.answer for item in items if item.task == task)
        assert max(counts[x] for x in LETTERS) - min(counts[x] for x in LETTERS) <= 1


def test_answer_letters_are_balanced_within_each_task_on_the_real_table(events_test_csv):
    items = select_items(events_test_csv, seed=0)
    for task in TASKS:
        counts = Counter(item.answer for item in items if item.task == task)
        assert max(counts[x] for x in LETTERS) - min(counts[x] for x in LETTERS) <= 1, (task, counts)


# --- evidence ------------------------------------------------------------------------------------


def test_each_option_carries_its_timing_in_the_clip_or_none_when_absent():
    clips = {"1.mp3": {"Dog": [(3.0, 4.5), (0.5, 1.0), (6.0, 12.0)], "Cat": [(2.0, 9.0)]}}
    (item,) = select_items(annotations_from_mapping(clips), tasks=[EARLIEST_ONSET], label_pool=POOL)
    assert [ev.letter for ev in item.events] == list(LETTERS)
    assert [ev.label for ev in item.events] == list(item.options)
    by_label = {ev.label: ev for ev in item.events}
    dog, cat = by_label.pop("Dog"), by_label.pop("Cat")
    assert (dog.in_clip, dog.onset_s, dog.offset_s, dog.duration_s) == (True, 0.5, 12.0, 8.0)
    assert dog.intervals == ((0.5, 1.0), (3.0, 4.5), (6.0, 12.0))
    assert (cat.in_clip, cat.onset_s, cat.offset_s, cat.duration_s) == (True, 2.0, 9.0, 7.0)
    assert cat.intervals == ((2.0, 9.0),)
    assert len(by_label) == 2
    for ev in by_label.values():
        assert (ev.in_clip, ev.onset_s, ev.offset_s, ev.duration_s, ev.intervals) == (False, None, None, None, ())
    assert item.margin_s == 1.5
    assert item.clip_labels == 2


# --- per-item randomness -------------------------------------------------------------------------


def test_an_items_options_do_not_change_when_clips_without_items_are_added():
    base = {"1.mp3": clip_with("Cat"), "2.mp3": clip_with("Car", "Bird"), "3.mp3": clip_with("Cow", "Eel", "Ant", "Bee")}
    more = {**base, **{f"solo{i}.mp3": {"Rain": [(0.0, 1.0)]} for i in range(7)}}  # one label: no items
    before = select_items(annotations_from_mapping(base), seed=5, label_pool=POOL)
    after = select_items(annotations_from_mapping(more), seed=5, label_pool=POOL)
    assert after == before


def test_an_items_distractors_do_not_change_when_other_items_are_added():
    base = {"1.mp3": clip_with("Cat"), "2.mp3": clip_with("Car", "Bird"), "3.mp3": clip_with("Cow", "Eel", "Ant", "Bee")}
    more = {**base, **{f"{i}0.mp3": clip_with("Cat", "Cow") for i in range(1, 8)}}
    before = {item.id: item for item in select_items(annotations_from_mapping(base), seed=5, label_pool=POOL)}
    after = {item.id: item for item in select_items(annotations_from_mapping(more), seed=5, label_pool=POOL)}
    assert len(after) == len(before) + 3 * 7
    for item_id, item in before.items():
        # The answer letter follows the task's balanced A-D sequence, so it may move; the distractors
        # and their order come from the item's own generator and stay.
        other = after[item_id]
        assert other.answer_label == item.answer_label
        assert [o for o in other.options if o != other.answer_label] == [o for o in item.options if o != item.answer_label]


def test_plan_options_returns_one_plan_per_request_in_order():
    events = annotations_from_mapping({"1.mp3": clip_with("Cat"), "2.mp3": clip_with("Car", "Bird", "Cow")})
    requests = [
        ("LD-2", LONGEST_DURATION, events.clips["2.mp3"], "Dog"),
        ("EO-1", EARLIEST_ONSET, events.clips["1.mp3"], "Dog"),
    ]
    plans = plan_options(requests, POOL, seed=0)
    assert [plan.item_id for plan in plans] == ["LD-2", "EO-1"]
    assert all(plan.options[LETTERS.index(plan.answer)] == "Dog" for plan in plans)
    assert set(plans[0].options) == {"Dog", "Car", "Bird", "Cow"}
