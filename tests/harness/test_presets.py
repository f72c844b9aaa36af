"""Every model preset says what the suite verified for it (``verified``, naming the tests) or is marked
unsupported with a reason; a preset that needs a package beyond the core install names it in
``requires`` and fails with one line before any weights load; and each stated limit of THIS machine
holds here (issue 13).  When one stops holding (a working torchvision, torchaudio or mistral-common
arrives), the test below fails: then extend the preset's tests and its ``verified`` text."""

from __future__ import annotations

import argparse
import re

import pytest
import torch
import transformers

from tacos_temporal import cli
from tacos_temporal.errors import ConfigError
from tacos_temporal.harness.config import ModelPreset, RunConfig, load_presets, missing_requirement, preset_help
from tacos_temporal.harness.models import HFRunner, ModelError
from tests.conftest import REPO_ROOT


def test_every_preset_names_the_tests_that_verify_it_or_is_marked_unsupported_with_a_reason():
    presets = load_presets()
    assert len(presets) == 9
    for name, preset in presets.items():
        if preset.supported:
            files = re.findall(r"(?:tests/harness/)?(test_\w+\.py)", preset.verified)
            assert files, f"{name} is marked supported but its verified text names no test"
            for file in files:
                assert (REPO_ROOT / "tests" / "harness" / file).is_file(), f"{name}: {file} does not exist"
        else:
            assert len(preset.notes) > 80, f"{name}: an unsupported preset must say why"


def test_a_missing_package_fails_before_any_weights_with_one_line_saying_what_to_install(tmp_path):
    preset = ModelPreset(name="needs-it", hub_id=str(tmp_path / "never-read"), requires={"json": "json", "no_such_module_tacos": "no-such-package[audio]>=1.2"})
    message = "needs-it needs the package no-such-package (pip install 'no-such-package[audio]>=1.2'); importing no_such_module_tacos failed: No module named 'no_such_module_tacos'"
    assert missing_requirement(preset) == message
    with pytest.raises(ModelError) as caught:
        HFRunner(RunConfig(model="needs-it"), preset=preset)
    assert str(caught.value) == message and "\n" not in message
    assert missing_requirement(ModelPreset(name="fine", hub_id="x", requires={"json": "json"})) is None


def test_requires_must_map_import_names_to_requirements():
    with pytest.raises(ConfigError, match="requires must map import names"):
        ModelPreset(name="bad", hub_id="x", requires=["torchaudio"])


def _fails_without(make, package: str) -> None:
    with pytest.raises(ImportError, match=package):
        make()


def test_the_stated_limits_of_this_machine_hold_here():
    presets = load_presets()
    # Granite-Speech: its feature extractor needs torchaudio; no torchaudio supports torch 2.13.
    _fails_without(transformers.GraniteSpeechFeatureExtractor, "torchaudio")
    assert "torchaudio" in missing_requirement(presets["granite-speech-3.3-8b"])
    # Phi-4-multimodal: the image processor has only a torchvision backend.
    _fails_without(transformers.Phi4MultimodalImageProcessor, "Torchvision")
    assert "torchvision" in missing_requirement(presets["phi-4-multimodal"])
    assert presets["phi-4-multimodal"].revision == "refs/pr/70"
    # Qwen2.5-Omni / Qwen3-Omni: the video processor needs torchvision (the adapter builds the
    # processor without it: tests/harness/test_omni.py), and the Auto class gives the thinker +
    # talker model, which has no forward() (the adapter loads the thinker).
    _fails_without(transformers.Qwen2VLVideoProcessor, "Torchvision")
    for full in (transformers.Qwen2_5OmniForConditionalGeneration, transformers.Qwen3OmniMoeForConditionalGeneration):
        assert full.forward is torch.nn.Module.forward
    for name in ("qwen2.5-omni-7b", "qwen3-omni-30b-a3b-instruct"):
        assert presets[name].supported and missing_requirement(presets[name]) is None
    # Voxtral: no mistral-common here (numpy < 2.4), and its processor refuses text with the audio token.
    assert not transformers.utils.is_mistral_common_available()
    assert "mistral-common" in missing_requirement(presets["voxtral-mini-3b"])
    from tacos_temporal.harness.tiny import _build_tokenizer

    processor = transformers.VoxtralProcessor(transformers.WhisperFeatureExtractor(feature_size=128), _build_tokenizer("qwen2_audio"))
    with pytest.raises(ValueError, match="apply_chat_template"):
        processor(text=[f"listen {processor.audio_token} here"])


@pytest.mark.parametrize("name", [n for n, p in load_presets().items() if not p.supported])
def test_an_unsupported_preset_fails_at_once_with_its_reason(name):
    preset = load_presets()[name]
    for model in (name, preset.hub_id):
        with pytest.raises(ModelError, match="cannot run through transformers") as caught:
            HFRunner(RunConfig(model=model))
        assert preset.notes in str(caught.value)


def test_eval_help_lists_every_preset_and_the_reasons():
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    text = subparsers.choices["eval"].format_help()
    assert preset_help() in text
    flat = " ".join(text.split())
    packed = "".join(text.split())  # argparse may wrap a line after a hyphen ("GLM-4-" / "Voice")
    for name, preset in load_presets().items():
        assert f"{name} ({preset.hub_id};" in flat
        if preset.verified:
            assert "".join(f"verified: {preset.verified}".split()) in packed
        for requirement in preset.requires.values():
            assert f"pip install '{requirement}'" in flat
        if not preset.supported:
            assert "".join(preset.notes.split()) in packed


def test_granite_speech_gets_its_audio_placeholder_inside_the_user_text():
    from tacos_temporal.harness.adapter_granite import GraniteSpeechAdapter, flatten_audio_items

    conversation = GraniteSpeechAdapter().conversation("Which sound starts first?", with_audio=True, system_prompt="Be brief.")
    assert flatten_audio_items(conversation, "<|audio|>") == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "<|audio|>Which sound starts first?"},
    ]
    assert flatten_audio_items(GraniteSpeechAdapter().conversation("Q?", with_audio=False), "<|audio|>") == [{"role": "user", "content": "Q?"}]


def test_a_preset_revision_is_used_unless_the_run_names_one(tiny_models):
    folder = str(tiny_models["qwen2_audio"])
    preset = ModelPreset(name="pinned", hub_id=folder, adapter="qwen2_audio", revision="refs/pr/70")
    assert HFRunner(RunConfig(model="pinned"), preset=preset).cfg.revision == "refs/pr/70"
    assert HFRunner(RunConfig(model="pinned", revision="main"), preset=preset).cfg.revision == "main"
