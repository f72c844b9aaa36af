"""Tiny, randomly initialised checkpoints of the model families the harness runs, built offline.

``make_tiny_model(arch, out_dir)`` writes a folder that loads with the public transformers API
exactly as the real Hub checkpoint does, in well under a second (plus the torch/transformers
import) and 0.6-1.4 MB::

    tiny-qwen2_audio/
      config.json, generation_config.json, model.safetensors      the model (float32)
      tokenizer.json, tokenizer_config.json, chat_template.jinja  a byte-level BPE + the real template
      processor_config.json                                        the real processor class, with the
                                                                   real WhisperFeatureExtractor (128 mel)
      README.md                                                    "untrained random weights, ..."
      tiny_model.json                                              arch, seed, parameter count, sizes

==================  =====================================  =========================================
arch                loads with                             stands in for
==================  =====================================  =========================================
``qwen2_audio``     ``AutoProcessor`` +                    ``Qwen/Qwen2-Audio-7B-Instruct``
                    ``AutoModelForMultimodalLM``
``audioflamingo3``  ``AutoProcessor`` +                    ``nvidia/audio-flamingo-3-hf``
                    ``AutoModelForSeq2SeqLM`` (the only
                    Auto class that maps it in 5.24)
``qwen2_text``      ``AutoTokenizer`` (or                  a text-only Qwen2 LM for the caption-only
                    ``AutoProcessor``) +                   baseline
                    ``AutoModelForCausalLM``
==================  =====================================  =========================================

The weights are **untrained**: generations are gibberish and scores are chance.  The checkpoints
exist so that tests and demos exercise the real code paths (chat template, audio-token expansion,
left padding, ``generate``, next-token log-probabilities, attention hooks) without the Hub.

How the pieces are made (the recipe of ``shared/reference/hf_stack.md``):

* **Tokenizer.** A byte-level BPE trained with ``tokenizers`` on :func:`tokenizer_corpus` (the
  benchmark's questions and instruction, option lines ``A. Dog Barking``, answers, digits, chat
  roles), with the pre-tokenizer of ``Qwen2Tokenizer``, then wrapped in
  ``Qwen2Tokenizer(vocab=..., merges=[(a, b), ...])``.  Special tokens follow the real vocabularies'
  order after the BPE part: ``<|endoftext|>``, ``<|im_start|>``, ``<|im_end|>``, then the audio
  tokens (Qwen2-Audio ``<|AUDIO|>``, ``<|audio_bos|>``, ``<|audio_eos|>``; AF3 ``<sound>``).
  ``eos`` is ``<|im_end|>``, ``pad`` is ``<|endoftext|>``.  ``A``-``D`` and `` A``-`` D`` are single
  tokens (checked at build time: the harness's logprob mode reads one logit per letter).
* **Chat templates** (copied, not invented): :data:`QWEN2_AUDIO_CHAT_TEMPLATE` is
  ``Qwen2AudioProcessor.default_chat_template`` of transformers 5.24 (the class keeps it because the
  Hub repo ships none in the new format, so it is what the real model gets);
  :data:`AUDIOFLAMINGO3_CHAT_TEMPLATE` is the processor template written by transformers'
  ``models/audioflamingo3/convert_audioflamingo3_to_hf.py``, which produced
  ``nvidia/audio-flamingo-3-hf`` (it puts one ``<sound>`` before all text of a turn, wherever the
  audio item stands).  ``qwen2_text`` uses the Qwen2-Audio template, so a caption-only prompt
  renders character for character as the Qwen2-Audio processor renders it without audio.
* **Models** from tiny configs (:data:`TEXT_SIZES`, :data:`AUDIO_SIZES`) with the real classes;
  ``max_source_positions`` stays 1500 and ``num_mel_bins`` 128, so the processors' 30 s windows and
  their audio-token counts are the real ones: 25 tokens per second, 750 per 30 s window
  (Qwen2-Audio cuts audio at 30 s; AF3 takes up to 20 windows, 600 s).

The build is deterministic (same seed, same bytes: ``torch.manual_seed`` inside a forked RNG, a
fixed corpus, the deterministic BPE trainer) and atomic (staged beside ``out_dir``, reloaded and
checked, then moved into place).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import BuildError, ConfigError, unknown_name
from ..files import atomic_write_text, staged_output
from ..names import LETTERS, QUESTIONS

TINY_ARCHS: tuple[str, ...] = ("qwen2_audio", "audioflamingo3", "qwen2_text")

#: The Auto class that loads each arch.  transformers 5.24 maps AF3 only in ``AutoModelForSeq2SeqLM``
#: (and ``AutoModelForPreTraining``); ``AutoModelForMultimodalLM`` / ``AutoModelForCausalLM`` reject it.
AUTO_MODEL_CLASSES: MappingProxyType[str, str] = MappingProxyType(
    {"qwen2_audio": "AutoModelForMultimodalLM", "audioflamingo3": "AutoModelForSeq2SeqLM", "qwen2_text": "AutoModelForCausalLM"}
)
#: The real checkpoint each arch imitates (chat template, special tokens, processor class).
STANDS_IN_FOR: MappingProxyType[str, str] = MappingProxyType(
    {"qwen2_audio": "Qwen/Qwen2-Audio-7B-Instruct", "audioflamingo3": "nvidia/audio-flamingo-3-hf", "qwen2_text": "Qwen2 (text only)"}
)

#: Language model (Qwen2) of every arch.  Real 7B: hidden 3584, 28 layers, 28 heads, 4 kv heads.
TEXT_SIZES: MappingProxyType[str, int] = MappingProxyType(
    {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2}
)
#: Whisper-style audio encoder.  ``max_source_positions`` (1500 = 3000 mel frames / 2, one 30 s
#: window) and ``num_mel_bins`` are those of the real models: the processors and the encoders'
#: shape checks depend on them.  Real: d_model 1280, 32 layers, 20 heads, ffn 5120.
AUDIO_SIZES: MappingProxyType[str, int] = MappingProxyType(
    {"d_model": 64, "encoder_layers": 2, "encoder_attention_heads": 4, "encoder_ffn_dim": 128, "num_mel_bins": 128, "max_source_positions": 1500}
)
#: Size of the trained BPE part of the vocabulary (256 byte symbols + merges), before special tokens.
BPE_VOCAB_SIZE = 512
#: ``tokenizer=`` of :func:`make_tiny_model`: the locally trained BPE (small, the default) or the real
#: vocabulary of the imitated checkpoint (:mod:`tacos_temporal.harness.tokenizers`).
TOKENIZER_KINDS: tuple[str, ...] = ("bpe", "real")
#: ``vocab_size`` of the language model with ``tokenizer="real"``: the real checkpoints' embedding rows
#: (Qwen2-Audio-7B 156,032; Qwen2-7B 151,936); AF3: the tokenizer's length rounded up to 64 (its real
#: size was not checked here).
REAL_VOCAB_SIZES: MappingProxyType[str, int | None] = MappingProxyType({"qwen2_audio": 156032, "audioflamingo3": None, "qwen2_text": 151936})
#: Audio tokens per second of audio for both audio archs (mel 100 frames/s, conv stride 2, pool 2).
AUDIO_TOKENS_PER_SECOND = 25

ENDOFTEXT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
#: Special tokens after the BPE vocabulary, in the real vocabularies' order
#: (Qwen2-Audio: 151643 <|endoftext|> ... 151646 <|AUDIO|>, 151647 <|audio_bos|>, 151648 <|audio_eos|>).
SPECIAL_TOKENS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "qwen2_audio": (ENDOFTEXT, IM_START, IM_END, "<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>"),
        "audioflamingo3": (ENDOFTEXT, IM_START, IM_END, "<sound>"),
        "qwen2_text": (ENDOFTEXT, IM_START, IM_END),
    }
)
#: The placeholder that the processor expands into one token per audio frame (``config.audio_token_id``).
AUDIO_TOKENS: MappingProxyType[str, str | None] = MappingProxyType(
    {"qwen2_audio": "<|AUDIO|>", "audioflamingo3": "<sound>", "qwen2_text": None}
)

# fmt: off
#: ``Qwen2AudioProcessor.default_chat_template`` in transformers 5.24
#: (transformers/models/qwen2_audio/processing_qwen2_audio.py), unchanged.  Audio items become
#: ``Audio N: <|audio_bos|><|AUDIO|><|audio_eos|>\n`` in place; text items are concatenated.
QWEN2_AUDIO_CHAT_TEMPLATE = (
    "{% set audio_count = namespace(value=0) %}"
    "{% for message in messages %}"
        "{% if loop.first and message['role'] != 'system' %}"
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "{% endif %}"
        "<|im_start|>{{ message['role'] }}\n"
        "{% if message['content'] is string %}"
            "{{ message['content'] }}<|im_end|>\n"
        "{% else %}"
            "{% for content in message['content'] %}"
                "{% if 'audio' in content or 'audio_url' in content or message['type'] == 'audio' or content['type'] == 'audio' %}"
                    "{% set audio_count.value = audio_count.value + 1 %}"
                    "Audio {{ audio_count.value }}: <|audio_bos|><|AUDIO|><|audio_eos|>\n"
                "{% elif 'text' in content %}"
                    "{{ content['text'] }}"
                "{% endif %}"
            "{% endfor %}"
            "<|im_end|>\n"
        "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}"
        "<|im_start|>assistant\n"
    "{% endif %}"
)
#: ``processor_chat_template`` of transformers' models/audioflamingo3/convert_audioflamingo3_to_hf.py
#: (``write_processor``), the script that made nvidia/audio-flamingo-3-hf; unchanged.  One ``<sound>``
#: leads the turn if it has any audio item; the texts follow, concatenated.
AUDIOFLAMINGO3_CHAT_TEMPLATE = (
    "{% if messages[0]['role'] != 'system' %}"
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "{% for m in messages if m['content'] is not none %}"
        "<|im_start|>{{ m['role'] }}\n"
        "{% if m['content'] is string %}"
            "{{ m['content'] }}"
        "{% else %}"
            "{% set audio = namespace(found=False) %}"
            "{% set text_buf = namespace(v='') %}"
            "{% for c in m['content'] %}"
                "{% if c.get('type') == 'audio' or 'audio' in c %}"
                    "{% set audio.found = True %}"
                "{% elif c.get('type') == 'text' or 'text' in c %}"
                    "{% set text_buf.v = text_buf.v + c['text'] %}"
                "{% endif %}"
            "{% endfor %}"
            "{% if audio.found %}{{ '<sound>' }}{% endif %}{{ text_buf.v }}"
        "{% endif %}"
        "<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}"
        "<|im_start|>assistant\n"
    "{% endif %}"
)
# fmt: on
CHAT_TEMPLATES: MappingProxyType[str, str] = MappingProxyType(
    {"qwen2_audio": QWEN2_AUDIO_CHAT_TEMPLATE, "audioflamingo3": AUDIOFLAMINGO3_CHAT_TEMPLATE, "qwen2_text": QWEN2_AUDIO_CHAT_TEMPLATE}
)

#: Sound-event names for the option lines of the corpus (common TACOS labels, as written there).
_SOUND_EVENTS: tuple[str, ...] = (
    "Bird Chirp", "Human Speech", "Atmospheric Sounds", "Distant Sounds", "Vehicle engine", "Raining",
    "Machine sounds", "Wind", "Dog Barking", "Stream_River", "Traffic Noise", "Bell Ringing", "Footsteps",
    "Siren", "Guitar Playing", "Piano Playing", "Metallic Sounds", "Water Dripping", "Clapping", "Waves",
    "Insect Buzzing", "Thud", "Thunder", "Car driving by", "Vehicle Horn Honk", "Shouting", "Singing",
    "Drums", "Alarm sound", "Fire burning", "Laughter", "Crying", "Cat Meowing", "Announcement",
    "Violin Playing", "Whistle", "Train sound", "Breathing", "Beeping", "Door sounds", "Rustling",
    "Coughing", "Helicopter sound", "Chainsaw", "Rooster Crow", "Tone", "Noise burst", "Chirp", "Hum",
)
_SENTENCES: tuple[str, ...] = (
    "You are a helpful assistant.",
    "Answer with just the letter (A, B, C, or D).",
    "Listen to the audio and answer the question.",
    "Caption: A dog barks while birds chirp and a car passes in the distance.",
    "Caption: Rain falls on a roof, thunder rolls, and the wind blows.",
    "Caption: A man speaks, people clap, and a bell rings at the end.",
    "Caption: Water flows in a stream as footsteps walk on gravel.",
    "The sound event that starts earliest is the first one you hear.",
    "The sound event that ends latest is the last one you hear.",
    "The sound event with the longest duration lasts the longest in the audio.",
    "Transcribe the input speech.",
    "system user assistant",
    "Audio 1: the given audio clip, 30 seconds long.",
)


def tokenizer_corpus() -> list[str]:
    """The fixed English text the tiny BPE is trained on (no randomness: the same list every call).

    It holds the benchmark's questions (``names.QUESTIONS``), the prompt instruction, ``A. <label>``
    option lines over :data:`_SOUND_EVENTS`, answers in several forms (``A``, `` A``, ``Answer: A``,
    ``The answer is A.``), digits and times, and the chat roles.
    """
    lines: list[str] = []
    questions = list(QUESTIONS.values())
    for i, question in enumerate(questions * 4):
        labels = [_SOUND_EVENTS[(7 * i + 3 * k) % len(_SOUND_EVENTS)] for k in range(len(LETTERS))]
        options = "\n".join(f"{letter}. {label}" for letter, label in zip(LETTERS, labels))
        lines.append(f"{question}\n{options}\nAnswer with just the letter (A, B, C, or D).")
    for i, label in enumerate(_SOUND_EVENTS):
        letter = LETTERS[i % len(LETTERS)]
        lines.append(f"{letter}. {label}")
        lines.append(f"The answer is {letter}. {label}")
    for letter in LETTERS:
        lines += [letter, f" {letter}", f"Answer: {letter}", f"The answer is {letter}.", f"({letter})"] * 4
    lines.append("0 1 2 3 4 5 6 7 8 9 10 12 15 20 25 30 45 60 120 600")
    lines += [f"{s} seconds, {s}.5 s, from {s} to {s + 1} s" for s in range(0, 31, 3)]
    lines += list(_SENTENCES) * 3
    return lines


def make_tiny_model(arch: str, out_dir: str | Path, *, seed: int = 0, overwrite: bool = False, tokenizer: str = "bpe") -> Path:
    """Build a tiny, randomly initialised checkpoint of ``arch`` in ``out_dir`` and return its path.

    Args:
        arch (`str`): one of :data:`TINY_ARCHS` (``qwen2_audio``, ``audioflamingo3``, ``qwen2_text``).
        out_dir (`str` or `Path`): the folder to write; it must not exist or be empty unless
            ``overwrite``.
        seed (`int`, defaults to 0): seeds the weights (``torch.manual_seed``; the caller's global
            RNG state is restored).  The tokenizer does not depend on it.
        overwrite (`bool`, defaults to `False`): replace a non-empty ``out_dir``.
        tokenizer (`str`, defaults to ``"bpe"``): ``"bpe"``, a ~520-token BPE trained locally (1-2 MB
            folders), or ``"real"``, the real Qwen2 vocabulary (151,643 ranks + the model's special
            tokens, from :func:`~tacos_temporal.harness.tokenizers.real_tokenizer`) with the language
            model at the real vocabulary size (:data:`REAL_VOCAB_SIZES`; folders of about 80 MB).

    Returns:
        `Path`: ``out_dir``, holding a checkpoint that ``AutoProcessor`` and
        ``AUTO_MODEL_CLASSES[arch]`` load (``qwen2_text``: ``AutoTokenizer`` + ``AutoModelForCausalLM``).

    Raises:
        ConfigError: unknown ``arch`` or a seed that is not a non-negative integer.
        BuildError: ``out_dir`` is a file or not empty (without ``overwrite``), or the saved folder
            does not reload to the same weights and tokens.

    ```py
    >>> from tacos_temporal.harness.tiny import make_tiny_model
    >>> path = make_tiny_model("qwen2_audio", "models/tiny-qwen2-audio")  # doctest: +SKIP
    >>> from transformers import AutoModelForMultimodalLM, AutoProcessor  # doctest: +SKIP
    >>> processor, model = AutoProcessor.from_pretrained(path), AutoModelForMultimodalLM.from_pretrained(path)  # doctest: +SKIP
    ```
    """
    if arch not in TINY_ARCHS:
        raise unknown_name("architecture", arch, TINY_ARCHS)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    if tokenizer not in TOKENIZER_KINDS:
        raise unknown_name("tokenizer kind", tokenizer, TOKENIZER_KINDS)
    out_dir = Path(out_dir)
    with staged_output(out_dir, overwrite=overwrite, what="model folder") as tmp, _quiet_progress_bars():
        kind, tokenizer = tokenizer, (_build_tokenizer(arch) if tokenizer == "bpe" else _real_tokenizer(arch))
        model = _build_model(arch, tokenizer, seed, vocab_size=None if kind == "bpe" else _real_vocab_size(arch, tokenizer))
        if arch == "qwen2_text":
            tokenizer.save_pretrained(tmp)
        else:
            _build_processor(arch, tokenizer).save_pretrained(tmp)
        model.save_pretrained(tmp)
        _same_mode_as_config(tmp)
        parameters = sum(p.numel() for p in model.parameters())
        _check_reload(arch, tmp, model, tokenizer)
        info = dict(_info(arch, seed, parameters, model), tokenizer=kind)
        atomic_write_text(tmp / "tiny_model.json", json.dumps(info, indent=2) + "\n")
        atomic_write_text(tmp / "README.md", _readme(info))
    return out_dir


# --- pieces -------------------------------------------------------------------------------------


def _train_bpe() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Byte-level BPE on :func:`tokenizer_corpus`, split exactly as ``Qwen2Tokenizer`` splits text."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    bpe = Tokenizer(models.BPE())
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=BPE_VOCAB_SIZE,
        min_frequency=2,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(tokenizer_corpus(), trainer=trainer)
    model = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return dict(model["vocab"]), merges


def _build_tokenizer(arch: str):
    from transformers import Qwen2Tokenizer

    vocab, merges = _train_bpe()
    specials = SPECIAL_TOKENS[arch]
    first = len(vocab)
    vocab.update({token: first + i for i, token in enumerate(specials)})
    tokenizer = Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,
        unk_token=None,
        eos_token=IM_END,
        pad_token=ENDOFTEXT,
        extra_special_tokens=[t for t in specials if t not in (ENDOFTEXT, IM_END)],
        model_max_length=32768,
    )
    tokenizer.chat_template = CHAT_TEMPLATES[arch]
    for token in specials:
        if tokenizer.convert_tokens_to_ids(token) != vocab[token]:
            raise BuildError(f"tiny {arch}: special token {token} did not keep id {vocab[token]}")
    for text in (*LETTERS, *(f" {letter}" for letter in LETTERS)):
        ids = tokenizer.encode(text, add_special_tokens=False)
        if len(ids) != 1:
            raise BuildError(f"tiny {arch}: {text!r} is {len(ids)} tokens; the corpus must make every option letter one token")
    return tokenizer


def _real_tokenizer(arch: str):
    """The real Qwen2 vocabulary with ``arch``'s special tokens and chat template.

    AF3's ``<sound>`` follows Qwen2's three specials here (id 151646); the real AF3 checkpoint keeps
    Qwen2.5's 22 specials before it (``<sound>`` is 151669 there), which nothing in the harness reads.
    """
    from .tokenizers import real_tokenizer

    family = {"qwen2_audio": "qwen2_audio", "audioflamingo3": "qwen2", "qwen2_text": "qwen2"}[arch]
    tokenizer = real_tokenizer(family, chat_template=CHAT_TEMPLATES[arch])
    extra = [t for t in SPECIAL_TOKENS[arch] if tokenizer.convert_tokens_to_ids(t) in (None, tokenizer.unk_token_id)]
    if extra:
        tokenizer.add_special_tokens({"additional_special_tokens": extra})
    for text in (*LETTERS, *(f" {letter}" for letter in LETTERS)):
        if len(tokenizer.encode(text, add_special_tokens=False)) != 1:
            raise BuildError(f"tiny {arch}: {text!r} is not one token in the real vocabulary")
    return tokenizer


def _real_vocab_size(arch: str, tokenizer) -> int:
    size = REAL_VOCAB_SIZES[arch]
    return size if size is not None else -(-len(tokenizer) // 64) * 64


def _build_processor(arch: str, tokenizer):
    from transformers import AudioFlamingo3Processor, Qwen2AudioProcessor, WhisperFeatureExtractor

    # The real preprocessor_config of both models: 128 mel bins, 16 kHz, 30 s windows, attention mask.
    feature_extractor = WhisperFeatureExtractor(feature_size=AUDIO_SIZES["num_mel_bins"], return_attention_mask=True)
    cls = Qwen2AudioProcessor if arch == "qwen2_audio" else AudioFlamingo3Processor
    return cls(feature_extractor=feature_extractor, tokenizer=tokenizer, chat_template=CHAT_TEMPLATES[arch])


def _build_model(arch: str, tokenizer, seed: int, vocab_size: int | None = None):
    import torch
    from transformers import (
        AudioFlamingo3Config,
        AudioFlamingo3ForConditionalGeneration,
        GenerationConfig,
        Qwen2AudioConfig,
        Qwen2AudioForConditionalGeneration,
        Qwen2Config,
        Qwen2ForCausalLM,
    )

    eos, pad = tokenizer.convert_tokens_to_ids(IM_END), tokenizer.convert_tokens_to_ids(ENDOFTEXT)
    text = dict(TEXT_SIZES, vocab_size=vocab_size or len(tokenizer), eos_token_id=eos, pad_token_id=pad, tie_word_embeddings=False)
    audio_token_id = tokenizer.convert_tokens_to_ids(AUDIO_TOKENS[arch]) if AUDIO_TOKENS[arch] else None
    if arch == "qwen2_audio":
        config = Qwen2AudioConfig(audio_config=dict(AUDIO_SIZES), text_config=text, audio_token_index=audio_token_id)
        cls = Qwen2AudioForConditionalGeneration
    elif arch == "audioflamingo3":
        audio = {  # AF3's encoder config names the same sizes the Hugging Face way
            "hidden_size": AUDIO_SIZES["d_model"],
            "num_hidden_layers": AUDIO_SIZES["encoder_layers"],
            "num_attention_heads": AUDIO_SIZES["encoder_attention_heads"],
            "intermediate_size": AUDIO_SIZES["encoder_ffn_dim"],
            "num_mel_bins": AUDIO_SIZES["num_mel_bins"],
            "max_source_positions": AUDIO_SIZES["max_source_positions"],
        }
        config = AudioFlamingo3Config(audio_config=audio, text_config=text, audio_token_id=audio_token_id)
        cls = AudioFlamingo3ForConditionalGeneration
    else:
        config = Qwen2Config(**text)
        cls = Qwen2ForCausalLM
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = cls(config)
    model.eval()
    # Greedy by default (real chat checkpoints sample); stop on <|im_end|> or <|endoftext|>.
    model.generation_config = GenerationConfig(eos_token_id=[eos, pad], pad_token_id=pad, do_sample=False)
    return model


def _same_mode_as_config(folder: Path) -> None:
    """safetensors writes ``model.safetensors`` as 0600; give it the mode of ``config.json`` (the umask's)."""
    mode = (folder / "config.json").stat().st_mode & 0o777
    for path in folder.iterdir():
        if path.is_file() and (path.stat().st_mode & 0o777) != mode:
            path.chmod(mode)


def _check_reload(arch: str, folder: Path, model, tokenizer) -> None:
    """Load the staged folder back through the Auto classes; it must give the same tensors and tokens."""
    import torch
    import transformers

    loader = transformers.AutoTokenizer if arch == "qwen2_text" else transformers.AutoProcessor
    loaded = loader.from_pretrained(folder)
    loaded_tokenizer = getattr(loaded, "tokenizer", loaded)
    probe = f"{IM_START}user\n{QUESTIONS[next(iter(QUESTIONS))]}\nA. Dog Barking{IM_END}"
    if loaded_tokenizer.encode(probe) != tokenizer.encode(probe) or loaded_tokenizer.chat_template != CHAT_TEMPLATES[arch]:
        raise BuildError(f"tiny {arch}: the saved tokenizer in {folder} does not reload to the same tokens and chat template")
    reloaded = getattr(transformers, AUTO_MODEL_CLASSES[arch]).from_pretrained(folder)
    mine, theirs = model.state_dict(), reloaded.state_dict()
    if mine.keys() != theirs.keys() or any(not torch.equal(mine[k], theirs[k]) for k in mine):
        raise BuildError(f"tiny {arch}: the saved weights in {folder} do not reload to the same tensors")


def _info(arch: str, seed: int, parameters: int, model) -> dict[str, Any]:
    from importlib import metadata

    import transformers

    try:
        version = metadata.version("tacos-temporal")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        version = "unknown"
    config = model.config
    return {
        "arch": arch,
        "seed": seed,
        "parameters": parameters,
        "model_class": type(model).__name__,
        "auto_model_class": AUTO_MODEL_CLASSES[arch],
        "stands_in_for": STANDS_IN_FOR[arch],
        "vocab_size": getattr(config, "text_config", config).vocab_size,
        "audio_token": AUDIO_TOKENS[arch],
        "audio_token_id": getattr(config, "audio_token_id", None),
        "audio_tokens_per_second": AUDIO_TOKENS_PER_SECOND if AUDIO_TOKENS[arch] else None,
        "text_sizes": dict(TEXT_SIZES),
        "audio_sizes": dict(AUDIO_SIZES) if AUDIO_TOKENS[arch] else None,
        "dtype": "float32",
        "weights": "untrained random weights, for tests and demos only",
        "made_by": f"tacos_temporal {version}: tacos_temporal.harness.tiny.make_tiny_model({arch!r}, ..., seed={seed})",
        "transformers_version": transformers.__version__,
    }


def _readme(info: dict[str, Any]) -> str:
    arch = info["arch"]
    loader = "AutoTokenizer" if arch == "qwen2_text" else "AutoProcessor"
    audio = (
        f"- audio placeholder `{info['audio_token']}` (id {info['audio_token_id']}), expanded by the processor to "
        f"{info['audio_tokens_per_second']} tokens per second of audio (750 per 30 s window)\n"
        if info["audio_token"]
        else "- text only (the caption-only baseline); no audio encoder\n"
    )
    return (
        "---\nlibrary_name: transformers\ntags:\n- tiny\n- random-weights\n- test\n---\n\n"
        f"# tiny {arch}\n\n"
        "**untrained random weights, for tests and demos only.** Its answers are noise; never report them.\n\n"
        f"A {info['parameters']:,}-parameter `{info['model_class']}` with the processor, special tokens and chat "
        f"template of {info['stands_in_for']}, made offline by\n"
        f"`tacos_temporal.harness.tiny.make_tiny_model({arch!r}, ..., seed={info['seed']})`.\n\n"
        f"- language model: {info['text_sizes']}\n"
        + (f"- audio encoder: {info['audio_sizes']}\n" if info["audio_sizes"] else "")
        + audio
        + f"- vocabulary: {info['vocab_size']} tokens ("
        + ("a byte-level BPE trained on a small English corpus" if info.get("tokenizer", "bpe") == "bpe" else "the real Qwen2 BPE, 151,643 ranks")
        + ")\n\n"
        "```py\n"
        f"from transformers import {info['auto_model_class']}, {loader}\n"
        f"processor = {loader}.from_pretrained(folder)\n"
        f"model = {info['auto_model_class']}.from_pretrained(folder)\n"
        "```\n"
    )


@contextlib.contextmanager
def _quiet_progress_bars() -> Iterator[None]:
    """Silence the 'Writing model shards' / 'Loading weights' bars of a tiny build, then restore them."""
    import huggingface_hub.utils as hub_utils
    from transformers.utils import logging as hf_logging

    was_enabled, hub_disabled = hf_logging.is_progress_bar_enabled(), hub_utils.are_progress_bars_disabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()  # also turns huggingface_hub's bars back on
        if hub_disabled:
            hub_utils.disable_progress_bars()
        else:
            hub_utils.enable_progress_bars()
