"""Edges of the statistics that a mutation run showed untested (tests/mutation/equivalent.md)."""

from __future__ import annotations

import numpy as np
import pytest

from tacos_temporal.data.options import confusable
from tacos_temporal.errors import ScoringError
from tacos_temporal.scoring.metrics import Judged, compare, judge, judged_from_records, mcnemar_exact, score, view_effects

OPTIONS = ["Bird Chirp", "Dog barking", "Vehicle engine", "Stream_River"]


def test_labels_without_letters_or_digits_are_confusable_only_when_equal_ignoring_case():
    assert confusable("!!", " !! ") and confusable("Ω", "ω")
    assert not confusable("!!", "??") and not confusable("!!", "Dog") and not confusable("Dog", "—")


def test_numpy_arrays_are_accepted_as_options_and_predictions():
    rows = [{"id": "1", "task": "earliest_onset", "answer": "B", "prediction": "the dog barking", "options": np.array(OPTIONS)}]
    assert judged_from_records(rows)[0].letter == "B"
    judged = judge(np.array(["B", "the dog barking"]), np.array(["B", "B"]), np.array(["earliest_onset"] * 2), options=np.array([OPTIONS, OPTIONS]))
    assert [j.letter for j in judged] == ["B", "B"]


def test_options_of_the_wrong_size_are_refused_when_text_is_parsed():
    rows = [{"id": "1", "task": "earliest_onset", "answer": "B", "prediction": "B", "options": OPTIONS[:3]}]
    with pytest.raises(ScoringError, match=r"records\[0\]\['options'\] is .*expected a list of 4 strings"):
        judged_from_records(rows)


def test_a_repeated_id_without_views_names_no_view():
    rows = [{"id": "x", "task": "earliest_onset", "answer": "A", "letter": "A", "rule": "saved"}] * 2
    with pytest.raises(ScoringError) as err:
        judged_from_records(rows)
    assert str(err.value).startswith("records[1] is 'x', already used by records[0]: each item")


def test_the_macro_interval_follows_the_confidence():
    judged = judge(["A", "B", "C", "A", "B", "?"], ["A", "B", "A", "A", "C", "C"], ["earliest_onset"] * 3 + ["latest_offset"] * 3)
    wide, narrow = score(judged, confidence=0.99), score(judged, confidence=0.8)
    assert wide["accuracy_macro"] == narrow["accuracy_macro"]
    assert wide["accuracy_macro_ci_low"] < narrow["accuracy_macro_ci_low"] <= narrow["accuracy_macro_ci_high"] < wide["accuracy_macro_ci_high"]


def _view(view, letters, answers="AAAA", tasks=("earliest_onset", "earliest_onset", "latest_offset", "latest_offset")):
    return [Judged(str(i), task, answer, letter, "saved", view) for i, (letter, answer, task) in enumerate(zip(letters, answers, tasks))]


def test_view_effects_per_task_and_with_two_audio_views():
    effects = view_effects({"audio_only": _view("audio_only", "AABB"), "audio_caption": _view("audio_caption", "ABAB")})
    assert effects["accuracy_audio_only_earliest_onset"] == 1.0 and effects["accuracy_audio_only_latest_offset"] == 0.0
    assert effects["accuracy_audio_caption_earliest_onset"] == 0.5
    assert "audio_gain_given_caption" not in effects and "caption_reliance" not in effects


@pytest.mark.parametrize("which", ["caption_only", "audio_caption"])
def test_view_effects_check_every_view_against_the_first(which):
    views = {v: _view(v, "AAAA") for v in ("audio_only", "caption_only", "audio_caption")}
    views[which] = _view(which, "AAAA", answers="AAAB")
    with pytest.raises(ScoringError, match=f"in audio_only but 'B' in {which}"):
        view_effects(views)


# --- error messages name the argument and the fix (asserted whole: a wrong name misleads) ---------


def _j(i, view=None, answer="A"):
    return Judged(str(i), "earliest_onset", answer, "A", "saved", view)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mcnemar_exact(-1, 2),
         "mcnemar_exact needs non-negative integer counts, got b=-1"),
        (lambda: mcnemar_exact(2, 1.5),
         "mcnemar_exact needs non-negative integer counts, got c=1.5"),
        (lambda: compare([], [_j(1)]), "compare() got an empty baseline: there is nothing to compare"),
        (lambda: compare(["x"], [_j(1)]), "baseline[0] is str: expected a Judged (from judge())"),
        (lambda: compare([_j(1)], [_j(1), "x"]), "other[1] is str: expected a Judged (from judge())"),
        (lambda: compare([_j(1), _j(1)], [_j(1)]),
         "baseline[1] repeats id '1': a paired comparison needs each item once (compare one view at a time)"),
        (lambda: compare([_j(1)], [_j(2)]),
         "id '1' is in baseline but not in other (1 ids only in baseline, 1 only in other): "
         "a paired comparison needs the same items in both runs"),
        (lambda: view_effects({}), "view_effects() got no views: pass {view_name: judged_items, ...}"),
        (lambda: view_effects({"audio_only": ["x"]}), "by_view['audio_only'][0] is str: expected a Judged (from judge())"),
        (lambda: view_effects({"audio_only": [_j(1), _j(1)]}),
         "by_view['audio_only'][1] repeats id '1': a paired comparison needs each item once (compare one view at a time)"),
        (lambda: view_effects({"audio_only": [_j(1)], "caption_only": [_j(2)]}),
         "the views audio_only, caption_only share no item id: nothing to compare"),
        (lambda: judge(["A"], ["A"], ["earliest_onset"], options=[["a", "b", "c", 4]]),
         "options[0] is ['a', 'b', 'c', 4]"),
    ],
    ids=lambda value: value[:40] if isinstance(value, str) else "",
)
def test_error_messages(call, message):

    with pytest.raises(ScoringError) as err:
        call()
    assert str(err.value).startswith(message), str(err.value)


def test_an_unknown_view_is_named_as_a_view():
    rows = [{"id": "1", "task": "earliest_onset", "answer": "A", "letter": "A", "rule": "saved", "view": "audio"}]
    with pytest.raises(ScoringError, match=r"records\[0\]\['view'\] is 'audio': Unknown view 'audio'"):
        judged_from_records(rows)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (["x"], "records[0] is list: expected a mapping with id, task, answer, ..."),
        ({"id": "1", "task": "earliest_onset", "answer": "A", "letter": "A"},
         "records[0] has 'letter' but no 'rule': save the parsing rule with the letter, or pass the raw text as 'prediction'"),
        ({"id": "1", "task": "earliest_onset", "answer": "A", "letter": "A", "rule": 5}, "records[0]['rule'] is 5: expected a string"),
    ],
)
def test_record_error_messages(row, message):
    with pytest.raises(ScoringError) as err:
        judged_from_records([row])
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"id": ""}, "Judged.id "),
        ({"letter": "E"}, "Judged.letter "),
        ({"rule": 5}, "Judged.rule is 5: expected a string"),
        ({"view": "audio"}, "Judged.view is 'audio': Unknown view"),
        ({"task": "onset"}, "Judged.task is 'onset': Unknown task"),
    ],
)
def test_a_judged_record_built_by_hand_checks_each_field(fields, message):
    values = {"id": "1", "task": "earliest_onset", "answer": "A", "letter": "A", "rule": "saved", "view": None, **fields}
    with pytest.raises(ScoringError) as err:
        Judged(**values)
    assert str(err.value).startswith(message), str(err.value)


def test_parse_failure_rates_count_failures_per_task_and_per_view():
    judged = [Judged(str(i), "earliest_onset", "A", None if i == 0 else "A", "none" if i == 0 else "saved", view) for i in range(4) for view in ("audio_only", "caption_only")]
    scores = score(judged)  # one failure in the four items of each view
    assert scores["parse_failure_rate_earliest_onset"] == 0.25
    assert scores["parse_failure_rate_audio_only"] == scores["parse_failure_rate_caption_only"] == 0.25


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5, "0.9"])
def test_a_confidence_outside_zero_to_one_is_refused(confidence):
    with pytest.raises(ScoringError, match="confidence"):
        score(judge(["A"], ["A"], ["earliest_onset"]), confidence=confidence)


@pytest.mark.parametrize(
    ("k", "n", "message"),
    [
        (True, 5, "wilson_interval needs integer counts, got k=True, n=5"),
        (1, 2.0, "wilson_interval needs integer counts, got k=1, n=2.0"),
        (3, 2, "wilson_interval needs 0 <= k <= n and n >= 1, got k=3, n=2"),
    ],
)
def test_wilson_interval_refuses_bad_counts(k, n, message):
    from tacos_temporal.scoring.metrics import wilson_interval

    with pytest.raises(ScoringError) as err:
        wilson_interval(k, n)
    assert str(err.value) == message


def test_more_messages():
    with pytest.raises(ScoringError) as err:
        score([])
    assert str(err.value) == "score() got no judged items: there is nothing to score"
    rows = [{"id": "1", "task": "onset", "answer": "A", "letter": "A", "rule": "saved"}]
    with pytest.raises(ScoringError, match=r"records\[0\]\['task'\] is 'onset': Unknown task 'onset'"):
        judged_from_records(rows)
    rows = [{"id": "1", "task": "earliest_onset", "answer": "A", "prediction": "A", "options": ["a"]}]
    with pytest.raises(ScoringError) as err:
        judged_from_records(rows)
    assert str(err.value) == "records[0]['options'] is ['a']: expected a list of 4 strings (the labels of options A, B, C, D)"


def test_interval_bounds_stay_inside_zero_and_one_at_the_extremes():
    from tacos_temporal.scoring.metrics import wilson_interval

    for confidence in (0.8, 0.9, 0.95, 0.99):
        for n in range(1, 40):
            assert wilson_interval(n, n, confidence)[1] == 1.0 and wilson_interval(0, n, confidence)[0] == 0.0
            assert all(0.0 <= bound <= 1.0 for k in range(n + 1) for bound in wilson_interval(k, n, confidence))
        for n in range(1, 25):
            tasks = ["earliest_onset"] * n + ["latest_offset"] * (n + 1) + ["longest_duration"] * (n + 2)
            all_right = score(judge(["A"] * len(tasks), ["A"] * len(tasks), tasks), confidence=confidence)
            assert all_right["accuracy_macro_ci_high"] <= 1.0 and all_right["accuracy_ci_high"] == 1.0
