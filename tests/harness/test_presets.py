"""Every model preset is either proven on a tiny checkpoint by the suite or marked unsupported with a
reason, and each stated reason holds in this environment (issue 13).  When one stops holding (a
working torchvision, torchaudio or mistral-common arrives), the test below fails: then build the
model's tiny checkpoint and prove it instead."""

from __future__ import annotations

import argparse

import pytest
import torch
import transformers

from tacos_temporal import cli
from tacos_temporal.harness.config import RunConfig, load_presets, preset_help
from tacos_temporal.harness.models import HFRunner, ModelError

#: Supported presets and the tests that run their architecture end to end on a tiny checkpoint
#: (eval in both modes, reuse, an intervention, the attention analysis).
PROVEN = {
    "qwen2-audio-7b-instruct": "tests/harness/test_runner_models.py, test_reuse.py, test_steered_runs.py, test_attention.py (arch qwen2_audio)",
    "audio-flamingo-3": "tests/harness/test_runner_models.py, test_reuse.py, test_steered_runs.py, test_attention.py (arch audioflamingo3)",
    "desta2.5-audio-llama-3.1-8b": "tests/harness/test_desta25.py (native port)",
    "kimi-audio-7b-instruct": "tests/harness/test_kimi_audio.py (native port)",
}


def test_every_preset_is_proven_or_marked_unsupported_with_a_reason():
    presets = load_presets()
    assert len(presets) == 9
    for name, preset in presets.items():
        if preset.supported:
            assert name in PROVEN, f"{name} is marked supported but no tiny-checkpoint test proves it"
        else:
            assert len(preset.notes) > 80, f"{name}: an unsupported preset must say why"


def _fails_without(make, package: str) -> None:
    with pytest.raises(ImportError, match=package):
        make()


def test_the_stated_reasons_hold_here():
    # Granite-Speech: its feature extractor needs torchaudio; no torchaudio supports torch 2.13.
    _fails_without(transformers.GraniteSpeechFeatureExtractor, "torchaudio")
    # Phi-4-multimodal: the image processor has only a torchvision backend.
    _fails_without(transformers.Phi4MultimodalImageProcessor, "Torchvision")
    # Qwen2.5-Omni / Qwen3-Omni: the processors require the torchvision video processor, and the
    # Auto class gives the thinker + talker model, which has no forward().
    _fails_without(transformers.Qwen2VLVideoProcessor, "Torchvision")
    for processor in (transformers.Qwen2_5OmniProcessor, transformers.Qwen3OmniMoeProcessor):
        assert "video_processor" in processor.get_attributes()
    for full in (transformers.Qwen2_5OmniForConditionalGeneration, transformers.Qwen3OmniMoeForConditionalGeneration):
        assert full.forward is torch.nn.Module.forward
    # Voxtral: no mistral-common (numpy < 2.4), and its processor refuses text with the audio token.
    assert not transformers.utils.is_mistral_common_available()
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
    for name, preset in load_presets().items():
        assert f"{name} ({preset.hub_id};" in flat
        if not preset.supported:
            assert " ".join(preset.notes.split()) in flat
