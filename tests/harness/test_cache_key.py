"""What a resumed run may reuse (issue 18): a record is reused only for the same audio bytes, the
same benchmark version and every other input of the answer; ``--limit`` takes the stratified quota.

These tests kill the mutants that survived an independent mutation run: the audio hash or
``benchmark_version`` left out of the cache key, and ``--limit`` as a plain random sample.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from collections import Counter

import pytest

from tacos_temporal.data.build import build
from tacos_temporal.harness import runner as runner_module
from tacos_temporal.harness.config import RunConfig
from tacos_temporal.harness.runner import cache_key, evaluate, stratified_sample
from tacos_temporal.names import TASKS

ID3V1_TAG = b"TAG" + b"re-tagged".ljust(30, b"\0") + b"\0" * 94  # a 128-byte ID3v1 trailer


def _retag_clip(release, filename: str) -> None:
    """Append an ID3v1 tag to one clip in audio.zip: new bytes, the same decoded audio."""
    archive = release / "audio.zip"
    members = {}
    with zipfile.ZipFile(archive) as zin:
        for info in zin.infolist():
            members[info] = zin.read(info)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zout:
        for info, data in members.items():
            zout.writestr(info, data + ID3V1_TAG if info.filename == filename else data)
    archive.write_bytes(buffer.getvalue())


def test_changed_audio_bytes_are_answered_again_and_only_they(demo_release, tmp_path):
    release = tmp_path / "release"
    shutil.copytree(demo_release, release)
    data = build(tmp_path / "dataset", tacos_dir=release, views=["audio_only"], progress=False)
    cfg = RunConfig(model="random", view="audio_only")
    first = evaluate(cfg, tmp_path / "run", data=data.out_dir, progress=False)
    clips = Counter(record["filename"] for record in first.records)
    clip = next(name for name, n in sorted(clips.items()) if n >= 2)  # a clip with several items
    _retag_clip(release, clip)
    # the release rebuilt under the same --data path, the run resumed in the same folder
    build(tmp_path / "dataset", tacos_dir=release, views=["audio_only"], overwrite=True, progress=False)
    again = evaluate(cfg, tmp_path / "run", data=data.out_dir, progress=False)
    assert (again.answered, again.reused) == (clips[clip], len(first.records) - clips[clip])
    changed = {r["id"] for r, old in zip(again.records, first.records) if r["audio_sha256"] != old["audio_sha256"]}
    assert changed == {r["id"] for r in first.records if r["filename"] == clip}


def test_a_benchmark_version_bump_answers_every_item_again(demo_build, tmp_path, monkeypatch):
    cfg = RunConfig(model="random", view="caption_only")
    first = evaluate(cfg, tmp_path / "run", data=demo_build.out_dir, progress=False)
    monkeypatch.setattr(runner_module, "BENCHMARK_VERSION", "99.0.0")
    again = evaluate(cfg, tmp_path / "run", data=demo_build.out_dir, progress=False)
    assert (again.answered, again.reused) == (len(first.records), 0)


BASE = {"item_id": "EO-1", "audio_sha256": "a" * 64, "prompt": "Which?\nA. x", "model": {"model": "m", "revision": "r", "dtype": "float32", "max_audio_seconds": 30.0}}


@pytest.mark.parametrize(
    "change",
    [
        {"item_id": "EO-2"},
        {"audio_sha256": "b" * 64},
        {"audio_sha256": None},
        {"prompt": "Which?\nA. y"},
        {"model": {**BASE["model"], "model": "m2"}},
        {"model": {**BASE["model"], "revision": "r2"}},
        {"model": {**BASE["model"], "dtype": "bfloat16"}},
        {"model": {**BASE["model"], "max_audio_seconds": 10.0}},
        {"cfg": {"view": "audio_caption"}},
        {"cfg": {"mode": "logprob"}},
        {"cfg": {"max_new_tokens": 20}},
        {"cfg": {"intervention": "scale:alpha=2.0,layers=1,queries=last"}},
        {"version": "99.0.0"},
    ],
    ids=lambda change: next(iter(change)) + ":" + str(next(iter(change.values())))[:20],
)
def test_each_input_of_an_answer_changes_the_cache_key(change, monkeypatch):
    cfg = RunConfig(model="m", view="audio_only")
    base = cache_key(**BASE, cfg=cfg)
    assert base == cache_key(**BASE, cfg=cfg)  # deterministic
    args = {**BASE, **{k: v for k, v in change.items() if k not in ("cfg", "version")}}
    if "version" in change:
        monkeypatch.setattr(runner_module, "BENCHMARK_VERSION", change["version"])
    assert cache_key(**args, cfg=cfg.replace(**change.get("cfg", {}))) != base


def test_settings_that_change_no_answer_keep_the_cache_key():
    cfg = RunConfig(model="m", view="audio_only")
    base = cache_key(**BASE, cfg=cfg)
    for same in ({"batch_size": 1}, {"device": "cpu"}, {"reuse": False}, {"limit": 3}):
        assert cache_key(**BASE, cfg=cfg.replace(**same)) == base, same
    # the generation budget means nothing to a log-probability run
    logprob = cfg.replace(mode="logprob")
    assert cache_key(**BASE, cfg=logprob) == cache_key(**BASE, cfg=logprob.replace(max_new_tokens=20))


def _quota(counts: dict[str, int], limit: int) -> dict[str, int]:
    """Largest-remainder apportionment of ``limit`` over ``counts``, ties to the task listed first."""
    total = sum(counts.values())
    floors = {t: limit * n // total for t, n in counts.items()}
    left = limit - sum(floors.values())
    by_remainder = sorted(counts, key=lambda t: (-(limit * counts[t] % total), TASKS.index(t)))
    return {t: floors[t] + (t in by_remainder[:left]) for t in counts}


@pytest.mark.parametrize("limit", [5, 7, 11])
def test_a_limit_run_answers_exactly_the_stratified_quota(limit, demo_build, tmp_path):
    counts = Counter(item.task for item in demo_build.items)
    result = evaluate(RunConfig(model="random", view="caption_only", limit=limit, seed=3), tmp_path / "run", data=demo_build.out_dir, progress=False)
    assert Counter(r["task"] for r in result.records) == Counter(_quota(dict(counts), limit))
    tasks = [item.task for item in demo_build.items]
    expected = [demo_build.items[i].id for i in stratified_sample(tasks, limit, 3)]
    assert [r["id"] for r in result.records] == expected
