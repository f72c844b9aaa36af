"""Edges of the statistics that a mutation run showed untested (tests/mutation/equivalent.md)."""

from __future__ import annotations

import numpy as np
import pytest

from tacos_temporal.data.options import confusable
from tacos_temporal.errors import ScoringError
from tacos_temporal.scoring.metrics import Judged, judge, judged_from_records, score, view_effects

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
