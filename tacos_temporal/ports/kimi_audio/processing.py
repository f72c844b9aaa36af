"""``KimiAudioProcessor``: Kimi-Audio's prompt manager (``kimia_infer/api/prompt_manager.py``) as a
transformers processor.

The chat template renders the prompt manager's layout as text over Kimi's special tokens:

* a role token (``<|im_kimia_user_msg_start|>`` / ``<|im_kimia_assistant_msg_start|>``) when the role
  changes; a text item is its tokens (``encode(text, bos=False, eos=False)``); an audio item is
  ``<|im_media_begin|>`` + one marker + ``<|im_media_end|>``;
* after the last item of a run of same-role items: ``<|im_kimia_speech_ct_id|>`` if that item is
  audio, then ``<|im_msg_end|>``; the prompt ends with ``<|im_kimia_assistant_msg_start|>``.

The marker is ``<|im_kimia_text_blank|>`` (``config.audio_token_id``); the processor repeats it once
per audio token, ``(L - 1) // 1280 + 1`` for each 30-s chunk of ``L`` samples, so that ``input_ids``
is the merged stream of :mod:`.modeling` (the blank appears nowhere else in a prompt).  Batches are
left padded.  The audio features are:

* ``whisper_input_features`` (chunks, 128, 3000): Whisper log-mel of each 30-s chunk zero-padded to
  30 s (Kimi's ``WhisperEncoder.tokenize_waveform``);
* ``glm_input_features`` / ``glm_attention_mask``: the GLM-4-Voice tokenizer's log-mel, computed per
  clip over that clip's chunks with ``padding="longest"`` and ``pad_to_multiple_of=1280`` as
  ``extract_speech_token`` does (then zero-padded across the batch);
* ``audio_chunk_rows`` / ``audio_chunk_lengths``: the batch row and the sample count of each chunk.

``audio_token_mask`` (= the positions ``input_ids == audio_token_id`` that hold audio) is what the
harness steers; the original calls it ``is_continuous_mask``.
"""

from __future__ import annotations

import math

import numpy as np
from transformers import BatchFeature
from transformers.processing_utils import ProcessorMixin

from .configuration import SPECIAL_TOKEN_NAMES

#: Samples per 30-s chunk (both audio front ends cut a clip into these).
CHUNK_SAMPLES = 30 * 16000
#: Samples per audio token: 160 (mel hop) x 2 (conv2 stride) x 4 (pooling) = 80 ms at 16 kHz.
SAMPLES_PER_TOKEN = 1280
AUDIO_MARKER = SPECIAL_TOKEN_NAMES["kimia_text_blank"]

# fmt: off
#: The prompt manager's layout (see the module docstring).  Roles: user and assistant only, as
#: ``get_prompt`` asserts; ``output_type="text"`` (``<|im_kimia_speech_ct_id|>``).
KIMI_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
        "{%- if message['role'] not in ['user', 'assistant'] -%}"
            "{{- raise_exception('Kimi-Audio takes user and assistant turns only (no system turn), got ' + message['role']) -}}"
        "{%- endif -%}"
        "{%- set items = [{'type': 'text', 'text': message['content']}] if message['content'] is string else message['content'] -%}"
        "{%- set run_ends = loop.last or loop.nextitem['role'] != message['role'] -%}"
        "{%- if loop.first or loop.previtem['role'] != message['role'] -%}"
            "{{- '<|im_kimia_user_msg_start|>' if message['role'] == 'user' else '<|im_kimia_assistant_msg_start|>' -}}"
        "{%- endif -%}"
        "{%- for item in items -%}"
            "{%- if item['type'] == 'audio' or 'audio' in item -%}"
                "{{- '<|im_media_begin|><|im_kimia_text_blank|><|im_media_end|>' -}}"
                "{%- if run_ends and loop.last -%}{{- '<|im_kimia_speech_ct_id|>' -}}{%- endif -%}"
            "{%- else -%}{{- item['text'] -}}{%- endif -%}"
            "{%- if run_ends and loop.last -%}{{- '<|im_msg_end|>' -}}{%- endif -%}"
        "{%- endfor -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_kimia_assistant_msg_start|>' -}}{%- endif -%}"
)
# fmt: on


def audio_chunks(audio: np.ndarray) -> list[np.ndarray]:
    """30-s pieces of a clip, as both of Kimi's front ends cut it (``while t * 16000 < len``)."""
    return [audio[start : start + CHUNK_SAMPLES] for start in range(0, max(len(audio), 1), CHUNK_SAMPLES)]


def glm_token_count(length: int) -> int:
    """Valid GLM codes of a chunk: the sample mask subsampled by the hop (160), conv2 (2), pooling (4)."""
    frames = math.ceil(int(length) / 160)  # attention_mask[:, ::hop_length]
    return math.ceil(math.ceil(frames / 2) / 4)  # [:, ::2] after conv2, [:, ::4] after pooling


def whisper_token_count(length: int) -> int:
    """Whisper feature rows of a chunk (``tokenize_waveform``): ``(L - 1) // (160 * 8) + 1``."""
    return (int(length) - 1) // SAMPLES_PER_TOKEN + 1


def audio_token_count(audio: np.ndarray) -> int:
    """Audio positions of a clip, after checking that the two front ends agree (N_GLM == T_whisper)."""
    lengths = [len(c) for c in audio_chunks(audio)]
    n_glm, n_whisper = sum(map(glm_token_count, lengths)), sum(map(whisper_token_count, lengths))
    if n_glm != n_whisper:
        raise ValueError(f"GLM codes ({n_glm}) and Whisper features ({n_whisper}) disagree for a clip of {len(audio)} samples")
    return n_glm


class KimiAudioProcessor(ProcessorMixin):
    """Feature extractor (Whisper log-mel, 128 bins: the GLM tokenizer's and Whisper-large-v3's are the
    same) + the Kimi text tokenizer (tiktoken converted to a fast tokenizer)."""

    def __init__(self, feature_extractor=None, tokenizer=None, chat_template=None):
        self.audio_token = AUDIO_MARKER
        super().__init__(feature_extractor, tokenizer, chat_template=chat_template or KIMI_CHAT_TEMPLATE)
        self.audio_token_id = tokenizer.convert_tokens_to_ids(AUDIO_MARKER)

    def __call__(self, text=None, audio=None, sampling_rate=None, return_tensors="pt", padding=True, **kwargs):
        texts = [text] if isinstance(text, str) else list(text)
        self.tokenizer.padding_side = "left"
        if audio is None:
            if any(AUDIO_MARKER in t for t in texts):
                raise ValueError(f"a prompt holds the audio marker {AUDIO_MARKER} but no audio was given")
            out = self.tokenizer(texts, add_special_tokens=False, padding=padding, return_tensors="np")
            return BatchFeature(dict(out), tensor_type=return_tensors)
        audios = [audio] if isinstance(audio, np.ndarray) and audio.ndim == 1 else list(audio)
        if len(audios) != len(texts) or any(t.count(AUDIO_MARKER) != 1 for t in texts):
            raise ValueError(f"Kimi-Audio takes one clip per prompt, each prompt with one {AUDIO_MARKER} (as the original's embedding merge does)")
        sampling_rate = sampling_rate or self.feature_extractor.sampling_rate
        if sampling_rate != self.feature_extractor.sampling_rate:
            raise ValueError(f"audio must be {self.feature_extractor.sampling_rate} Hz, got {sampling_rate}")
        audios = [np.asarray(a, dtype=np.float32).reshape(-1) for a in audios]
        if any(a.size == 0 for a in audios):
            raise ValueError("an audio clip is empty: Kimi-Audio needs at least one sample per clip")
        counts = [audio_token_count(a) for a in audios]
        expanded = [t.replace(AUDIO_MARKER, AUDIO_MARKER * n) for t, n in zip(texts, counts)]
        out = dict(self.tokenizer(expanded, add_special_tokens=False, padding=padding, return_tensors="np"))
        got = ((out["input_ids"] == self.audio_token_id) & (out["attention_mask"] == 1)).sum(-1).tolist()
        if got != counts:
            raise ValueError(f"audio positions {got} != audio tokens {counts}: the marker {AUDIO_MARKER} must not appear in the text")
        out.update(self.audio_features(audios, sampling_rate))
        out["audio_token_mask"] = (out["input_ids"] == self.audio_token_id) & (out["attention_mask"] == 1)
        return BatchFeature(out, tensor_type=return_tensors)

    def audio_features(self, audios: list[np.ndarray], sampling_rate: int) -> dict[str, np.ndarray]:
        fe = self.feature_extractor
        chunks = [audio_chunks(a) for a in audios]
        flat = [c for clip in chunks for c in clip]
        rows = np.array([row for row, clip in enumerate(chunks) for _ in clip], dtype=np.int64)
        lengths = np.array([len(c) for c in flat], dtype=np.int64)
        whisper = fe(flat, sampling_rate=sampling_rate, padding="max_length", return_tensors="np")["input_features"]
        glm = [fe(clip, sampling_rate=sampling_rate, padding="longest", pad_to_multiple_of=SAMPLES_PER_TOKEN, return_attention_mask=True, return_tensors="np") for clip in chunks]
        width = max(g["input_features"].shape[-1] for g in glm)
        glm_features = np.zeros((len(flat), whisper.shape[1], width), dtype=np.float32)
        glm_mask = np.zeros((len(flat), width), dtype=np.int64)
        start = 0
        for g in glm:
            n, frames = g["input_features"].shape[0], g["input_features"].shape[-1]
            glm_features[start : start + n, :, :frames] = g["input_features"]
            glm_mask[start : start + n, :frames] = g["attention_mask"]
            start += n
        return {"whisper_input_features": whisper.astype(np.float32), "glm_input_features": glm_features, "glm_attention_mask": glm_mask,
                "audio_chunk_rows": rows, "audio_chunk_lengths": lengths}

    def batch_decode(self, sequences, **kwargs):
        return [self.decode(s, **kwargs) for s in sequences]

    def decode(self, token_ids, **kwargs):
        """The original's text: stop at ``<|im_kimia_text_eos|>``, drop ids of the audio range."""
        ids = [int(i) for i in (token_ids.tolist() if hasattr(token_ids, "tolist") else token_ids)]
        eos = self.tokenizer.convert_tokens_to_ids(SPECIAL_TOKEN_NAMES["kimia_text_eos"])
        ids = ids[: ids.index(eos)] if eos in ids else ids
        return self.tokenizer.decode([i for i in ids if i < len(self.tokenizer)], **kwargs)

    @property
    def model_input_names(self):
        return ["input_ids", "attention_mask", "whisper_input_features", "glm_input_features", "glm_attention_mask", "audio_chunk_rows", "audio_chunk_lengths"]
