"""Saved predictions are re-scored without a model; no item is silently dropped."""

from __future__ import annotations

import json

import pytest

from tacos_temporal import cli
from tacos_temporal.data.events import annotations_from_mapping
from tacos_temporal.data.items import write_items_jsonl
from tacos_temporal.data.selection import select_items
from tacos_temporal.errors import ScoringError
from tacos_temporal.scoring.baselines import BASELINES, baseline_letter, run_baseline
from tacos_temporal.scoring.predictions import MISSING_PREDICTION, load_judged


@pytest.fixture()
def items():
    # Four clips, each qualifying for exactly one task: two EO items, one LO, one LD.
    clips = {
        "1.mp3": {"Dog Barking": [(0.0, 5.0)], "Wind": [(2.0, 5.5)]},
        "2.mp3": {"Bird Chirp": [(0.5, 4.0)], "Thunder": [(3.0, 4.2)]},
        "3.mp3": {"Siren": [(0.0, 9.0)], "Rain": [(0.5, 7.0)]},
        "4.mp3": {"Engine": [(0.0, 4.0), (4.5, 9.0)], "Horn": [(0.2, 1.0), (8.5, 9.4)]},
    }
    pool = ["Dog Barking", "Wind", "Bird Chirp", "Thunder", "Siren", "Rain", "Engine", "Horn", "Piano", "Cow Moo"]
    out = select_items(annotations_from_mapping(clips), label_pool=pool)
    assert sorted(item.task for item in out) == ["earliest_onset", "earliest_onset", "latest_offset", "longest_duration"]
    return out


def _write(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_predictions_join_items_and_parse_free_text(tmp_path, items):
    first = items[0]
    rows = [{"id": first.id, "prediction": f"The answer is ({first.answer})."}]
    rows += [{"id": item.id, "prediction": "I cannot tell."} for item in items[1:]]
    judged = load_judged(_write(tmp_path / "p.jsonl", rows), items=items)
    assert [j.id for j in judged] == [item.id for item in items]
    assert judged[0].correct and judged[0].letter == first.answer
    assert all(j.letter is None and not j.correct for j in judged[1:])


def test_item_without_prediction_counts_as_failure(tmp_path, items):
    rows = [{"id": items[0].id, "letter": items[0].answer, "rule": "saved"}]
    judged = load_judged(_write(tmp_path / "p.jsonl", rows), items=items)
    assert len(judged) == len(items)
    missing = [j for j in judged if j.rule == MISSING_PREDICTION]
    assert len(missing) == len(items) - 1 and all(j.letter is None for j in missing)


def test_prediction_for_unknown_id_is_an_error(tmp_path, items):
    with pytest.raises(ScoringError, match=r"predictions\[0\] has id 'EO-nope'"):
        load_judged(_write(tmp_path / "p.jsonl", [{"id": "EO-nope", "prediction": "A"}]), items=items)


def test_rows_without_answers_need_items(tmp_path):
    with pytest.raises(ScoringError, match="--items"):
        load_judged(_write(tmp_path / "p.jsonl", [{"id": "EO-1", "prediction": "A"}]))


def test_bad_json_line_is_named(tmp_path, items):
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": "x", "prediction": "A"}\n{oops\n', encoding="utf-8")
    with pytest.raises(ScoringError, match=r"p.jsonl:2 is not JSON"):
        load_judged(path, items=items)


def test_run_folder_is_read_through_its_samples(tmp_path, items):
    run = tmp_path / "run"
    run.mkdir()
    rows = [{"id": i.id, "task": i.task, "answer": i.answer, "options": list(i.options), "letter": i.answer, "rule": "saved"} for i in items]
    _write(run / "samples.jsonl", rows)
    judged = load_judged(run)
    assert all(j.correct for j in judged)


def test_folder_without_samples_is_an_error(tmp_path):
    with pytest.raises(ScoringError, match="samples.jsonl"):
        load_judged(tmp_path)


def test_random_baseline_is_seeded_and_constant_baselines_are_constant(items):
    assert [baseline_letter("random", i.id, seed=3) for i in items] == [baseline_letter("random", i.id, seed=3) for i in items]
    for name in BASELINES[1:]:
        assert {j.letter for j in run_baseline(name, items)} == {name[-1]}


def test_score_command_writes_table_report_and_json(tmp_path, items, capsys):
    write_items_jsonl(items, tmp_path / "items.jsonl")
    rows = [{"id": item.id, "prediction": item.answer} for item in items]
    predictions = _write(tmp_path / "p.jsonl", rows)
    assert cli.main(["score", str(predictions), "--items", str(tmp_path / "items.jsonl"), "--out", str(tmp_path / "rep")]) == 0
    out = capsys.readouterr().out
    assert "report:" in out
    scores = json.loads((tmp_path / "rep" / "scores.json").read_text())
    assert scores["accuracy"] == 1.0 and scores["n"] == len(items)
    assert (tmp_path / "rep" / "report.md").is_file() and (tmp_path / "rep" / "accuracy_by_task.png").is_file()


def test_compare_command_counts_fixes_and_breaks(tmp_path, items, capsys):
    write_items_jsonl(items, tmp_path / "items.jsonl")
    wrong = {item.id: "ABCD"[("ABCD".index(item.answer) + 1) % 4] for item in items}
    base = _write(tmp_path / "base.jsonl", [{"id": i.id, "prediction": wrong[i.id]} for i in items])
    # the other run fixes the first two items and keeps the rest wrong
    other_rows = [{"id": i.id, "prediction": i.answer if n < 2 else wrong[i.id]} for n, i in enumerate(items)]
    other = _write(tmp_path / "other.jsonl", other_rows)
    assert cli.main(["compare", str(base), str(other), "--items", str(tmp_path / "items.jsonl"), "--json", str(tmp_path / "c.json")]) == 0
    result = json.loads((tmp_path / "c.json").read_text())
    assert result["n_fixed"] == 2 and result["n_broken"] == 0
    assert result["fix_rate"] == pytest.approx(2 / 4)
    assert result["net_change"] == pytest.approx(2 / 4)


def test_missing_predictions_are_reported_apart_from_unparseable_ones(tmp_path, items):
    from tacos_temporal.scoring.metrics import score
    from tacos_temporal.scoring.report import format_table

    rows = [{"id": items[0].id, "prediction": "no idea"}, {"id": items[1].id, "prediction": items[1].answer}]
    scores = score(load_judged(_write(tmp_path / "p.jsonl", rows), items=items))
    # four items: one unparseable, one right, two without any prediction
    assert (scores["n"], scores["parse_failures"], scores["missing"]) == (4, 1, 2)
    assert (scores["parse_failure_rate"], scores["missing_rate"], scores["pred_rate_none"]) == (0.25, 0.5, 0.75)
    assert scores["accuracy"] == 0.25
    assert "Missing: 2 of 4 items (50.0 %) have no prediction" in format_table(scores)


def test_a_complete_run_reports_no_missing_items(tmp_path, items):
    from tacos_temporal.scoring.metrics import score
    from tacos_temporal.scoring.report import format_table

    rows = [{"id": item.id, "prediction": "maybe"} for item in items]
    scores = score(load_judged(_write(tmp_path / "p.jsonl", rows), items=items))
    assert (scores["parse_failures"], scores["missing"], scores["missing_rate"]) == (4, 0, 0.0)
    assert "Missing" not in format_table(scores)
