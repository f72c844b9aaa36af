"""Run configurations and model presets validate themselves."""

from __future__ import annotations

import pytest

from tacos_temporal.errors import ConfigError
from tacos_temporal.harness.config import ModelPreset, RunConfig, find_preset, load_presets
from tacos_temporal.harness.runner import stratified_sample


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"view": "audio"}, "Unknown view"),
        ({"mode": "beam"}, "Unknown mode"),
        ({"dtype": "fp8"}, "Unknown dtype"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"limit": 0}, "limit must be a positive integer"),
        ({"max_audio_seconds": -1.0}, "max_audio_seconds"),
        ({"model": " "}, "model must be"),
        ({"model": "constant:E"}, "Unknown baseline"),
        ({"prompt_template": "{nope}"}, "unknown field"),
        ({"auto_class": "AutoModel"}, "Unknown auto class"),
    ],
)
def test_run_config_rejects_bad_values(changes, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig(**{"model": "random", **changes})


def test_run_preset_file_with_overrides_and_unknown_keys(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('model = "random"\nview = "caption_only"\nbatch_size = 4\n')
    cfg = RunConfig.from_file(path, batch_size=2)
    assert (cfg.model, cfg.view, cfg.batch_size) == ("random", "caption_only", 2)
    path.write_text('model = "random"\nbatchsize = 4\n')
    with pytest.raises(ConfigError, match="unknown key\\(s\\) batchsize"):
        RunConfig.from_file(path)


def test_shipped_presets_load_and_cover_the_papers_models():
    presets = load_presets()
    paper = {p.hub_id for p in presets.values() if p.paper}
    assert paper == {
        "Qwen/Qwen2-Audio-7B-Instruct",
        "moonshotai/Kimi-Audio-7B-Instruct",
        "nvidia/audio-flamingo-3-hf",
        "DeSTA-ntu/DeSTA2.5-Audio-Llama-3.1-8B",
    }
    assert presets["audio-flamingo-3"].auto_class == "AutoModelForSeq2SeqLM"
    assert presets["qwen2-audio-7b-instruct"].max_audio_seconds == 30


def test_preset_found_by_name_or_hub_id_case_insensitively():
    assert find_preset("qwen/qwen2-audio-7b-instruct").name == "qwen2-audio-7b-instruct"
    assert find_preset("audio-flamingo-3").hub_id == "nvidia/audio-flamingo-3-hf"
    assert find_preset("some/other-model") is None


def test_preset_validates_its_auto_class():
    with pytest.raises(ConfigError, match="Unknown auto class"):
        ModelPreset(name="x", hub_id="x/y", auto_class="AutoModelForAudio")


def test_unsupported_models_are_refused_with_their_note():
    from tacos_temporal.harness.models import HFRunner, ModelError

    preset = ModelPreset(name="remote-only", hub_id="someone/remote-only", supported=False, notes="its package calls flash-attention directly")
    with pytest.raises(ModelError, match="someone/remote-only cannot run through transformers: its package calls flash-attention"):
        HFRunner(RunConfig(model="remote-only"), preset=preset)


@pytest.mark.parametrize("limit", [1, 5, 10, 17])
def test_limit_is_a_seeded_sample_stratified_by_task(limit):
    tasks = ["earliest_onset"] * 10 + ["latest_offset"] * 6 + ["longest_duration"] * 4
    chosen = stratified_sample(tasks, limit, seed=3)
    assert len(chosen) == limit == len(set(chosen)) and chosen == sorted(chosen)
    assert chosen == stratified_sample(tasks, limit, seed=3)
    for task, n in (("earliest_onset", 10), ("latest_offset", 6), ("longest_duration", 4)):
        share = sum(tasks[i] == task for i in chosen)
        assert abs(share - limit * n / 20) < 1, (task, share)


def test_limit_is_not_simply_the_first_items():
    tasks = ["earliest_onset"] * 20
    assert stratified_sample(tasks, 5, seed=0) != [0, 1, 2, 3, 4]
    assert stratified_sample(tasks, 5, seed=0) != stratified_sample(tasks, 5, seed=1)


def test_limit_at_least_the_size_takes_everything():
    assert stratified_sample(["latest_offset"] * 3, 10, seed=0) == [0, 1, 2]
