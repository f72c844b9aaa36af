"""Tiny random Qwen2.5-Omni / Qwen3-Omni checkpoints in the Hub's FULL layout (thinker weights under
``thinker.``), built offline from transformers' own config classes and the real Qwen2 vocabulary.

The real repositories (``Qwen/Qwen2.5-Omni-7B``, ``Qwen/Qwen3-Omni-30B-A3B-Instruct``) hold one
config of model_type ``qwen2_5_omni`` / ``qwen3_omni_moe`` (thinker + talker + token2wav) and weights
whose names start with ``thinker.``, ``talker.`` and ``token2wav.``.  The harness needs only the
thinker (the part that reads audio and writes text; the full model has no ``forward``), and loads it
as the adapter :mod:`.adapter_omni` does.  These folders reproduce what that path reads:

* ``config.json``: the full config class with a tiny ``thinker_config`` (``enable_audio_output``
  false, talker and token2wav left at their defaults: they are config only, no weights);
* ``model.safetensors``: the thinker's weights as ``save_pretrained`` writes them (the Hub's names:
  ``model.layers.*``, ``audio_tower.*``, ``visual.*``, ``lm_head.*``), each prefixed ``thinker.``;
* the processor files of the real ``Qwen2_5OmniProcessor`` / ``Qwen3OmniMoeProcessor``: the real
  Qwen2 vocabulary with the Omni special tokens at their real ids
  (:func:`tacos_temporal.harness.tokenizers.real_tokenizer` ``"qwen2_5_omni"``), the chat template,
  ``WhisperFeatureExtractor(feature_size=128)`` and Qwen2-VL's image processor.

Sizes are tiny (hidden 32, two layers) except where the processors and encoders depend on them:
128 mel bins, ``max_source_positions`` 1500, the real vocabulary (151,657 tokens; the embedding has
the real 152,064 rows for Qwen2.5-Omni), so prompts tokenize as they do for the real models.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import unknown_name
from ..files import atomic_write_text, staged_output

# fmt: off
#: Qwen2.5-Omni's chat template (the Hub repo's ``chat_template.json``; the same string is the one
#: transformers' tests/models/qwen2_5_omni/test_processing_qwen2_5_omni.py gives the processor).
#: Audio items become ``<|audio_bos|><|AUDIO|><|audio_eos|>`` in place; a default system turn.
QWEN2_5_OMNI_CHAT_TEMPLATE = (
    "{% set audio_count = namespace(value=0) %}{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}"
        "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
        "<|im_start|>{{ message['role'] }}\n"
        "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
        "{% else %}"
            "{% for content in message['content'] %}"
                "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
                    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
                    "<|vision_bos|><|IMAGE|><|vision_eos|>"
                "{% elif content['type'] == 'audio' or 'audio' in content or 'audio_url' in content %}"
                    "{% set audio_count.value = audio_count.value + 1 %}{% if add_audio_id %}Audio {{ audio_count.value }}: {% endif %}"
                    "<|audio_bos|><|AUDIO|><|audio_eos|>"
                "{% elif content['type'] == 'video' or 'video' in content %}"
                    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
                    "<|vision_bos|><|VIDEO|><|vision_eos|>"
                "{% elif 'text' in content %}{{ content['text'] }}"
                "{% endif %}"
            "{% endfor %}"
            "<|im_end|>\n"
        "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# fmt: on

OMNI_ARCHS: tuple[str, ...] = ("qwen2_5_omni", "qwen3_omni_moe")
#: The thinker class the adapter loads for each arch, and the preset each stands in for.
STANDS_IN_FOR = {"qwen2_5_omni": "Qwen/Qwen2.5-Omni-7B", "qwen3_omni_moe": "Qwen/Qwen3-Omni-30B-A3B-Instruct"}
#: Embedding rows of the real thinker: ``Qwen2_5OmniTextConfig``'s default vocab_size (152,064, Qwen2.5-Omni-7B's);
#: used for both archs (Qwen3-Omni's real size was not checked here).
REAL_VOCAB_SIZE = 152064
#: Hidden 32 keeps the real-vocabulary embedding and head at 2 x 19 MB (float32).
_TEXT = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
         "vocab_size": REAL_VOCAB_SIZE, "max_position_embeddings": 32768}
_MROPE = {"rope_type": "default", "mrope_section": [1, 1, 2], "rope_theta": 1e6}
_AUDIO = {"d_model": 32, "encoder_layers": 2, "encoder_attention_heads": 4, "encoder_ffn_dim": 64, "num_mel_bins": 128, "output_dim": 32,
          "max_source_positions": 1500}
_VISION = {"depth": 1, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 32}
#: Token ids the real thinker configs carry beyond the config class's declared fields (read by
#: ``get_rope_index``): vision_bos / vision_eos.
_VISION_IDS = {"vision_start_token_id": 151652, "vision_end_token_id": 151653}


def _configs(arch: str):
    import transformers

    if arch == "qwen2_5_omni":
        thinker = transformers.Qwen2_5OmniThinkerConfig(
            audio_config=_AUDIO, vision_config=dict(_VISION, fullatt_block_indexes=[0]), text_config=dict(_TEXT, rope_parameters=_MROPE), **_VISION_IDS
        )
        return thinker, transformers.Qwen2_5OmniConfig, transformers.Qwen2_5OmniThinkerForConditionalGeneration, transformers.Qwen2_5OmniProcessor
    text = dict(_TEXT, num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32, head_dim=8, rope_parameters=dict(_MROPE, mrope_interleaved=True))
    thinker = transformers.Qwen3OmniMoeThinkerConfig(
        audio_config=dict(_AUDIO, downsample_hidden_size=32), vision_config=dict(_VISION, deepstack_visual_indexes=[0]), text_config=text, **_VISION_IDS
    )
    return thinker, transformers.Qwen3OmniMoeConfig, transformers.Qwen3OmniMoeThinkerForConditionalGeneration, transformers.Qwen3OmniMoeProcessor


def omni_processor_parts(tokenizer, chat_template: str | None = None):
    """The parts of the real Omni processors for a tiny checkpoint: the tokenizer, Whisper's feature
    extractor (128 mel bins, chunk_length 300 as in Qwen2.5-Omni's ``preprocessor_config.json`` as far as
    we know: not checked here, the Hub is out of reach) and
    Qwen2-VL's image processor (its PIL backend when torchvision is missing)."""
    import transformers

    return {
        "image_processor": transformers.Qwen2VLImageProcessorPil(),
        "feature_extractor": transformers.WhisperFeatureExtractor(feature_size=128, chunk_length=300),
        "tokenizer": tokenizer,
        "chat_template": chat_template or tokenizer.chat_template,
    }


def make_tiny_omni(arch: str, out_dir: str | Path, *, seed: int = 0, overwrite: bool = False) -> Path:
    """Write a tiny random ``arch`` checkpoint (``qwen2_5_omni`` or ``qwen3_omni_moe``) in the full Hub layout."""
    import torch
    from safetensors.torch import load_file, save_file

    from .tokenizers import real_tokenizer

    if arch not in OMNI_ARCHS:
        raise unknown_name("omni arch", arch, OMNI_ARCHS)
    out_dir = Path(out_dir)
    thinker_config, full_class, thinker_class, processor_class = _configs(arch)
    tokenizer = real_tokenizer("qwen2_5_omni")
    with staged_output(out_dir, overwrite=overwrite, what="model folder") as stage:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            thinker = thinker_class(thinker_config).eval()
        thinker.save_pretrained(stage / "thinker")  # the Hub's weight names, without the thinker. prefix
        weights = load_file(stage / "thinker" / "model.safetensors")
        save_file({f"thinker.{name}": tensor.contiguous() for name, tensor in weights.items()}, stage / "model.safetensors", metadata={"format": "pt"})
        for path in (stage / "thinker").iterdir():
            path.unlink()
        (stage / "thinker").rmdir()
        full = full_class(thinker_config=thinker_config.to_dict(), enable_audio_output=False)
        full.architectures = [full_class.__name__.replace("Config", "ForConditionalGeneration")]
        full.save_pretrained(stage)
        # The processor files as in the Hub repos: the tokenizer's files, ONE preprocessor_config.json
        # holding the feature extractor's and the image processor's keys with the processor class, and
        # the chat template.  (ProcessorMixin.save_pretrained needs the video processor it lacks here.)
        parts = omni_processor_parts(tokenizer, QWEN2_5_OMNI_CHAT_TEMPLATE)
        parts["tokenizer"].save_pretrained(stage)
        preprocessor = {**parts["image_processor"].to_dict(), **parts["feature_extractor"].to_dict(), "processor_class": processor_class.__name__}
        preprocessor["image_processor_type"] = "Qwen2VLImageProcessor"
        atomic_write_text(stage / "preprocessor_config.json", json.dumps(preprocessor, indent=2, sort_keys=True, default=str) + "\n")
        atomic_write_text(stage / "chat_template.jinja", parts["chat_template"])
        atomic_write_text(stage / "README.md", f"# tiny {arch}\n\nUntrained random weights in the layout of {STANDS_IN_FOR[arch]} (thinker only). For tests.\n")
        atomic_write_text(stage / "tiny_model.json", json.dumps({"arch": arch, "seed": seed, "stands_in_for": STANDS_IN_FOR[arch]}, indent=2) + "\n")
    return out_dir
