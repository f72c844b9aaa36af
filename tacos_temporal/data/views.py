"""The dataset views: which columns each has, their ``datasets.Features``, and the silence control.

Every view holds the item fields (:data:`~tacos_temporal.data.items.ITEM_FIELDS`) plus the clip's
licence, attribution, Freesound URL and duration.  ``audio_only`` adds ``audio``, ``caption_only``
adds ``caption`` (and has **no** audio column), ``audio_caption`` adds both.  The silence control is
the ``audio_only`` view with each clip replaced by zeros of the same length and sampling rate:
:func:`to_silence` (also ``load_benchmark("silence")``).
"""

from __future__ import annotations

from ..errors import ConfigError, check_name
from ..names import (
    ALL_VIEWS,
    AUDIO_COLUMN,
    CAPTION_COLUMN,
    CLIP_FIELDS,
    SILENCE,
    VIEWS,
    VIEWS_WITH_AUDIO,
    VIEWS_WITH_CAPTION,
)
from .items import ITEM_FIELDS

CLIP_DURATION = "clip_duration_s"


def view_columns(view: str) -> tuple[str, ...]:
    """Column names of ``view``, in order."""
    check_name("view", view, ALL_VIEWS)
    columns = [*ITEM_FIELDS, *CLIP_FIELDS, CLIP_DURATION]
    if view in VIEWS_WITH_CAPTION:
        columns.append(CAPTION_COLUMN)
    if view in VIEWS_WITH_AUDIO:
        columns.append(AUDIO_COLUMN)
    return tuple(columns)


def view_features(view: str):
    """``datasets.Features`` of ``view`` (the schema written into the Parquet files)."""
    from datasets import Audio, Features, List, Value

    evidence = {
        "letter": Value("string"),
        "label": Value("string"),
        "in_clip": Value("bool"),
        "onset_s": Value("float64"),
        "offset_s": Value("float64"),
        "duration_s": Value("float64"),
        "intervals": List(List(Value("float64"))),
    }
    known = {
        "id": Value("string"),
        "task": Value("string"),
        "filename": Value("string"),
        "question": Value("string"),
        "options": List(Value("string")),
        "answer": Value("string"),
        "answer_label": Value("string"),
        "margin_s": Value("float64"),
        "events": List(evidence),
        "clip_labels": Value("int32"),
        "benchmark_version": Value("string"),
        "license": Value("string"),
        "attribution": Value("string"),
        "source_url": Value("string"),
        CLIP_DURATION: Value("float64"),
        CAPTION_COLUMN: Value("string"),
        # decode=True, no sampling_rate: the clip decodes at its own rate; users resample with
        # ds.cast_column("audio", Audio(sampling_rate=16000)).
        AUDIO_COLUMN: Audio(),
    }
    return Features({name: known[name] for name in view_columns(view)})


def dataset_view(view: str) -> str:
    """The stored config that serves ``view`` (the silence control is derived from ``audio_only``)."""
    check_name("view", view, ALL_VIEWS)
    return VIEWS[0] if view == SILENCE else view


def silence_wav(num_samples: int, sample_rate: int) -> bytes:
    """A mono 16-bit PCM WAV file of ``num_samples`` zeros (exactly the clip's length)."""
    import io
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(b"\x00\x00" * num_samples)
    return buffer.getvalue()


def _silence_example(example: dict) -> dict:
    from torchcodec.decoders import AudioDecoder

    audio = example[AUDIO_COLUMN]
    decoder = AudioDecoder(audio["bytes"]) if audio.get("bytes") else AudioDecoder(audio["path"])
    samples = decoder.get_all_samples()
    rate = int(samples.sample_rate)
    return {AUDIO_COLUMN: {"bytes": silence_wav(int(samples.data.shape[-1]), rate), "path": f"silence-{example['filename']}.wav"}}


def to_silence(dataset, *, num_proc: int | None = None):
    """The silence control of an ``audio_only`` (or ``audio_caption``) dataset.

    Each clip is decoded once to learn its exact length and rate and replaced by a WAV of zeros of
    that length; every other column is unchanged.

    Example:

    ```py
    >>> ds = load_dataset("ORG/tacos_temporal", "audio_only", split="test")  # doctest: +SKIP
    >>> silent = to_silence(ds)  # doctest: +SKIP
    ```
    """
    from datasets import Audio

    if AUDIO_COLUMN not in dataset.column_names:
        raise ConfigError(
            f"to_silence needs a view with an {AUDIO_COLUMN!r} column (audio_only or audio_caption); "
            f"this dataset has {', '.join(dataset.column_names)}"
        )
    raw = dataset.cast_column(AUDIO_COLUMN, Audio(decode=False))
    silent = raw.map(_silence_example, num_proc=num_proc, desc="silence control")
    return silent.cast_column(AUDIO_COLUMN, Audio())
