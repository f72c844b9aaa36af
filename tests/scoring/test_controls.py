"""Definitions of the controls, pinned on hand-made cases: presence-only ceiling, caption-order
shortcut, circular scoring and the time-reversal consistency metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tacos_temporal.data.events import read_event_table
from tacos_temporal.data.presence import options_in_clip, presence_ceiling, presence_probability
from tacos_temporal.data.selection import select_items
from tacos_temporal.errors import ScoringError, SourceError
from tacos_temporal.scoring.baselines import row_baseline_letter
from tacos_temporal.scoring.controls import (
    caption_mentions,
    caption_order_letter,
    circular_scores,
    control_scores,
    rotate_options,
    rotate_row,
    temporal_consistency,
)

CAPTION_CASES = json.loads((Path(__file__).with_name("caption_order_cases.json")).read_text(encoding="utf-8"))


# --- presence-only ceiling ----------------------------------------------------------------------


@pytest.mark.parametrize("flags, expected", [([1, 0, 0, 0], 1.0), ([1, 1, 0, 0], 0.5), ([0, 1, 1, 1], 1 / 3), ([1, 1, 1, 1], 0.25)])
def test_presence_probability_is_one_over_the_options_present(flags, expected):
    assert presence_probability({"id": "x", "options_in_clip": [bool(f) for f in flags]}) == pytest.approx(expected)


def test_presence_ceiling_averages_per_item_then_per_task():
    rows = [
        {"id": "EO-1", "task": "earliest_onset", "options_in_clip": [True, False, False, False]},  # 1
        {"id": "EO-2", "task": "earliest_onset", "options_in_clip": [True, True, False, False]},  # 1/2
        {"id": "LD-1", "task": "longest_duration", "options_in_clip": [True, True, True, True]},  # 1/4
    ]
    ceiling = presence_ceiling(rows)
    assert ceiling["presence_ceiling"] == pytest.approx((1 + 0.5 + 0.25) / 3)
    assert ceiling["presence_ceiling_earliest_onset"] == pytest.approx(0.75)
    assert ceiling["presence_ceiling_longest_duration"] == pytest.approx(0.25)
    assert ceiling["presence_ceiling_macro"] == pytest.approx(0.5)
    assert "presence_ceiling_latest_offset" not in ceiling


def test_presence_needs_the_answer_present():
    with pytest.raises(SourceError, match="EO-9.*answer present"):
        options_in_clip({"id": "EO-9", "options_in_clip": [False] * 4})


def test_presence_ceiling_of_the_real_items_counts_options_annotated_in_each_clip(events_test_csv):
    annotations = read_event_table(events_test_csv)
    items = select_items(annotations)
    # Independently of the item evidence: an option is present when the clip annotates its label.
    k = [sum(label in annotations.clips[item.filename].label_names() for label in item.options) for item in items]
    assert presence_ceiling(items)["presence_ceiling"] == pytest.approx(sum(1 / n for n in k) / len(k))
    assert 0.25 < presence_ceiling(items)["presence_ceiling"] < 0.5


def test_presence_oracle_answers_only_present_options_and_is_seeded():
    row = {"id": "EO-1", "task": "earliest_onset", "options_in_clip": [False, True, False, True]}
    letters = {row_baseline_letter("presence-oracle", {**row, "id": f"EO-{i}"}) for i in range(60)}
    assert letters == {"B", "D"}
    assert row_baseline_letter("presence-oracle", row, seed=3) == row_baseline_letter("presence-oracle", row, seed=3)


# --- caption-order shortcut ---------------------------------------------------------------------


@pytest.mark.parametrize("case", CAPTION_CASES, ids=[c["name"] for c in CAPTION_CASES])
def test_caption_order_hand_worked_cases(case):
    for task, expected in case["expected"].items():
        assert caption_order_letter(case["caption"], case["options"], task) == expected, task


def test_caption_mentions_ignore_function_words_and_the_word_sound():
    assert caption_mentions("The sound of a helicopter.", ["Helicopter sound", "Sound", "Of", "Rain"]) == [(4, 4), None, None, None]


def test_caption_order_without_caption_answers_nothing_and_checks_its_inputs():
    assert caption_order_letter(None, ["a", "b", "c", "d"], "earliest_onset") is None
    with pytest.raises(ScoringError, match="task"):
        caption_order_letter("x", ["a", "b", "c", "d"], "earliest")
    with pytest.raises(ScoringError, match="4"):
        caption_order_letter("x", ["a", "b"], "earliest_onset")


# --- circular evaluation ------------------------------------------------------------------------


def test_rotations_move_every_option_through_every_letter():
    options = ["w", "x", "y", "z"]
    rotated = [rotate_options(options, "C", k) for k in range(4)]
    assert [r[0] for r in rotated] == [["w", "x", "y", "z"], ["x", "y", "z", "w"], ["y", "z", "w", "x"], ["z", "w", "x", "y"]]
    assert [r[1] for r in rotated] == ["C", "B", "A", "D"]
    assert all(opts["ABCD".index(ans)] == "y" for opts, ans in rotated)
    with pytest.raises(ScoringError, match="rotation"):
        rotate_options(options, "A", 4)


def test_rotate_row_moves_the_evidence_with_its_option():
    row = {"id": "LO-7", "task": "latest_offset", "options": ["w", "x", "y", "z"], "answer": "B",
           "events": [{"letter": L, "label": o, "in_clip": o in "xz"} for L, o in zip("ABCD", "wxyz")]}
    out = rotate_row(row, 1)
    assert (out["id"], out["item_id"], out["rotation"], out["answer"]) == ("LO-7@rot1", "LO-7", 1, "A")
    assert [(e["letter"], e["label"], e["in_clip"]) for e in out["events"]] == [("A", "x", True), ("B", "y", False), ("C", "z", True), ("D", "w", False)]


def _circular_records(choose):
    """Two items (answers B and D), each under four rotations; ``choose(rotated row)`` -> letter."""
    records = []
    for base, answer in (("EO-1", "B"), ("LD-2", "D")):
        task = "earliest_onset" if base.startswith("EO") else "longest_duration"
        row = {"id": base, "task": task, "options": ["w", "x", "y", "z"], "answer": answer}
        for k in range(4):
            r = rotate_row(row, k)
            records.append({**r, "letter": choose(r)})
    return records


def test_a_model_that_always_says_a_is_right_once_per_item_and_maximally_biased():
    scores = circular_scores(_circular_records(lambda r: "A"))
    assert scores["circular_n"] == 2 and scores["circular_accuracy"] == 0.0
    assert [scores[f"accuracy_rotation_{k}"] for k in range(4)] == [0.0, 0.5, 0.0, 0.5]
    assert scores["circular_pred_rate_A"] == 1.0 and scores["circular_position_bias"] == pytest.approx(0.75)
    assert scores["circular_label_consistency"] == 0.0


def test_a_model_that_picks_by_label_has_no_position_bias():
    right = circular_scores(_circular_records(lambda r: r["answer"]))
    assert right["circular_accuracy"] == 1.0 and right["circular_position_bias"] == pytest.approx(0.0)
    assert right["circular_label_consistency"] == 1.0 and right["circular_accuracy_earliest_onset"] == 1.0
    # Always the label "w" (wrong for both items): consistent, unbiased, never right.
    wrong = circular_scores(_circular_records(lambda r: "ABCD"[r["options"].index("w")]))
    assert (wrong["circular_accuracy"], wrong["circular_label_consistency"], wrong["circular_position_bias"]) == (0.0, 1.0, 0.0)


def test_a_parse_failure_breaks_strictness_and_consistency():
    records = _circular_records(lambda r: r["answer"])
    records[3]["letter"] = None
    scores = circular_scores(records)
    assert scores["circular_accuracy"] == 0.5 and scores["circular_label_consistency"] == 0.5
    assert sum(scores[f"circular_pred_rate_{L}"] for L in "ABCD") == pytest.approx(1.0)


def test_circular_scoring_needs_all_four_rotations():
    with pytest.raises(ScoringError, match="lack some of the 4 rotations.*resume"):
        circular_scores(_circular_records(lambda r: "A")[:-1])
    with pytest.raises(ScoringError, match="not from a circular run"):
        circular_scores([{"id": "EO-1", "task": "earliest_onset", "answer": "A", "letter": "A"}])


# --- time reversal ------------------------------------------------------------------------------

#: One clip with EO answer "dog" and LO answer "car" on the original; reversed: EO "car", LO "dog";
#: LD "car" on both. Options differ per side (independent letters), answers compared by label.
ORIG_OPTIONS = {"earliest_onset": ["dog", "car", "rain", "wind"], "latest_offset": ["rain", "car", "dog", "bell"], "longest_duration": ["car", "dog", "rain", "siren"]}
REV_OPTIONS = {"earliest_onset": ["bell", "rain", "car", "dog"], "latest_offset": ["car", "wind", "rain", "dog"], "longest_duration": ["dog", "rain", "siren", "car"]}
ORIG_ANSWER = {"earliest_onset": "dog", "latest_offset": "car", "longest_duration": "car"}
REV_ANSWER = {"earliest_onset": "car", "latest_offset": "dog", "longest_duration": "car"}


def _records(options, answers, chosen):
    out = []
    for task, opts in options.items():
        letter = None if chosen[task] is None else "ABCD"[opts.index(chosen[task])]
        out.append({"filename": "a.mp3", "task": task, "options": opts, "answer": "ABCD"[opts.index(answers[task])], "letter": letter})
    return out


def test_a_model_that_follows_the_timeline_is_consistent():
    result = temporal_consistency(_records(ORIG_OPTIONS, ORIG_ANSWER, ORIG_ANSWER), _records(REV_OPTIONS, REV_ANSWER, REV_ANSWER))
    assert result["reversal_pairs"] == 3 and result["reversal_consistency"] == 1.0
    assert result["reversal_diagnostic_n"] == 2 and result["reversal_follows_timeline"] == 1.0
    assert result["reversal_ignores_time"] == 0.0 and result["reversal_chance"] == 0.25


def test_a_model_that_ignores_time_answers_the_same_label_both_ways():
    same = {"earliest_onset": "dog", "latest_offset": "car", "longest_duration": "car"}
    result = temporal_consistency(_records(ORIG_OPTIONS, ORIG_ANSWER, same), _records(REV_OPTIONS, REV_ANSWER, same))
    assert result["reversal_consistency_earliest_onset"] == 0.0 and result["reversal_consistency_latest_offset"] == 0.0
    assert result["reversal_consistency_longest_duration"] == 1.0  # LD is unchanged either way
    assert result["reversal_ignores_time"] == 1.0 and result["reversal_follows_timeline"] == 0.0


def test_a_question_blind_model_is_not_counted_as_following_the_timeline():
    blind = {"earliest_onset": "dog", "latest_offset": "dog", "longest_duration": "dog"}
    result = temporal_consistency(_records(ORIG_OPTIONS, ORIG_ANSWER, blind), _records(REV_OPTIONS, REV_ANSWER, blind))
    assert result["reversal_consistency"] == 1.0, "the same label everywhere agrees with itself"
    assert result["reversal_question_blind"] == 1.0 and result["reversal_follows_timeline"] == 0.0


def test_a_parse_failure_is_never_consistent():
    chosen = dict(REV_ANSWER, earliest_onset=None)
    result = temporal_consistency(_records(ORIG_OPTIONS, ORIG_ANSWER, ORIG_ANSWER), _records(REV_OPTIONS, REV_ANSWER, chosen))
    assert result["reversal_consistency_earliest_onset"] == 0.0 and result["reversal_other"] == 0.5


def test_temporal_consistency_needs_shared_clips():
    other = [{**r, "filename": "b.mp3"} for r in _records(REV_OPTIONS, REV_ANSWER, REV_ANSWER)]
    with pytest.raises(ScoringError, match="share no clip"):
        temporal_consistency(_records(ORIG_OPTIONS, ORIG_ANSWER, ORIG_ANSWER), other)


# --- one run's records ----------------------------------------------------------------------------


def test_control_scores_read_presence_and_caption_order_from_records():
    records = [
        {"id": "EO-1", "task": "earliest_onset", "answer": "A", "options_in_clip": [True, True, False, False], "caption_order_letter": "A"},
        {"id": "LO-1", "task": "latest_offset", "answer": "B", "options_in_clip": [True, True, True, True], "caption_order_letter": None},
    ]
    scores = control_scores(records)
    assert scores["presence_ceiling"] == pytest.approx((0.5 + 0.25) / 2)
    assert scores["caption_order_accuracy"] == 0.5 and scores["caption_order_coverage"] == 0.5
    assert scores["caption_order_accuracy_latest_offset"] == 0.0
    assert control_scores([{**records[0], "options_in_clip": [False] * 4}])["presence_ceiling_unavailable"] == 1


# --- reports --------------------------------------------------------------------------------------


def _scores_with_controls():
    from tacos_temporal.scoring.metrics import judge, score

    scores = score(judge(["A", "B", "C", "D"], ["A", "A", "C", "C"], ["earliest_onset", "earliest_onset", "latest_offset", "latest_offset"]))
    scores.update(control_scores([
        {"id": "EO-1", "task": "earliest_onset", "answer": "A", "options_in_clip": [True, True, False, False], "caption_order_letter": "A"},
        {"id": "EO-2", "task": "earliest_onset", "answer": "A", "options_in_clip": [True, False, False, False], "caption_order_letter": "B"},
        {"id": "LO-1", "task": "latest_offset", "answer": "C", "options_in_clip": [True, True, True, True], "caption_order_letter": "C"},
        {"id": "LO-2", "task": "latest_offset", "answer": "C", "options_in_clip": [False, True, True, True], "caption_order_letter": None},
    ]))
    return scores


def test_reports_put_the_controls_beside_the_model_accuracy(tmp_path):
    from tacos_temporal.scoring.report import format_controls, format_table, write_report

    scores = _scores_with_controls()
    text = format_controls(scores)
    # Earliest onset: model 50 %, ceiling (1/2 + 1) / 2 = 75 %, caption order 50 %.
    row = next(line for line in text.splitlines() if line.startswith("Earliest Onset"))
    assert row.split()[2:] == ["50.0", "%", "75.0", "%", "50.0", "%", "25.0", "%"]
    assert text in format_table(scores)
    files = write_report(scores, tmp_path, title="controls")
    report = files["report"].read_text()
    assert "## Controls" in report and "| Earliest Onset | 50.0 % | 75.0 % | 50.0 % | 25.0 % |" in report


def test_reports_without_controls_have_no_controls_section(tmp_path):
    from tacos_temporal.scoring.metrics import judge, score
    from tacos_temporal.scoring.report import format_controls, write_report

    scores = score(judge(["A"], ["A"], ["earliest_onset"]))
    assert format_controls(scores) == ""
    assert "## Controls" not in write_report(scores, tmp_path, title="plain")["report"].read_text()


def test_consistency_table_shows_each_pair_and_the_breakdown():
    from tacos_temporal.scoring.report import format_consistency

    result = temporal_consistency(_records(ORIG_OPTIONS, ORIG_ANSWER, ORIG_ANSWER), _records(REV_OPTIONS, REV_ANSWER, REV_ANSWER))
    text = format_consistency(result)
    assert "EO on reversed = LO on original" in text and "never the benchmark's score" in text
    assert "follows the timeline" in text and "100.0 %" in text
