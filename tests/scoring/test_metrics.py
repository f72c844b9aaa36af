"""Scoring core: accuracy, intervals, paired comparisons, view effects, validation.

Expected numbers are worked out by hand in each test (or from the defining formula), never taken
from the code under test.
"""

from __future__ import annotations

import doctest
import math
from fractions import Fraction
from statistics import NormalDist

import pytest

from tacos_temporal.errors import ScoringError
from tacos_temporal.names import (
    AUDIO_CAPTION,
    AUDIO_ONLY,
    CAPTION_ONLY,
    CHANCE,
    EARLIEST_ONSET,
    LATEST_OFFSET,
    LETTERS,
    LONGEST_DURATION,
    SILENCE,
    TASKS,
)
from tacos_temporal.scoring import metrics
from tacos_temporal.scoring.metrics import (
    Judged,
    compare,
    judge,
    judged_from_records,
    mcnemar_exact,
    score,
    view_effects,
    wilson_interval,
)

EO, LO, LD = EARLIEST_ONSET, LATEST_OFFSET, LONGEST_DURATION
Z95 = NormalDist().inv_cdf(0.975)
OPTIONS = ["Dog barking", "Car horn", "Speech", "Rain"]
UNREADABLE = "I cannot tell."


def J(id_, task, answer, letter, view=None):
    return Judged(id_, task, answer, letter, "none" if letter is None else "letter", view)


# --- accuracy ----------------------------------------------------------------------------------


def test_micro_accuracy_weighs_items_and_macro_weighs_tasks():
    # EO: 2 of 3 right, LO: 1 of 1 right, LD absent.
    judged = [J("1", EO, "A", "A"), J("2", EO, "B", "B"), J("3", EO, "C", "D"), J("4", LO, "D", "D")]
    s = score(judged)
    assert s["n"] == 4
    assert s["accuracy"] == pytest.approx(3 / 4)
    assert s["accuracy_macro"] == pytest.approx((2 / 3 + 1) / 2)
    assert s["accuracy_earliest_onset"] == pytest.approx(2 / 3)
    assert s["accuracy_latest_offset"] == 1.0
    assert (s["n_earliest_onset"], s["n_latest_offset"]) == (3, 1)
    assert s["chance"] == CHANCE == 0.25


def test_absent_task_has_no_keys_at_all():
    s = score([J("1", EO, "A", "A"), J("2", LO, "B", "C")])
    assert not [k for k in s if LD in k]


def test_judge_reads_letters_and_scores_like_hand_count():
    judged = judge(["A", "B", "C", "A"], ["A", "B", "D", "D"], [EO, LO, LD, LD])
    assert [j.correct for j in judged] == [True, True, False, False]
    assert [j.id for j in judged] == ["0", "1", "2", "3"]
    s = score(judged)
    assert s["accuracy"] == 0.5
    assert s["accuracy_longest_duration"] == 0.0
    assert s["accuracy_macro"] == pytest.approx((1 + 1 + 0) / 3)


def test_parse_failures_count_as_wrong_and_in_the_rate():
    judged = judge(["A", UNREADABLE, "C", UNREADABLE], ["A", "B", "C", "D"], [EO, EO, LO, LO])
    assert [j.letter for j in judged] == ["A", None, "C", None]
    assert not judged[1].correct
    s = score(judged)
    assert s["accuracy"] == 0.5  # the two failures are wrong, not dropped from the denominator
    assert s["parse_failures"] == 2
    assert s["parse_failure_rate"] == 0.5
    assert s["parse_failure_rate_earliest_onset"] == 0.5
    assert s["pred_rate_none"] == 0.5


def test_letter_distribution_and_accuracy_by_answer_position():
    judged = [J("1", EO, "A", "A"), J("2", EO, "B", "A"), J("3", LO, "C", "B"), J("4", LO, "D", None),
              J("5", LD, "A", "A")]
    s = score(judged)
    assert [s[f"pred_rate_{L}"] for L in LETTERS] == [3 / 5, 1 / 5, 0.0, 0.0]
    assert s["pred_rate_none"] == 1 / 5
    assert sum(s[f"pred_rate_{L}"] for L in (*LETTERS, "none")) == pytest.approx(1.0)
    assert [s[f"n_answer_{L}"] for L in LETTERS] == [2, 1, 1, 1]
    assert [s[f"accuracy_answer_{L}"] for L in LETTERS] == [1.0, 0.0, 0.0, 0.0]


def test_answer_position_without_items_keeps_count_and_drops_accuracy():
    s = score([J("1", EO, "A", "A"), J("2", EO, "A", "B")])
    assert s["n_answer_B"] == 0
    assert "accuracy_answer_B" not in s
    assert s["accuracy_answer_A"] == 0.5


def test_per_view_keys_appear_only_with_several_views():
    single = score([J("1", EO, "A", "A", AUDIO_ONLY), J("2", LO, "B", "C", AUDIO_ONLY)])
    assert "accuracy_audio_only" not in single
    judged = [J("1", EO, "A", "A", AUDIO_ONLY), J("2", LO, "B", "C", AUDIO_ONLY),
              J("1", EO, "A", "A", CAPTION_ONLY), J("2", LO, "B", "B", CAPTION_ONLY)]
    s = score(judged)
    assert s["n"] == 4 and s["accuracy"] == 0.75  # top-level numbers pool the views
    assert (s["n_audio_only"], s["accuracy_audio_only"]) == (2, 0.5)
    assert s["accuracy_caption_only"] == 1.0
    assert s["accuracy_audio_only_earliest_onset"] == 1.0
    assert s["accuracy_audio_only_latest_offset"] == 0.0
    assert s["n_caption_only_latest_offset"] == 1
    assert s["accuracy_caption_only_ci_low"] < 1.0 == s["accuracy_caption_only_ci_high"]
    assert not [k for k in s if "audio_caption" in k or LD in k]


def test_score_rejects_empty_input_bad_confidence_and_mixed_views():
    with pytest.raises(ScoringError, match="nothing to score"):
        score([])
    with pytest.raises(ScoringError, match="confidence"):
        score([J("1", EO, "A", "A")], confidence=1.5)
    with pytest.raises(ScoringError, match=r"judged\[1\] has no view"):
        score([J("1", EO, "A", "A", AUDIO_ONLY), J("2", EO, "A", "A")])
    with pytest.raises(ScoringError, match=r"judged\[1\] is str"):
        score([J("1", EO, "A", "A"), "A"])


def test_judged_validates_itself():
    with pytest.raises(ScoringError, match="Judged.answer"):
        Judged("1", EO, "E", "A", "letter")
    with pytest.raises(ScoringError, match="Judged.task"):
        Judged("1", "earliest", "A", "A", "letter")
    assert issubclass(ScoringError, ValueError)


# --- intervals ---------------------------------------------------------------------------------


def test_wilson_at_zero_successes_is_zero_to_z2_over_n_plus_z2():
    # With p = 0 the Wilson centre and half-width are both z^2 / (2 (n + z^2)).
    low, high = wilson_interval(0, 10)
    assert low == 0.0
    assert high == pytest.approx(Z95**2 / (10 + Z95**2), abs=1e-12)
    assert high == pytest.approx(0.2775, abs=1e-4)


def test_wilson_at_all_successes_mirrors_zero_and_ends_at_exactly_one():
    low, high = wilson_interval(10, 10)
    assert high == 1.0
    assert low == pytest.approx(10 / (10 + Z95**2), abs=1e-12)
    assert low == pytest.approx(0.7225, abs=1e-4)


def test_wilson_at_half_is_symmetric_and_matches_published_value():
    low, high = wilson_interval(5, 10)
    assert (low, high) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    assert low + high == pytest.approx(1.0)


@pytest.mark.parametrize(("k", "n"), [(1, 10), (3, 7), (130, 528), (499, 499), (0, 1), (250, 630)])
def test_wilson_bounds_solve_the_score_equation(k, n):
    # Wilson's bounds are the p with (k/n - p)^2 = z^2 p (1 - p) / n.
    for p in wilson_interval(k, n):
        assert (k / n - p) ** 2 == pytest.approx(Z95**2 * p * (1 - p) / n, abs=1e-12)


@pytest.mark.parametrize(("k", "n", "confidence"), [(0, 10, 0.95), (3, 10, 0.95), (10, 10, 0.9),
                                                     (264, 528, 0.99), (17, 499, 0.95)])
def test_wilson_matches_scipy(k, n, confidence):
    import scipy.stats as stats  # in the [dev] extra: a missing one must fail, not skip
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    assert wilson_interval(k, n, confidence) == (pytest.approx(ci.low, abs=1e-9), pytest.approx(ci.high, abs=1e-9))


def test_wilson_rejects_impossible_counts():
    for k, n in [(0, 0), (5, 4), (-1, 3)]:
        with pytest.raises(ScoringError):
            wilson_interval(k, n)
    with pytest.raises(ScoringError):
        wilson_interval(1.5, 4)


def test_accuracy_interval_is_wilson_of_the_counts():
    judged = [J(str(i), EO, "A", "A" if i < 7 else "B") for i in range(10)]
    s = score(judged, confidence=0.9)
    low, high = wilson_interval(7, 10, 0.9)
    assert (s["accuracy_ci_low"], s["accuracy_ci_high"]) == (low, high)
    assert (s["accuracy_earliest_onset_ci_low"], s["accuracy_earliest_onset_ci_high"]) == (low, high)
    assert s["confidence"] == 0.9


def test_macro_interval_is_mover_wilson():
    # EO 3/4 right, LO 1/2 right: M = (3/4 + 1/2) / 2; MOVER combines the Wilson limits.
    judged = [J("1", EO, "A", "A"), J("2", EO, "A", "A"), J("3", EO, "A", "A"), J("4", EO, "A", "B"),
              J("5", LO, "A", "A"), J("6", LO, "A", "C")]
    s = score(judged)
    (l1, u1), (l2, u2) = wilson_interval(3, 4), wilson_interval(1, 2)
    mean = (0.75 + 0.5) / 2
    assert s["accuracy_macro"] == pytest.approx(mean)
    assert s["accuracy_macro_ci_low"] == pytest.approx(mean - math.hypot(0.75 - l1, 0.5 - l2) / 2)
    assert s["accuracy_macro_ci_high"] == pytest.approx(mean + math.hypot(u1 - 0.75, u2 - 0.5) / 2)


def test_macro_interval_of_one_task_is_its_wilson_interval_and_stays_in_bounds():
    one = score([J(str(i), LD, "A", "A" if i < 3 else "B") for i in range(8)])
    assert one["accuracy_macro_ci_low"] == pytest.approx(one["accuracy_ci_low"])
    assert one["accuracy_macro_ci_high"] == pytest.approx(one["accuracy_ci_high"])
    wrong = score([J(str(i), t, "A", "B") for i, t in enumerate(TASKS * 2)])
    assert wrong["accuracy_macro_ci_low"] == 0.0 < wrong["accuracy_macro_ci_high"]
    right = score([J(str(i), t, "A", "A") for i, t in enumerate(TASKS * 2)])
    assert right["accuracy_macro_ci_low"] < 1.0 == right["accuracy_macro_ci_high"]


# --- McNemar -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("b", "c", "expected"),
    [
        (1, 5, Fraction(2 * (1 + 6), 2**6)),            # 2 * P[X <= 1], X ~ Bin(6, 1/2)
        (8, 2, Fraction(2 * (1 + 10 + 45), 2**10)),     # symmetric in b and c
        (0, 5, Fraction(2, 2**5)),
        (3, 3, Fraction(1)),                            # 2 * 42/64 > 1 is capped
        (0, 1, Fraction(1)),
    ],
)
def test_mcnemar_exact_equals_hand_binomial_sum(b, c, expected):
    assert mcnemar_exact(b, c) == pytest.approx(float(expected), rel=1e-12)


def test_mcnemar_without_discordant_pairs_is_one():
    assert mcnemar_exact(0, 0) == 1.0


@pytest.mark.parametrize(("b", "c"), [(2, 9), (15, 30), (40, 41), (0, 12), (200, 260)])
def test_mcnemar_matches_scipy_binomtest(b, c):
    import scipy.stats as stats  # in the [dev] extra: a missing one must fail, not skip
    assert mcnemar_exact(b, c) == pytest.approx(stats.binomtest(b, b + c, 0.5).pvalue, rel=1e-9)


def test_mcnemar_rejects_negative_or_fractional_counts():
    for b, c in [(-1, 2), (1.0, 2), (True, 2)]:
        with pytest.raises(ScoringError):
            mcnemar_exact(b, c)


# --- compare -----------------------------------------------------------------------------------


def _run(pattern, tasks=None, view=None):
    tasks = tasks or [EO] * len(pattern)
    return [J(str(i), t, "A", "A" if ok else "B", view) for i, (ok, t) in enumerate(zip(pattern, tasks))]


def test_compare_counts_fixed_and_broken_items():
    base = _run([1, 1, 0, 0, 1, 0], [EO, EO, EO, LO, LO, LO])
    other = _run([1, 0, 1, 1, 1, 0], [EO, EO, EO, LO, LO, LO])
    c = compare(base, other)
    assert c["n"] == 6
    assert (c["accuracy_baseline"], c["accuracy_other"]) == (0.5, pytest.approx(4 / 6))
    assert c["net_change"] == pytest.approx(1 / 6)
    assert (c["n_fixed"], c["n_broken"]) == (2, 1)
    assert c["fix_rate"] == pytest.approx(2 / 3)  # 2 of the 3 baseline errors fixed
    assert c["break_rate"] == pytest.approx(1 / 3)  # 1 of the 3 baseline successes broken
    assert c["mcnemar_p"] == 1.0  # 2 * P[X <= 1 | n = 3] = 2 * 4/8
    # EO: base [1,1,0] other [1,0,1]; LO: base [0,1,0] other [1,1,0]
    assert (c["n_fixed_earliest_onset"], c["n_broken_earliest_onset"]) == (1, 1)
    assert c["net_change_earliest_onset"] == 0.0
    assert (c["n_fixed_latest_offset"], c["n_broken_latest_offset"]) == (1, 0)
    assert c["fix_rate_latest_offset"] == 0.5
    assert c["break_rate_latest_offset"] == 0.0
    assert not [k for k in c if LD in k]


def test_compare_pairs_by_id_not_by_position():
    base = _run([1, 0, 0])
    other = list(reversed(_run([1, 0, 0])))
    c = compare(base, other)
    assert (c["n_fixed"], c["n_broken"], c["net_change"]) == (0, 0, 0.0)


def test_compare_defines_rates_over_empty_groups_as_zero():
    all_right = compare(_run([1, 1]), _run([1, 0]))
    assert all_right["fix_rate"] == 0.0  # the baseline got nothing wrong
    assert all_right["break_rate"] == 0.5
    all_wrong = compare(_run([0, 0]), _run([0, 1]))
    assert all_wrong["break_rate"] == 0.0  # the baseline got nothing right
    assert all_wrong["fix_rate"] == 0.5


def test_compare_counts_parse_failures_as_wrong():
    base = [J("1", EO, "A", None)]
    other = [J("1", EO, "A", "A")]
    assert compare(base, other)["n_fixed"] == 1


def test_compare_rejects_different_item_sets_naming_the_first_id():
    base = _run([1, 0, 1])
    with pytest.raises(ScoringError, match=r"id '2' is in baseline but not in other.*same items"):
        compare(base, base[:2])
    extra = base + [J("9", EO, "A", "A"), J("8", EO, "A", "A")]
    with pytest.raises(ScoringError, match=r"id '9' is in other but not in baseline"):
        compare(base, extra)


def test_compare_rejects_repeated_ids_and_changed_answers():
    base = _run([1, 0])
    with pytest.raises(ScoringError, match=r"other\[2\] repeats id '0'"):
        compare(base, base + [base[0]])
    changed = [base[0], J("1", EO, "C", "B")]
    with pytest.raises(ScoringError, match="answer 'A' in baseline but 'C' in other"):
        compare(base, changed)


# --- view effects ------------------------------------------------------------------------------


def test_view_effects_on_common_items():
    # Items 0-3 in all three views; item 4 only in audio_only (ignored).
    audio = [J("0", EO, "A", "A", AUDIO_ONLY), J("1", EO, "B", "C", AUDIO_ONLY), J("2", LO, "C", None, AUDIO_ONLY),
             J("3", LO, "D", "A", AUDIO_ONLY), J("4", LO, "D", "D", AUDIO_ONLY)]
    caption = [J("0", EO, "A", "A", CAPTION_ONLY), J("1", EO, "B", "B", CAPTION_ONLY),
               J("2", LO, "C", None, CAPTION_ONLY), J("3", LO, "D", "D", CAPTION_ONLY)]
    both = [J("0", EO, "A", "A"), J("1", EO, "B", "B"), J("2", LO, "C", "C"), J("3", LO, "D", "B")]
    e = view_effects({AUDIO_ONLY: audio, CAPTION_ONLY: caption, AUDIO_CAPTION: both})
    assert e["n_common"] == 4
    # accuracies on items 0-3: audio 1/4, caption 3/4, audio+caption 3/4
    assert e["accuracy_audio_only"] == 0.25
    assert e["caption_reliance"] == pytest.approx(0.75 - 0.25)
    assert e["audio_gain_given_caption"] == pytest.approx(0.0)
    # letters: audio A C none A / caption A B none D / both A B C B
    assert e["agreement_audio_only__caption_only"] == pytest.approx(2 / 4)  # items 0 and 2 ("none")
    assert e["agreement_audio_only__audio_caption"] == pytest.approx(1 / 4)
    assert e["agreement_caption_only__audio_caption"] == pytest.approx(2 / 4)
    assert e["n_common_latest_offset"] == 2
    assert e["caption_reliance_latest_offset"] == pytest.approx(0.5 - 0.0)
    assert e["agreement_audio_only__caption_only_earliest_onset"] == 0.5


def test_view_effects_computes_only_what_the_views_allow():
    audio = _run([1, 0], view=AUDIO_ONLY)
    silence = _run([0, 0], view=SILENCE)
    e = view_effects({SILENCE: silence, AUDIO_ONLY: audio})
    assert "caption_reliance" not in e and "audio_gain_given_caption" not in e
    assert e["agreement_audio_only__silence"] == 0.5  # ALL_VIEWS order, not the mapping's
    assert e["accuracy_silence"] == 0.0


def test_view_effects_rejects_unknown_views_disjoint_items_and_wrong_view_labels():
    with pytest.raises(ScoringError, match="Did you mean: audio_only"):
        view_effects({"audio_onyl": _run([1])})
    with pytest.raises(ScoringError, match="share no item id"):
        view_effects({AUDIO_ONLY: _run([1]), CAPTION_ONLY: [J("x", EO, "A", "A")]})
    with pytest.raises(ScoringError, match=r"by_view\['caption_only'\]\[0\] has view 'audio_only'"):
        view_effects({CAPTION_ONLY: _run([1], view=AUDIO_ONLY)})
    with pytest.raises(ScoringError, match="no views"):
        view_effects({})


# --- judge: validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"references": ["A", "B"]}, r"predictions has 3 items but references has 2"),
        ({"tasks": [EO] * 4}, r"predictions has 3 items but tasks has 4"),
        ({"references": ["A", "E", "F"]}, r"references\[1\] is 'E': expected one of A, B, C, D"),
        ({"references": ["A", "B", "a"]}, r"references\[2\] is 'a'"),
        ({"tasks": [EO, "earliest", "x"]}, r"tasks\[1\] is 'earliest'.*Did you mean: earliest_onset"),
        ({"predictions": ["A", None, 3]}, r"predictions\[1\] is None: expected a string"),
        ({"options": [OPTIONS, OPTIONS[:3], OPTIONS]}, r"options\[1\] is .*expected a list of 4 strings"),
        ({"options": [OPTIONS, OPTIONS, [1, 2, 3, 4]]}, r"options\[2\] is "),
        ({"options": [OPTIONS, "A B C D", OPTIONS]}, r"options\[1\] is 'A B C D'"),
        ({"ids": ["x", "y", "x"]}, r"ids\[2\] is 'x', already used by ids\[0\]"),
        ({"ids": ["x", "", "z"]}, r"ids\[1\] is ''"),
        ({"views": [AUDIO_ONLY, "audio", AUDIO_ONLY]}, r"views\[1\] is 'audio'.*Did you mean"),
        ({"predictions": "ABC"}, r"predictions is str: expected a list"),
    ],
)
def test_judge_names_the_first_offending_index(kwargs, message):
    args = {"predictions": ["A", "B", "C"], "references": ["A", "B", "C"], "tasks": [EO, LO, LD], **kwargs}
    with pytest.raises(ScoringError, match=message):
        judge(**args)


def test_judge_allows_one_id_once_per_view():
    judged = judge(["A", "B"], ["A", "A"], [EO, EO], ids=["x", "x"], views=[AUDIO_ONLY, CAPTION_ONLY])
    assert [(j.id, j.view) for j in judged] == [("x", AUDIO_ONLY), ("x", CAPTION_ONLY)]
    with pytest.raises(ScoringError, match=r"ids\[1\] is 'x', already used by ids\[0\] in view 'audio_only'"):
        judge(["A", "B"], ["A", "A"], [EO, EO], ids=["x", "x"], views=[AUDIO_ONLY, AUDIO_ONLY])


def test_judge_errors_are_value_errors():
    with pytest.raises(ValueError):
        judge(["A"], ["Z"], [EO])


def test_judge_with_options_reads_an_answer_that_names_the_option():
    judged = judge(["The rain lasts longest: Rain", "B"], ["D", "B"], [LD, LD], options=[OPTIONS, OPTIONS])
    assert judged[1].letter == "B"
    assert judged[0].letter in ("D", None)  # never a different letter
    exact = judge(["Rain"], ["D"], [LD], options=[OPTIONS])
    assert exact[0].letter == "D" and exact[0].correct


# --- judged_from_records ------------------------------------------------------------------------


def test_judged_from_records_keeps_saved_letters_and_rules():
    records = [
        {"id": "EO-1", "task": EO, "answer": "A", "letter": "A", "rule": "letter", "view": AUDIO_ONLY},
        {"id": "EO-2", "task": EO, "answer": "B", "letter": None, "rule": "none", "view": AUDIO_ONLY, "extra": 1},
        {"id": "EO-3", "task": EO, "answer": "C", "letter": float("nan"), "rule": "none"},
    ]
    judged = judged_from_records(records)
    assert judged[0] == Judged("EO-1", EO, "A", "A", "letter", AUDIO_ONLY)
    assert judged[1].letter is None and judged[1].rule == "none" and not judged[1].correct
    assert judged[2].letter is None  # pandas writes a missing letter as NaN
    assert judged[2].view is None


def test_judged_from_records_parses_raw_text_with_options():
    records = [
        {"id": "LD-1", "task": LD, "answer": "D", "prediction": "Rain", "options": OPTIONS},
        {"id": "LD-2", "task": LD, "answer": "B", "output": "B"},
        {"id": "LD-3", "task": LD, "answer": "B", "output": UNREADABLE},
    ]
    judged = judged_from_records(records)
    assert [j.letter for j in judged] == ["D", "B", None]
    assert score(judged)["accuracy"] == pytest.approx(2 / 3)


def test_judged_from_records_reparses_on_request():
    record = {"id": "1", "task": EO, "answer": "C", "letter": None, "rule": "none", "prediction": "C"}
    assert judged_from_records([record])[0].letter is None
    assert judged_from_records([record], reparse=True)[0].letter == "C"


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"task": EO, "answer": "A", "letter": "A", "rule": "letter"}, r"records\[1\] has no 'id'"),
        ({"id": "2", "task": EO, "answer": "E", "letter": "A", "rule": "letter"}, r"records\[1\]\['answer'\] is 'E'"),
        ({"id": "2", "task": "eo", "answer": "A", "letter": "A", "rule": "r"}, r"records\[1\]\['task'\] is 'eo'"),
        ({"id": "2", "task": EO, "answer": "A", "letter": "A"}, r"records\[1\] has 'letter' but no 'rule'"),
        ({"id": "2", "task": EO, "answer": "A", "letter": "Q", "rule": "r"}, r"records\[1\]\['letter'\] is 'Q'"),
        ({"id": "2", "task": EO, "answer": "A"}, r"records\[1\] has neither"),
        ({"id": "2", "task": EO, "answer": "A", "prediction": None}, r"records\[1\]\['prediction'\] is None"),
        ({"id": "2", "task": EO, "answer": "A", "output": "A", "options": ["a"]}, r"records\[1\]\['options'\]"),
        ({"id": "1", "task": EO, "answer": "A", "output": "A"}, r"records\[1\] is '1', already used by records\[0\]"),
        ({"id": "2", "task": EO, "answer": "A", "output": "A", "view": "x"}, r"records\[1\]\['view'\] is 'x'"),
    ],
)
def test_judged_from_records_names_the_offending_record(record, message):
    good = {"id": "1", "task": EO, "answer": "A", "letter": "A", "rule": "letter"}
    with pytest.raises(ScoringError, match=message):
        judged_from_records([good, record])


def test_docstring_examples_run():
    result = doctest.testmod(metrics, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 5 and result.failed == 0
