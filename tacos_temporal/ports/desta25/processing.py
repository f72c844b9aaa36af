"""``DeSTA25Processor``: WhisperFeatureExtractor + the Llama-3.1 tokenizer, prompt expansion as the original.

``<|AUDIO|>`` in a rendered prompt becomes ``<start_audio>`` + ``prompt_size + T`` copies of the
placeholder + ``<end_audio>`` (markers are plain text), ``T`` = the transcript's token count; the batch
is re-tokenised with left padding.  The transcript of each clip is, in order of precedence: the
``transcripts`` argument (a string, kept as given, ``""`` included; `None` for the single text
" "), else the bound ``transcriber`` (Whisper ASR of the model), else " ".  A bound transcriber with
VAD overrides a given transcript with " " when the clip holds no speech, as the original does.
"""

from __future__ import annotations

import numpy as np
from transformers import BatchFeature
from transformers.processing_utils import ProcessorMixin

from .configuration import AUDIO_END, AUDIO_MARKER, AUDIO_START, PLACEHOLDER_TOKEN

#: The Llama-3.1-8B-Instruct chat template without tool calls (same text for system/user/assistant
#: turns), extended to content lists: an audio item renders ``<|AUDIO|>``, items join with "\n\n".
# fmt: off
LLAMA31_CHAT_TEMPLATE = (
    "{{- bos_token }}"
    "{%- if not date_string is defined %}{%- set date_string = '26 Jul 2024' %}{%- endif %}"
    "{%- macro render(content) -%}"
        "{%- if content is string -%}{{- content -}}"
        "{%- else -%}"
            "{%- for item in content -%}"
                "{%- if not loop.first -%}{{- '\n\n' -}}{%- endif -%}"
                "{%- if item['type'] == 'audio' or 'audio' in item -%}{{- '<|AUDIO|>' -}}{%- else -%}{{- item['text'] -}}{%- endif -%}"
            "{%- endfor -%}"
        "{%- endif -%}"
    "{%- endmacro -%}"
    "{%- if messages[0]['role'] == 'system' %}"
        "{%- set system_message = render(messages[0]['content']) | trim %}{%- set messages = messages[1:] %}"
    "{%- else %}{%- set system_message = '' %}{%- endif %}"
    "{{- '<|start_header_id|>system<|end_header_id|>\n\n' }}"
    "{{- 'Cutting Knowledge Date: December 2023\n' }}"
    "{{- 'Today Date: ' + date_string + '\n\n' }}"
    "{{- system_message }}{{- '<|eot_id|>' }}"
    "{%- for message in messages %}"
        "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + (render(message['content']) | trim) + '<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{%- endif %}"
)
# fmt: on


class DeSTA25Processor(ProcessorMixin):
    """Feature extractor + tokenizer of DeSTA2.5-Audio (``prompt_size`` audio features per clip)."""

    def __init__(self, feature_extractor=None, tokenizer=None, chat_template=None, prompt_size: int = 64, placeholder_token: str = PLACEHOLDER_TOKEN):
        self.prompt_size = int(prompt_size)
        self.placeholder_token = placeholder_token
        self.audio_token = AUDIO_MARKER
        #: A callable ``audios -> list[str]`` (bound by :func:`~.adapter.bind_model`); not saved.
        self.transcriber = None
        super().__init__(feature_extractor, tokenizer, chat_template=chat_template or LLAMA31_CHAT_TEMPLATE)
        self.placeholder_id = tokenizer.convert_tokens_to_ids(placeholder_token)

    def transcript_texts(self, audios, transcripts) -> list[str]:
        """Each clip's transcript text.  With a bound ``transcriber`` it decides, as the original: VAD
        first (no speech -> " ", even over a given transcript), then the given text, else ASR.
        Without one: a given string unchanged (``""`` stays empty), `None` -> " "."""
        if transcripts is not None and len(transcripts) != len(audios):
            raise ValueError(f"{len(transcripts)} transcripts for {len(audios)} audio clips")
        if self.transcriber is not None:
            return list(self.transcriber(audios, transcripts))
        if transcripts is None:
            transcripts = [None] * len(audios)
        return [" " if t is None else str(t) for t in transcripts]

    def __call__(self, text=None, audio=None, sampling_rate=None, transcripts=None, return_tensors="pt", padding=True, **kwargs):
        texts = [text] if isinstance(text, str) else list(text)
        if audio is None:
            out = self.tokenizer(texts, add_special_tokens=False, padding=padding, return_tensors=return_tensors)
            return BatchFeature(dict(out), tensor_type=return_tensors)
        audios = [audio] if isinstance(audio, np.ndarray) and audio.ndim == 1 else list(audio)
        if sum(t.count(AUDIO_MARKER) for t in texts) != len(audios) or any(t.count(AUDIO_MARKER) != 1 for t in texts):
            raise ValueError(f"DeSTA2.5 takes one {AUDIO_MARKER} per prompt and one clip per prompt")
        sampling_rate = sampling_rate or self.feature_extractor.sampling_rate
        if sampling_rate != self.feature_extractor.sampling_rate:
            raise ValueError(f"audio must be {self.feature_extractor.sampling_rate} Hz, got {sampling_rate}")
        features = self.feature_extractor(audios, sampling_rate=sampling_rate, return_tensors="np")["input_features"]
        transcript_tokens = [self.tokenizer(t, add_special_tokens=False)["input_ids"] for t in self.transcript_texts(audios, transcripts)]
        expanded = [
            t.replace(AUDIO_MARKER, AUDIO_START + self.placeholder_token * (self.prompt_size + len(ids)) + AUDIO_END)
            for t, ids in zip(texts, transcript_tokens)
        ]
        self.tokenizer.padding_side = "left"
        out = dict(self.tokenizer(expanded, add_special_tokens=False, padding=padding, return_tensors="np"))
        width = max(len(ids) for ids in transcript_tokens)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        out["transcript_ids"] = np.array([ids + [pad] * (width - len(ids)) for ids in transcript_tokens], dtype=np.int64)
        out["transcript_attention_mask"] = np.array([[1] * len(ids) + [0] * (width - len(ids)) for ids in transcript_tokens], dtype=np.int64)
        out["input_features"] = features.astype(np.float32)
        return BatchFeature(out, tensor_type=return_tensors)

    def batch_decode(self, *args, **kwargs):
        return self.tokenizer.batch_decode(*args, **kwargs)

    def decode(self, *args, **kwargs):
        return self.tokenizer.decode(*args, **kwargs)

    @property
    def model_input_names(self):
        return ["input_ids", "attention_mask", "input_features", "transcript_ids", "transcript_attention_mask"]
