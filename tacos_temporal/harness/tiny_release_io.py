"""Writing tiny random checkpoints in the exact byte layout of Hub releases, with numpy only.

Shared by ``tiny_kimi_release`` and ``tiny_desta_release``: a safetensors writer (bf16 included: numpy
has no bfloat16), seeded draws from ``numpy.random.default_rng`` (whose streams numpy keeps stable
across versions, so the original's environment and ours write byte-identical files) and the tensor
names of a Whisper layer.  Imports only the standard library and numpy, so that the reference scripts
can run these modules in the originals' own environments.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None}


def _to_bf16_bits(values: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns (uint16), round to nearest even, as torch's ``.to(bfloat16)``."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    rounding = ((bits >> 16) & 1) + np.uint32(0x7FFF)
    return ((bits + rounding) >> 16).astype(np.uint16)


def write_safetensors(path: Path, tensors: dict[str, tuple[str, np.ndarray]]) -> None:
    """Write ``{name: (dtype, float32 array)}`` in the safetensors format (names sorted, 8-byte aligned
    header padded with spaces, metadata ``{"format": "pt"}``)."""
    header: dict = {"__metadata__": {"format": "pt"}}
    blobs, offset = [], 0
    for name in sorted(tensors):
        dtype, array = tensors[name]
        if dtype == "BF16":
            data = _to_bf16_bits(array).tobytes()
        else:
            data = np.ascontiguousarray(array, dtype=_DTYPES[dtype]).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as f:
        f.write(len(raw).to_bytes(8, "little"))
        f.write(raw)
        for data in blobs:
            f.write(data)
    os.replace(tmp, path)


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


class Draw:
    """Random tensors from one numpy generator, drawn in call order."""

    def __init__(self, seed: int, stream: int):
        self.rng = np.random.default_rng([seed, stream])

    def normal(self, shape, std) -> np.ndarray:
        return (self.rng.standard_normal(shape) * std).astype(np.float32)

    def linear(self, out_dim, in_dim) -> np.ndarray:
        return self.normal((out_dim, in_dim), 1.0 / math.sqrt(in_dim))

    def bias(self, dim) -> np.ndarray:
        return self.normal((dim,), 0.1)

    def norm_weight(self, dim) -> np.ndarray:
        return (1.0 + self.normal((dim,), 0.1)).astype(np.float32)


def whisper_layer(draw: Draw, prefix: str, d: int, ffn: int, cross: bool) -> dict[str, np.ndarray]:
    out = {}
    blocks = ["self_attn", "encoder_attn"] if cross else ["self_attn"]
    for block in blocks:
        out[f"{prefix}.{block}.q_proj.weight"] = draw.linear(d, d)
        out[f"{prefix}.{block}.q_proj.bias"] = draw.bias(d)
        out[f"{prefix}.{block}.k_proj.weight"] = draw.linear(d, d)
        out[f"{prefix}.{block}.v_proj.weight"] = draw.linear(d, d)
        out[f"{prefix}.{block}.v_proj.bias"] = draw.bias(d)
        out[f"{prefix}.{block}.out_proj.weight"] = draw.linear(d, d)
        out[f"{prefix}.{block}.out_proj.bias"] = draw.bias(d)
        out[f"{prefix}.{block}_layer_norm.weight"] = draw.norm_weight(d)
        out[f"{prefix}.{block}_layer_norm.bias"] = draw.bias(d)
    out[f"{prefix}.fc1.weight"] = draw.linear(ffn, d)
    out[f"{prefix}.fc1.bias"] = draw.bias(ffn)
    out[f"{prefix}.fc2.weight"] = draw.linear(d, ffn)
    out[f"{prefix}.fc2.bias"] = draw.bias(d)
    out[f"{prefix}.final_layer_norm.weight"] = draw.norm_weight(d)
    out[f"{prefix}.final_layer_norm.bias"] = draw.bias(d)
    return out


def conv_stem(draw: Draw, prefix: str, d: int, mels: int = 128) -> dict[str, np.ndarray]:
    return {
        f"{prefix}conv1.weight": draw.normal((d, mels, 3), 1.0 / math.sqrt(3 * mels)),
        f"{prefix}conv1.bias": draw.bias(d),
        f"{prefix}conv2.weight": draw.normal((d, d, 3), 1.0 / math.sqrt(3 * d)),
        f"{prefix}conv2.bias": draw.bias(d),
        f"{prefix}embed_positions.weight": draw.normal((1500, d), 0.5),
    }




def whisper_tensors(draw: Draw, t: dict) -> dict[str, np.ndarray]:
    """A Whisper ``WhisperForConditionalGeneration`` state dict (encoder and decoder, 51,866-token
    embedding) for the config dict ``t``, drawn from ``draw`` in a fixed order."""
    d = t["d_model"]
    out = conv_stem(draw, "model.encoder.", d)
    for i in range(t["encoder_layers"]):
        out.update(whisper_layer(draw, f"model.encoder.layers.{i}", d, t["encoder_ffn_dim"], cross=False))
    out["model.encoder.layer_norm.weight"] = draw.norm_weight(d)
    out["model.encoder.layer_norm.bias"] = draw.bias(d)
    out["model.decoder.embed_tokens.weight"] = draw.normal((51866, d), 1.0)
    out["model.decoder.embed_positions.weight"] = draw.normal((448, d), 0.5)
    for i in range(t["decoder_layers"]):
        out.update(whisper_layer(draw, f"model.decoder.layers.{i}", d, t["decoder_ffn_dim"], cross=True))
    out["model.decoder.layer_norm.weight"] = draw.norm_weight(d)
    out["model.decoder.layer_norm.bias"] = draw.bias(d)
    return out


def whisper_config(t: dict) -> dict:
    """The ``config.json`` of Whisper-large-v3 (ids, vocabulary, mel bins) at the tiny sizes of ``t``."""
    return {
        "architectures": ["WhisperForConditionalGeneration"], "model_type": "whisper",
        "activation_dropout": 0.0, "activation_function": "gelu", "attention_dropout": 0.0, "dropout": 0.0,
        "apply_spec_augment": False, "begin_suppress_tokens": [220, 50257], "bos_token_id": 50257,
        "decoder_start_token_id": 50258, "eos_token_id": 50257, "pad_token_id": 50256,
        "d_model": t["d_model"], "encoder_layers": t["encoder_layers"], "encoder_attention_heads": t["encoder_attention_heads"],
        "encoder_ffn_dim": t["encoder_ffn_dim"], "decoder_layers": t["decoder_layers"],
        "decoder_attention_heads": t["decoder_attention_heads"], "decoder_ffn_dim": t["decoder_ffn_dim"],
        "encoder_layerdrop": 0.0, "decoder_layerdrop": 0.0, "init_std": 0.02, "is_encoder_decoder": True,
        "max_source_positions": 1500, "max_target_positions": 448, "num_hidden_layers": t["encoder_layers"],
        "num_mel_bins": 128, "scale_embedding": False, "torch_dtype": "float16", "use_cache": True,
        "use_weighted_layer_sum": False, "vocab_size": 51866,
    }
