"""A tiny random DeSTA2.5-Audio release in the layout of its three Hub repositories, for parity tests.

``write_tiny_desta_release(folder, seed)`` writes what the ORIGINAL ``desta`` package loads
(``DeSTA25AudioModel.from_pretrained``), with the original file names, config fields and tensor names,
tiny dimensions and random weights:

* ``folder/desta/`` = ``DeSTA-ntu/DeSTA2.5-Audio-Llama-3.1-8B``: ``config.json`` (``DeSTA25Config``) and
  ``model.safetensors`` holding only the connector (``perception.connector.*``);
* ``folder/llama/`` = ``DeSTA-ntu/Llama-3.1-8B-Instruct`` (the config's ``llm_model_id``): a tiny
  ``LlamaForCausalLM`` with Llama-3.1's vocabulary size, special ids and rope scaling;
* ``folder/whisper/`` = ``openai/whisper-large-v3`` (the config's ``encoder_model_id``): a tiny
  ``WhisperForConditionalGeneration`` with **32 encoder layers**, because the original picks its taps
  from the model id (``[7, 15, 23, 31]`` for whisper-large-v3) and its Q-former's heads from the
  Whisper config (2 here, 20 for real).

:data:`HUB_REPOS` maps the Hub ids to those sub-folders (the reference script redirects the original's
``from_pretrained`` calls through it; a port's converter can do the same).  Tokenizer files need
transformers, so they are not written here: :func:`write_tokenizers` (project environment) adds the
real Llama-3.1 and Whisper-large-v3 tokenizers from ``tacos_temporal.harness.tokenizers``.
Weights and configs come from numpy only (``tiny_release_io``), byte-identical in every environment.

Layout facts and where they were read ([read] = in ``kehanlu/DeSTA2.5-Audio`` at 5503dfc,
``desta/models/modeling_desta25.py``; [inferred] = deduced, not seen):
  * the release's ``config.json`` is a saved ``DeSTA25Config``: ``llm_model_id``, ``encoder_model_id``,
    ``connector_mode "qformer_1"``, ``qformer_num_hidden_layers``, ``prompt_size 64``, ``use_lora``,
    ``audio_locator "<|AUDIO|>"``, ``placeholder_token "<|reserved_special_token_87|>"`` [read: the
    class]; ``model_type "desta25"`` [read]; the nested ``llm_config`` / ``encoder_config`` dicts that
    ``PretrainedConfig.to_dict`` writes for config-valued attributes (the class re-reads both from the
    model ids, so their content does not matter) [inferred].  ``qformer_num_hidden_layers`` is 2 here
    (the class default; the release's training recipe says 6).
  * ``model.safetensors`` holds the trainable parameters only (``DeSTA25AudioModel.state_dict``):
    ``perception.connector.layer_prompts.{0..3}`` [1, 64, d], ``layer_weights`` [64, 4],
    ``qformer.layer.{i}.*`` (a ``BertEncoder`` from ``BertConfig()`` defaults: intermediate 3072,
    LayerNorm eps 1e-12, exact GELU, with cross-attention), ``proj.0`` (LayerNorm d) and ``proj.1``
    (Linear d -> LLM hidden) [read]; fp32 (the connector is built in fp32) [inferred].
  * Llama-3.1: vocabulary 128256, bos 128000, eos [128001, 128008, 128009], ``rope_theta`` 500000 and
    the ``llama3`` rope scaling of the Llama-3.1 release, bf16 (the original loads it in bf16) [the
    public Llama-3.1-8B-Instruct config]; tensor names of ``LlamaForCausalLM`` (no biases, untied
    ``lm_head``).
  * Whisper-large-v3: ``WhisperForConditionalGeneration`` names (``model.encoder.*``,
    ``model.decoder.*``, ``proj_out`` tied), fp16 as openai's file; 128 mel bins, 1500 source positions,
    vocabulary 51866, its special ids; ``preprocessor_config.json`` of ``WhisperFeatureExtractor``;
    ``generation_config.json`` with the language and task ids the ASR transcript needs
    (:func:`whisper_generation_config`; a test checks the ids against the real tokenizer).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .tiny_release_io import Draw, write_json, write_safetensors
from .tiny_release_io import whisper_config as whisper_config_io
from .tiny_release_io import whisper_tensors as whisper_tensors_io

HUB_REPOS = {
    "DeSTA-ntu/DeSTA2.5-Audio-Llama-3.1-8B": "desta",
    "DeSTA-ntu/Llama-3.1-8B-Instruct": "llama",
    "openai/whisper-large-v3": "whisper",
}
TARGET_LAYER_IDS = (7, 15, 23, 31)  # the original's rule for encoder_model_id == "openai/whisper-large-v3"
PROMPT_SIZE = 64
LLAMA_VOCAB = 128256
TINY_WHISPER = {"d_model": 32, "encoder_layers": 32, "encoder_attention_heads": 2, "encoder_ffn_dim": 64,
                "decoder_layers": 1, "decoder_attention_heads": 2, "decoder_ffn_dim": 64}
TINY_LLAMA = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
              "num_key_value_heads": 2}
#: the files write_tiny_desta_release writes (byte-identical in every environment); tokenizers come apart
RELEASE_FILES = ("config.json", "generation_config.json", "preprocessor_config.json", "model.safetensors")
QFORMER_LAYERS = 2
QFORMER_INTERMEDIATE = 3072  # BertConfig() default, which the original does not change


def desta_config() -> dict:
    return {
        "architectures": ["DeSTA25AudioModel"], "model_type": "desta25",
        "llm_model_id": "DeSTA-ntu/Llama-3.1-8B-Instruct", "encoder_model_id": "openai/whisper-large-v3",
        "connector_mode": "qformer_1", "qformer_num_hidden_layers": QFORMER_LAYERS, "prompt_size": PROMPT_SIZE,
        "use_lora": False, "audio_locator": "<|AUDIO|>", "placeholder_token": "<|reserved_special_token_87|>",
        "llm_config": llama_config(), "encoder_config": whisper_config(), "torch_dtype": "float32",
    }


def llama_config() -> dict:
    t = TINY_LLAMA
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "attention_bias": False, "attention_dropout": 0.0,
        "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "head_dim": t["hidden_size"] // t["num_attention_heads"],
        "hidden_act": "silu", "hidden_size": t["hidden_size"], "initializer_range": 0.02,
        "intermediate_size": t["intermediate_size"], "max_position_embeddings": 131072, "mlp_bias": False,
        "num_attention_heads": t["num_attention_heads"], "num_hidden_layers": t["num_hidden_layers"],
        "num_key_value_heads": t["num_key_value_heads"], "pretraining_tp": 1, "rms_norm_eps": 1e-05,
        "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                         "original_max_position_embeddings": 8192, "rope_type": "llama3"},
        "rope_theta": 500000.0, "tie_word_embeddings": False, "torch_dtype": "bfloat16", "use_cache": True,
        "vocab_size": LLAMA_VOCAB,
    }


def llama_generation_config() -> dict:
    return {"bos_token_id": 128000, "do_sample": True, "eos_token_id": [128001, 128008, 128009],
            "temperature": 0.6, "top_p": 0.9}


def whisper_config() -> dict:
    return whisper_config_io(TINY_WHISPER)


# Whisper's language tokens, in id order from 50259 (openai-whisper's LANGUAGES; large-v3 adds "yue")
WHISPER_LANGUAGES = (
    "en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no th ur hr bg lt la mi ml "
    "cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw gl mr pa si km sn yo so af oc ka be tg sd gu am "
    "yi lo uz fo ht ps tk nn mt sa lb my bo tl mg as tt haw ln ha ba jw su yue").split()


def whisper_generation_config() -> dict:
    """The fields of whisper-large-v3's ``generation_config.json`` that ``WhisperForConditionalGeneration.
    generate`` needs to detect the language and transcribe (ids of the real tokenizer; the real file's
    ``suppress_tokens`` list and ``alignment_heads`` are left out: not seen here)."""
    return {
        "begin_suppress_tokens": [220, 50257], "bos_token_id": 50257, "decoder_start_token_id": 50258,
        "eos_token_id": 50257, "pad_token_id": 50257, "is_multilingual": True, "max_initial_timestamp_index": 50,
        "max_length": 448, "no_timestamps_token_id": 50364, "prev_sot_token_id": 50362, "return_timestamps": False,
        "lang_to_id": {f"<|{code}|>": 50259 + i for i, code in enumerate(WHISPER_LANGUAGES)},
        "task_to_id": {"translate": 50359, "transcribe": 50360},
    }


def feature_extractor_config() -> dict:
    return {
        "chunk_length": 30, "feature_extractor_type": "WhisperFeatureExtractor", "feature_size": 128, "hop_length": 160,
        "n_fft": 400, "n_samples": 480000, "nb_max_frames": 3000, "padding_side": "right", "padding_value": 0.0,
        "processor_class": "WhisperProcessor", "return_attention_mask": False, "sampling_rate": 16000,
    }


def connector_tensors(seed: int) -> dict:
    draw = Draw(seed, 10)
    d, hidden = TINY_WHISPER["d_model"], TINY_LLAMA["hidden_size"]
    p = "perception.connector."
    out = {f"{p}layer_prompts.{k}": draw.normal((1, PROMPT_SIZE, d), 1.0) for k in range(len(TARGET_LAYER_IDS))}
    out[f"{p}layer_weights"] = draw.normal((PROMPT_SIZE, len(TARGET_LAYER_IDS)), 1.0)
    for i in range(QFORMER_LAYERS):
        q = f"{p}qformer.layer.{i}."
        for block in ("attention", "crossattention"):
            for name in ("query", "key", "value"):
                out[f"{q}{block}.self.{name}.weight"] = draw.linear(d, d)
                out[f"{q}{block}.self.{name}.bias"] = draw.bias(d)
            out[f"{q}{block}.output.dense.weight"] = draw.linear(d, d)
            out[f"{q}{block}.output.dense.bias"] = draw.bias(d)
            out[f"{q}{block}.output.LayerNorm.weight"] = draw.norm_weight(d)
            out[f"{q}{block}.output.LayerNorm.bias"] = draw.bias(d)
        out[f"{q}intermediate.dense.weight"] = draw.linear(QFORMER_INTERMEDIATE, d)
        out[f"{q}intermediate.dense.bias"] = draw.bias(QFORMER_INTERMEDIATE)
        out[f"{q}output.dense.weight"] = draw.linear(d, QFORMER_INTERMEDIATE)
        out[f"{q}output.dense.bias"] = draw.bias(d)
        out[f"{q}output.LayerNorm.weight"] = draw.norm_weight(d)
        out[f"{q}output.LayerNorm.bias"] = draw.bias(d)
    out[f"{p}proj.0.weight"] = draw.norm_weight(d)
    out[f"{p}proj.0.bias"] = draw.bias(d)
    out[f"{p}proj.1.weight"] = draw.linear(hidden, d)
    out[f"{p}proj.1.bias"] = draw.bias(hidden)
    return out


def llama_tensors(seed: int) -> dict:
    draw = Draw(seed, 11)
    t = TINY_LLAMA
    h, inter = t["hidden_size"], t["intermediate_size"]
    kv = t["num_key_value_heads"] * (h // t["num_attention_heads"])
    out = {"model.embed_tokens.weight": draw.normal((LLAMA_VOCAB, h), 1.0)}
    for i in range(t["num_hidden_layers"]):
        p = f"model.layers.{i}."
        out[p + "self_attn.q_proj.weight"] = draw.linear(h, h)
        out[p + "self_attn.k_proj.weight"] = draw.linear(kv, h)
        out[p + "self_attn.v_proj.weight"] = draw.linear(kv, h)
        out[p + "self_attn.o_proj.weight"] = draw.linear(h, h)
        out[p + "mlp.gate_proj.weight"] = draw.linear(inter, h)
        out[p + "mlp.up_proj.weight"] = draw.linear(inter, h)
        out[p + "mlp.down_proj.weight"] = draw.linear(h, inter)
        out[p + "input_layernorm.weight"] = draw.norm_weight(h)
        out[p + "post_attention_layernorm.weight"] = draw.norm_weight(h)
    out["model.norm.weight"] = draw.norm_weight(h)
    out["lm_head.weight"] = draw.linear(LLAMA_VOCAB, h)
    return out


def whisper_tensors(seed: int) -> dict:
    return whisper_tensors_io(Draw(seed, 12), TINY_WHISPER)


def logit_probe_ids():
    """Vocabulary ids whose first-step logits the parity fixture stores: 64 spread text ids and all 256
    special ids (128000..128255), besides each row's top-64."""
    import numpy as np

    return np.concatenate([np.arange(64) * (128000 // 64), np.arange(128000, LLAMA_VOCAB)]).astype(np.int64)


def write_tiny_desta_release(folder, seed: int = 0) -> Path:
    """Write ``folder/{desta,llama,whisper}`` (``folder`` must be empty or absent) and return ``folder``.
    Tokenizer files are added by :func:`write_tokenizers`."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(f"{folder} is not empty: write the tiny DeSTA2.5 release into a new folder")
    staging = folder.with_name(folder.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    try:
        for sub in HUB_REPOS.values():
            (staging / sub).mkdir(parents=True)
        write_json(staging / "desta" / "config.json", desta_config())
        write_safetensors(staging / "desta" / "model.safetensors", {k: ("F32", v) for k, v in connector_tensors(seed).items()})
        write_json(staging / "llama" / "config.json", llama_config())
        write_json(staging / "llama" / "generation_config.json", llama_generation_config())
        write_safetensors(staging / "llama" / "model.safetensors", {k: ("BF16", v) for k, v in llama_tensors(seed).items()})
        write_json(staging / "whisper" / "config.json", whisper_config())
        write_json(staging / "whisper" / "preprocessor_config.json", feature_extractor_config())
        write_json(staging / "whisper" / "generation_config.json", whisper_generation_config())
        write_safetensors(staging / "whisper" / "model.safetensors", {k: ("F16", v) for k, v in whisper_tensors(seed).items()})
        if folder.exists():
            folder.rmdir()
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def write_tokenizers(folder) -> None:
    """Add the real Llama-3.1 (with its chat template) and Whisper-large-v3 tokenizers to a tiny release
    (project environment: needs transformers and ``tacos_temporal.harness.tokenizers``' assets)."""
    from .tokenizers import real_tokenizer

    folder = Path(folder)
    real_tokenizer("llama3").save_pretrained(folder / "llama")
    real_tokenizer("whisper").save_pretrained(folder / "whisper")
    # the releases' tokenizer_config.json, readable by transformers 4.x too: Llama-3.1 has no pad token
    # (DeSTA sets pad = eos itself) and keeps its chat template inside; Whisper names its own class
    _release_tokenizer_config(folder / "llama", tokenizer_class="PreTrainedTokenizerFast", drop=("pad_token",))
    _release_tokenizer_config(folder / "whisper", tokenizer_class="WhisperTokenizer", drop=())
    _slow_bpe_files(folder / "whisper")


def _slow_bpe_files(folder: Path) -> None:
    """``vocab.json``, ``merges.txt`` and ``added_tokens.json`` (the files openai/whisper-large-v3 ships
    for the slow ``WhisperTokenizer``, which transformers 4.x's ``WhisperProcessor`` loads), taken from the
    same ``tokenizer.json``."""
    import json

    data = json.loads((folder / "tokenizer.json").read_text())
    vocab = data["model"]["vocab"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in data["model"]["merges"]]
    write_json(folder / "vocab.json", vocab)
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    added = {t["content"]: t["id"] for t in data.get("added_tokens", []) if t["content"] not in vocab}
    write_json(folder / "added_tokens.json", added)


def _release_tokenizer_config(folder: Path, *, tokenizer_class: str, drop: tuple[str, ...]) -> None:
    import json

    path = folder / "tokenizer_config.json"
    config = {k: v for k, v in json.loads(path.read_text()).items() if k not in drop and k != "backend"}
    config["tokenizer_class"] = tokenizer_class
    template = folder / "chat_template.jinja"
    if template.is_file():
        config["chat_template"] = template.read_text()
        template.unlink()
    write_json(path, config)
