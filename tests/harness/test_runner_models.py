"""The evaluation loop with real transformers models (tiny random-weight checkpoints, offline)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tacos_temporal.harness.config import RunConfig
from tacos_temporal.harness.models import BaselineRunner, ModelError, load_runner
from tacos_temporal.harness.results import RESULTS_FILE, SAMPLES_FILE
from tacos_temporal.harness.runner import evaluate
from tacos_temporal.names import ALL_VIEWS, LETTERS

AUDIO_ARCHS = ("qwen2_audio", "audioflamingo3")


def _records(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / SAMPLES_FILE).read_text().splitlines()]


@pytest.mark.parametrize("arch", AUDIO_ARCHS)
@pytest.mark.parametrize("mode", ["generate", "logprob"])
def test_tiny_audio_models_run_every_view_in_both_modes(arch, mode, tiny_models, demo_build, tmp_path):
    runner = load_runner(RunConfig(model=str(tiny_models[arch])))
    for view in (v for v in ALL_VIEWS if v != "time_reversed"):  # its own items: tests/harness/test_control_runs.py
        result = evaluate(RunConfig(model=str(tiny_models[arch]), view=view, mode=mode, batch_size=4), tmp_path / view, data=demo_build.out_dir, runner=runner, progress=False)
        records = result.records
        assert [r["id"] for r in records] == [item.id for item in demo_build.items]
        assert all(set(r["logprobs"]) == set(LETTERS) for r in records)
        if mode == "logprob":
            assert all(r["rule"] == "logprob" and r["letter"] == max(r["logprobs"], key=r["logprobs"].get) for r in records)
            assert result.scores["parse_failure_rate"] == 0.0
        else:
            assert all(isinstance(r["output"], str) for r in records)
        has_audio = view != "caption_only"
        assert all((r["audio_sha256"] is not None) == has_audio for r in records)
        if has_audio:
            assert "audio" in records[0]["prompt"].lower() or "<sound>" in records[0]["prompt"]
        if view in ("caption_only", "audio_caption"):
            assert "Caption: " in records[0]["prompt"]


@pytest.mark.parametrize("arch", AUDIO_ARCHS)
def test_batched_answers_equal_one_item_at_a_time(arch, tiny_models, demo_build, tmp_path):
    model = str(tiny_models[arch])
    runner = load_runner(RunConfig(model=model))
    one = evaluate(RunConfig(model=model, batch_size=1), tmp_path / "one", data=demo_build.out_dir, runner=runner, progress=False)
    many = evaluate(RunConfig(model=model, batch_size=5), tmp_path / "many", data=demo_build.out_dir, runner=runner, progress=False)
    for a, b in zip(one.records, many.records):
        assert a["output"] == b["output"] and a["letter"] == b["letter"]
        for letter in LETTERS:
            assert a["logprobs"][letter] == pytest.approx(b["logprobs"][letter], abs=1e-4)


def test_silence_control_feeds_zeros_of_the_same_length(tiny_models, demo_build, tmp_path):
    model = str(tiny_models["qwen2_audio"])
    runner = load_runner(RunConfig(model=model))
    audio = evaluate(RunConfig(model=model, mode="logprob"), tmp_path / "a", data=demo_build.out_dir, runner=runner, progress=False)
    silent = evaluate(RunConfig(model=model, view="silence", mode="logprob"), tmp_path / "s", data=demo_build.out_dir, runner=runner, progress=False)
    for a, s in zip(audio.records, silent.records):
        assert a["audio_seconds"] == s["audio_seconds"] and a["audio_sha256"] == s["audio_sha256"]
        assert a["cache_key"] != s["cache_key"]
    assert any(a["logprobs"] != s["logprobs"] for a, s in zip(audio.records, silent.records))


def test_long_audio_is_cut_to_the_limit_and_recorded(tiny_models, demo_build, tmp_path):
    model = str(tiny_models["qwen2_audio"])
    result = evaluate(RunConfig(model=model, mode="logprob", max_audio_seconds=5.0), tmp_path / "run", data=demo_build.out_dir, progress=False)
    for record in result.records:
        assert record["audio_truncated"] == (record["audio_seconds"] > 5.0)
    assert result.results["tacos_temporal"]["audio_truncated"] == sum(r["audio_truncated"] for r in result.records) > 0


def test_text_only_model_serves_caption_only_and_refuses_audio_views(tiny_models, demo_build, tmp_path):
    model = str(tiny_models["qwen2_text"])
    result = evaluate(RunConfig(model=model, view="caption_only"), tmp_path / "cap", data=demo_build.out_dir, progress=False)
    assert len(result.records) == len(demo_build.items)
    with pytest.raises(ModelError, match="takes no audio"):
        evaluate(RunConfig(model=model, view="audio_only"), tmp_path / "audio", data=demo_build.out_dir, progress=False)
    assert not (tmp_path / "audio").exists()


def test_unknown_model_fails_before_any_run_folder_is_written(demo_build, tmp_path):
    with pytest.raises(ModelError, match="cannot load a processor"):
        evaluate(RunConfig(model=str(tmp_path / "no-such-model")), tmp_path / "run", data=demo_build.out_dir, progress=False)
    assert not (tmp_path / "run").exists()


def test_remote_code_runs_only_on_explicit_request(tiny_models, tmp_path):
    import shutil

    folder = Path(shutil.copytree(tiny_models["qwen2_text"], tmp_path / "remote"))
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "configuration_custom.CustomConfig"}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "configuration_custom.py").write_text("raise RuntimeError('remote code ran')\n")
    # without the flag the folder's own code is never imported: the built-in class loads it
    runner = load_runner(RunConfig(model=str(folder), view="caption_only"))
    assert runner.describe()["class"] == "Qwen2ForCausalLM"
    with pytest.raises(RuntimeError, match="remote code ran"):
        load_runner(RunConfig(model=str(folder), view="caption_only", trust_remote_code=True))


class _OomUntilSmall(BaselineRunner):
    """A runner whose device 'runs out of memory' for batches above two items."""

    def __init__(self):
        super().__init__("random", 0)
        self.sizes: list[int] = []

    def answer(self, rendered, audios, *, mode, max_new_tokens, item_ids, tasks=None, intervention=None):
        import torch

        self.sizes.append(len(rendered))
        if len(rendered) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return super().answer(rendered, audios, mode=mode, max_new_tokens=max_new_tokens, item_ids=item_ids, tasks=tasks, intervention=intervention)


def test_out_of_memory_halves_the_batch_and_loses_nothing(demo_build, tmp_path):
    runner = _OomUntilSmall()
    result = evaluate(RunConfig(model="random", batch_size=8, view="caption_only"), tmp_path / "run", data=demo_build.out_dir, runner=runner, progress=False)
    assert runner.sizes[:3] == [8, 4, 2] and max(runner.sizes[3:]) <= 2
    reference = evaluate(RunConfig(model="random", view="caption_only"), tmp_path / "ref", data=demo_build.out_dir, progress=False)
    assert [r["letter"] for r in result.records] == [r["letter"] for r in reference.records]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "tacos_temporal.cli", *args]


def test_killed_run_resumes_to_the_uninterrupted_result(tiny_models, demo_build, tmp_path):
    args = ["eval", "--model", str(tiny_models["qwen2_audio"]), "--data", str(demo_build.out_dir), "--batch-size", "1", "--quiet"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    subprocess.run(_cli(*args, "--out", str(tmp_path / "full")), check=True, env=env, capture_output=True)
    run = tmp_path / "killed"
    process = subprocess.Popen(_cli(*args, "--out", str(run)), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples = run / SAMPLES_FILE
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if samples.is_file() and samples.read_text().count("\n") >= 3:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = samples.read_text().count("\n")
    assert 3 <= partial < len(demo_build.items), "the kill must land in the middle of the run"
    assert not (run / RESULTS_FILE).exists()
    subprocess.run(_cli(*args, "--out", str(run)), check=True, env=env, capture_output=True)
    resumed, full = _records(run), _records(tmp_path / "full")
    assert [r["id"] for r in resumed] == [r["id"] for r in full]  # no duplicates, no gaps
    for a, b in zip(resumed, full):
        assert (a["output"], a["letter"], a["cache_key"]) == (b["output"], b["letter"], b["cache_key"])
    results = json.loads((run / RESULTS_FILE).read_text())["tacos_temporal"]["timings"]
    assert results["items_reused"] >= 3 and results["items_reused"] + results["items_answered"] == len(full)


@pytest.mark.slow
def test_two_processes_under_accelerate_give_one_run_folder(tiny_models, demo_build, tmp_path):
    args = ["eval", "--model", str(tiny_models["qwen2_audio"]), "--data", str(demo_build.out_dir), "--mode", "logprob", "--quiet"]
    single = evaluate(RunConfig(model=str(tiny_models["qwen2_audio"]), mode="logprob"), tmp_path / "single", data=demo_build.out_dir, progress=False)
    # accelerate starts several local processes through torchrun with --multi_gpu, on CPU too
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "tacos_temporal.cli"]
    done = subprocess.run([*launch, *args, "--out", str(tmp_path / "dp")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    merged = _records(tmp_path / "dp")
    assert [r["id"] for r in merged] == [r["id"] for r in single.records]
    assert [r["letter"] for r in merged] == [r["letter"] for r in single.records]
    assert not list((tmp_path / "dp").glob("samples.rank*.jsonl"))
    timings = json.loads((tmp_path / "dp" / RESULTS_FILE).read_text())["tacos_temporal"]["timings"]
    assert timings["processes"] == 2
