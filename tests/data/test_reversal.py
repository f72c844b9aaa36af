"""The time-reversal control: reversed event times, the items they give, and the reversed audio.

Hand-made clips whose reversed answers are known by construction; the real event table (every
reversed item mirrors a benchmark item); a synthetic ramp reversed sample for sample; and the demo
build's ``time_reversed`` config against its ``audio_only`` clips played backwards.
"""

from __future__ import annotations

import io
import json
import wave

import numpy as np
import pytest

from tacos_temporal.data.events import annotations_from_mapping, read_event_table
from tacos_temporal.data.reversal import (
    DECODED,
    LAST_OFFSET,
    REVERSED_ITEMS_FILE,
    reversal_duration,
    reverse_audio,
    reverse_clip,
    reversed_item_id,
    select_reversed_items,
)
from tacos_temporal.data.selection import select_items
from tacos_temporal.errors import BuildError
from tacos_temporal.names import EXPECTED_COUNTS, LETTERS, MIRRORED_TASKS, TASKS

#: Labels that can serve as absent distractors for the hand-made clips.
POOL = ["Dog", "Rain", "Car", "Wind", "Bell", "Siren", "Drum", "Piano"]

#: A 10-second clip: Dog [0, 2], Rain [2.5, 5], Car [4, 9].
#: Original: EO Dog (2.5 s lead), LO Car (4 s lead), no LD (Car 5 s vs Rain 2.5 s: 2.5 < 3).
#: Reversed about D = 10: Dog [8, 10], Rain [5, 7.5], Car [1, 6]:
#: EO Car (onset 1 vs 5: 4 s lead) = original LO; LO Dog (10 vs 7.5: 2.5 s lead) = original EO.
CLIP = {"a.mp3": {"Dog": [(0.0, 2.0)], "Rain": [(2.5, 5.0)], "Car": [(4.0, 9.0)]}}


def hand_items(durations=None, mapping=CLIP):
    annotations = annotations_from_mapping(mapping)
    return select_reversed_items(annotations, durations=durations, label_pool=POOL)


def test_reversing_maps_each_interval_s_e_to_d_minus_e_d_minus_s():
    clip = annotations_from_mapping({"x.mp3": {"Dog": [(0.5, 1.25), (3.0, 4.0)], "Car": [(2.0, 9.5)]}}).clips["x.mp3"]
    backwards = reverse_clip(clip, 10.0)
    assert backwards.get("Dog").intervals == ((6.0, 7.0), (8.75, 9.5))
    assert backwards.get("Car").intervals == ((0.5, 8.0),)
    # Summed durations are unchanged, onsets and offsets swap roles.
    assert backwards.get("Dog").duration == pytest.approx(clip.get("Dog").duration)
    assert backwards.get("Car").onset == pytest.approx(10.0 - clip.get("Car").offset)


def test_reversed_earliest_onset_is_the_original_latest_offset_and_the_reverse():
    by_id = {item.id: (item, extra) for item, extra in hand_items(durations={"a.mp3": 10.0})}
    assert set(by_id) == {"EO-a-rev", "LO-a-rev"}, "no LD item: the margin rule still applies"
    eo, eo_extra = by_id["EO-a-rev"]
    lo, lo_extra = by_id["LO-a-rev"]
    assert (eo.answer_label, eo.margin_s, eo_extra["mirrors"]) == ("Car", 4.0, "LO-a")
    assert (lo.answer_label, lo.margin_s, lo_extra["mirrors"]) == ("Dog", 2.5, "EO-a")
    assert eo.question.startswith("Which sound event starts earliest") and lo.question.startswith("Which sound event ends latest")
    car = next(ev for ev in eo.events if ev.label == "Car")
    assert (car.onset_s, car.offset_s, car.duration_s, car.intervals) == (1.0, 6.0, 5.0, ((1.0, 6.0),))
    assert eo_extra == {"clip_duration_s": 10.0, "duration_source": DECODED, "mirrors": "LO-a"}


def test_longest_duration_answer_is_unchanged_by_reversal():
    mapping = {"b.mp3": {"Hum": [(0.0, 8.0)], "Tick": [(1.0, 2.0), (6.0, 7.0)]}}
    (entry,) = [e for e in hand_items({"b.mp3": 12.0}, mapping) if e[0].task == "longest_duration"]
    item, extra = entry
    assert (item.id, item.answer_label, item.margin_s, extra["mirrors"]) == ("LD-b-rev", "Hum", 6.0, "LD-b")
    tick = next(ev for ev in item.events if ev.label == "Tick")
    assert tick.intervals == ((5.0, 6.0), (10.0, 11.0)) and tick.duration_s == 2.0


def test_a_margin_of_exactly_one_second_still_counts_after_reversal():
    # Offsets 7.37 and 6.37: a 1.00 s LO lead; reversed about 30 s the EO lead is computed from
    # 22.63 and 23.63, which float arithmetic does not give as exactly 1.0.
    mapping = {"c.mp3": {"Bell": [(0.0, 7.37)], "Drum": [(0.5, 6.37)]}}
    ids = {item.id for item, _ in hand_items({"c.mp3": 30.0}, mapping)}
    assert "EO-c-rev" in ids
    assert "LO-c" in {item.id for item in select_items(annotations_from_mapping(mapping), label_pool=POOL)}


def test_duration_is_the_decoded_length_or_the_last_offset_without_audio():
    clip = annotations_from_mapping(CLIP).clips["a.mp3"]
    assert reversal_duration(clip, None) == (9.0, LAST_OFFSET)
    assert reversal_duration(clip, 10.0) == (10.0, DECODED)
    # An annotation running past the decoded end: reverse about the annotation's end, never negative.
    assert reversal_duration(clip, 8.5) == (9.0, LAST_OFFSET)
    with pytest.raises(BuildError, match="annotations end at 9.0"):
        reverse_clip(clip, 8.5)
    items = {item.id: extra for item, extra in hand_items()}
    assert items["EO-a-rev"] == {"clip_duration_s": 9.0, "duration_source": LAST_OFFSET, "mirrors": "LO-a"}


def test_reversed_ids_do_not_collide_with_benchmark_ids():
    assert reversed_item_id("earliest_onset", "100388.mp3") == "EO-100388-rev"


def test_reversed_items_of_the_real_event_table_are_exactly_the_mirrored_items(events_test_csv):
    annotations = read_event_table(events_test_csv)
    original = {(item.task, item.filename): item for item in select_items(annotations)}
    entries = select_reversed_items(annotations)
    counts = {task: sum(item.task == task for item, _ in entries) for task in TASKS}
    assert counts == {task: EXPECTED_COUNTS[MIRRORED_TASKS[task]] for task in TASKS} == {
        "earliest_onset": 499, "latest_offset": 528, "longest_duration": 630,
    }
    for item, extra in entries:
        mirror = original[(MIRRORED_TASKS[item.task], item.filename)]
        assert extra["mirrors"] == mirror.id
        assert item.answer_label == mirror.answer_label
        assert item.margin_s == pytest.approx(mirror.margin_s, abs=1e-6)
        assert set(item.options) >= {ev.label for ev in item.events if ev.in_clip}
    # Letters are balanced within each task of the control (the benchmark's option rule).
    for task in TASKS:
        letters = [item.answer for item, _ in entries if item.task == task]
        assert max(letters.count(L) for L in LETTERS) - min(letters.count(L) for L in LETTERS) <= 1


def test_reversed_selection_is_deterministic_and_follows_the_seed(events_test_csv):
    annotations = read_event_table(events_test_csv)
    first = [item for item, _ in select_reversed_items(annotations, seed=0)]
    assert first == [item for item, _ in select_reversed_items(annotations, seed=0)]
    other = [item for item, _ in select_reversed_items(annotations, seed=1)]
    assert [i.id for i in other] == [i.id for i in first] and [i.answer_label for i in other] == [i.answer_label for i in first]
    assert [i.options for i in other] != [i.options for i in first]


def _wav(samples: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()


def test_reverse_audio_plays_a_clip_backwards_sample_for_sample():
    from torchcodec.decoders import AudioDecoder

    ramp = (np.arange(4000) * 7 % 30000 - 15000).astype(np.int16)
    data = reverse_audio(_wav(ramp, 8000))
    assert data[:4] == b"fLaC"
    decoded = AudioDecoder(data).get_all_samples()
    assert decoded.sample_rate == 8000
    got = np.round(decoded.data[0].numpy() * 32768).astype(np.int32)
    np.testing.assert_array_equal(got, ramp[::-1].astype(np.int32))


@pytest.fixture(scope="module")
def reversed_build(demo_release, tmp_path_factory):
    from tacos_temporal.data.build import build

    return build(tmp_path_factory.mktemp("reversed") / "dataset", tacos_dir=demo_release, views=("audio_only", "time_reversed"), progress=False)


def test_build_writes_the_reversed_items_and_a_time_reversed_config(reversed_build):
    from datasets import Audio, load_dataset

    out = reversed_build.out_dir
    rows = [json.loads(line) for line in (out / REVERSED_ITEMS_FILE).read_text().splitlines()]
    report = json.loads((out / "build_report.json").read_text())
    assert report["views"] == ["audio_only", "time_reversed"]
    assert report["controls"]["time_reversed"]["total"] == len(rows) == report["controls"]["time_reversed"]["mirrored"]
    assert all(row["id"].endswith("-rev") and row["duration_source"] == DECODED for row in rows)
    reversed_view = load_dataset(str(out), "time_reversed", split="test").cast_column("audio", Audio(decode=False))
    original = load_dataset(str(out), "audio_only", split="test").cast_column("audio", Audio(decode=False))
    assert reversed_view["id"] == [row["id"] for row in rows]
    assert reversed_view["clip_duration_s"] == [row["clip_duration_s"] for row in rows]
    card = (out / "README.md").read_text()
    assert "config_name: time_reversed" in card and "presence-only ceiling" in card


def test_time_reversed_audio_is_the_original_clip_played_backwards(reversed_build):
    from datasets import Audio, load_dataset
    from torchcodec.decoders import AudioDecoder

    out = reversed_build.out_dir
    backwards = load_dataset(str(out), "time_reversed", split="test").cast_column("audio", Audio(decode=False))
    original = {row["filename"]: row["audio"]["bytes"] for row in load_dataset(str(out), "audio_only", split="test").cast_column("audio", Audio(decode=False))}
    row = backwards[0]
    mine = AudioDecoder(row["audio"]["bytes"]).get_all_samples()
    theirs = AudioDecoder(original[row["filename"]]).get_all_samples()
    assert mine.sample_rate == theirs.sample_rate
    assert row["clip_duration_s"] == pytest.approx(theirs.data.shape[-1] / theirs.sample_rate, abs=1e-6)
    # FLAC stores 16-bit samples: equal to the flipped decoded MP3 within one quantisation step.
    np.testing.assert_allclose(mine.data.numpy(), theirs.data.flip(-1).numpy(), atol=1.5 / 32768)
