"""A tiny random Kimi-Audio-7B-Instruct folder in the layout of the Hub release, for parity tests.

``write_tiny_kimi_release(folder, seed)`` writes what ``moonshotai/Kimi-Audio-7B-Instruct`` and
``THUDM/glm-4-voice-tokenizer`` hold (the parts a text answer needs), with the original file names,
config field names, tensor names, special ids and offsets, but tiny dimensions and random weights.
The same folder feeds two programs:

* ``scripts/kimi_audio_original_reference.py``, which runs the ORIGINAL ``kimia_infer`` code (and the
  GLM-4-Voice tokenizer code it pins) in its own transformers 4.x environment and saves reference
  tensors under ``tests/fixtures/kimi_audio_original/``;
* the native port's converter (``convert-kimi``), whose output the parity test compares with them.

So this module imports only the standard library, numpy and ``tiny_release_io`` (which writes the
safetensors format itself, bf16 included): the reference script imports it in the original's venv
(``import tacos_temporal`` pulls in nothing else), and both environments write byte-identical files
(weights come from ``numpy.random.default_rng``, whose streams numpy keeps stable across versions).
Untrained: for tests only.

Layout facts and where they were read (``[read]`` = read in the source named; ``[3rd]`` = read in a
third-party copy or checker of the release, not in the release itself; ``[inferred]`` = deduced):

Main folder (``moonshotai/Kimi-Audio-7B-Instruct``)
  * ``config.json``: field names of ``KimiAudioConfig(Qwen2Config)`` in ``configuration_moonshot_kimia.py``
    [3rd: public copies of that file, e.g. vLLM's "Adapted from .../configuration_moonshot_kimia.py"];
    the real values ``vocab_size 168448``, ``kimia_token_offset 152064``, ``kimia_text_output_vocab
    152064``, ``kimia_audio_output_vocab 16896``, ``kimia_mimo_layers 6``,
    ``kimia_mimo_transformer_from_layer_index 21``, ``kimia_mimo_audiodelaytokens 6``,
    ``kimia_adaptor_input_dim 5120``, ``torch_dtype bfloat16``, ``architectures
    ["MoonshotKimiaForCausalLM"]`` [3rd: a checker that asserts these axes of the real config];
    ``kimia_media_begin 151661``, ``kimia_media_end 151663``, ``use_whisper_feature true``,
    ``rms_norm_eps 1e-6`` [3rd: vLLM's config copy]; ``model_type "moonshot_kimia"`` [3rd: a write-up
    quoting the real config.json]; ``auto_map`` [inferred from the remote-code file names].  Kept real
    here: every id, offset and vocabulary size; ``kimia_adaptor_input_dim`` stays 4 x the Whisper width
    (5120 = 4 x 1280 for real; 4 x 32 here) because the prompt manager reshapes 4 Whisper frames into
    one adaptor input [read: ``kimia_infer/api/prompt_manager.py::extract_whisper_feat``].
    ``rope_theta`` is 1e6 here (Qwen2.5-7B's value; the release's value was not seen).
  * weights: the release has 453 tensors in 36 shards + ``model.safetensors.index.json``; names
    ``model.embed_tokens``, ``model.layers.{i}.*`` (Qwen2 decoder-layer names, q/k/v with bias, o_proj
    without), ``model.norm``, ``model.mimo_layers.{i}.*``, ``model.mimo_norm``,
    ``model.vq_adaptor.layers.{0,3,4}`` (Linear, SiLU, Dropout, Linear, LayerNorm), ``lm_head``,
    ``mimo_output``, and one ``...self_attn.rotary_emb.inv_freq`` per trunk and MIMO layer (34 = 453 -
    419, and the index's total_size exceeds the parameter bytes by exactly 34 x 64 bf16 values)
    [3rd + inferred; module names read in the Hub modeling code's public copies: ``VQAdaptor``,
    ``MoonshotKimiaModel``, ``MoonshotKimiaForCausalLM``].  The last shard holds embed_tokens, norm,
    lm_head, mimo_output and mimo_norm [3rd]; which shard holds which layer otherwise was not seen:
    here one shard per decoder layer, then the adaptor, then that last shard, named like the release
    (``model-{k}-of-{n}.safetensors``) [inferred].  Stored as bf16 like the release.
  * ``whisper-large-v3/``: ``config.json`` (``WhisperConfig``) + ``model.safetensors`` of a
    ``WhisperForConditionalGeneration`` (``model.encoder.*``, ``model.decoder.*``; ``proj_out`` tied and
    not stored), fp16: the release's file has the byte size of openai/whisper-large-v3's fp16
    ``model.safetensors`` [3rd]; Kimi loads it with ``WhisperModel.from_pretrained(...).encoder``
    [read: ``kimia_infer/models/tokenizer/whisper_Lv3/whisper.py``].  Tiny: d_model 32, 128 mel bins,
    ``max_source_positions`` 1500 (Kimi's encoder adds the whole position table to the 1500 frames of a
    30-s window [read: ``whisper_Lv3/modeling_whisper.py::WhisperEncoder.forward``]).
  * text tokenizer: ``tiktoken.model`` + ``tokenizer_config.json`` (+ remote code
    ``tokenization_kimia.py``, not written here).  The release's ``tiktoken.model`` cannot be
    downloaded here; its 151,643 base ranks are presumably Qwen's BPE ranks (the LLM starts from
    Qwen2.5-7B) [inferred], so this writes ``qwen.tiktoken`` as shipped in the PyPI packages
    ``dashscope`` and ``qwen-agent`` (Apache-2.0; 151,643 ranks) as ``tiktoken.model``: a STAND-IN whose identity with the
    real file is unverified.  The 421 special tokens at 151643 + index and their names are those of the
    tokenizer class [3rd: a public copy of Kimi's ``TikTokenTokenizer``; the ids match the config's
    media ids and the prompt manager's names].  ``tokenizer_config.json``'s exact content in the release
    was not seen: this one holds the ``auto_map`` to ``tokenization_kimia.TikTokenTokenizer`` and the
    special tokens' ``added_tokens_decoder`` [inferred].

Speech tokenizer folder (``THUDM/glm-4-voice-tokenizer``; written as ``glm-4-voice-tokenizer/``)
  * ``config.json``: ``WhisperVQConfig`` fields with the release's values (``architectures
    ["WhisperVQEncoder"]``, ``pooling_kernel_size 4``, ``pooling_type "avg"``, ``pooling_position 16``,
    ``quantize_position 16``, ``quantize_vocab_size 16384``, ``quantize_causal_block_size 200``,
    ``quantize_encoder_only true``, ``quantize_ema_decay 0.99``, ``encoder_causal_convolution true``,
    ``encoder_causal_attention false``, ``quantize_causal_encoder false``, ``num_mel_bins 128``,
    ``max_source_positions 1500``, ``torch_dtype float32``) [3rd: a public reimplementation that lists
    the release's config.json field by field]; field semantics [read: GLM-4-Voice
    ``speech_tokenizer/configuration_whisper.py`` and ``modeling_whisper.py::WhisperVQEncoder``].
    Tiny: d_model 32, 2 heads, ``quantize_position = pooling_position = 2`` (the real logic, scaled
    down: pooling and quantization after the last kept layer), ``encoder_layers 4``; the block size (200
    frames), kernel (4) and codebook size (16384) stay real.
  * ``model.safetensors``: the bare ``WhisperVQEncoder`` state dict, fp32: ``conv1``, ``conv2``
    (causal convolutions, same parameter names), ``embed_positions``, ``layers.{0..quantize_position-1}.*``,
    ``codebook.weight``, ``embed_positions2.weight`` (ceil(1500 / 4) = 375 rows), and the EMA buffers
    ``ema_count``, ``ema_weight`` (persistent buffers of ``WhisperVQEncoder`` when
    ``quantize_ema_decay`` is set) [read: the module's names; 3rd: a reimplementation that loads the
    release's file strictly into exactly these keys].  Kimi loads it with
    ``WhisperVQEncoder.from_pretrained(path)`` [read: ``kimia_infer/models/tokenizer/glm4_tokenizer.py``],
    which needs these bare names.
  * ``preprocessor_config.json``: ``WhisperFeatureExtractor`` with 128 mel bins [read: Kimi's
    ``Glm4Tokenizer`` loads it with ``WhisperFeatureExtractor.from_pretrained(path)``; values are
    whisper-large-v3's].
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np

from .tiny_release_io import Draw, conv_stem, whisper_layer, write_json, write_safetensors
from .tiny_release_io import whisper_config as whisper_config_io
from .tiny_release_io import whisper_tensors as whisper_tensors_io

# ---- real ids and sizes (kept exact in the tiny folder) -------------------------------------------
VOCAB_SIZE = 168448
KIMIA_TOKEN_OFFSET = 152064
KIMIA_TEXT_OUTPUT_VOCAB = 152064
KIMIA_AUDIO_OUTPUT_VOCAB = 16896
NUM_BASE_TOKENS = 151643
NUM_RESERVED_SPECIAL_TOKENS = 293 + 128  # 421: ids 151643 .. 152063 = KIMIA_TOKEN_OFFSET - 1
MEDIA_BEGIN, MEDIA_END = 151661, 151663
GLM_CODEBOOK_SIZE = 16384
QWEN_TIKTOKEN_SHA256 = "b2b1b8dfb5cc5f024bafc373121c6aba3f66f9a5a0269e243470a1de16a33186"

# The tokenizer's used special tokens, in id order from NUM_BASE_TOKENS (then reserved tokens fill the
# 421 slots); names and order as in Kimi's TikTokenTokenizer.
USED_SPECIAL_TOKENS = (
    "[BOS]", "[EOS]", "<|im_msg_end|>", "<|im_user_msg_start|>", "<|im_assistant_msg_start|>",
    "<|reserved_token_0|>", "<|reserved_token_1|>", "<|reserved_token_2|>", "<|reserved_token_3|>", "[EOT]",
    "<|reserved_token_4|>", "<|reserved_token_5|>", "<|reserved_token_6|>", "<|reserved_token_7|>",
    "<|reserved_token_8|>", "<|reserved_token_9|>", "<|reserved_token_10|>", "<|reserved_token_11|>",
    "<|im_media_begin|>", "<|reserved_token_12|>", "<|im_media_end|>", "<|reserved_token_13|>",
    "<|reserved_token_14|>", "<|im_kimia_text_blank|>", "<|im_kimia_text_eos|>", "<|reserved_token_15|>",
    "<|reserved_token_16|>", "<|im_kimia_user_msg_start|>", "<|im_kimia_assistant_msg_start|>",
    "<|reserved_token_17|>", "<|reserved_token_18|>", "<|reserved_token_19|>", "<|im_kimia_speech_ct_id|>",
    "<|im_kimia_speech_ctd_id|>",
)

# ---- tiny dimensions --------------------------------------------------------------------------------
TINY_LLM = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
            "num_key_value_heads": 2, "kimia_mimo_layers": 2, "kimia_mimo_transformer_from_layer_index": 1}
TINY_WHISPER = {"d_model": 32, "encoder_layers": 2, "encoder_attention_heads": 2, "encoder_ffn_dim": 64,
                "decoder_layers": 1, "decoder_attention_heads": 2, "decoder_ffn_dim": 64}
TINY_GLM = {"d_model": 32, "encoder_layers": 4, "encoder_attention_heads": 2, "encoder_ffn_dim": 64,
            "decoder_layers": 1, "decoder_attention_heads": 2, "decoder_ffn_dim": 64,
            "quantize_position": 2, "pooling_position": 2}
ROPE_THETA = 1000000.0


def special_tokens() -> list[str]:
    """The 421 special tokens in id order (id = NUM_BASE_TOKENS + index)."""
    start = 20
    auto = [f"<|reserved_token_{i}|>" for i in range(start, NUM_RESERVED_SPECIAL_TOKENS - len(USED_SPECIAL_TOKENS) + start)]
    return list(USED_SPECIAL_TOKENS) + auto


def special_token_ids() -> dict[str, int]:
    return {token: NUM_BASE_TOKENS + i for i, token in enumerate(special_tokens())}


# ---- main model -------------------------------------------------------------------------------------
def kimi_config() -> dict:
    """``config.json`` of the tiny release (real field names, ids and vocabulary sizes)."""
    hidden = TINY_LLM["hidden_size"]
    return {
        "architectures": ["MoonshotKimiaForCausalLM"],
        "auto_map": {
            "AutoConfig": "configuration_moonshot_kimia.KimiAudioConfig",
            "AutoModel": "modeling_moonshot_kimia.MoonshotKimiaForCausalLM",
            "AutoModelForCausalLM": "modeling_moonshot_kimia.MoonshotKimiaForCausalLM",
        },
        "model_type": "moonshot_kimia",
        "attention_dropout": 0.0,
        "bos_token_id": NUM_BASE_TOKENS,
        "eos_token_id": NUM_BASE_TOKENS + 1,
        "hidden_act": "silu",
        "hidden_size": hidden,
        "initializer_range": 0.02,
        "intermediate_size": TINY_LLM["intermediate_size"],
        "max_position_embeddings": 8192,
        "max_window_layers": TINY_LLM["num_hidden_layers"],
        "num_attention_heads": TINY_LLM["num_attention_heads"],
        "num_hidden_layers": TINY_LLM["num_hidden_layers"],
        "num_key_value_heads": TINY_LLM["num_key_value_heads"],
        "rms_norm_eps": 1e-06,
        "rope_scaling": None,
        "rope_theta": ROPE_THETA,
        "sliding_window": None,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": VOCAB_SIZE,
        "kimia_mimo_layers": TINY_LLM["kimia_mimo_layers"],
        "kimia_mimo_transformer_from_layer_index": TINY_LLM["kimia_mimo_transformer_from_layer_index"],
        "kimia_mimo_audiodelaytokens": 6,
        "kimia_text_output_vocab": KIMIA_TEXT_OUTPUT_VOCAB,
        "kimia_audio_output_vocab": KIMIA_AUDIO_OUTPUT_VOCAB,
        "num_audio_special_tokens": 512,
        "num_base_tokens": NUM_BASE_TOKENS,
        "kimia_token_offset": KIMIA_TOKEN_OFFSET,
        "use_whisper_feature": True,
        "kimia_adaptor_input_dim": 4 * TINY_WHISPER["d_model"],
        "use_ced_feature": False,
        "ced_processor_input_dim": 768,
        "kimia_media_begin": MEDIA_BEGIN,
        "kimia_media_end": MEDIA_END,
    }


def _inv_freq(head_dim: int) -> np.ndarray:
    return (1.0 / (ROPE_THETA ** (np.arange(0, head_dim, 2, dtype=np.float32) / head_dim))).astype(np.float32)


def _decoder_layer(draw: Draw, prefix: str) -> dict[str, np.ndarray]:
    hidden, inter = TINY_LLM["hidden_size"], TINY_LLM["intermediate_size"]
    head_dim = hidden // TINY_LLM["num_attention_heads"]
    kv = TINY_LLM["num_key_value_heads"] * head_dim
    return {
        f"{prefix}.self_attn.q_proj.weight": draw.linear(hidden, hidden),
        f"{prefix}.self_attn.q_proj.bias": draw.bias(hidden),
        f"{prefix}.self_attn.k_proj.weight": draw.linear(kv, hidden),
        f"{prefix}.self_attn.k_proj.bias": draw.bias(kv),
        f"{prefix}.self_attn.v_proj.weight": draw.linear(kv, hidden),
        f"{prefix}.self_attn.v_proj.bias": draw.bias(kv),
        f"{prefix}.self_attn.o_proj.weight": draw.linear(hidden, hidden),
        f"{prefix}.mlp.gate_proj.weight": draw.linear(inter, hidden),
        f"{prefix}.mlp.up_proj.weight": draw.linear(inter, hidden),
        f"{prefix}.mlp.down_proj.weight": draw.linear(hidden, inter),
        f"{prefix}.input_layernorm.weight": draw.norm_weight(hidden),
        f"{prefix}.post_attention_layernorm.weight": draw.norm_weight(hidden),
        f"{prefix}.self_attn.rotary_emb.inv_freq": _inv_freq(head_dim),
    }


def kimi_shards(seed: int) -> list[dict[str, np.ndarray]]:
    """The main model's tensors (float32 values, stored as bf16), one dict per shard."""
    draw = Draw(seed, 0)
    hidden = TINY_LLM["hidden_size"]
    shards = [_decoder_layer(draw, f"model.layers.{i}") for i in range(TINY_LLM["num_hidden_layers"])]
    shards += [_decoder_layer(draw, f"model.mimo_layers.{i}") for i in range(TINY_LLM["kimia_mimo_layers"])]
    adaptor_in = 4 * TINY_WHISPER["d_model"]
    shards.append({
        "model.vq_adaptor.layers.0.weight": draw.linear(hidden, adaptor_in),
        "model.vq_adaptor.layers.0.bias": draw.bias(hidden),
        "model.vq_adaptor.layers.3.weight": draw.linear(hidden, hidden),
        "model.vq_adaptor.layers.3.bias": draw.bias(hidden),
        "model.vq_adaptor.layers.4.weight": draw.norm_weight(hidden),
        "model.vq_adaptor.layers.4.bias": draw.bias(hidden),
    })
    shards.append({
        "model.embed_tokens.weight": draw.normal((VOCAB_SIZE, hidden), 1.0),
        "model.norm.weight": draw.norm_weight(hidden),
        "lm_head.weight": draw.linear(VOCAB_SIZE, hidden),
        "mimo_output.weight": draw.linear(VOCAB_SIZE, hidden),
        "model.mimo_norm.weight": draw.norm_weight(hidden),
    })
    return shards


def _write_kimi_weights(folder: Path, seed: int) -> None:
    shards = kimi_shards(seed)
    n = len(shards)
    weight_map, total = {}, 0
    for k, shard in enumerate(shards, start=1):
        name = f"model-{k}-of-{n}.safetensors"
        write_safetensors(folder / name, {key: ("BF16", value) for key, value in shard.items()})
        for key, value in shard.items():
            weight_map[key] = name
            total += 2 * value.size
    write_json(folder / "model.safetensors.index.json", {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))})


# ---- Whisper-large-v3 subfolder ---------------------------------------------------------------------
def whisper_config() -> dict:
    return whisper_config_io(TINY_WHISPER)


def whisper_tensors(seed: int) -> dict[str, np.ndarray]:
    return whisper_tensors_io(Draw(seed, 1), TINY_WHISPER)


# ---- GLM-4-Voice speech tokenizer -------------------------------------------------------------------
def glm_config() -> dict:
    t = TINY_GLM
    return {
        "_name_or_path": "THUDM/glm-4-voice-tokenizer", "architectures": ["WhisperVQEncoder"], "model_type": "whisper",
        "activation_dropout": 0.0, "activation_function": "gelu", "apply_spec_augment": False, "attention_dropout": 0.0,
        "begin_suppress_tokens": [220, 50257], "bos_token_id": 50257, "classifier_proj_size": 256,
        "d_model": t["d_model"], "decoder_attention_heads": t["decoder_attention_heads"], "decoder_ffn_dim": t["decoder_ffn_dim"],
        "decoder_layerdrop": 0.0, "decoder_layers": t["decoder_layers"], "decoder_start_token_id": 50258, "dropout": 0.0,
        "encoder_attention_heads": t["encoder_attention_heads"], "encoder_causal_attention": False,
        "encoder_causal_convolution": True, "encoder_ffn_dim": t["encoder_ffn_dim"], "encoder_layerdrop": 0.0,
        "encoder_layers": t["encoder_layers"], "eos_token_id": 50257, "init_std": 0.02, "is_encoder_decoder": True,
        "mask_feature_length": 10, "mask_feature_min_masks": 0, "mask_feature_prob": 0.0, "mask_time_length": 10,
        "mask_time_min_masks": 2, "mask_time_prob": 0.05, "max_length": 448, "max_source_positions": 1500,
        "max_target_positions": 448, "median_filter_width": 7, "num_hidden_layers": t["encoder_layers"], "num_mel_bins": 128,
        "pad_token_id": 50256, "pooling_kernel_size": 4, "pooling_position": t["pooling_position"], "pooling_type": "avg",
        "quantize_causal_block_size": 200, "quantize_causal_encoder": False, "quantize_commit_coefficient": 0.25,
        "quantize_ema_decay": 0.99, "quantize_encoder_only": True, "quantize_loss_scale": 10.0,
        "quantize_position": t["quantize_position"], "quantize_restart_interval": 100, "quantize_vocab_size": GLM_CODEBOOK_SIZE,
        "scale_embedding": False, "skip_language_detection": True, "torch_dtype": "float32", "use_cache": True,
        "use_weighted_layer_sum": False, "vocab_size": 51866,
    }


def glm_tensors(seed: int) -> dict[str, np.ndarray]:
    draw = Draw(seed, 2)
    t = TINY_GLM
    d = t["d_model"]
    out = conv_stem(draw, "", d)
    for i in range(t["quantize_position"]):
        out.update(whisper_layer(draw, f"layers.{i}", d, t["encoder_ffn_dim"], cross=False))
    codebook = draw.normal((GLM_CODEBOOK_SIZE, d), 1.0)
    out["codebook.weight"] = codebook
    out["embed_positions2.weight"] = out["embed_positions.weight"][: math.ceil(1500 / 4)].copy()
    out["ema_count"] = np.ones(GLM_CODEBOOK_SIZE, dtype=np.float32)
    out["ema_weight"] = codebook.copy()
    return out


def feature_extractor_config() -> dict:
    return {
        "chunk_length": 30, "feature_extractor_type": "WhisperFeatureExtractor", "feature_size": 128, "hop_length": 160,
        "n_fft": 400, "n_samples": 480000, "nb_max_frames": 3000, "padding_side": "right", "padding_value": 0.0,
        "processor_class": "WhisperProcessor", "return_attention_mask": False, "sampling_rate": 16000,
    }


# ---- text tokenizer ---------------------------------------------------------------------------------
# Where qwen.tiktoken ships (the same file, sha256 QWEN_TIKTOKEN_SHA256): (distribution, member)
QWEN_TIKTOKEN_SOURCES = (("dashscope", "dashscope/resources/qwen.tiktoken"), ("qwen_agent", "qwen_agent/utils/qwen.tiktoken"))
ASSETS_ENV = "TACOS_TEMPORAL_TOKENIZER_ASSETS"  # as tacos_temporal.harness.tokenizers (make setup fills it)


def qwen_tiktoken_bytes() -> bytes:
    """``qwen.tiktoken`` from an installed ``dashscope`` / ``qwen-agent`` (found without importing them),
    else from their wheels in the tokenizer-assets folder (``$TACOS_TEMPORAL_TOKENIZER_ASSETS`` or
    ``<sys.prefix>/tokenizer-assets``, where ``make setup`` downloads them without installing)."""
    for package, member in QWEN_TIKTOKEN_SOURCES:
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            path = Path(list(spec.submodule_search_locations)[0]).parent / member
            if path.is_file():
                return path.read_bytes()
    folder = Path(os.environ.get(ASSETS_ENV) or Path(sys.prefix) / "tokenizer-assets")
    for package, member in QWEN_TIKTOKEN_SOURCES:
        for wheel in sorted(folder.glob(f"{package}-*.whl")) if folder.is_dir() else ():
            with zipfile.ZipFile(wheel) as zf:
                if member in zf.namelist():
                    return zf.read(member)
    raise FileNotFoundError(
        "the tiny Kimi-Audio folder needs qwen.tiktoken (Apache-2.0, shipped by the PyPI packages dashscope "
        "and qwen-agent): run `make setup` (or `python -m tacos_temporal.harness.tokenizers download`), or "
        "pip install --no-deps dashscope")


def tokenizer_config() -> dict:
    tokens = special_tokens()
    return {
        "added_tokens_decoder": {
            str(NUM_BASE_TOKENS + i): {"content": tok, "lstrip": False, "normalized": False, "rstrip": False,
                                       "single_word": False, "special": True}
            for i, tok in enumerate(tokens)
        },
        "additional_special_tokens": [t for t in USED_SPECIAL_TOKENS if t.startswith("<|im_")],
        "auto_map": {"AutoTokenizer": ["tokenization_kimia.TikTokenTokenizer", None]},
        "bos_token": "[BOS]",
        "clean_up_tokenization_spaces": False,
        "eos_token": "[EOS]",
        "model_max_length": 1000000000000000019884624838656,
        "pad_token": tokens[-1],
        "tokenizer_class": "TikTokenTokenizer",
        "unk_token": tokens[-2],
    }


def _write_tokenizer(folder: Path, data: bytes) -> None:
    digest = hashlib.sha256(data).hexdigest()
    if digest != QWEN_TIKTOKEN_SHA256:
        raise ValueError(f"tiktoken file: sha256 {digest} is not the qwen.tiktoken this layout was written for")
    (folder / "tiktoken.model").write_bytes(data)
    write_json(folder / "tokenizer_config.json", tokenizer_config())


# ---- shared inputs of the parity fixture ------------------------------------------------------------
# Lengths chosen for the edge cases of the original: a clip shorter than one GLM block (4 s), one that
# crosses the block-causal boundary, and one longer than the 30-s window (two chunks: 375 + 15 tokens).
REFERENCE_CLIP_SAMPLES = {"short_1p3s": 20800, "mid_4p57s": 73120, "long_31p2s": 499200}


def reference_waveforms(seed: int = 0) -> dict[str, np.ndarray]:
    """16-kHz mono float32 test clips: a beep, then noise, then a quieter beep (deterministic)."""
    out = {}
    for k, (name, n) in enumerate(REFERENCE_CLIP_SAMPLES.items()):
        t = np.arange(n, dtype=np.float64) / 16000.0
        wave = np.zeros(n, dtype=np.float64)
        a, b = n // 4, n // 2
        wave[:a] = 0.4 * np.sin(2 * np.pi * 440.0 * t[:a])
        wave[a:b] = 0.2 * np.random.default_rng([seed, 100 + k]).standard_normal(b - a)
        wave[b:] = 0.1 * np.sin(2 * np.pi * 880.0 * t[b:])
        out[name] = wave.astype(np.float32)
    return out


def logit_probe_ids() -> np.ndarray:
    """Vocabulary ids whose first-step logits the fixture stores: every special id, 64 spread text ids,
    64 spread audio ids (besides each case's top-64)."""
    specials = np.arange(NUM_BASE_TOKENS, KIMIA_TOKEN_OFFSET)
    text = np.arange(64) * (NUM_BASE_TOKENS // 64)
    audio = KIMIA_TOKEN_OFFSET + np.arange(64) * ((VOCAB_SIZE - KIMIA_TOKEN_OFFSET) // 64)
    return np.concatenate([text, specials, audio]).astype(np.int64)


# ---- entry point ------------------------------------------------------------------------------------
GLM_SUBFOLDER = "glm-4-voice-tokenizer"
WHISPER_SUBFOLDER = "whisper-large-v3"


def write_tiny_kimi_release(folder, seed: int = 0, *, tiktoken_path=None) -> Path:
    """Write the tiny release into ``folder`` (created; must be empty or absent) and return its path.

    ``folder`` gets the main model files, ``folder/whisper-large-v3/`` and ``folder/glm-4-voice-tokenizer/``
    (the second Hub repo, placed here so one folder holds everything).  ``tiktoken_path`` defaults to
    :func:`qwen_tiktoken_bytes`.
    """
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(f"{folder} is not empty: write the tiny Kimi-Audio release into a new folder")
    tiktoken = Path(tiktoken_path).read_bytes() if tiktoken_path is not None else qwen_tiktoken_bytes()
    staging = folder.with_name(folder.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        write_json(staging / "config.json", kimi_config())
        _write_kimi_weights(staging, seed)
        _write_tokenizer(staging, tiktoken)
        whisper = staging / WHISPER_SUBFOLDER
        whisper.mkdir()
        write_json(whisper / "config.json", whisper_config())
        write_safetensors(whisper / "model.safetensors", {k: ("F16", v) for k, v in whisper_tensors(seed).items()})
        glm = staging / GLM_SUBFOLDER
        glm.mkdir()
        write_json(glm / "config.json", glm_config())
        write_json(glm / "preprocessor_config.json", feature_extractor_config())
        write_safetensors(glm / "model.safetensors", {k: ("F32", v) for k, v in glm_tensors(seed).items()})
        if folder.exists():
            folder.rmdir()
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder
