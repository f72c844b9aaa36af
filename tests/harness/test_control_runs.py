"""Every control and baseline from the command line: on the demo data (through the real loop, with a
tiny model where one is needed) and on the real event table (items only)."""

from __future__ import annotations

import json

import pytest

from tacos_temporal import cli
from tacos_temporal.data.events import read_event_table
from tacos_temporal.data.selection import select_items
from tacos_temporal.errors import ConfigError
from tacos_temporal.harness.config import RunConfig
from tacos_temporal.harness.models import load_runner
from tacos_temporal.harness.results import RESULTS_FILE, SAMPLES_FILE
from tacos_temporal.harness.runner import evaluate
from tacos_temporal.names import LETTERS, MIRRORED_TASKS
from tacos_temporal.scoring.controls import caption_order_letter


def _records(run_dir):
    return [json.loads(line) for line in (run_dir / SAMPLES_FILE).read_text().splitlines()]


def _results(run_dir):
    return json.loads((run_dir / RESULTS_FILE).read_text())


def test_presence_oracle_answers_only_present_options_and_is_labelled_an_oracle(demo_plan, tmp_path, capsys):
    out = tmp_path / "oracle"
    assert cli.main(["eval", "--model", "presence-oracle", "--demo", "--view", "audio_only", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "Presence-only ceiling (oracle)" in printed
    labels = {clip.filename: set(clip.labels) for clip in demo_plan}
    records = _records(out)
    for record in records:
        # Presence independently of the item evidence: the demo plan's labels of the clip.
        assert record["options_in_clip"] == [label in labels[record["filename"]] for label in record["options"]]
        assert record["options_in_clip"][LETTERS.index(record["letter"])], record["id"]
    results = _results(out)
    assert results["tacos_temporal"]["oracle"] is True and results["tacos_temporal"]["model"]["class"] == "oracle baseline"
    expected = sum(1 / sum(r["options_in_clip"]) for r in records) / len(records)
    assert results["tacos_temporal"]["scores"]["presence_ceiling"] == pytest.approx(expected)


def test_caption_order_runs_on_caption_views_and_refuses_audio_only(tmp_path, capsys):
    out = tmp_path / "caption-order"
    assert cli.main(["eval", "--model", "caption-order", "--demo", "--view", "caption_only", "audio_caption", "--out", str(out), "--quiet"]) == 0
    assert "Caption-order shortcut" in capsys.readouterr().out
    for view in ("caption_only", "audio_caption"):
        records = _records(out / view)
        assert all(r["letter"] == r["caption_order_letter"] and r["rule"] == "baseline:caption-order" for r in records)
        scores = _results(out / view)["tacos_temporal"]["scores"]
        assert scores["caption_order_accuracy"] == pytest.approx(scores["accuracy"])
    assert cli.main(["eval", "--model", "caption-order", "--demo", "--view", "audio_only", "--out", str(tmp_path / "bad")]) == 1
    assert "reads the caption" in capsys.readouterr().err


def test_caption_order_of_a_demo_caption_worked_by_hand(demo_build):
    from datasets import load_dataset

    rows = load_dataset(str(demo_build.out_dir), "caption_only", split="test")
    row = next(r for r in rows if r["caption"] == "Rapid clicking and a burst of noise over repeated beeping." and r["task"] == "latest_offset")
    # Mentions: click (word 1), burst/noise (words 4-6), beep (word 9): LO = the option for Beeping.
    assert caption_order_letter(row["caption"], row["options"], row["task"]) == LETTERS[row["options"].index("Beeping")]


def test_score_of_a_saved_run_reports_the_controls_beside_the_accuracy(demo_build, tmp_path):
    run = tmp_path / "run"
    evaluate(RunConfig(model="caption-order", view="audio_caption"), run, data=demo_build.out_dir, runner=None, progress=False)
    assert cli.main(["score", str(run), "--out", str(tmp_path / "report")]) == 0
    scores = json.loads((tmp_path / "report" / "scores.json").read_text())
    assert {"presence_ceiling", "caption_order_accuracy", "presence_ceiling_earliest_onset"} <= set(scores)
    report = (tmp_path / "report" / "report.md").read_text()
    assert "## Controls" in report and "Presence-only ceiling (oracle)" in report and "Caption-order shortcut" in report


def test_time_reversed_view_runs_with_its_own_audio_and_pairs_with_audio_only(tiny_models, tmp_path, capsys):
    out = tmp_path / "rev"
    argv = ["eval", "--model", str(tiny_models["qwen2_audio"]), "--demo", "--view", "audio_only", "time_reversed", "--mode", "logprob", "--out", str(out), "--quiet"]
    assert cli.main(argv) == 0
    assert "EO on reversed = LO on original" in capsys.readouterr().out
    original, backwards = _records(out / "audio_only"), _records(out / "time_reversed")
    assert all(r["id"].endswith("-rev") for r in backwards)
    sha = {r["filename"]: r["audio_sha256"] for r in original}
    assert all(r["audio_sha256"] != sha[r["filename"]] for r in backwards), "the reversed view feeds other audio"
    pairs = sum((r["filename"], MIRRORED_TASKS[r["task"]]) in {(o["filename"], o["task"]) for o in original} for r in backwards)
    saved = _results(out / "time_reversed")["tacos_temporal"]["temporal_consistency"]
    assert saved["reversal_pairs"] == pairs == len(backwards) and saved["original_view"] == "audio_only"
    assert _results(out / "time_reversed")["tacos_temporal"]["scores"]["reversal_consistency"] == saved["reversal_consistency"]
    assert cli.main(["compare", str(out / "audio_only"), str(out / "time_reversed"), "--json", str(tmp_path / "c.json")]) == 0
    assert json.loads((tmp_path / "c.json").read_text())["reversal_consistency"] == saved["reversal_consistency"]
    assert cli.main(["compare", str(out / "time_reversed"), str(out / "audio_only")]) == 1
    # Answered jointly with audio_only, the reversed items still heard the reversed clips: the same
    # answers as a run of time_reversed alone.
    alone = evaluate(RunConfig(model=str(tiny_models["qwen2_audio"]), view="time_reversed", mode="logprob"), tmp_path / "alone", demo=True, progress=False)
    assert _results(out / "time_reversed")["tacos_temporal"]["answered_jointly_with_views"] == ["audio_only"]
    for joint, single in zip(backwards, alone.records):
        assert joint["id"] == single["id"]
        for letter in LETTERS:
            assert joint["logprobs"][letter] == pytest.approx(single["logprobs"][letter], abs=1e-4)


def test_circular_run_asks_four_rotations_reusing_the_prefix_and_rotation_zero_is_the_plain_run(tiny_models, demo_build, tmp_path):
    model = str(tiny_models["qwen2_audio"])
    runner = load_runner(RunConfig(model=model))
    plain = evaluate(RunConfig(model=model, mode="logprob", batch_size=12), tmp_path / "plain", data=demo_build.out_dir, runner=runner, progress=False)
    circ = evaluate(RunConfig(model=model, mode="logprob", batch_size=12, circular=True), tmp_path / "circ", data=demo_build.out_dir, runner=runner, progress=False)
    assert len(circ.records) == 4 * len(plain.records)
    assert circ.results["tacos_temporal"]["reuse"] is True and circ.results["tacos_temporal"]["circular"] is True
    by_id = {r["id"]: r for r in plain.records}
    for record in circ.records:
        base = by_id[record["item_id"]]
        k = record["rotation"]
        assert record["options"] == base["options"][k:] + base["options"][:k]
        assert record["options"][LETTERS.index(record["answer"])] == base["options"][LETTERS.index(base["answer"])]
        if k == 0:
            assert record["letter"] == base["letter"]
            for letter in LETTERS:
                assert record["logprobs"][letter] == pytest.approx(base["logprobs"][letter], abs=1e-4)
    scores = circ.results["tacos_temporal"]["scores"]
    assert scores["circular_n"] == len(plain.records) and 0.0 <= scores["circular_position_bias"] <= 0.75
    assert scores["accuracy_rotation_0"] == pytest.approx(plain.scores["accuracy"])
    again = evaluate(RunConfig(model=model, mode="logprob", batch_size=12, circular=True), tmp_path / "circ", data=demo_build.out_dir, runner=runner, progress=False)
    assert again.answered == 0 and again.reused == len(circ.records)


def test_controls_of_the_real_event_table_items_only_from_the_command_line(events_test_csv, tmp_path, capsys):
    out = tmp_path / "items"
    assert cli.main(["build", "--events", str(events_test_csv), "--items-only", "--out", str(out), "--quiet"]) == 0
    built = capsys.readouterr().out
    annotations = read_event_table(events_test_csv)
    items = select_items(annotations)
    k = [sum(label in annotations.clips[item.filename].label_names() for label in item.options) for item in items]
    ceiling = f"{100 * sum(1 / n for n in k) / len(k):.1f} %"
    assert f"all {ceiling}" in built
    assert "earliest_onset 499, latest_offset 528, longest_duration 630" in built
    assert cli.main(["controls", str(out), "--out", str(tmp_path / "controls")]) == 0
    printed = capsys.readouterr().out
    assert ceiling in printed and "Caption-order shortcut: needs the captions" in printed
    summary = json.loads((tmp_path / "controls" / "controls.json").read_text())
    assert summary["time_reversed"]["answer_key_consistency"] == 1.0
    assert summary["circular"]["chance"] == pytest.approx(0.25**4)
    # A strict circular score is far below one-rotation accuracy for a guesser.
    assert summary["circular"]["random"] < 0.05 < summary["random"]["all"]
    # Saved predictions of the items only: score shows the ceiling beside them.
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text("".join(json.dumps({"id": item.id, "prediction": "B"}) + "\n" for item in items))
    assert cli.main(["score", str(predictions), "--items", str(out), "--out", str(tmp_path / "report")]) == 0
    scores = json.loads((tmp_path / "report" / "scores.json").read_text())
    assert scores["presence_ceiling"] == pytest.approx(sum(1 / n for n in k) / len(k))
    assert "Presence-only ceiling (oracle)" in capsys.readouterr().out


def test_controls_of_the_demo_build_include_the_caption_order_shortcut(demo_build, capsys):
    assert cli.main(["controls", str(demo_build.out_dir)]) == 0
    assert "caption-order shortcut" in capsys.readouterr().out


def test_a_run_folder_from_before_circular_existed_resumes(demo_build, tmp_path):
    run = tmp_path / "old"
    first = evaluate(RunConfig(model="constant:A"), run, data=demo_build.out_dir, progress=False)
    saved = json.loads((run / "run_config.json").read_text())
    del saved["circular"]  # as written before the setting existed
    (run / "run_config.json").write_text(json.dumps(saved))
    again = evaluate(RunConfig(model="constant:A"), run, data=demo_build.out_dir, progress=False)
    assert again.answered == 0 and again.reused == len(first.records)
    with pytest.raises(ConfigError, match="differs in: circular"):
        evaluate(RunConfig(model="constant:A", circular=True), run, data=demo_build.out_dir, progress=False)
