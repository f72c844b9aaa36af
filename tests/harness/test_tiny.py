"""Tiny random checkpoints: built offline, then loaded and run only through public transformers APIs,
the way the harness loads a Hub model.

Measured here (CPU, 2 cores, transformers 5.24, torch 2.13): building one tiny model takes about
0.05-0.1 s (qwen2_text 0.05 s, qwen2_audio 0.08 s, audioflamingo3 0.08 s) once torch and
transformers are imported; the first build in a fresh interpreter takes about 2.8 s, imports
included.  Folders: qwen2_audio 1.42 MB (344,704 parameters), audioflamingo3 1.43 MB (348,608),
qwen2_text 0.59 MB (140,224).

Audio tokens per clip (checked below on the real processors): 25 per second for both audio archs
(16 kHz -> 100 mel frames/s -> conv stride 2 -> avg-pool 2); a 30 s clip becomes 750 tokens in
both.  Longer audio: Qwen2-Audio cuts at 30 s (45 s -> 750), Audio Flamingo 3 windows it in 30 s
pieces up to 600 s (45 s -> 1125).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tacos_temporal.errors import BuildError, ConfigError
from tacos_temporal.harness import tiny
from tacos_temporal.harness.tiny import TINY_ARCHS, make_tiny_model
from tacos_temporal.names import LETTERS, QUESTIONS

import torch  # noqa: E402  (required dependencies: a missing one must fail, not skip)
import transformers  # noqa: E402

SR = 16_000
AUDIO_ARCHS = ("qwen2_audio", "audioflamingo3")
QUESTION = QUESTIONS["earliest_onset"]
PROMPTS = (
    f"{QUESTION}\nA. Dog Barking\nB. Wind\nC. Siren\nD. Thunder\nAnswer with just the letter (A, B, C, or D).",
    "Which one? A. Rain B. Hum",  # a shorter text, so the batch is padded on the text side too
)


def expected_audio_tokens(arch: str, n_samples: int) -> int:
    """The processors' expansion rule, written out independently: mel frames (hop 160) -> conv
    stride 2 -> avg-pool 2.  Qwen2-Audio keeps the first 30 s; AF3 sums its 30 s windows (<= 20)."""
    cap = 30 * SR if arch == "qwen2_audio" else 20 * 30 * SR
    frames = -(-min(n_samples, cap) // 160)
    return ((frames - 1) // 2 + 1 - 2) // 2 + 1


@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-models")
    return {arch: make_tiny_model(arch, root / arch) for arch in TINY_ARCHS}


@pytest.fixture(scope="module")
def loaded(tiny_dirs):
    """(processor, model) per arch, loaded with the Auto classes a harness would use."""
    out = {}
    for arch, folder in tiny_dirs.items():
        loader = transformers.AutoTokenizer if arch == "qwen2_text" else transformers.AutoProcessor
        processor = loader.from_pretrained(folder)
        getattr(processor, "tokenizer", processor).padding_side = "left"
        model = getattr(transformers, tiny.AUTO_MODEL_CLASSES[arch]).from_pretrained(folder).eval()
        out[arch] = processor, model
    return out


def conversation(text: str, *, with_audio: bool) -> list[dict]:
    content = ([{"type": "audio"}] if with_audio else []) + [{"type": "text", "text": text}]
    return [{"role": "user", "content": content}]


def encode(arch: str, processor, texts, audios=None):
    """Left-padded batch; AF3 pads the text only (a top-level padding=True also pads its mel features)."""
    kwargs = {"text": list(texts), "return_tensors": "pt"}
    kwargs.update({"text_kwargs": {"padding": True}} if arch == "audioflamingo3" else {"padding": True})
    if audios is not None:
        kwargs.update(audio=list(audios), sampling_rate=SR)
    return processor(**kwargs)


def clips(*seconds: float) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [(0.1 * rng.standard_normal(int(s * SR))).astype(np.float32) for s in seconds]


# --- errors and files ---------------------------------------------------------------------------


def test_unknown_architecture_is_a_config_error_that_suggests_the_close_name(tmp_path):
    with pytest.raises(ConfigError, match=r"Unknown architecture 'qwen2audio'\. Did you mean: qwen2_audio\b.*Available: qwen2_audio, audioflamingo3, qwen2_text"):
        make_tiny_model("qwen2audio", tmp_path / "m")
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("seed", [-1, 1.5, True])
def test_seed_must_be_a_non_negative_integer(tmp_path, seed):
    with pytest.raises(ConfigError, match="seed"):
        make_tiny_model("qwen2_text", tmp_path / "m", seed=seed)


def test_non_empty_folder_is_refused_unless_overwrite(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    with pytest.raises(BuildError, match="not empty.*overwrite"):
        make_tiny_model("qwen2_text", folder)
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]
    make_tiny_model("qwen2_text", folder, overwrite=True)
    assert not (folder / "keep.txt").exists() and (folder / "model.safetensors").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no staging folder left beside it


@pytest.mark.parametrize("arch", TINY_ARCHS)
def test_folder_says_it_is_untrained_and_records_arch_seed_and_parameter_count(tiny_dirs, loaded, arch):
    folder = tiny_dirs[arch]
    assert "untrained random weights, for tests and demos only" in (folder / "README.md").read_text()
    info = json.loads((folder / "tiny_model.json").read_text())
    model = loaded[arch][1]
    assert (info["arch"], info["seed"]) == (arch, 0)
    assert info["parameters"] == sum(p.numel() for p in model.parameters())
    assert info["model_class"] == type(model).__name__
    assert sum(p.stat().st_size for p in folder.iterdir()) < 3_000_000


@pytest.mark.parametrize("arch", TINY_ARCHS)
def test_same_seed_gives_identical_files_and_another_seed_other_weights(tmp_path, tiny_dirs, arch):
    again = make_tiny_model(arch, tmp_path / "again", seed=0)
    other = make_tiny_model(arch, tmp_path / "other", seed=1)
    names = sorted(p.name for p in tiny_dirs[arch].iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    for name in names:
        assert (again / name).read_bytes() == (tiny_dirs[arch] / name).read_bytes(), name
    assert (other / "model.safetensors").read_bytes() != (again / "model.safetensors").read_bytes()
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        assert (other / name).read_bytes() == (again / name).read_bytes(), name


def test_importing_the_module_loads_neither_torch_nor_transformers():
    code = "import sys, tacos_temporal.harness.tiny; print([m for m in ('torch', 'transformers', 'tokenizers') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


# --- loading: the Auto classes ------------------------------------------------------------------


def test_qwen2_audio_loads_with_auto_processor_and_auto_model_for_multimodal_lm(loaded):
    processor, model = loaded["qwen2_audio"]
    assert type(processor).__name__ == "Qwen2AudioProcessor"
    assert type(model).__name__ == "Qwen2AudioForConditionalGeneration"
    assert model.config.audio_config.max_source_positions == 1500


def test_audioflamingo3_loads_with_seq2seq_auto_class_only(tiny_dirs, loaded):
    # transformers 5.24 maps AF3 in AutoModelForSeq2SeqLM (and AutoModelForPreTraining), not in
    # AutoModelForMultimodalLM / AutoModelForCausalLM: hf_stack.md holds.
    processor, model = loaded["audioflamingo3"]
    assert type(processor).__name__ == "AudioFlamingo3Processor"
    assert type(model).__name__ == "AudioFlamingo3ForConditionalGeneration"
    for name in ("AutoModelForMultimodalLM", "AutoModelForCausalLM"):
        with pytest.raises(ValueError, match="Unrecognized configuration class"):
            getattr(transformers, name).from_pretrained(tiny_dirs["audioflamingo3"])


def test_qwen2_text_loads_with_causal_lm_and_auto_processor_falls_back_to_its_tokenizer(tiny_dirs, loaded):
    assert type(loaded["qwen2_text"][1]).__name__ == "Qwen2ForCausalLM"
    assert type(transformers.AutoProcessor.from_pretrained(tiny_dirs["qwen2_text"])).__name__ == "Qwen2Tokenizer"


# --- tokenizer and chat templates ---------------------------------------------------------------


@pytest.mark.parametrize("arch", TINY_ARCHS)
def test_each_option_letter_is_one_token_alone_and_after_a_space(loaded, arch):
    processor = loaded[arch][0]
    tokenizer = getattr(processor, "tokenizer", processor)
    ids = {text: tokenizer.encode(text, add_special_tokens=False) for text in (*LETTERS, *(f" {x}" for x in LETTERS))}
    assert all(len(v) == 1 for v in ids.values()), ids
    assert len({v[0] for v in ids.values()}) == 2 * len(LETTERS)


def test_qwen2_audio_template_is_the_processor_default_of_the_installed_transformers():
    default = getattr(transformers.Qwen2AudioProcessor, "default_chat_template", None)
    if default is None:
        pytest.skip("this transformers no longer ships Qwen2AudioProcessor.default_chat_template")
    assert default.fget(None) == tiny.QWEN2_AUDIO_CHAT_TEMPLATE


def test_qwen2_audio_template_puts_the_audio_block_where_the_audio_item_is(loaded):
    text = loaded["qwen2_audio"][0].apply_chat_template(conversation(QUESTION, with_audio=True), add_generation_prompt=True, tokenize=False)
    assert text == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        f"<|im_start|>user\nAudio 1: <|audio_bos|><|AUDIO|><|audio_eos|>\n{QUESTION}<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_audioflamingo3_template_leads_the_turn_with_one_sound_token(loaded):
    text = loaded["audioflamingo3"][0].apply_chat_template(conversation(QUESTION, with_audio=True), add_generation_prompt=True, tokenize=False)
    assert text == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        f"<|im_start|>user\n<sound>{QUESTION}<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_caption_only_prompt_of_the_text_model_equals_qwen2_audio_without_audio(loaded):
    conv = conversation(PROMPTS[0], with_audio=False)
    rendered = [loaded[a][0].apply_chat_template(conv, add_generation_prompt=True, tokenize=False) for a in ("qwen2_text", "qwen2_audio")]
    assert rendered[0] == rendered[1] and "<|AUDIO|>" not in rendered[0]


# --- processing and generation ------------------------------------------------------------------


@pytest.mark.parametrize("arch", AUDIO_ARCHS)
def test_processor_left_pads_and_expands_the_placeholder_to_25_audio_tokens_per_second(loaded, arch):
    processor, model = loaded[arch]
    texts = [processor.apply_chat_template(conversation(p, with_audio=True), add_generation_prompt=True, tokenize=False) for p in PROMPTS]
    audio = clips(3.0, 7.0)
    inputs = encode(arch, processor, texts, audio)
    counts = (inputs["input_ids"] == model.config.audio_token_id).sum(-1).tolist()
    assert counts == [expected_audio_tokens(arch, len(a)) for a in audio] == [75, 175]
    mask = inputs["attention_mask"]
    assert mask[:, -1].tolist() == [1, 1] and mask[0, 0] == 0 and mask[1].all()  # short row padded on the left
    assert inputs["input_features"].shape[-1] == 3000  # mel features stay one full 30 s window


@pytest.mark.parametrize(("arch", "seconds", "tokens"), [("qwen2_audio", 30, 750), ("audioflamingo3", 30, 750), ("qwen2_audio", 45, 750), ("audioflamingo3", 45, 1125)])
def test_long_clips_follow_each_models_window_rule(loaded, arch, seconds, tokens):
    processor, model = loaded[arch]
    text = processor.apply_chat_template(conversation("Q", with_audio=True), add_generation_prompt=True, tokenize=False)
    inputs = encode(arch, processor, [text], [np.zeros(seconds * SR, dtype=np.float32)])
    assert (inputs["input_ids"] == model.config.audio_token_id).sum().item() == expected_audio_tokens(arch, seconds * SR) == tokens


@pytest.mark.parametrize("arch", TINY_ARCHS)
def test_batch_of_two_gives_the_greedy_tokens_and_last_logits_of_each_item_alone(loaded, arch):
    processor, model = loaded[arch]
    with_audio = arch in AUDIO_ARCHS
    texts = [processor.apply_chat_template(conversation(p, with_audio=with_audio), add_generation_prompt=True, tokenize=False) for p in PROMPTS]
    audio = clips(3.0, 7.0) if with_audio else [None, None]
    batch = encode(arch, processor, texts, audio if with_audio else None)
    with torch.inference_mode():
        batch_logits = model(**batch).logits[:, -1]
        batch_tokens = model.generate(**batch, max_new_tokens=3, do_sample=False)[:, batch["input_ids"].shape[1] :]
        for i, (text, clip) in enumerate(zip(texts, audio)):
            alone = encode(arch, processor, [text], [clip] if with_audio else None)
            logits = model(**alone).logits[:, -1]
            tokens = model.generate(**alone, max_new_tokens=3, do_sample=False)[:, alone["input_ids"].shape[1] :]
            torch.testing.assert_close(logits[0], batch_logits[i], atol=1e-4, rtol=0)
            # a row that stops at <|im_end|> alone is padded in the batch: compare what both produced
            assert tokens[0].tolist() == batch_tokens[i, : tokens.shape[1]].tolist()


@pytest.mark.parametrize("arch", TINY_ARCHS)
def test_text_only_prompts_run_through_every_processor(loaded, arch):
    # The caption-only view: no audio item, no audio argument; AF3 and Qwen2-Audio take it too.
    processor, model = loaded[arch]
    texts = [processor.apply_chat_template(conversation(p, with_audio=False), add_generation_prompt=True, tokenize=False) for p in PROMPTS]
    inputs = encode(arch, processor, texts)
    assert "input_features" not in inputs
    with torch.inference_mode():
        out = model.generate(**inputs, max_new_tokens=3, do_sample=False)
    assert out.shape[0] == 2 and inputs["input_ids"].shape[1] < out.shape[1] <= inputs["input_ids"].shape[1] + 3
