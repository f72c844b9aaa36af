"""Building the benchmark: items, report, card and Parquet views; bad input; never a half-written folder.

The read-only checks use the demo build made once per session (tests/data/conftest.py); tests that
damage a release work on a private copy.  The expected items come from the demo plan (each clip's
scenario fixes which tasks it yields) or are recomputed from the annotation files
(tests/fixtures/tacos_files.py), and the real event table must give the published 528/499/630.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from tacos_temporal.cli import main
from tacos_temporal.data.build import build
from tacos_temporal.data.sources import TACOS_FILES
from tacos_temporal.data.card import card_template, configs_yaml, render_card
from tacos_temporal.errors import AnnotationError, BuildError, ChecksumError, ConfigError, MissingAudioError, SourceError
from tacos_temporal.names import AUDIO_COLUMN, CAPTION_COLUMN, EXPECTED_COUNTS, SPLIT, TASKS, VIEWS
from tests.fixtures.tacos_files import (
    expected_tasks,
    read_csv,
    rewrite_zip,
    sha256_of,
    strong_annotation_clips,
    write_csv,
    zip_members,
)

import yaml  # noqa: E402  (in the [dev] extra: a missing one must fail, not skip)

#: benchmark.md section 1: items per task on the TACOS test event table.
PUBLISHED_COUNTS = {"earliest_onset": 528, "latest_offset": 499, "longest_duration": 630}
EVENTS_TEST_SHA256 = "07948a1aa26c3d2b2f38fe130cadd8c7900952244ee67309f5222374c3c65bf2"
#: A ``{{name}}`` placeholder of the card template (BibTeX's ``{{TACOS}: ...}`` is not one).
PLACEHOLDER = re.compile(r"\{\{\w+\}\}")
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def plan_items(plan) -> set[tuple[str, str]]:
    """(task, filename) of every item the demo's scenarios yield by construction."""
    return {(task, clip.filename) for clip in plan if clip.split == "test" for task in clip.expected_tasks}


def selected_clips(plan) -> list[str]:
    return sorted({filename for _, filename in plan_items(plan)})


def clips_without_items(plan) -> list[str]:
    return sorted(clip.filename for clip in plan if not clip.expected_tasks)


# --- the real event table -------------------------------------------------------------------------


def test_items_only_build_of_the_real_event_table_gives_528_499_630(events_test_csv, tmp_path, capsys):
    out = tmp_path / "items_out"
    assert main(["build", "--events", str(events_test_csv), "--items-only", "--out", str(out), "--quiet"]) == 0
    assert "built 1657 items" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["build_report.json", "items.jsonl", "items_time_reversed.jsonl"]
    items = read_jsonl(out / "items.jsonl")
    assert Counter(item["task"] for item in items) == PUBLISHED_COUNTS
    assert len({item["id"] for item in items}) == len(items) == 1657
    report = json.loads((out / "build_report.json").read_text())
    assert report["counts"] == PUBLISHED_COUNTS == EXPECTED_COUNTS
    assert report["total"] == 1657
    assert report["views"] == []
    assert report["sources"]["events"]["sha256"] == sha256_of(events_test_csv) == EVENTS_TEST_SHA256
    assert report["sources"]["events"]["path"] == "events_test.csv", "no machine paths in the report"
    assert str(tmp_path) not in (out / "build_report.json").read_text()


def test_items_only_build_without_a_source_uses_the_shipped_table_offline(tmp_path, monkeypatch, capsys):
    """No --events, no --tacos-dir: the test table shipped in the package, no download, no cache."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("TACOS_TEMPORAL_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "items_out"
    assert main(["build", "--items-only", "--out", str(out), "--quiet"]) == 0
    assert "built 1657 items" in capsys.readouterr().out
    report = json.loads((out / "build_report.json").read_text())
    assert report["counts"] == PUBLISHED_COUNTS
    assert report["sources"]["events"] == {"kind": "event_table", "path": "events_test.csv", "sha256": EVENTS_TEST_SHA256}
    assert not cache.exists(), "nothing was downloaded"


def test_events_url_is_downloaded_and_its_sha256_recorded(file_server, events_test_csv, tmp_path, monkeypatch):
    monkeypatch.setenv("TACOS_TEMPORAL_CACHE", str(tmp_path / "cache"))
    file_server.files["/my_table.csv"] = events_test_csv.read_bytes()
    out = tmp_path / "items_out"
    assert main(["build", "--events", file_server.url("/my_table.csv"), "--items-only", "--out", str(out), "--quiet"]) == 0
    report = json.loads((out / "build_report.json").read_text())
    assert report["counts"] == PUBLISHED_COUNTS
    assert report["sources"]["events"]["sha256"] == EVENTS_TEST_SHA256
    # Not pinned: a second build downloads the table again rather than trusting a stale copy.
    file_server.files["/my_table.csv"] = b"idx,filename,subclass,intervals,question\n"
    with pytest.raises(BuildError, match="no item qualifies"):
        build(tmp_path / "again", events=file_server.url("/my_table.csv"), items_only=True, progress=False)
    assert [r.path for r in file_server.requests] == ["/my_table.csv", "/my_table.csv"]


def test_a_missing_events_file_is_one_error_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TACOS_TEMPORAL_DEBUG", raising=False)
    code = main(["build", "--events", str(tmp_path / "nope.csv"), "--items-only", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.splitlines() == [f"error: --events {tmp_path / 'nope.csv'}: no such file; pass an event table CSV, a URL, or 'strong'"]
    assert not (tmp_path / "o").exists()


def test_building_views_without_an_audio_source_is_refused(events_test_csv, tmp_path):
    with pytest.raises(BuildError, match="--tacos-dir"):
        build(tmp_path / "out", events=events_test_csv, progress=False)
    assert list(tmp_path.iterdir()) == []


# --- the demo build: files, items, card -----------------------------------------------------------


def test_demo_build_writes_card_items_report_and_one_parquet_file_per_view(demo_build):
    out = demo_build.out_dir
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert files == {"README.md", "items.jsonl", "items_time_reversed.jsonl", "build_report.json"} | {
        f"data/{view}/{SPLIT}-00000-of-00001.parquet" for view in VIEWS
    }
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "no staging folder left beside it"


def test_demo_items_are_exactly_those_the_scenarios_construct(demo_build, demo_plan):
    items = read_jsonl(demo_build.out_dir / "items.jsonl")
    assert {(item["task"], item["filename"]) for item in items} == plan_items(demo_plan)
    report = json.loads((demo_build.out_dir / "build_report.json").read_text())
    expected = Counter(task for task, _ in plan_items(demo_plan))
    assert report["counts"] == {task: expected[task] for task in TASKS}
    assert report["total"] == len(items) == sum(expected.values())
    assert report["clips_with_items"] == len(selected_clips(demo_plan))
    assert report["annotations"]["rows_skipped"] == 0
    assert report["views"] == list(VIEWS)


def test_card_front_matter_declares_one_config_per_view_with_existing_files(demo_build):
    out = demo_build.out_dir
    match = _FRONT_MATTER.match((out / "README.md").read_text(encoding="utf-8"))
    assert match, "README.md starts with a YAML front matter block"
    meta = yaml.safe_load(match.group(1))
    configs = {config["config_name"]: config for config in meta["configs"]}
    assert list(configs) == list(VIEWS)
    for view, config in configs.items():
        (data_files,) = config["data_files"]
        assert data_files["split"] == SPLIT
        assert len(list(out.glob(data_files["path"]))) == 1
    assert [view for view, config in configs.items() if config.get("default")] == ["audio_only"]


def test_card_of_a_build_is_the_template_rendered_with_its_report(demo_build):
    report = json.loads((demo_build.out_dir / "build_report.json").read_text())
    card = (demo_build.out_dir / "README.md").read_text(encoding="utf-8")
    assert card == render_card(report)
    assert not PLACEHOLDER.search(card)
    total = sum(report["counts"].values())
    assert f"| **total** |  | {total} | 1657 |" in card
    for licence, clips in report["licenses"].items():
        assert f"| {licence} | {clips} |" in card


def test_render_card_fills_every_placeholder_even_for_an_empty_report():
    assert PLACEHOLDER.search(card_template()), "the template has placeholders to fill"
    assert not PLACEHOLDER.search(render_card({}))


def configs_block(card: str) -> str:
    """The ``configs:`` block of a card's front matter, as written (up to the next top-level key)."""
    front = _FRONT_MATTER.match(card).group(1) + "\n"
    lines = front.splitlines(keepends=True)
    start = lines.index("configs:\n")
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if line.strip() and not line.startswith(("-", " ")):
            break
        block.append(line)
    return "".join(block).rstrip("\n") + "\n"


def card_paths() -> list[Path]:
    from tacos_temporal.data import card

    package_card = Path(card.__file__).with_name("dataset_card.md")
    repo_card = Path(__file__).resolve().parents[2] / "dataset_card.md"
    return [package_card] + ([repo_card] if repo_card.is_file() else [])


@pytest.mark.parametrize("path", card_paths(), ids=lambda p: str(p.relative_to(Path(__file__).resolve().parents[2])))
def test_card_configs_block_is_the_generated_one(path):
    text = path.read_text(encoding="utf-8")
    assert configs_block(text) == configs_yaml(), (
        f"the configs: block of {path.name} drifted from tacos_temporal.names; paste the output of "
        "`python -c 'from tacos_temporal.data.card import configs_yaml; print(configs_yaml())'`"
    )
    assert yaml.safe_load(_FRONT_MATTER.match(text).group(1))["configs"] == yaml.safe_load(configs_yaml())["configs"]


# --- the demo build: loading the views ------------------------------------------------------------


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_loads_with_load_dataset_and_has_its_columns(demo_build, view):
    from datasets import load_dataset

    ds = load_dataset(str(demo_build.out_dir), view, split=SPLIT)
    items = read_jsonl(demo_build.out_dir / "items.jsonl")
    assert ds.num_rows == len(items)
    assert ds["id"] == [item["id"] for item in items]
    assert (AUDIO_COLUMN in ds.column_names) == (view != "caption_only")
    assert (CAPTION_COLUMN in ds.column_names) == (view != "audio_only")
    for name in ("license", "attribution", "source_url", "clip_duration_s", *items[0]):
        assert name in ds.column_names
    assert ds[0]["options"] == items[0]["options"] and ds[0]["answer"] == items[0]["answer"]


def test_audio_decodes_at_the_clip_rate_and_length(demo_build, demo_plan):
    from datasets import load_dataset

    ds = load_dataset(str(demo_build.out_dir), "audio_caption", split=SPLIT)
    durations = {clip.filename: clip.duration_s for clip in demo_plan}
    for index in (0, ds.num_rows - 1):
        row = ds[index]
        audio = row["audio"]
        samples, rate = audio["array"], audio["sampling_rate"]
        assert rate == 32000, "the demo's MP3s are 32 kHz and no resampling was asked for"
        assert samples.ndim == 1
        assert abs(len(samples) / rate - durations[row["filename"]]) < 0.1
        assert abs(row["clip_duration_s"] - durations[row["filename"]]) < 0.1
        assert 0.5 < float(abs(samples).max()) <= 1.0, "the audible events are there"


def test_stored_audio_bytes_are_the_original_mp3_files(demo_build, demo_release):
    import pyarrow.parquet as pq

    members = zip_members(demo_release / "audio.zip")
    for view in ("audio_only", "audio_caption"):
        table = pq.read_table(demo_build.out_dir / "data" / view / f"{SPLIT}-00000-of-00001.parquet")
        for filename, audio in zip(table["filename"].to_pylist(), table["audio"].to_pylist()):
            assert audio["bytes"] == members[filename], f"{view}: {filename} was re-encoded"
            assert audio["path"] == filename


def test_every_row_carries_the_licence_and_attribution_of_its_clip(demo_build, demo_release):
    import pyarrow.parquet as pq

    metadata = {row["filename"]: row for row in read_csv(demo_release / "metadata.csv")[1]}
    captions = {row["filename"]: row["text"] for row in read_csv(demo_release / "annotations_weak.csv")[1]}
    for view in VIEWS:
        columns = ["filename", "license", "attribution", "source_url"] + (["caption"] if view != "audio_only" else [])
        table = pq.read_table(demo_build.out_dir / "data" / view / f"{SPLIT}-00000-of-00001.parquet", columns=columns)
        for row in table.to_pylist():
            clip = metadata[row["filename"]]
            assert row["license"] == clip["license"]
            assert row["source_url"] == clip["source_url"]
            for part in (clip["title"], clip["username"], clip["source_url"]):
                assert part in row["attribution"]
            if "caption" in row:
                assert row["caption"] == captions[row["filename"]]


def test_cli_build_of_the_demo_release_prints_counts_and_how_to_load(demo_release, demo_plan, tmp_path, capsys):
    out = tmp_path / "dataset"
    assert main(["build", "--tacos-dir", str(demo_release), "--out", str(out), "--views", "caption_only", "--quiet"]) == 0
    printed = capsys.readouterr().out
    expected = Counter(task for task, _ in plan_items(demo_plan))
    assert f"built {sum(expected.values())} items in {out}" in printed
    for task in TASKS:
        assert f"{task} {expected[task]}" in printed
    assert "views: caption_only" in printed and "load_dataset(" in printed
    assert sorted(p.name for p in (out / "data").iterdir()) == ["caption_only"]


def test_unknown_view_is_refused_before_anything_is_read(tmp_path):
    with pytest.raises(ConfigError, match="Did you mean: audio_only"):
        build(tmp_path / "out", tacos_dir=tmp_path / "nowhere", views=["audio_onyl"], progress=False)
    assert list(tmp_path.iterdir()) == []


# --- malformed annotation rows --------------------------------------------------------------------


@pytest.fixture
def table_with_bad_rows(demo_release, demo_plan, tmp_path):
    """The demo event table plus one malformed row of each kind; returns (path, broken clips)."""
    header, rows = read_csv(demo_release / "events_test.csv")
    broken = selected_clips(demo_plan)[:3]  # clips that have items: a malformed row must remove them
    bad = [
        (broken[0], "", "[1.00-2.00]"),  # missing label
        (broken[1], "Hum", "[3.00-2.00]"),  # onset after offset
        (broken[2], "Hum", "[-1.00-2.00]"),  # negative time
        ("999999.mp3", "Tone", "[0.10-0.50]"),  # not a clip of the release
        ("../x.mp3", "Tone", "[0.10-0.50]"),  # a path, not a file name
    ]
    extra = [
        {"idx": len(rows) + i + 1, "filename": f, "subclass": label, "intervals": spans, "question": "?"}
        for i, (f, label, spans) in enumerate(bad)
    ]
    path = tmp_path / "events_bad.csv"
    write_csv(path, header, rows + extra)
    return path, broken, sum(row["filename"] in broken for row in rows)


def test_malformed_annotation_rows_are_skipped_with_counted_reasons(
    table_with_bad_rows, demo_release, demo_plan, tmp_path, capsys
):
    events, broken, rows_of_broken = table_with_bad_rows
    out = tmp_path / "dataset"
    argv = ["build", "--tacos-dir", str(demo_release), "--events", str(events), "--out", str(out), "--quiet"]
    assert main(argv + ["--views", "caption_only"]) == 0
    assert "skipped annotation rows" in capsys.readouterr().out
    report = json.loads((out / "build_report.json").read_text())
    annotations = report["annotations"]
    assert annotations["skipped"] == {
        "missing_value": 1,
        "unsafe_filename": 1,
        "unknown_clip": 1,
        "negative_time": 1,
        "onset_not_before_offset": 1,
        # The valid rows of a clip with a malformed row go too: its answer could be wrong otherwise.
        "clip_has_malformed_rows": rows_of_broken,
    }
    assert annotations["rows_skipped"] == 5 + rows_of_broken
    assert annotations["dropped_clips"] == sorted(broken)
    remaining = {(task, f) for task, f in plan_items(demo_plan) if f not in broken}
    items = read_jsonl(out / "items.jsonl")
    assert {(item["task"], item["filename"]) for item in items} == remaining
    assert report["counts"] == {task: sum(t == task for t, _ in remaining) for task in TASKS}


def test_strict_build_fails_with_annotation_error_and_leaves_no_output(table_with_bad_rows, demo_release, tmp_path, capsys):
    events, _, _ = table_with_bad_rows
    parent = tmp_path / "outputs"
    with pytest.raises(AnnotationError, match="malformed annotation row") as info:
        build(parent / "dataset", tacos_dir=demo_release, events=events, strict=True, progress=False)
    assert "negative_time" in str(info.value) and "--strict" in str(info.value)
    assert not parent.exists() or list(parent.iterdir()) == []
    argv = ["build", "--tacos-dir", str(demo_release), "--events", str(events), "--out", str(parent / "d"), "--strict"]
    assert main(argv + ["--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.splitlines()) == 1
    assert not parent.exists() or list(parent.iterdir()) == []


# --- clips that cannot be served ------------------------------------------------------------------


def test_missing_mp3_of_a_selected_item_fails_listing_it_and_leaves_no_folder(release_copy, demo_plan, tmp_path):
    victim = selected_clips(demo_plan)[0]
    rewrite_zip(release_copy / "audio.zip", drop=[victim])
    parent = tmp_path / "outputs"
    with pytest.raises(MissingAudioError) as info:
        build(parent / "dataset", tacos_dir=release_copy, progress=False)
    message = str(info.value)
    assert f"missing_audio: {victim}" in message and "never built with fewer items" in message
    assert list(parent.iterdir()) == [], "neither the output nor a .tmp- staging folder is left"


def test_missing_mp3_of_a_clip_without_items_does_not_matter(release_copy, demo_plan, tmp_path):
    rewrite_zip(release_copy / "audio.zip", drop=clips_without_items(demo_plan))
    result = build(tmp_path / "dataset", tacos_dir=release_copy, views=["audio_only"], progress=False)
    assert {(i.task, i.filename) for i in result.items} == plan_items(demo_plan)


def test_undecodable_mp3_fails_listing_it(release_copy, demo_plan, tmp_path):
    victim = selected_clips(demo_plan)[1]
    rewrite_zip(release_copy / "audio.zip", replace={victim: b"this is not an mp3 file " * 100})
    parent = tmp_path / "outputs"
    with pytest.raises(MissingAudioError, match=f"undecodable_audio: {re.escape(victim)}"):
        build(parent / "dataset", tacos_dir=release_copy, progress=False)
    assert list(parent.iterdir()) == []


def test_missing_weak_caption_of_a_selected_clip_fails_naming_it(release_copy, demo_plan, tmp_path):
    victim = selected_clips(demo_plan)[2]
    header, rows = read_csv(release_copy / "annotations_weak.csv")
    write_csv(release_copy / "annotations_weak.csv", header, [row for row in rows if row["filename"] != victim])
    parent = tmp_path / "outputs"
    with pytest.raises(SourceError, match=f"missing_caption: {re.escape(victim)}") as info:
        build(parent / "dataset", tacos_dir=release_copy, progress=False)
    assert not isinstance(info.value, MissingAudioError), "the audio is fine; the caption is missing"
    assert list(parent.iterdir()) == []
    # The audio-only view does not need captions.
    build(parent / "audio", tacos_dir=release_copy, views=["audio_only"], progress=False)


# --- the output folder ----------------------------------------------------------------------------


def test_non_empty_output_without_overwrite_raises_build_error_and_keeps_it(demo_release, tmp_path):
    out = tmp_path / "dataset"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(BuildError, match="--overwrite"):
        build(out, tacos_dir=demo_release, items_only=True, progress=False)
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["dataset"]


def test_overwrite_replaces_the_old_content_whole(demo_release, tmp_path):
    out = tmp_path / "dataset"
    (out / "data" / "old_view").mkdir(parents=True)
    (out / "data" / "old_view" / "test.parquet").write_bytes(b"stale")
    (out / "items.jsonl").write_text("stale\n")
    build(out, tacos_dir=demo_release, items_only=True, overwrite=True, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["build_report.json", "items.jsonl", "items_time_reversed.jsonl"]
    assert "stale" not in (out / "items.jsonl").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["dataset"], "no .old- or .tmp- folder left"


def test_verify_flag_rejects_a_release_that_is_not_the_published_one(demo_release, tmp_path):
    with pytest.raises(ChecksumError, match="audio.zip"):
        build(tmp_path / "out" / "dataset", tacos_dir=demo_release, verify=True, progress=False)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_download_with_a_checksum_mismatch_leaves_no_output(file_server, demo_release, tmp_path, monkeypatch, capsys):
    # A mirror serving the demo files under the release's names: the published checksums cannot match.
    cache = tmp_path / "cache"
    monkeypatch.setenv("TACOS_TEMPORAL_CACHE", str(cache))
    for name in TACOS_FILES:
        file_server.files[f"/tacos/{name}"] = (demo_release / name).read_bytes()
    parent = tmp_path / "outputs"
    with pytest.raises(ChecksumError, match="audio.zip: expected 1,629,958,981 bytes"):
        build(parent / "dataset", download=True, mirror=file_server.url("/tacos"), progress=False)
    assert not parent.exists() or list(parent.iterdir()) == []
    assert list((cache / "tacos").iterdir()) == [], "the bad download is not kept"
    argv = ["build", "--download", "--mirror", file_server.url("/tacos"), "--out", str(parent / "d"), "--quiet"]
    assert main(argv) == 1
    assert "audio.zip" in capsys.readouterr().err
    assert not parent.exists() or list(parent.iterdir()) == []
    assert [r.path for r in file_server.requests] == ["/tacos/audio.zip"] * 2


# --- another event source -------------------------------------------------------------------------


def test_events_strong_builds_from_the_strong_annotations(demo_release, tmp_path):
    from tacos_temporal.data.tacos import TacosRelease

    out = tmp_path / "strong"
    result = build(out, tacos_dir=demo_release, events="strong", views=["caption_only"], progress=False)
    grouped = strong_annotation_clips(demo_release / "annotations_strong.csv", TacosRelease(demo_release).split("test"))
    expected = {(task, filename) for filename, labels in grouped.items() for task in expected_tasks(labels)}
    assert expected, "the strong captions of the demo give items"
    items = read_jsonl(out / "items.jsonl")
    assert {(item["task"], item["filename"]) for item in items} == expected
    for item in items:
        assert item["answer_label"] in grouped[item["filename"]], "labels are the normalised caption texts"
    source = result.report["sources"]["events"]
    assert source == {
        "kind": "tacos_strong_annotations",
        "path": "annotations_strong.csv",
        "sha256": hashlib.sha256((demo_release / "annotations_strong.csv").read_bytes()).hexdigest(),
    }


def test_events_strong_without_a_release_is_refused(tmp_path):
    with pytest.raises(BuildError, match="annotations_strong.csv"):
        build(tmp_path / "out", events="strong", items_only=True, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_a_build_of_some_views_declares_only_those_views(demo_release, tmp_path):
    import yaml

    from tacos_temporal.data.build import build
    from tacos_temporal.data.load import load_view_dataset

    out = build(tmp_path / "one", tacos_dir=demo_release, views=["caption_only"], progress=False).out_dir
    front = yaml.safe_load((out / "README.md").read_text().split("---")[1])
    assert [c["config_name"] for c in front["configs"]] == ["caption_only"]
    assert front["configs"][0]["default"] is True
    assert len(load_view_dataset(out, "caption_only")) > 0
