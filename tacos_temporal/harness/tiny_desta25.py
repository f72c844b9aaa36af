"""A tiny random DeSTA2.5 checkpoint, offline: tiny Whisper (2 layers, taps 0 and 1), Q-former (depth
from the config), tiny Llama (2 layers), a locally trained BPE with the Llama-3.1 special tokens and
chat template.  Untrained: for tests and demos only."""

from __future__ import annotations

from pathlib import Path

from ..errors import BuildError
from ..files import staged_output
from ..ports.desta25.configuration import PLACEHOLDER_TOKEN
from .tiny import BPE_VOCAB_SIZE, _quiet_progress_bars, _same_mode_as_config, _train_bpe  # noqa: F401

BOS, EOS, EOT = "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"
SPECIALS = (BOS, EOS, "<|start_header_id|>", "<|end_header_id|>", EOT, PLACEHOLDER_TOKEN)
TINY_WHISPER = {
    "d_model": 64, "encoder_layers": 2, "decoder_layers": 1, "encoder_attention_heads": 4, "decoder_attention_heads": 4,
    "encoder_ffn_dim": 128, "decoder_ffn_dim": 128, "num_mel_bins": 128, "max_source_positions": 1500,
    "max_target_positions": 64, "vocab_size": 128, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2, "decoder_start_token_id": 1,
}
TINY_LLAMA = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2}


def build_tokenizer(kind: str = "bpe"):
    """The locally trained BPE with Llama-3.1's specials (``kind="bpe"``), or the real Llama-3.1
    tokenizer (``kind="real"``, 128,256 tokens, from :mod:`tacos_temporal.harness.tokenizers`)."""
    from transformers import Qwen2Tokenizer

    if kind == "real":
        from .tokenizers import real_tokenizer

        return real_tokenizer("llama3")

    from ..ports.desta25.processing import LLAMA31_CHAT_TEMPLATE

    vocab, merges = _train_bpe()
    first = len(vocab)
    vocab.update({token: first + i for i, token in enumerate(SPECIALS)})
    tokenizer = Qwen2Tokenizer(
        vocab=vocab, merges=merges, unk_token=None, bos_token=BOS, eos_token=EOT, pad_token=EOS,
        extra_special_tokens=[t for t in SPECIALS if t not in (BOS, EOS, EOT)], model_max_length=8192,
    )
    tokenizer.chat_template = LLAMA31_CHAT_TEMPLATE
    if tokenizer.convert_tokens_to_ids(PLACEHOLDER_TOKEN) != vocab[PLACEHOLDER_TOKEN]:
        raise BuildError("tiny desta25: the placeholder token lost its id")
    return tokenizer


def tiny_config(tokenizer, *, qformer_layers: int = 2, transcribe: bool = False):
    from ..ports.desta25.configuration import DeSTA25Config

    eot, eos = tokenizer.convert_tokens_to_ids(EOT), tokenizer.convert_tokens_to_ids(EOS)
    text = dict(TINY_LLAMA, vocab_size=len(tokenizer), bos_token_id=tokenizer.convert_tokens_to_ids(BOS), eos_token_id=[eos, eot], pad_token_id=eos, tie_word_embeddings=False)
    return DeSTA25Config(
        audio_config=dict(TINY_WHISPER), text_config=text, target_layer_ids=[0, 1], qformer_num_hidden_layers=qformer_layers,
        qformer_num_attention_heads=4, qformer_intermediate_size=96, audio_token_id=tokenizer.convert_tokens_to_ids(PLACEHOLDER_TOKEN),
        transcribe=transcribe, use_vad=False, asr_max_new_tokens=4,
    )


def build(tokenizer, seed: int = 0, **config_kwargs):
    """(processor, model) in memory."""
    import torch
    from transformers import GenerationConfig, WhisperFeatureExtractor

    from ..ports.desta25.modeling import DeSTA25ForConditionalGeneration
    from ..ports.desta25.processing import DeSTA25Processor

    config = tiny_config(tokenizer, **config_kwargs)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DeSTA25ForConditionalGeneration(config).eval()
    eos = config.text_config.eos_token_id
    model.generation_config = GenerationConfig(eos_token_id=eos, pad_token_id=config.text_config.pad_token_id, do_sample=False)
    processor = DeSTA25Processor(WhisperFeatureExtractor(feature_size=128), tokenizer, prompt_size=config.prompt_size)
    return processor, model


def make_tiny_desta25(out_dir: str | Path, *, seed: int = 0, overwrite: bool = False, tokenizer: str = "bpe") -> Path:
    """Write a tiny DeSTA2.5 folder that ``AutoProcessor`` + ``AutoModelForMultimodalLM`` load (after
    ``import tacos_temporal.ports.desta25``)."""
    out_dir = Path(out_dir)
    with staged_output(out_dir, overwrite=overwrite, what="model folder") as tmp, _quiet_progress_bars():
        processor, model = build(build_tokenizer(tokenizer), seed)
        processor.save_pretrained(tmp)
        model.save_pretrained(tmp)
        _same_mode_as_config(tmp)
        (tmp / "README.md").write_text("# tiny desta25\n\n**untrained random weights, for tests and demos only.**\n")
    return out_dir
