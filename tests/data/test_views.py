"""The dataset views: their columns and features, and the silence control made from a real build."""

from __future__ import annotations

import io

import numpy as np
import pytest

from tacos_temporal.data.items import ITEM_FIELDS
from tacos_temporal.data.views import dataset_view, silence_wav, to_silence, view_columns, view_features
from tacos_temporal.errors import ConfigError
from tacos_temporal.names import ALL_VIEWS, SPLIT

CLIP_COLUMNS = ("license", "attribution", "source_url", "clip_duration_s")
#: Which of the two input columns each view has (benchmark.md section 4).
HAS = {
    "audio_only": {"audio"},
    "caption_only": {"caption"},
    "audio_caption": {"audio", "caption"},
    "silence": {"audio"},
    "time_reversed": {"audio"},  # the clip played backwards, no caption
}


@pytest.fixture(scope="module")
def audio_only(demo_build):
    from datasets import load_dataset

    return load_dataset(str(demo_build.out_dir), "audio_only", split=SPLIT)


# --- columns and features ---------------------------------------------------------------------------


@pytest.mark.parametrize("view", ALL_VIEWS)
def test_view_columns_are_the_item_fields_the_clip_columns_and_the_views_inputs(view):
    columns = view_columns(view)
    assert columns[: len(ITEM_FIELDS)] == ITEM_FIELDS
    assert {"id", "task", "question", "options", "answer"} <= set(ITEM_FIELDS)
    assert set(columns) == set(ITEM_FIELDS) | set(CLIP_COLUMNS) | HAS[view]
    assert len(columns) == len(set(columns)), "no column twice"


def test_silence_control_has_the_columns_of_audio_only_and_is_served_from_it():
    assert view_columns("silence") == view_columns("audio_only")
    assert dataset_view("silence") == "audio_only"
    assert [dataset_view(view) for view in ("audio_only", "caption_only", "audio_caption")] == [
        "audio_only",
        "caption_only",
        "audio_caption",
    ]


@pytest.mark.parametrize("view", ALL_VIEWS)
def test_view_features_type_every_column_of_the_view(view):
    from datasets import Audio, Value

    features = view_features(view)
    assert tuple(features) == view_columns(view)
    if "audio" in HAS[view]:
        assert isinstance(features["audio"], Audio) and features["audio"].decode
        assert features["audio"].sampling_rate is None, "clips decode at their own rate"
    if "caption" in HAS[view]:
        assert features["caption"] == Value("string")
    assert features["license"] == Value("string") and features["clip_duration_s"] == Value("float64")
    assert features.arrow_schema.names == list(view_columns(view))


@pytest.mark.parametrize("function", [view_columns, view_features, dataset_view])
def test_unknown_view_raises_config_error_with_a_suggestion(function):
    with pytest.raises(ConfigError) as info:
        function("audio")
    message = str(info.value)
    assert "Unknown view 'audio'" in message
    assert "Did you mean: audio_only" in message
    assert "Available: audio_only, caption_only, audio_caption, silence" in message


def test_unknown_view_without_close_names_lists_what_is_available():
    with pytest.raises(ConfigError, match="Available: ") as info:
        view_columns("xyz")
    assert "Did you mean" not in str(info.value)


# --- the silence control ----------------------------------------------------------------------------


def test_silence_wav_holds_exactly_the_requested_number_of_zero_samples():
    import wave

    with wave.open(io.BytesIO(silence_wav(12345, 16000))) as wav:
        assert (wav.getnframes(), wav.getframerate(), wav.getnchannels()) == (12345, 16000, 1)
        assert wav.readframes(12345) == b"\x00\x00" * 12345


def test_to_silence_keeps_every_column_except_audio(audio_only):
    silent = to_silence(audio_only)
    assert silent.column_names == audio_only.column_names
    assert silent.features == audio_only.features
    assert silent.remove_columns("audio").to_list() == audio_only.remove_columns("audio").to_list()


def test_to_silence_gives_zeros_of_the_clips_length_and_rate(audio_only):
    silent = to_silence(audio_only)
    assert silent.num_rows == audio_only.num_rows > 0
    for original, quiet in zip(audio_only, silent):
        clip, zeros = original["audio"], quiet["audio"]
        assert zeros["sampling_rate"] == clip["sampling_rate"]
        assert zeros["array"].shape == clip["array"].shape
        assert not np.any(zeros["array"]), f"{original['filename']}: the silence control is silent"
        assert np.any(clip["array"]), "the original clip is not"


def test_to_silence_of_the_caption_only_view_raises_config_error(demo_build):
    from datasets import load_dataset

    captions = load_dataset(str(demo_build.out_dir), "caption_only", split=SPLIT)
    with pytest.raises(ConfigError, match="audio_only or audio_caption"):
        to_silence(captions)
