"""Convert the Kimi-Audio release into one self-contained folder for the native port.

Sources (shared/reference/kimi_audio.md section 2.1):

* ``moonshotai/Kimi-Audio-7B-Instruct``: ``config.json``, ``model.safetensors.index.json`` + shards
  (453 tensors), ``tiktoken.model`` + ``tokenizer_config.json``, ``whisper-large-v3/``;
* ``THUDM/glm-4-voice-tokenizer``: ``config.json``, ``model*.safetensors``, ``preprocessor_config.json``.

Only the tensors of the text path are read (shards that hold none are never downloaded).  Every key
is classified **exactly** (:func:`classify_kimi_key`, :func:`classify_whisper_key`,
:func:`classify_glm_key`): taken (and renamed), ignored for a stated reason, or an error; a missing or
unexpected key stops the conversion.  Dtypes as the original ran them: trunk, adaptor, lm_head and
Whisper in bfloat16 (the release's dtype; Kimi calls ``whisper_model.bfloat16()``), the GLM-4-Voice
tokenizer in float32.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from ...errors import ModelError

KIMI_REPO = "moonshotai/Kimi-Audio-7B-Instruct"
GLM_REPO = "THUDM/glm-4-voice-tokenizer"
WHISPER_SUBFOLDER = "whisper-large-v3"

#: The split pattern of Kimi-Audio's ``TikTokenTokenizer.pat_str`` (``tokenization_kimia.py``, read in a
#: public copy of that class: the one the original's reference fixture ran with): Qwen's pattern, with
#: single digits.  A release whose ``tokenizer_config.json`` carries ``pat_str`` overrides it.
PAT_STR = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

#: The special tokens ``TikTokenTokenizer`` (``tokenization_kimia.py``, read in a public copy) places
#: after the BPE ranks, in id order; then ``<|reserved_token_20|>``... up to 293 + 128 = 421 in all.
USED_SPECIAL_TOKENS = (
    "[BOS]", "[EOS]", "<|im_msg_end|>", "<|im_user_msg_start|>", "<|im_assistant_msg_start|>",
    *(f"<|reserved_token_{i}|>" for i in range(4)), "[EOT]", *(f"<|reserved_token_{i}|>" for i in range(4, 12)),
    "<|im_media_begin|>", "<|reserved_token_12|>", "<|im_media_end|>", "<|reserved_token_13|>", "<|reserved_token_14|>",
    "<|im_kimia_text_blank|>", "<|im_kimia_text_eos|>", "<|reserved_token_15|>", "<|reserved_token_16|>",
    "<|im_kimia_user_msg_start|>", "<|im_kimia_assistant_msg_start|>", "<|reserved_token_17|>", "<|reserved_token_18|>",
    "<|reserved_token_19|>", "<|im_kimia_speech_ct_id|>", "<|im_kimia_speech_ctd_id|>",
)
NUM_SPECIAL_TOKENS = 293 + 128


def kimi_special_tokens() -> list[str]:
    """The 421 special tokens in id order (id = number of BPE ranks + index); pad is the last, unk the one before."""
    extra = NUM_SPECIAL_TOKENS - len(USED_SPECIAL_TOKENS)
    return list(USED_SPECIAL_TOKENS) + [f"<|reserved_token_{i}|>" for i in range(20, 20 + extra)]


_DECODER_LAYER = re.compile(r"^model\.(layers|mimo_layers)\.(\d+)\.(.+)$")
_DECODER_NAMES = {
    "self_attn.q_proj.weight", "self_attn.q_proj.bias", "self_attn.k_proj.weight", "self_attn.k_proj.bias",
    "self_attn.v_proj.weight", "self_attn.v_proj.bias", "self_attn.o_proj.weight", "mlp.gate_proj.weight",
    "mlp.up_proj.weight", "mlp.down_proj.weight", "input_layernorm.weight", "post_attention_layernorm.weight",
}


# --- key maps --------------------------------------------------------------------------------------
def classify_kimi_key(key: str, num_layers: int, mimo_layers: int) -> tuple[str, str | None]:
    """``("take", port name)``, ``("ignore", why)`` or ``("unknown", None)`` for a main-release tensor."""
    if key in ("model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"):
        return "take", key
    if re.fullmatch(r"model\.vq_adaptor\.layers\.[034]\.(weight|bias)", key):
        return "take", key[len("model."):]
    if key in ("mimo_output.weight", "model.mimo_norm.weight"):
        return "ignore", "MIMO audio-output branch"
    match = _DECODER_LAYER.match(key)
    if match:
        kind, index, name = match.group(1), int(match.group(2)), match.group(3)
        limit = num_layers if kind == "layers" else mimo_layers
        if index < limit and name == "self_attn.rotary_emb.inv_freq":
            return "ignore", "rotary inv_freq buffer (recomputed from rope_theta)"
        if index < limit and name in _DECODER_NAMES:
            return ("take", key) if kind == "layers" else ("ignore", "MIMO audio-output branch")
    return "unknown", None


def classify_whisper_key(key: str, num_layers: int) -> tuple[str, str | None]:
    """A tensor of ``whisper-large-v3/model.safetensors`` (``WhisperForConditionalGeneration`` names)."""
    if key.startswith("model.decoder.") or key == "proj_out.weight":
        return "ignore", "Whisper decoder (Kimi uses the encoder only)"
    if key.startswith("model.encoder."):
        name = key[len("model.encoder."):]
        match = re.match(r"layers\.(\d+)\.", name)
        if match is None or int(match.group(1)) < num_layers:
            return "take", "whisper_encoder." + name
    return "unknown", None


def classify_glm_key(key: str, quantize_position: int) -> tuple[str, str | None]:
    """A tensor of the GLM-4-Voice tokenizer (bare ``WhisperVQEncoder`` names, or ``model.encoder.`` ones)."""
    name = key[len("model.encoder."):] if key.startswith("model.encoder.") else key
    if key.startswith("model.decoder.") or key == "proj_out.weight":
        return "ignore", "Whisper decoder"
    if name.startswith("layer_norm."):
        return "ignore", "final LayerNorm after the quantizer"
    if name in ("ema_count", "ema_weight"):
        return "ignore", "codebook EMA training buffers"
    match = re.match(r"layers\.(\d+)\.", name)
    if match is not None:
        return ("take", "speech_tokenizer." + name) if int(match.group(1)) < quantize_position else ("ignore", "layers after the quantizer")
    if re.fullmatch(r"(conv1|conv2)\.(weight|bias)|(embed_positions|embed_positions2|codebook)\.weight", name):
        return "take", "speech_tokenizer." + name
    return "unknown", None


def map_keys(keys, classify, expected: dict[str, tuple[int, ...]] | None = None, what: str = "checkpoint") -> tuple[dict[str, str], dict[str, str]]:
    """``(taken: source -> port name, ignored: source -> why)``; raise on unknown keys and, given the
    port's ``expected`` names, on any port tensor that no source key fills (or fills twice)."""
    taken, ignored, unknown = {}, {}, []
    for key in keys:
        verdict, value = classify(key)
        if verdict == "take":
            taken[key] = value
        elif verdict == "ignore":
            ignored[key] = value
        else:
            unknown.append(key)
    if unknown:
        raise ModelError(f"{what}: {len(unknown)} unexpected tensors {sorted(unknown)[:8]}: not a Kimi-Audio release this port knows")
    if expected is not None:
        targets = list(taken.values())
        missing = sorted(set(expected) - set(targets))
        twice = sorted({t for t in targets if targets.count(t) > 1})
        if missing or twice:
            raise ModelError(f"{what}: missing {missing[:8]} ({len(missing)}), filled twice {twice[:8]}")
    return taken, ignored


def release_key_names(num_layers: int = 28, mimo_layers: int = 6) -> list[str]:
    """The 453 tensor names of the real release (``model.safetensors.index.json``) for the given depths."""
    names = ["model.embed_tokens.weight", "model.norm.weight", "lm_head.weight", "mimo_output.weight", "model.mimo_norm.weight"]
    names += [f"model.vq_adaptor.layers.{i}.{p}" for i in (0, 3, 4) for p in ("weight", "bias")]
    for kind, count in (("layers", num_layers), ("mimo_layers", mimo_layers)):
        for i in range(count):
            names += [f"model.{kind}.{i}.{n}" for n in sorted(_DECODER_NAMES)] + [f"model.{kind}.{i}.self_attn.rotary_emb.inv_freq"]
    return names


# --- tokenizer ---------------------------------------------------------------------------------------
def read_tiktoken_ranks(path: str | Path) -> dict[bytes, int]:
    """A ``tiktoken.model`` file: one ``base64(token) rank`` per line (tiktoken's ``load_tiktoken_bpe``)."""
    ranks = {}
    for line in Path(path).read_bytes().splitlines():
        if line.strip():
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def tokenizer_from_tiktoken(folder: str | Path, *, pat_str: str | None = None):
    """Kimi's text tokenizer as a ``PreTrainedTokenizerFast``: the BPE ranks of ``tiktoken.model``
    (transformers' ``TikTokenConverter``), the special tokens of ``tokenizer_config.json``'s
    ``added_tokens_decoder`` at their ids, ``encode(text)`` without BOS/EOS as the prompt manager calls it."""
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    folder = Path(folder)
    try:
        config = json.loads((folder / "tokenizer_config.json").read_text())
    except (OSError, ValueError) as err:
        raise ModelError(f"cannot read {folder / 'tokenizer_config.json'}: {err}") from err
    specials = {int(i): entry["content"] for i, entry in config.get("added_tokens_decoder", {}).items()}

    class _Converter(TikTokenConverter):
        @staticmethod
        def load_tiktoken_bpe(path):  # tiktoken's file format, read without the tiktoken package
            return read_tiktoken_ranks(path)

    ranks_file = folder / "tiktoken.model"
    if not ranks_file.is_file():
        raise ModelError(f"{ranks_file} is missing: convert from a Kimi-Audio release folder")
    n_base = len(read_tiktoken_ranks(ranks_file))
    if not specials:  # the remote-code tokenizer makes its special tokens in code, not in the json
        names = kimi_special_tokens()
        specials = {n_base + i: name for i, name in enumerate(names)}
        config = {"bos_token": "[BOS]", "eos_token": "[EOS]", "pad_token": names[-1], "unk_token": names[-2], **config}
    if sorted(specials) != list(range(n_base, n_base + len(specials))):
        raise ModelError(f"{folder / 'tokenizer_config.json'}: special tokens must follow the {n_base} BPE ranks without gaps")
    ordered = [specials[i] for i in sorted(specials)]
    backend = _Converter(str(ranks_file), pattern=pat_str or config.get("pat_str") or PAT_STR, extra_special_tokens=ordered).converted()
    roles = {k: config.get(k) for k in ("bos_token", "eos_token", "pad_token", "unk_token") if config.get(k) in ordered}
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, clean_up_tokenization_spaces=False, model_max_length=8192, **roles)
    wrong = [(i, t, tokenizer.convert_tokens_to_ids(t)) for i, t in specials.items() if tokenizer.convert_tokens_to_ids(t) != i]
    if wrong:
        raise ModelError(f"special tokens landed on other ids: {wrong[:4]}")
    return tokenizer


# --- config --------------------------------------------------------------------------------------
def config_from_release(release: dict, whisper: dict, glm: dict, tokenizer):
    """``KimiAudioConfig`` from the three ``config.json`` files and the tokenizer's special ids."""
    from .configuration import SPECIAL_TOKEN_NAMES, KimiAudioConfig

    text_keys = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
                 "max_position_embeddings", "rms_norm_eps", "hidden_act", "initializer_range", "attention_dropout")
    text = {k: release[k] for k in text_keys if k in release}
    text.update(rope_parameters={"rope_type": "default", "rope_theta": float(release.get("rope_theta", 1000000.0))},
                use_sliding_window=False, tie_word_embeddings=False, dtype=release.get("torch_dtype", "bfloat16"))
    ids = {field: tokenizer.convert_tokens_to_ids(name) for field, name in SPECIAL_TOKEN_NAMES.items()}
    for field, key in (("media_begin", "kimia_media_begin"), ("media_end", "kimia_media_end")):
        if key in release and release[key] != ids[field]:
            raise ModelError(f"config.json {key}={release[key]} but the tokenizer puts {SPECIAL_TOKEN_NAMES[field]} at {ids[field]}")
    drop = ("architectures", "auto_map", "model_type", "_name_or_path", "torch_dtype", "transformers_version")
    whisper = {k: v for k, v in whisper.items() if k not in drop}
    glm = {k: v for k, v in glm.items() if k not in drop}
    kimi = {k: release[k] for k in ("kimia_token_offset", "kimia_adaptor_input_dim", "use_whisper_feature", "kimia_mimo_layers",
                                    "kimia_mimo_transformer_from_layer_index", "kimia_mimo_audiodelaytokens", "kimia_audio_output_vocab",
                                    "kimia_text_output_vocab") if k in release}
    return KimiAudioConfig(
        text_config=text, whisper_config=whisper, vq_config=glm, **kimi,
        kimia_media_begin=ids["media_begin"], kimia_media_end=ids["media_end"], kimia_text_blank=ids["kimia_text_blank"],
        kimia_text_eos=ids["kimia_text_eos"], kimia_user_msg_start=ids["kimia_user_msg_start"],
        kimia_assistant_msg_start=ids["kimia_assistant_msg_start"], kimia_speech_ct_id=ids["kimia_speech_ct_id"],
        kimia_speech_ctd_id=ids["kimia_speech_ctd_id"], msg_end=ids["msg_end"],
    )


# --- files -----------------------------------------------------------------------------------------
def _fetch(repo_or_folder: str, filename: str) -> Path:
    folder = Path(repo_or_folder)
    if folder.is_dir():
        path = folder / filename
        if not path.is_file():
            raise ModelError(f"{path} is missing: not a Kimi-Audio release folder")
        return path
    if folder.is_absolute() or repo_or_folder.startswith((".", "~")) or repo_or_folder.count("/") != 1:
        raise ModelError(f"{repo_or_folder} is neither a folder nor a Hub id (owner/name)")
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(repo_or_folder, filename))
    except Exception as err:  # noqa: BLE001 (network, auth, missing file: one message for all)
        raise ModelError(f"cannot download {filename} of {repo_or_folder}: {err}. This needs the network or a warm Hub cache") from err


def _glm_weight_files(glm: str) -> list[Path]:
    """``model*.safetensors`` of the GLM-4-Voice tokenizer (what ``load_quantize_encoder`` globs)."""
    if Path(glm).is_dir():
        files = sorted(Path(glm).glob("model*.safetensors"))
    else:
        from huggingface_hub import list_repo_files

        try:
            names = list_repo_files(glm)
        except Exception as err:  # noqa: BLE001
            raise ModelError(f"cannot list {glm}: {err}. This needs the network or a warm Hub cache") from err
        files = [_fetch(glm, n) for n in sorted(names) if re.fullmatch(r"model.*\.safetensors", n)]
    if not files:
        raise ModelError(f"no model*.safetensors in {glm}")
    return files


def _read_tensors(path: Path, names: dict[str, str], dtype=None) -> dict:
    """The tensors of ``names`` in ``path``, renamed; ``dtype=None`` keeps the file's dtype."""
    from safetensors import safe_open

    out = {}
    with safe_open(str(path), framework="pt") as f:
        for key in f.keys():
            if key in names:
                tensor = f.get_tensor(key)
                out[names[key]] = tensor if dtype is None else tensor.to(dtype)
    return out


def load_release(kimi: str = KIMI_REPO, glm: str = GLM_REPO, *, pat_str: str | None = None):
    """(processor, model) from the release (a Hub id or a local copy) and the GLM-4-Voice tokenizer."""
    import torch
    from safetensors import safe_open
    from transformers import GenerationConfig, WhisperFeatureExtractor

    from .modeling import KimiAudioForConditionalGeneration
    from .processing import KimiAudioProcessor

    release = json.loads(_fetch(kimi, "config.json").read_text())
    whisper_cfg = json.loads(_fetch(kimi, f"{WHISPER_SUBFOLDER}/config.json").read_text())
    glm_cfg = json.loads(_fetch(glm, "config.json").read_text())
    index = json.loads(_fetch(kimi, "model.safetensors.index.json").read_text())["weight_map"]
    # unknown tensor names stop the conversion before anything heavy runs
    map_keys(index, lambda k: classify_kimi_key(k, release.get("num_hidden_layers", 28), release.get("kimia_mimo_layers", 6)), what="Kimi-Audio release")
    tokenizer_dir = _fetch(kimi, "tiktoken.model").parent
    _fetch(kimi, "tokenizer_config.json")
    tokenizer = tokenizer_from_tiktoken(tokenizer_dir, pat_str=pat_str)
    config = config_from_release(release, whisper_cfg, glm_cfg, tokenizer)
    with torch.device("meta"):
        model = KimiAudioForConditionalGeneration(config)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    state = {}
    # main release: only the shards that hold a tensor of the text path are fetched
    main_expected = {k: s for k, s in expected.items() if k.startswith(("model.", "lm_head.", "vq_adaptor."))}
    taken, _ = map_keys(index, lambda k: classify_kimi_key(k, config.text_config.num_hidden_layers, config.kimia_mimo_layers), main_expected, "Kimi-Audio release")
    for shard in sorted({index[k] for k in taken}):
        state.update(_read_tensors(_fetch(kimi, shard), taken))  # the release's bf16
    whisper_file = _fetch(kimi, f"{WHISPER_SUBFOLDER}/model.safetensors")
    with safe_open(str(whisper_file), framework="pt") as f:
        keys = list(f.keys())
    taken, _ = map_keys(keys, lambda k: classify_whisper_key(k, config.whisper_config.encoder_layers),
                        {k: s for k, s in expected.items() if k.startswith("whisper_encoder.")}, f"{WHISPER_SUBFOLDER}/model.safetensors")
    # kept as stored (fp16): loading with dtype "auto" gives bf16 as Kimi's whisper_model.bfloat16() on the
    # fp32 upcast does, and dtype=float32 the exact file values (the fp32 reference)
    state.update(_read_tensors(whisper_file, taken))
    glm_files = _glm_weight_files(glm)
    glm_keys = {}
    for path in glm_files:
        with safe_open(str(path), framework="pt") as f:
            glm_keys.update({k: path for k in f.keys()})
    taken, _ = map_keys(glm_keys, lambda k: classify_glm_key(k, config.vq_config.quantize_position),
                        {k: s for k, s in expected.items() if k.startswith("speech_tokenizer.")}, "GLM-4-Voice tokenizer")
    for path in glm_files:
        state.update(_read_tensors(path, taken, torch.float32))
    wrong = [f"{k}: {tuple(v.shape)} != {expected[k]}" for k, v in state.items() if tuple(v.shape) != expected[k]]
    if wrong:
        raise ModelError("tensor shapes do not match the config: " + "; ".join(wrong[:6]))
    model.load_state_dict(state, strict=True, assign=True)
    model.model.rotary_emb = type(model.model.rotary_emb)(config=config.text_config)  # inv_freq from rope_theta, not the meta buffer
    model.config.dtype = release.get("torch_dtype", "bfloat16")  # what dtype="auto" loads (the GLM tokenizer stays fp32)
    model.generation_config = GenerationConfig(eos_token_id=config.kimia_text_eos, pad_token_id=tokenizer.pad_token_id, do_sample=False,
                                               bos_token_id=tokenizer.bos_token_id)
    fe_config = json.loads(_fetch(glm, "preprocessor_config.json").read_text())
    feature_extractor = WhisperFeatureExtractor(**{k: v for k, v in fe_config.items() if k in ("feature_size", "sampling_rate", "hop_length", "chunk_length", "n_fft", "padding_value")})
    return KimiAudioProcessor(feature_extractor, tokenizer), model.eval()


def convert(out_dir: str | Path, kimi: str = KIMI_REPO, glm: str = GLM_REPO, *, pat_str: str | None = None) -> Path:
    """Write one folder (config, text-path weights, processor) that ``AutoProcessor`` and
    ``AutoModelForCausalLM`` load offline after ``import tacos_temporal.ports.kimi_audio``."""
    from ...files import staged_output

    from ..desta25.loading import check_convert_output

    out_dir = Path(out_dir)
    check_convert_output(out_dir, kimi, glm)
    processor, model = load_release(kimi, glm, pat_str=pat_str)
    with staged_output(out_dir, overwrite=True, what="converted Kimi-Audio folder") as tmp:
        processor.save_pretrained(tmp)
        model.save_pretrained(tmp)
    return out_dir
