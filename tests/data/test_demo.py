"""The synthetic demo release: TACOS files and columns, audible events at their annotated times,
determinism, and scenarios that give (and withhold) items of every task.

The release is built once per module; every check reads the written files back (CSV with the csv
module, MP3 with torchcodec) and recomputes the benchmark's rules in a few lines of its own.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
import subprocess
import sys
import zipfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from tacos_temporal.data.demo import (
    DEMO_FILES,
    DEMO_LABELS,
    LICENSES,
    SCENARIOS,
    make_demo_release,
    plan_demo_clips,
)
from tacos_temporal.errors import BuildError, ConfigError
from tacos_temporal.names import EARLIEST_ONSET, LATEST_OFFSET, LONGEST_DURATION, MARGINS_S, TASKS

import torchcodec  # noqa: E402  (a required dependency: a missing one must fail, not skip)

SAMPLE_RATE = 32000
TOLERANCE_S = 1e-6
_INTERVAL = re.compile(r"(\d+\.\d{2})-(\d+\.\d{2})")


# --- helpers: read the files back ------------------------------------------------------------------


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def parse_intervals(text: str) -> list[tuple[float, float]]:
    assert text.startswith("[") and text.endswith("]"), text
    pieces = [piece.strip() for piece in text[1:-1].split(",")]
    spans = []
    for piece in pieces:
        match = _INTERVAL.fullmatch(piece)
        assert match, f"interval {piece!r} is not 'start-end' with two decimals"
        spans.append((float(match.group(1)), float(match.group(2))))
    return spans


def event_table(folder: Path) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """{filename: {label: [(onset, offset), ...]}} from events_test.csv."""
    table: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(dict)
    for row in read_csv(folder / "events_test.csv")[1]:
        assert row["subclass"] not in table[row["filename"]], "one row per (clip, label)"
        table[row["filename"]][row["subclass"]] = parse_intervals(row["intervals"])
    return dict(table)


def items_of_clip(labels: dict[str, list[tuple[float, float]]]) -> dict[str, str]:
    """The benchmark's rules, written independently: {task: answer label} for one clip."""
    if len(labels) < 2:
        return {}
    onset = {label: min(on for on, _ in spans) for label, spans in labels.items()}
    offset = {label: max(off for _, off in spans) for label, spans in labels.items()}
    duration = {label: sum(off - on for on, off in spans) for label, spans in labels.items()}
    scores = {EARLIEST_ONSET: {k: -v for k, v in onset.items()}, LATEST_OFFSET: offset, LONGEST_DURATION: duration}
    found = {}
    for task, score in scores.items():
        ranked = sorted(score.values(), reverse=True)
        if ranked[0] - ranked[1] >= MARGINS_S[task] - TOLERANCE_S:
            found[task] = max(score, key=score.get)
    return found


def decode(data: bytes):
    from torchcodec.decoders import AudioDecoder

    samples = AudioDecoder(data).get_all_samples()
    return samples.data.numpy(), samples.sample_rate


def rms_db(x: np.ndarray) -> float:
    return 20 * math.log10(max(float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))), 1e-10))


def tree_digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    return make_demo_release(tmp_path_factory.mktemp("demo") / "release", seed=0, sample_rate=SAMPLE_RATE)


@pytest.fixture(scope="module")
def plan():
    return plan_demo_clips(seed=0)


@pytest.fixture(scope="module")
def audio(release) -> dict[str, bytes]:
    with zipfile.ZipFile(release / "audio.zip") as archive:
        return {name: archive.read(name) for name in archive.namelist()}


# --- files and columns -----------------------------------------------------------------------------


def test_release_has_every_tacos_file_with_its_columns(release):
    assert sorted(p.name for p in release.iterdir()) == sorted(DEMO_FILES)
    assert read_csv(release / "annotations_strong.csv")[0] == ["filename", "text", "onset", "offset"]
    assert read_csv(release / "annotations_weak.csv")[0] == ["filename", "text"]
    assert read_csv(release / "development_split.csv")[0] == ["filename"]
    assert read_csv(release / "test_split.csv")[0] == ["filename"]
    assert read_csv(release / "events_test.csv")[0] == ["idx", "filename", "subclass", "intervals", "question"]
    columns = read_csv(release / "metadata.csv")[0]
    assert len(columns) == 20 and len(set(columns)) == 20
    required = {"filename", "license", "superclass", "subclass", "start_time_s", "end_time_s"}
    attribution = {"freesound_id", "title", "username", "source_url"}
    assert required | attribution <= set(columns)


def test_audio_zip_holds_flat_freesound_named_mp3_members(audio):
    assert audio
    for name, data in audio.items():
        assert re.fullmatch(r"[1-9]\d{5}\.mp3", name), name
        assert data[:3] == b"ID3" or data[:2] in (b"\xff\xfb", b"\xff\xf3"), f"{name} is not an MP3"


def test_event_table_looks_like_the_real_one(release):
    header, rows = read_csv(release / "events_test.csv")
    assert [int(row["idx"]) for row in rows] == list(range(1, len(rows) + 1))
    raw = (release / "events_test.csv").read_text(encoding="utf-8").splitlines()[1:]
    for line, row in zip(raw, rows):
        # Like the real table, a single interval is unquoted and several are quoted.
        assert (f'"{row["intervals"]}"' in line) == ("," in row["intervals"])
        assert row["question"] and row["subclass"] in DEMO_LABELS


def test_every_mp3_decodes_to_its_planned_duration_at_the_sample_rate(audio, plan):
    assert sorted(audio) == sorted(clip.filename for clip in plan)
    for clip in plan:
        samples, sample_rate = decode(audio[clip.filename])
        assert sample_rate == SAMPLE_RATE
        assert samples.shape[0] == 1, "demo clips are mono"
        assert abs(samples.shape[1] / sample_rate - clip.duration_s) <= 0.1, clip.filename
        assert 4.0 <= clip.duration_s <= 10.0


def test_corpus_stays_small(release):
    assert sum(p.stat().st_size for p in release.iterdir()) < 2_000_000


# --- consistency between the tables ----------------------------------------------------------------


def test_event_table_and_strong_annotations_hold_the_same_intervals(release, plan):
    table = event_table(release)
    strong: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for row in read_csv(release / "annotations_strong.csv")[1]:
        assert re.fullmatch(r"\d+\.\d{3}", row["onset"]) and re.fullmatch(r"\d+\.\d{3}", row["offset"])
        assert row["text"].strip()
        strong[row["filename"]].append((round(float(row["onset"]), 2), round(float(row["offset"]), 2)))
    for filename, labels in table.items():
        from_table = sorted(span for spans in labels.values() for span in spans)
        assert sorted(strong[filename]) == from_table, filename
    # Per label, the event table is the plan's events (strong rows carry free text, not labels).
    for clip in plan:
        if clip.split == "test":
            assert table[clip.filename] == {label: list(clip.intervals(label)) for label in clip.labels}


def test_event_table_lists_only_test_clips_and_every_clip_is_described(release, audio):
    dev = {row["filename"] for row in read_csv(release / "development_split.csv")[1]}
    test = {row["filename"] for row in read_csv(release / "test_split.csv")[1]}
    metadata = read_csv(release / "metadata.csv")[1]
    weak = [row["filename"] for row in read_csv(release / "annotations_weak.csv")[1]]
    strong = {row["filename"] for row in read_csv(release / "annotations_strong.csv")[1]}
    assert not dev & test
    assert set(event_table(release)) == test, "every test clip has events, and only test clips"
    everything = dev | test
    assert {row["filename"] for row in metadata} == everything == set(audio) == strong
    assert sorted(weak) == sorted(everything), "one weak caption per clip"
    assert 0.25 <= len(dev) / len(everything) <= 0.4


def test_metadata_carries_licence_and_attribution(release, plan):
    rows = {row["filename"]: row for row in read_csv(release / "metadata.csv")[1]}
    assert {row["license"] for row in rows.values()} == set(LICENSES)
    for clip in plan:
        row = rows[clip.filename]
        assert row["license"] == clip.license
        assert row["source_url"] == f"https://freesound.org/s/{row['freesound_id']}/"
        assert clip.filename == f"{row['freesound_id']}.mp3"
        assert row["username"] and row["title"]
        start, end = float(row["start_time_s"]), float(row["end_time_s"])
        assert abs((end - start) - clip.duration_s) < 1e-6
        assert row["subclass"] in clip.labels


# --- the plan ----------------------------------------------------------------------------------------


def test_plan_mixes_single_and_multi_label_clips_with_repeats_and_overlaps(plan):
    counts = {len(clip.labels) for clip in plan}
    assert 1 in counts and {2, 3, 4} <= counts
    assert any(len(clip.intervals(label)) > 1 for clip in plan for label in clip.labels), "a repeated label"
    overlapping = [
        clip
        for clip in plan
        if any(a[0] != b[0] and a[1] < b[2] and b[1] < a[2] for a in clip.events for b in clip.events)
    ]
    assert overlapping, "some clips have overlapping events of different labels"
    assert {clip.scenario for clip in plan if clip.split == "test"} == set(SCENARIOS)


def test_same_seed_gives_the_same_plan_and_another_seed_a_different_one(plan):
    assert plan_demo_clips(seed=0) == plan
    other = plan_demo_clips(seed=1)
    assert [c.filename for c in other] != [c.filename for c in plan]
    assert [c.events for c in other] != [c.events for c in plan]


@pytest.mark.parametrize(
    "kwargs", [{"num_clips": 0}, {"seed": -1}, {"num_clips": 2.5}, {"seed": True}], ids=lambda k: str(k)
)
def test_plan_rejects_invalid_arguments(kwargs):
    with pytest.raises(ConfigError, match="must be an integer"):
        plan_demo_clips(**kwargs)


def test_unsupported_sample_rate_is_refused_before_writing(tmp_path):
    with pytest.raises(ConfigError, match="sample_rate"):
        make_demo_release(tmp_path / "out", sample_rate=12345)
    assert not (tmp_path / "out").exists()


# --- the audio ---------------------------------------------------------------------------------------


def test_annotated_events_are_at_least_20_db_above_the_background(audio, plan):
    checked = 0
    for clip in plan:
        samples, sr = decode(audio[clip.filename])
        x = samples[0]
        t = np.arange(x.size) / sr
        near_event = np.zeros(x.size, dtype=bool)
        for _, onset, offset in clip.events:
            near_event |= (t > onset - 0.1) & (t < offset + 0.1)
        background = x[~near_event]
        if background.size < 0.2 * sr:
            continue
        checked += 1
        floor = rms_db(background)
        for label, onset, offset in clip.events:
            inside = x[(t >= onset) & (t < offset)]
            assert rms_db(inside) >= floor + 20, f"{clip.filename} {label} {onset}-{offset}"
    assert checked >= len(plan) // 2, f"only {checked} clips have 0.2 s of background to compare with"


def test_same_seed_gives_a_byte_identical_release(release, tmp_path):
    again = make_demo_release(tmp_path / "again", seed=0, sample_rate=SAMPLE_RATE)
    assert tree_digest(again) == tree_digest(release)


# --- the scenarios, checked against independently recomputed rules ----------------------------------


def test_selection_rules_yield_items_of_every_task_and_clips_without_any(release, plan):
    table = event_table(release)
    found = {filename: items_of_clip(labels) for filename, labels in table.items()}
    per_task = {task: sum(task in items for items in found.values()) for task in TASKS}
    assert all(count >= 3 for count in per_task.values()), per_task
    none_multi = [f for f, items in found.items() if not items and len(table[f]) >= 2]
    none_single = [f for f, items in found.items() if not items and len(table[f]) == 1]
    assert len(none_multi) >= 2 and none_single, "ties / near misses and single-label clips give no item"
    for clip in plan:
        if clip.split == "test":
            assert sorted(found[clip.filename]) == sorted(clip.expected_tasks), (clip.scenario, clip.events)


def test_exact_one_second_margins_count_as_items(release, plan):
    table = event_table(release)
    exact = [clip for clip in plan if clip.split == "test" and clip.scenario == "exact_margin"]
    assert exact
    for clip in exact:
        labels = table[clip.filename]
        onsets = sorted(min(on for on, _ in spans) for spans in labels.values())
        assert f"{onsets[1] - onsets[0]:.2f}" == f"{MARGINS_S[EARLIEST_ONSET]:.2f}"
        assert set(items_of_clip(labels)) == {EARLIEST_ONSET, LATEST_OFFSET}


# --- writing safely ----------------------------------------------------------------------------------


def test_non_empty_folder_without_overwrite_raises_and_names_it(tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(BuildError, match="overwrite=True") as info:
        make_demo_release(out, num_clips=2)
    assert str(out) in str(info.value) and "--overwrite" in str(info.value)
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_empty_folder_is_filled_and_overwrite_replaces_a_full_one(tmp_path):
    out = tmp_path / "demo"
    out.mkdir()
    make_demo_release(out, num_clips=2)
    (out / "stale.txt").write_text("old")
    make_demo_release(out, num_clips=3, seed=5, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == sorted(DEMO_FILES)
    assert len(read_csv(out / "metadata.csv")[1]) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"], "no staging folder left behind"


class _FailingEncoder:
    """Stands in for torchcodec's AudioEncoder and fails on the third clip (an FFmpeg error)."""

    calls = 0

    def __init__(self, samples, *, sample_rate):
        type(self).calls += 1
        self.fail = type(self).calls >= 3

    def to_tensor(self, *args, **kwargs):
        if self.fail:
            raise RuntimeError("simulated encoder failure")
        import torch

        return torch.zeros(16, dtype=torch.uint8)


@pytest.fixture
def failing_encoder(monkeypatch):
    import torchcodec.encoders

    _FailingEncoder.calls = 0
    monkeypatch.setattr(torchcodec.encoders, "AudioEncoder", _FailingEncoder)


@pytest.mark.usefixtures("failing_encoder")
def test_failure_midway_leaves_no_partial_folder(tmp_path):
    with pytest.raises(BuildError, match="could not encode"):
        make_demo_release(tmp_path / "demo", num_clips=5)
    assert list(tmp_path.iterdir()) == []


def test_failure_midway_keeps_the_previous_release(tmp_path, monkeypatch):
    out = make_demo_release(tmp_path / "demo", num_clips=3)
    before = tree_digest(out)
    import torchcodec.encoders

    _FailingEncoder.calls = 0
    monkeypatch.setattr(torchcodec.encoders, "AudioEncoder", _FailingEncoder)
    with pytest.raises(BuildError):
        make_demo_release(out, num_clips=5, overwrite=True)
    assert tree_digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


def test_importing_the_module_does_not_load_torch():
    code = "import sys, tacos_temporal.data.demo; print('torch' in sys.modules, 'torchcodec' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
