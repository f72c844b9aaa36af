"""The language models of the five newer presets, on tiny random models of the real architectures
built from transformers' own config classes (the thinker for the two Omni models), fed text token ids
with a span marked as "audio".  For Phi-4-multimodal, Granite-Speech and Voxtral this is what CAN be
checked on this CPU machine (their processors need torchvision, torchaudio or mistral-common:
tests/harness/test_presets.py); the Omni thinkers also run end to end (tests/harness/test_omni.py).

* an intervention reaches the language model's attention through transformers' AttentionInterface
  (``steer`` raises if a forward pass never calls the registered function) and changes the
  last token's logits;
* the attention recorder's per-layer shares equal the eager attention's own weights
  (``output_attentions``), the same independent reference tests/harness/test_attention.py uses.

What is not checked: the audio encoders, the processors, the audio-token counts, generation.
"""

from __future__ import annotations

import pytest
import torch
import transformers

from tacos_temporal.harness.attention import ModalityMasks, record_attention
from tacos_temporal.harness.interventions import model_sizes, steer

VOCAB = 300
TEXT = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "vocab_size": VOCAB, "max_position_embeddings": 4096}
MROPE = {"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 1e6}
SPECIAL_IDS = {"audio_token_id": VOCAB - 1, "image_token_id": VOCAB - 2, "video_token_id": VOCAB - 3, "vision_start_token_id": VOCAB - 4, "audio_start_token_id": VOCAB - 5}
OMNI_AUDIO = {"d_model": 64, "encoder_layers": 2, "encoder_attention_heads": 4, "encoder_ffn_dim": 128, "num_mel_bins": 128, "output_dim": 64}
OMNI_VISION = {"depth": 1, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 64}


def _voxtral():
    audio = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_mel_bins": 128, "max_source_positions": 1500}
    return transformers.VoxtralForConditionalGeneration(transformers.VoxtralConfig(audio_config=audio, text_config=dict(TEXT, head_dim=16), audio_token_id=24))


def _qwen2_5_omni_thinker():
    config = transformers.Qwen2_5OmniThinkerConfig(
        audio_config=OMNI_AUDIO, vision_config=dict(OMNI_VISION, fullatt_block_indexes=[0]), text_config=dict(TEXT, rope_parameters=MROPE), **SPECIAL_IDS
    )
    return transformers.Qwen2_5OmniThinkerForConditionalGeneration(config)


def _qwen3_omni_moe_thinker():
    text = dict(TEXT, num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32, head_dim=16, rope_parameters=dict(MROPE, mrope_interleaved=True))
    config = transformers.Qwen3OmniMoeThinkerConfig(
        audio_config=dict(OMNI_AUDIO, downsample_hidden_size=32), vision_config=dict(OMNI_VISION, deepstack_visual_indexes=[0]), text_config=text, **SPECIAL_IDS
    )
    return transformers.Qwen3OmniMoeThinkerForConditionalGeneration(config)


def _phi4_multimodal():
    config = transformers.Phi4MultimodalConfig(
        **dict(TEXT, pad_token_id=0, bos_token_id=1, eos_token_id=2),
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2},
        audio_config={"hidden_size": 64, "intermediate_size": 128, "num_blocks": 2, "num_attention_heads": 4, "input_size": 80, "nemo_conv_channels": 32},
    )
    return transformers.Phi4MultimodalForCausalLM(config)


def _granite_speech():
    config = transformers.GraniteSpeechConfig(
        text_config=dict(TEXT, model_type="granite"),
        encoder_config={"hidden_dim": 64, "num_layers": 2, "num_heads": 4, "dim_head": 16, "input_dim": 160, "output_dim": 42},
        projector_config={"hidden_size": 64, "encoder_hidden_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 128},
        audio_token_id=VOCAB - 1,
    )
    return transformers.GraniteSpeechForConditionalGeneration(config)


BUILDERS = {
    "voxtral-mini-3b": _voxtral,
    "qwen2.5-omni-7b": _qwen2_5_omni_thinker,
    "qwen3-omni-30b-a3b-instruct": _qwen3_omni_moe_thinker,
    "phi-4-multimodal": _phi4_multimodal,
    "granite-speech-3.3-8b": _granite_speech,
}


@pytest.fixture(params=sorted(BUILDERS))
def model(request):
    torch.manual_seed(0)
    return BUILDERS[request.param]().eval()


def _batch():
    """Two rows, the second left-padded by 3; tokens 4-8 play the audio span."""
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(3, VOCAB - 10, (2, 12), generator=generator)
    mask = torch.ones_like(ids)
    mask[1, :3] = 0
    audio = torch.zeros_like(ids, dtype=torch.bool)
    audio[:, 4:9] = True
    last = torch.zeros_like(audio)
    last[:, -1] = True
    return ids, mask, audio, last


def test_an_intervention_reaches_the_language_model_and_changes_the_answer(model):
    ids, mask, audio, last = _batch()
    assert model_sizes(model) == (TEXT["num_hidden_layers"], TEXT["num_attention_heads"])
    with torch.no_grad():
        plain = model(input_ids=ids, attention_mask=mask).logits[:, -1]
        with steer(model, "upweight:alpha=20,layers=all,queries=last", audio_mask=audio, query_mask=last):
            steered = model(input_ids=ids, attention_mask=mask).logits[:, -1]
        again = model(input_ids=ids, attention_mask=mask).logits[:, -1]
    assert (steered - plain).abs().max() > 1e-3
    torch.testing.assert_close(again, plain)  # restored on exit


def test_recorded_attention_equals_eager_attention_weights(model):
    ids, mask, audio, _ = _batch()
    valid = mask.bool()
    special = torch.zeros_like(valid)
    with torch.no_grad(), record_attention(model, ModalityMasks(audio=audio & valid, special=special, valid=valid)) as recorder:
        model(input_ids=ids, attention_mask=mask)
    record = recorder.result()
    # eager in the language model only (Phi-4-multimodal's config is its text config: no sub-config)
    model.set_attn_implementation({"text_config": "eager"} if "text_config" in model.config.sub_configs else "eager")
    assert model.config.get_text_config(decoder=True)._attn_implementation == "eager"
    with torch.no_grad():
        attentions = model(input_ids=ids, attention_mask=mask, output_attentions=True).attentions
    assert len(attentions) == TEXT["num_hidden_layers"]
    for layer, weights in enumerate(attentions):
        last = weights[:, :, -1, :].double()  # (B, H, T)
        expected = (last * (audio & valid)[:, None, :]).sum(-1)
        torch.testing.assert_close(torch.from_numpy(record.audio_share[:, layer]).double(), expected, atol=1e-5, rtol=1e-5)
    assert abs(record.audio_share + record.text_share + record.special_share - 1).max() < 1e-5
