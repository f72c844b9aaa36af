"""Interventions inside the evaluation loop, the attention command and sweeps (tiny checkpoints)."""

from __future__ import annotations

import csv
import json

import pytest

from tacos_temporal import cli
from tacos_temporal.errors import ConfigError
from tacos_temporal.harness.analysis import SweepSpec, analyse_attention, sweep
from tacos_temporal.harness.config import RunConfig
from tacos_temporal.harness.interventions import InterventionError
from tacos_temporal.harness.models import load_runner
from tacos_temporal.harness.runner import evaluate
from tacos_temporal.names import LETTERS

STEER = "scale:alpha=3,layers=1,queries=keyword+last"


@pytest.fixture(scope="module")
def runners(tiny_models):
    return {arch: load_runner(RunConfig(model=str(tiny_models[arch]))) for arch in ("qwen2_audio", "audioflamingo3")}


@pytest.mark.parametrize("arch, mode", [("qwen2_audio", "logprob"), ("audioflamingo3", "generate")])
def test_steered_runs_with_reuse_equal_steered_runs_without(runners, arch, mode, demo_build, tmp_path):
    runs = {}
    for reuse in (True, False):
        cfg = RunConfig(model=arch, mode=mode, intervention=STEER, reuse=reuse, batch_size=5)
        runs[reuse] = evaluate(cfg, tmp_path / str(reuse), data=demo_build.out_dir, runner=runners[arch], progress=False)
    assert runs[True].results["tacos_temporal"]["reuse"] is True
    for a, b in zip(runs[True].records, runs[False].records):
        assert (a["output"], a["letter"]) == (b["output"], b["letter"])
        for letter in LETTERS:
            assert a["logprobs"][letter] == pytest.approx(b["logprobs"][letter], abs=2e-5)


def test_an_intervention_changes_answers_and_is_recorded(runners, demo_build, tmp_path):
    base = evaluate(RunConfig(model="q", mode="logprob"), tmp_path / "base", data=demo_build.out_dir, runner=runners["qwen2_audio"], progress=False)
    steered = evaluate(RunConfig(model="q", mode="logprob", intervention="upweight:alpha=20,layers=all,queries=last"), tmp_path / "steered", data=demo_build.out_dir, runner=runners["qwen2_audio"], progress=False)
    assert any(a["logprobs"] != b["logprobs"] for a, b in zip(base.records, steered.records))
    assert all(a["cache_key"] != b["cache_key"] for a, b in zip(base.records, steered.records))
    info = steered.results["tacos_temporal"]
    assert info["intervention"]["kind"] == "upweight" and info["intervention"]["alpha"] == 20.0
    assert "upweight" in info["intervention_description"] and info["oracle"] is False
    # the baseline folder cannot be resumed as a steered run
    with pytest.raises(ConfigError, match="intervention"):
        evaluate(RunConfig(model="q", mode="logprob", intervention="scale:alpha=2,layers=0"), tmp_path / "base", data=demo_build.out_dir, runner=runners["qwen2_audio"], progress=False)


def test_all_query_rows_switch_reuse_off_and_say_why(runners, demo_build, tmp_path):
    run = evaluate(RunConfig(model="q", mode="logprob", intervention="scale:alpha=2,layers=0,queries=all"), tmp_path / "run", data=demo_build.out_dir, runner=runners["qwen2_audio"], progress=False)
    assert run.results["tacos_temporal"]["reuse"] is False
    assert "queries=all" in run.results["tacos_temporal"]["reuse_reason"]


def test_bad_interventions_fail_before_any_inference(runners, demo_build, tmp_path):
    with pytest.raises(InterventionError, match="layer 7 is out of range"):
        evaluate(RunConfig(model="q", intervention="scale:alpha=2,layers=7"), tmp_path / "run", data=demo_build.out_dir, runner=runners["qwen2_audio"], progress=False)
    assert not (tmp_path / "run").exists()
    with pytest.raises(ConfigError, match="alpha"):
        RunConfig(model="q", intervention="scale:alpha=0,layers=0")
    with pytest.raises(ConfigError, match="no attention to steer"):
        RunConfig(model="random", intervention="scale:alpha=2,layers=0")


def test_intervention_specs_are_stored_in_canonical_form():
    a = RunConfig(model="q", intervention="scale:layers=3,alpha=2.0")
    b = RunConfig(model="q", intervention="scale:alpha=2,layers=3")
    assert a.intervention == b.intervention
    assert RunConfig(model="q", intervention="none").intervention is None


def test_attention_analysis_shows_an_upweight_raising_the_audio_share(runners, demo_build, tmp_path):
    runner = runners["audioflamingo3"]
    plain = analyse_attention(RunConfig(model="af3"), tmp_path / "plain", data=demo_build.out_dir, runner=runner, progress=False)
    steered = analyse_attention(RunConfig(model="af3", intervention="upweight:alpha=4,layers=all,queries=last"), tmp_path / "up", data=demo_build.out_dir, runner=runner, progress=False)
    for before, after in zip(plain["rows"], steered["rows"]):
        assert after["audio_share"] > before["audio_share"]
        assert before["audio_share"] + before["text_share"] + before["special_share"] == pytest.approx(1.0, abs=1e-5)
    with (tmp_path / "plain" / "attention.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == len(plain["rows"])
    assert (tmp_path / "up" / "attention.png").read_bytes().startswith(b"\x89PNG")
    assert json.loads((tmp_path / "up" / "attention.json").read_text())["intervention"]["kind"] == "upweight"


def test_sweep_pairs_every_layer_and_alpha_with_the_baseline_and_holds_out_items(runners, demo_build, tmp_path):
    spec = SweepSpec(kind="scale", alphas=(0.5, 4.0), queries="last", holdout=0.5)
    result = sweep(RunConfig(model="q", mode="logprob"), spec, tmp_path / "sweep", data=demo_build.out_dir, runner=runners["qwen2_audio"], progress=False)
    assert [(r["layer"], r["alpha"]) for r in result["rows"]] == [(0, 0.5), (0, 4.0), (1, 0.5), (1, 4.0)]
    assert result["choose_on"] + result["report_on"] == len(demo_build.items) and not result["post_hoc"]
    for row in result["rows"]:
        assert row["delta"] == pytest.approx(row["accuracy"] - row["baseline_accuracy"])
        assert 0.0 <= row["fix_rate"] <= 1.0 and 0.0 <= row["mcnemar_p"] <= 1.0
    with (tmp_path / "sweep" / "sweep.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 4
    assert (tmp_path / "sweep" / "sweep.png").read_bytes().startswith(b"\x89PNG")


def test_attention_and_sweep_commands_run_on_the_demo(tiny_models, demo_build, tmp_path, capsys):
    model = str(tiny_models["qwen2_audio"])
    assert cli.main(["attention", "--model", model, "--data", str(demo_build.out_dir), "--out", str(tmp_path / "a"), "--quiet"]) == 0
    assert "audio entropy" in capsys.readouterr().out
    args = ["sweep", "--model", model, "--data", str(demo_build.out_dir), "--kind", "upweight", "--alphas", "2", "--layers", "1", "--mode", "logprob", "--out", str(tmp_path / "s"), "--quiet"]
    assert cli.main(args) == 0
    assert "post hoc" in capsys.readouterr().out
