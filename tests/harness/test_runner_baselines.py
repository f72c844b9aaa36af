"""The evaluation loop with the baseline "models": records, resume, run folders, bad input."""

from __future__ import annotations

import json

import pytest

from tacos_temporal.errors import ConfigError, SourceError
from tacos_temporal.harness.config import RunConfig
from tacos_temporal.harness.results import RESULTS_FILE, SAMPLES_FILE
from tacos_temporal.harness.runner import evaluate, read_records
from tacos_temporal.names import TASKS


def _lines(path):
    return path.read_text(encoding="utf-8").splitlines()


def test_baseline_run_writes_one_record_per_item_in_benchmark_order(demo_build, tmp_path):
    result = evaluate(RunConfig(model="constant:B", view="audio_only"), tmp_path / "run", data=demo_build.out_dir, progress=False)
    records = [json.loads(line) for line in _lines(tmp_path / "run" / SAMPLES_FILE)]
    assert [r["id"] for r in records] == [item.id for item in demo_build.items]
    assert all(r["letter"] == "B" and r["rule"] == "baseline:constant:B" for r in records)
    assert all(r["correct"] == (r["answer"] == "B") for r in records)
    # audio views record the clip's hash even for a model that does not listen
    assert all(len(r["audio_sha256"]) == 64 and r["audio_seconds"] > 0 for r in records)
    expected = sum(item.answer == "B" for item in demo_build.items) / len(demo_build.items)
    assert result.scores["accuracy"] == pytest.approx(expected)


def test_results_json_is_a_superset_of_lm_eval_results(demo_build, tmp_path):
    evaluate(RunConfig(model="random", view="caption_only", mode="logprob"), tmp_path / "run", data=demo_build.out_dir, progress=False)
    results = json.loads((tmp_path / "run" / RESULTS_FILE).read_text())
    for key in ("results", "configs", "versions", "n-samples", "config", "model_name", "git_hash", "date", "total_evaluation_time_seconds"):
        assert key in results, key
    for task in TASKS:
        entry = results["results"][f"tacos_temporal_{task}"]
        assert 0.0 <= entry["acc,none"] <= 1.0 and entry["alias"] == task
        assert results["configs"][f"tacos_temporal_{task}"]["dataset_name"] == "caption_only"
    own = results["tacos_temporal"]
    assert own["run_config"]["mode"] == "logprob" and own["samples"] == SAMPLES_FILE
    assert own["package_versions"]["datasets"] and own["timings"]["items_answered"] == len(_lines(tmp_path / "run" / SAMPLES_FILE))


def test_second_run_reuses_every_record(demo_build, tmp_path):
    cfg = RunConfig(model="random", view="audio_caption")
    first = evaluate(cfg, tmp_path / "run", data=demo_build.out_dir, progress=False)
    again = evaluate(cfg, tmp_path / "run", data=demo_build.out_dir, progress=False)
    assert (again.answered, again.reused) == (0, len(first.records))
    assert again.records == first.records


def test_resume_after_a_torn_write_gives_the_uninterrupted_result(demo_build, tmp_path):
    cfg = RunConfig(model="random", view="audio_only")
    full = evaluate(cfg, tmp_path / "full", data=demo_build.out_dir, progress=False)
    evaluate(cfg, tmp_path / "cut", data=demo_build.out_dir, progress=False)
    samples = tmp_path / "cut" / SAMPLES_FILE
    lines = _lines(samples)
    # a kill in the middle of a write: five whole lines, then half a line, no results.json
    samples.write_text("\n".join(lines[:5]) + "\n" + lines[5][: len(lines[5]) // 2], encoding="utf-8")
    (tmp_path / "cut" / RESULTS_FILE).unlink()
    resumed = evaluate(cfg, tmp_path / "cut", data=demo_build.out_dir, progress=False)
    assert (resumed.reused, resumed.answered) == (5, len(lines) - 5)
    assert _lines(samples) == _lines(tmp_path / "full" / SAMPLES_FILE)
    assert resumed.scores == full.scores


def test_read_records_cuts_a_torn_last_line(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text('{"cache_key": "a"}\n{"cache_key": "b"}\n{"cache_k', encoding="utf-8")
    assert list(read_records(path)) == ["a", "b"]
    assert path.read_text() == '{"cache_key": "a"}\n{"cache_key": "b"}\n'


def test_a_run_folder_of_another_configuration_is_refused(demo_build, tmp_path):
    evaluate(RunConfig(model="random", view="audio_only"), tmp_path / "run", data=demo_build.out_dir, progress=False)
    with pytest.raises(ConfigError, match="differs in: mode"):
        evaluate(RunConfig(model="random", view="audio_only", mode="logprob"), tmp_path / "run", data=demo_build.out_dir, progress=False)
    # batch size changes no answer: resuming with another one is fine
    evaluate(RunConfig(model="random", view="audio_only", batch_size=3), tmp_path / "run", data=demo_build.out_dir, progress=False)
    # --overwrite starts afresh
    fresh = evaluate(RunConfig(model="random", view="audio_only", mode="logprob"), tmp_path / "run", data=demo_build.out_dir, overwrite=True, progress=False)
    assert fresh.reused == 0


def test_limit_runs_a_stratified_subset(demo_build, tmp_path):
    result = evaluate(RunConfig(model="random", view="caption_only", limit=7), tmp_path / "run", data=demo_build.out_dir, progress=False)
    assert len(result.records) == 7
    assert {r["task"] for r in result.records} == set(TASKS)


def test_a_view_the_data_cannot_serve_fails_before_any_inference(demo_release, tmp_path):
    from tacos_temporal.data.build import build

    audio_only = build(tmp_path / "audio_only_build", tacos_dir=demo_release, views=["audio_only"], progress=False)
    with pytest.raises(SourceError, match="caption_only"):
        evaluate(RunConfig(model="random", view="caption_only"), tmp_path / "run", data=audio_only.out_dir, progress=False)
    assert not (tmp_path / "run").exists()


def test_data_and_demo_together_are_refused(demo_build, tmp_path):
    with pytest.raises(ConfigError, match="not both"):
        evaluate(RunConfig(model="random"), tmp_path / "run", data=demo_build.out_dir, demo=True, progress=False)
