"""Qwen2.5-Omni and Qwen3-Omni (mixture of experts) end to end, on tiny random checkpoints in the Hub's
FULL layout (thinker weights under ``thinker.``; tacos_temporal/harness/tiny_omni.py) with the real
Qwen2 vocabulary and the Omni special tokens at their real ids.

What runs here is what a user's run does: the preset's adapter loads the THINKER class from the
full checkpoint, the real Omni processor class builds the inputs (without its video processor:
torchvision does not import on this CPU machine), and the evaluation loop, reuse of the audio
prefix, an intervention and the attention analysis run on the demo benchmark.
"""

from __future__ import annotations

import pytest
import torch
import transformers
from safetensors.torch import load_file

from tacos_temporal import cli
from tacos_temporal.harness.analysis import analyse_attention
from tacos_temporal.harness.config import RunConfig
from tacos_temporal.harness.models import load_runner
from tacos_temporal.harness.runner import evaluate
from tacos_temporal.harness.tiny_omni import OMNI_ARCHS
from tacos_temporal.names import LETTERS

THINKERS = {"qwen2_5_omni": transformers.Qwen2_5OmniThinkerForConditionalGeneration, "qwen3_omni_moe": transformers.Qwen3OmniMoeThinkerForConditionalGeneration}
PROCESSORS = {"qwen2_5_omni": transformers.Qwen2_5OmniProcessor, "qwen3_omni_moe": transformers.Qwen3OmniMoeProcessor}
LIMIT = 6  # items per run: a seeded sample stratified by task


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Built as a user builds them: ``tacos-temporal make-tiny-model --arch ...``."""
    root = tmp_path_factory.mktemp("tiny_omni")
    for arch in OMNI_ARCHS:
        assert cli.main(["make-tiny-model", "--arch", arch, "--out", str(root / arch)]) == 0
    return {arch: root / arch for arch in OMNI_ARCHS}


@pytest.fixture(scope="module")
def runners(folders):
    return {arch: load_runner(RunConfig(model=str(folder))) for arch, folder in folders.items()}


def _run(runner, demo_build, out, **cfg):
    cfg.setdefault("limit", LIMIT)
    return evaluate(RunConfig(model="tiny-omni", **cfg), out, data=demo_build.out_dir, runner=runner, progress=False)


@pytest.mark.parametrize("arch", OMNI_ARCHS)
def test_the_thinker_loads_from_the_full_checkpoint(arch, folders, runners):
    runner = runners[arch]
    saved = load_file(folders[arch] / "model.safetensors")
    assert saved and all(name.startswith("thinker.") for name in saved)
    assert type(runner.model) is THINKERS[arch]
    assert runner.describe()["class"] == THINKERS[arch].__name__ == runner.describe()["auto_class"]
    state = runner.model.state_dict()
    # the Hub's names (thinker.model.*, thinker.audio_tower.*) land on the thinker's modules
    torch.testing.assert_close(state["model.language_model.embed_tokens.weight"], saved["thinker.model.embed_tokens.weight"], rtol=0, atol=0)
    torch.testing.assert_close(state["lm_head.weight"], saved["thinker.lm_head.weight"], rtol=0, atol=0)
    audio = next(name for name in saved if name.startswith("thinker.audio_tower.") and name.endswith("weight"))
    torch.testing.assert_close(state["model." + audio.removeprefix("thinker.")], saved[audio], rtol=0, atol=0)


@pytest.mark.parametrize("arch", OMNI_ARCHS)
def test_the_real_processor_builds_the_inputs_without_torchvision(arch, folders, runners):
    with pytest.raises(ImportError, match="Torchvision"):  # the reason the adapter builds it from its parts
        transformers.AutoProcessor.from_pretrained(folders[arch])
    processor = runners[arch].processor
    assert isinstance(processor, PROCESSORS[arch]) and processor.video_processor is None
    assert processor.tokenizer.convert_tokens_to_ids(["<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>"]) == [151646, 151647, 151648]
    rendered = runners[arch].render("Which sound starts first?", with_audio=True)
    assert "<|audio_bos|><|AUDIO|><|audio_eos|>Which sound starts first?<|im_end|>" in rendered
    seconds = 4.0
    audio = torch.randn(int(16000 * seconds), generator=torch.Generator().manual_seed(0)).numpy() * 0.1
    inputs = runners[arch].encode([rendered], [audio])
    n_audio = int((inputs["input_ids"] == 151646).sum())
    per_second = {"qwen2_5_omni": 25, "qwen3_omni_moe": 13}[arch]  # the presets' audio_tokens_per_second
    assert abs(n_audio - per_second * seconds) <= 2
    features = processor.feature_extractor([audio], sampling_rate=16000, return_attention_mask=True, padding="max_length" if arch == "qwen2_5_omni" else "longest", return_tensors="pt")
    torch.testing.assert_close(inputs["input_features"], features["input_features"])


@pytest.mark.parametrize("arch", OMNI_ARCHS)
@pytest.mark.parametrize("mode", ["generate", "logprob"])
def test_eval_runs_in_both_modes_and_reuse_equals_full_computation(arch, mode, runners, demo_build, tmp_path):
    shared = _run(runners[arch], demo_build, tmp_path / "shared", mode=mode, batch_size=4)
    full = _run(runners[arch], demo_build, tmp_path / "full", mode=mode, batch_size=1, reuse=False)
    assert shared.results["tacos_temporal"]["reuse"] is True, shared.results["tacos_temporal"]["reuse_reason"]
    assert len(shared.records) == LIMIT
    for a, b in zip(shared.records, full.records):  # one prefill per clip, batched = one item at a time, whole
        assert set(a["logprobs"]) == set(LETTERS)
        assert (a["id"], a["output"], a["letter"]) == (b["id"], b["output"], b["letter"])
        for letter in LETTERS:
            assert a["logprobs"][letter] == pytest.approx(b["logprobs"][letter], abs=1e-4)
        if mode == "logprob":
            assert a["rule"] == "logprob" and a["letter"] == max(a["logprobs"], key=a["logprobs"].get)
        else:
            assert isinstance(a["output"], str)


@pytest.mark.parametrize("arch", OMNI_ARCHS)
def test_an_intervention_changes_the_answers_and_is_recorded(arch, runners, demo_build, tmp_path):
    plain = _run(runners[arch], demo_build, tmp_path / "plain", mode="logprob")
    steered = _run(runners[arch], demo_build, tmp_path / "steered", mode="logprob", intervention="upweight:alpha=8,layers=all,queries=last")
    info = steered.results["tacos_temporal"]
    assert info["intervention"]["kind"] == "upweight" and info["intervention"]["alpha"] == 8.0
    assert any(abs(a["logprobs"][x] - b["logprobs"][x]) > 1e-4 for a, b in zip(plain.records, steered.records) for x in LETTERS)


@pytest.mark.parametrize("arch", OMNI_ARCHS)
def test_attention_analysis_reaches_the_thinker(arch, runners, demo_build, tmp_path):
    runner = runners[arch]
    plain = analyse_attention(RunConfig(model="tiny-omni", limit=LIMIT), tmp_path / "plain", data=demo_build.out_dir, runner=runner, progress=False)
    up = analyse_attention(RunConfig(model="tiny-omni", limit=LIMIT, intervention="upweight:alpha=4,layers=all,queries=last"), tmp_path / "up", data=demo_build.out_dir, runner=runner, progress=False)
    assert len(plain["rows"]) == runner.model.config.text_config.num_hidden_layers
    for before, after in zip(plain["rows"], up["rows"]):
        assert before["audio_share"] + before["text_share"] + before["special_share"] == pytest.approx(1.0, abs=1e-5)
        assert after["audio_share"] > before["audio_share"]


@pytest.mark.parametrize("arch", OMNI_ARCHS)
def test_the_harness_positions_are_the_thinkers_own_for_audio_prompts(arch, runners):
    """The harness passes 1-D positions from the mask (logprob mode); the thinker would compute
    multimodal 3-D positions itself.  For audio and text they coincide (all three axes count tokens,
    rope_deltas 0), so the logits are identical, padded rows included."""
    from tacos_temporal.harness.models import position_ids_from_mask

    runner = runners[arch]
    rendered = runner.render("Which sound starts first?", with_audio=True)
    generator = torch.Generator().manual_seed(1)
    audios = [torch.randn(16000 * seconds, generator=generator).numpy() * 0.1 for seconds in (2, 5)]
    inputs = runner.encode([rendered, rendered], audios)
    assert (inputs["attention_mask"] == 0).any()
    with torch.no_grad():
        runner.model.model.rope_deltas = None
        own = runner.model(**inputs, use_cache=False).logits[:, -1]
        assert runner.model.model.rope_deltas.abs().max() == 0
        ours = runner.model(**inputs, position_ids=position_ids_from_mask(inputs["attention_mask"]), use_cache=False).logits[:, -1]
    torch.testing.assert_close(ours, own, rtol=0, atol=0)
