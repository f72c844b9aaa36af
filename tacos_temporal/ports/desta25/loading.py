"""Assemble DeSTA2.5 from its three Hub repos; ``convert`` writes one self-contained folder.

* connector: ``DeSTA-ntu/DeSTA2.5-Audio-Llama-3.1-8B`` (``perception.connector.*`` keys, checked
  **exactly**: the original's ``strict=False`` loads nothing silently on a prefix mistake);
* language model: the config's ``llm_model_id`` (``DeSTA-ntu/Llama-3.1-8B-Instruct``), bfloat16;
* Whisper: ``openai/whisper-large-v3`` (its ``whisper_model_id``), float32.
"""

from __future__ import annotations

import json
from pathlib import Path

from ...errors import ModelError

DESTA_REPO = "DeSTA-ntu/DeSTA2.5-Audio-Llama-3.1-8B"
LLM_REPO = "DeSTA-ntu/Llama-3.1-8B-Instruct"
WHISPER_REPO = "openai/whisper-large-v3"
PREFIX = "perception.connector."


def connector_keys(model) -> dict[str, tuple[int, ...]]:
    """The release's key names and shapes the model expects (``perception.connector.`` + our names)."""
    return {PREFIX + k: tuple(v.shape) for k, v in model.connector.state_dict().items()}


def load_connector(model, state_dict: dict) -> None:
    """Load the release's connector weights, demanding an exact key (and shape) match."""
    expected = connector_keys(model)
    missing, unexpected = sorted(set(expected) - set(state_dict)), sorted(set(state_dict) - set(expected))
    if missing or unexpected:
        raise ModelError(
            f"connector keys do not match (qformer_num_hidden_layers={model.config.qformer_num_hidden_layers}): "
            f"missing {missing[:8]}{'...' if len(missing) > 8 else ''} ({len(missing)}), "
            f"unexpected {unexpected[:8]}{'...' if len(unexpected) > 8 else ''} ({len(unexpected)})"
        )
    wrong = [f"{k}: {tuple(state_dict[k].shape)} != {shape}" for k, shape in expected.items() if tuple(state_dict[k].shape) != shape]
    if wrong:
        raise ModelError("connector shapes do not match: " + "; ".join(wrong[:8]))
    model.connector.load_state_dict({k[len(PREFIX):]: v for k, v in state_dict.items()}, strict=True)
    model.connector.pin_bidirectional()


#: The Whisper encoder layers the original taps, by ``encoder_model_id`` of the release config
#: (``QformerConnector.__init__`` in desta/models/modeling_desta25.py; any other id raises there too).
TAPPED_LAYERS: dict[str, tuple[int, ...]] = {
    "openai/whisper-medium": (5, 11, 17, 23),
    "openai/whisper-small": (2, 5, 8, 11),
    "openai/whisper-tiny": (0, 1, 2, 3),
    "openai/whisper-large-v3": (7, 15, 23, 31),
}
#: The original's Q-former is ``BertConfig()`` with depth, heads and width changed; its FFN width
#: stays BertConfig's default.
QFORMER_INTERMEDIATE_SIZE = 3072


def tapped_layers(encoder_model_id: str) -> list[int]:
    """The Whisper layers the original taps for ``encoder_model_id`` (its fixed table)."""
    if encoder_model_id not in TAPPED_LAYERS:
        raise ModelError(
            f"DeSTA2.5 taps Whisper layers only for {', '.join(TAPPED_LAYERS)} (the original's table); "
            f"the release config names encoder_model_id={encoder_model_id!r}"
        )
    return list(TAPPED_LAYERS[encoder_model_id])


def config_from_release(release: dict, whisper_config, llama_config, tokenizer):
    """The port's config from the release ``config.json``, read as the original reads it: Q-former
    depth from ``qformer_num_hidden_layers`` (class default 2), heads = the Whisper encoder's
    ``encoder_attention_heads``, hidden = its ``d_model``, FFN = BertConfig's 3072, taps from the
    ``encoder_model_id`` table, ``prompt_size`` (default 64) and ``placeholder_token``."""
    from .configuration import DeSTA25Config

    encoder_id = release.get("encoder_model_id", WHISPER_REPO)
    placeholder = release.get("placeholder_token", "<|reserved_special_token_87|>")
    return DeSTA25Config(
        audio_config=whisper_config.to_dict(),
        text_config=llama_config.to_dict(),
        qformer_num_hidden_layers=int(release.get("qformer_num_hidden_layers", 2)),
        qformer_num_attention_heads=int(whisper_config.encoder_attention_heads),
        qformer_intermediate_size=QFORMER_INTERMEDIATE_SIZE,
        target_layer_ids=tapped_layers(encoder_id),
        prompt_size=int(release.get("prompt_size", 64)),
        placeholder_token=placeholder,
        audio_token_id=tokenizer.convert_tokens_to_ids(placeholder),
    )


def load_from_hub(desta_repo: str = DESTA_REPO, *, device: str = "cpu"):
    """(processor, model) from the three official repos (network or a warm Hub cache)."""
    import torch
    from huggingface_hub import hf_hub_download
    from safetensors.torch import load_file
    from transformers import AutoTokenizer, GenerationConfig, LlamaForCausalLM, WhisperFeatureExtractor, WhisperForConditionalGeneration

    from .modeling import DeSTA25ForConditionalGeneration
    from .processing import DeSTA25Processor

    try:
        release = json.loads(Path(hf_hub_download(desta_repo, "config.json")).read_text())
        llm_id, whisper_id = release.get("llm_model_id", LLM_REPO), release.get("encoder_model_id", WHISPER_REPO)
        tokenizer = AutoTokenizer.from_pretrained(llm_id)
        # The original (``_setup_generation``) pads with the end-of-text token on the left; the
        # Llama-3.1 tokenizer has no pad token of its own.
        tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left"
        llama = LlamaForCausalLM.from_pretrained(llm_id, dtype=torch.bfloat16)
        whisper = WhisperForConditionalGeneration.from_pretrained(whisper_id, dtype=torch.float32)
        feature_extractor = WhisperFeatureExtractor.from_pretrained(whisper_id)
        connector = load_file(hf_hub_download(desta_repo, "model.safetensors"))
    except OSError as err:
        raise ModelError(f"cannot download DeSTA2.5 parts ({desta_repo}, its LLM and Whisper): {err}. This needs the network or a warm Hub cache") from err
    config = config_from_release(release, whisper.config, llama.config, tokenizer)
    config.asr_generation_config = whisper.generation_config.to_dict()
    with torch.device("meta"):
        model = DeSTA25ForConditionalGeneration(config)
    model.audio_model, model.language_model = whisper, llama
    # one config object per part, so steering finds the Llama module by its text_config
    model.config.audio_config, model.config.text_config = whisper.config, llama.config
    model.connector.to_empty(device="cpu")
    load_connector(model, connector)  # every key of the release file, matched exactly
    model.generation_config = GenerationConfig.from_model_config(llama.config)
    model.generation_config.do_sample = False  # the harness decodes greedily (README, MMAU script)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    processor = DeSTA25Processor(feature_extractor, tokenizer, prompt_size=config.prompt_size, placeholder_token=release.get("placeholder_token", config.placeholder_token))
    return processor, model.to(device).eval()


def record_dtype(folder: str | Path, dtype) -> None:
    """Write the language model's dtype as the checkpoint's top-level ``dtype`` in ``config.json``.

    ``save_pretrained`` records the dtype of the model's first parameter, Whisper's float32, so
    ``from_pretrained(dtype="auto")`` would load the 8B Llama in float32 (about 32 GB instead of
    16).  With ``bfloat16`` recorded, "auto" loads the Llama in bf16 as the original ran it, and
    Whisper and the connector stay float32 (``_keep_in_fp32_modules_strict``).
    """
    from ...files import atomic_write_text

    path = Path(folder) / "config.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    name = str(dtype).replace("torch.", "")
    data["dtype"] = name
    if isinstance(data.get("text_config"), dict):
        data["text_config"]["dtype"] = name
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def check_convert_output(out_dir: str | Path, *sources: str) -> None:
    """Refuse an output folder that is, contains or lies inside the Hugging Face cache or a local
    source folder (before any download: a converter writes nothing it reads)."""
    from huggingface_hub import constants

    from ...files import check_apart

    inputs = {"the Hugging Face cache": constants.HF_HUB_CACHE}
    inputs.update({f"the source {source}": source for source in sources if Path(source).exists()})
    check_apart(out_dir, inputs, "--out")


def convert(out_dir: str | Path, desta_repo: str = DESTA_REPO) -> Path:
    """Write one folder (config, weights, processor, ``asr_tokenizer/``) loadable offline with
    ``AutoProcessor`` / ``AutoModelForMultimodalLM`` after ``import tacos_temporal.ports.desta25``."""
    from transformers import WhisperTokenizer

    out_dir = Path(out_dir)
    check_convert_output(out_dir)
    processor, model = load_from_hub(desta_repo)
    out_dir.mkdir(parents=True, exist_ok=True)
    processor.save_pretrained(out_dir)
    model.save_pretrained(out_dir)
    record_dtype(out_dir, model.language_model.dtype)
    whisper_id = model.audio_model.name_or_path or WHISPER_REPO
    WhisperTokenizer.from_pretrained(whisper_id).save_pretrained(out_dir / "asr_tokenizer")
    return out_dir
