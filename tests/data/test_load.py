"""``load_benchmark``: one source, a build made once in the cache and reused, and the silence view."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tacos_temporal.data.load import load_benchmark
from tacos_temporal.errors import ConfigError
from tacos_temporal.names import TASKS


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` with its inode and modification time: a rebuild changes them."""
    return {str(p.relative_to(root)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in root.rglob("*")}


@pytest.fixture(scope="module")
def demo_cache(tmp_path_factory):
    """A cache (``$TACOS_TEMPORAL_CACHE``) in which the first ``load_benchmark(demo=True)`` built the demo."""
    root = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TACOS_TEMPORAL_CACHE", str(root))
        first = load_benchmark("caption_only", demo=True, progress=False)
        yield root, first, snapshot(root)


def test_demo_benchmark_is_built_into_the_cache_once(demo_cache):
    root, _, after_first = demo_cache
    builds = [p for p in (root / "builds").iterdir() if (p / "build_report.json").is_file()]
    assert len(builds) == 1, "one build for one source and seed"
    assert builds[0].name.startswith("demo-")
    assert {p.name for p in (root / "builds").iterdir()} == {builds[0].name, "demo-release-0"}
    assert not [p for p in (root / "builds").iterdir() if ".tmp-" in p.name or ".old-" in p.name]


def test_second_call_reuses_the_cached_build(demo_cache):
    root, first, after_first = demo_cache
    again = load_benchmark("caption_only", demo=True, progress=False)
    assert snapshot(root) == after_first, "nothing was rebuilt or rewritten"
    assert again["id"] == first["id"]
    audio = load_benchmark("audio_only", demo=True, progress=False)  # another view of the same build
    assert snapshot(root) == after_first
    assert audio["id"] == first["id"]


def test_demo_caption_only_rows_are_the_demo_items_without_audio(demo_cache, demo_plan):
    _, first, _ = demo_cache
    expected = {(task, clip.filename) for clip in demo_plan if clip.split == "test" for task in clip.expected_tasks}
    assert {(row["task"], row["filename"]) for row in first.select_columns(["task", "filename"])} == expected
    assert "audio" not in first.column_names and "caption" in first.column_names
    captions = {clip.filename: clip.caption for clip in demo_plan}
    assert all(row["caption"] == captions[row["filename"]] for row in first.select_columns(["filename", "caption"]))
    counts = Counter(first["task"])
    assert set(counts) == set(TASKS)


def test_tacos_dir_is_built_once_into_the_given_cache_dir(demo_release, tmp_path):
    first = load_benchmark("caption_only", tacos_dir=demo_release, cache_dir=tmp_path, progress=False)
    (build,) = list(tmp_path.iterdir())
    assert build.name.startswith("tacos_dir-") and (build / "build_report.json").is_file()
    before = snapshot(tmp_path)
    again = load_benchmark("caption_only", tacos_dir=demo_release, cache_dir=tmp_path, progress=False)
    assert snapshot(tmp_path) == before
    assert again["id"] == first["id"]


def test_data_dir_loads_a_built_folder(demo_build):
    ds = load_benchmark("audio_caption", data_dir=demo_build.out_dir)
    items = [json.loads(line) for line in (demo_build.out_dir / "items.jsonl").read_text().splitlines()]
    assert ds["id"] == [item["id"] for item in items]
    assert {"audio", "caption"} <= set(ds.column_names)


def test_silence_from_a_built_folder_is_all_zeros_of_the_clip_length(demo_build):
    silent = load_benchmark("silence", data_dir=str(demo_build.out_dir))
    original = load_benchmark("audio_only", data_dir=str(demo_build.out_dir))
    assert silent.column_names == original.column_names
    assert silent["answer"] == original["answer"]
    for quiet, clip in zip(silent, original):
        assert quiet["audio"]["sampling_rate"] == clip["audio"]["sampling_rate"]
        assert quiet["audio"]["array"].shape == clip["audio"]["array"].shape
        assert not np.any(quiet["audio"]["array"])


@pytest.mark.parametrize(
    "sources",
    [{}, {"demo": True, "data_dir": "somewhere"}, {"tacos_dir": "a", "download": True}],
    ids=["none", "demo_and_data_dir", "tacos_dir_and_download"],
)
def test_exactly_one_source_is_required(sources, tmp_path):
    with pytest.raises(ConfigError, match="exactly one source") as info:
        load_benchmark("audio_only", cache_dir=tmp_path, **sources)
    for name in sources:
        assert name in str(info.value)
    assert list(tmp_path.iterdir()) == [], "nothing was built"


def test_unknown_view_is_refused_before_anything_is_built(tmp_path):
    with pytest.raises(ConfigError, match="Did you mean: silence"):
        load_benchmark("silenc", demo=True, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_two_builds_in_folders_of_the_same_name_do_not_share_a_cache(demo_release, tmp_path):
    """datasets 5.2 keys a local folder's cache by its name only; load_view_dataset must not."""
    from tacos_temporal.data.build import build
    from tacos_temporal.data.load import load_view_dataset

    first = build(tmp_path / "a" / "dataset", tacos_dir=demo_release, views=["caption_only"], seed=0, progress=False)
    second = build(tmp_path / "b" / "dataset", tacos_dir=demo_release, views=["caption_only"], seed=5, progress=False)
    for result in (first, second):
        rows = load_view_dataset(result.out_dir, "caption_only")
        assert [row["options"] for row in rows] == [list(item.options) for item in result.items]


def test_a_rebuild_in_place_is_loaded_afresh(demo_release, tmp_path):
    from tacos_temporal.data.build import build
    from tacos_temporal.data.load import load_view_dataset

    out = tmp_path / "dataset"
    build(out, tacos_dir=demo_release, views=["caption_only"], seed=0, progress=False)
    load_view_dataset(out, "caption_only")
    rebuilt = build(out, tacos_dir=demo_release, views=["caption_only"], seed=9, overwrite=True, progress=False)
    assert [row["options"] for row in load_view_dataset(out, "caption_only")] == [list(i.options) for i in rebuilt.items]
