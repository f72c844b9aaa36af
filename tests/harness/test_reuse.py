"""Encoding each clip once: answers with the shared audio prefix equal answers without it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tacos_temporal.harness.adapters import Adapter
from tacos_temporal.harness.config import RunConfig
from tacos_temporal.harness.models import load_runner
from tacos_temporal.harness.runner import _groups, _take, evaluate
from tacos_temporal.names import LETTERS


@pytest.fixture(scope="module")
def runners(tiny_models):
    return {arch: load_runner(RunConfig(model=str(tiny_models[arch]))) for arch in ("qwen2_audio", "audioflamingo3")}


def _run(runners, arch, demo_build, tmp_path, **cfg):
    config = RunConfig(model=arch, **cfg)
    name = "-".join(f"{k}={v}" for k, v in cfg.items())
    return evaluate(config, tmp_path / name, data=demo_build.out_dir, runner=runners[arch], progress=False)


CASES = [
    (arch, mode, view, batch_size)
    for arch in ("qwen2_audio", "audioflamingo3")
    for mode, view, batch_size in (
        ("logprob", "audio_only", 1),
        ("logprob", "audio_caption", 6),
        ("generate", "audio_only", 6),
        ("generate", "silence", 1),
    )
]


@pytest.mark.parametrize("arch, mode, view, batch_size", CASES)
def test_reuse_gives_the_answers_of_full_computation(runners, arch, mode, view, batch_size, demo_build, tmp_path):
    shared = _run(runners, arch, demo_build, tmp_path, mode=mode, view=view, batch_size=batch_size, reuse=True)
    full = _run(runners, arch, demo_build, tmp_path, mode=mode, view=view, batch_size=batch_size, reuse=False)
    assert shared.results["tacos_temporal"]["reuse"] is True
    assert full.results["tacos_temporal"]["reuse"] is False and full.results["tacos_temporal"]["reuse_reason"] == "switched off (--no-reuse)"
    for a, b in zip(shared.records, full.records):
        assert (a["id"], a["output"], a["letter"]) == (b["id"], b["output"], b["letter"])
        for letter in LETTERS:
            assert a["logprobs"][letter] == pytest.approx(b["logprobs"][letter], abs=2e-5)


def test_caption_only_runs_record_why_nothing_is_reused(runners, demo_build, tmp_path):
    result = _run(runners, "qwen2_audio", demo_build, tmp_path, view="caption_only", mode="logprob")
    assert result.results["tacos_temporal"]["reuse"] is False
    assert result.results["tacos_temporal"]["reuse_reason"] == "the run feeds no audio"


class _TextFirst(Adapter):
    def conversation(self, text, *, with_audio, system_prompt=None):
        content = [{"type": "text", "text": text}] + ([{"type": "audio"}] if with_audio else [])
        return [{"role": "user", "content": content}]


def test_text_before_audio_falls_back_to_full_computation_and_says_why(tiny_models, demo_build, tmp_path, caplog):
    runner = load_runner(RunConfig(model=str(tiny_models["qwen2_audio"])))
    runner.adapter = _TextFirst()
    with caplog.at_level("WARNING", logger="tacos_temporal.harness.runner"):
        result = evaluate(RunConfig(model="qwen2_audio", mode="logprob"), tmp_path / "run", data=demo_build.out_dir, runner=runner, progress=False)
    assert result.results["tacos_temporal"]["reuse"] is False
    assert "does not put the audio before the text" in result.results["tacos_temporal"]["reuse_reason"]
    assert any("does not put the audio before the text" in r.getMessage() and "encoded whole" in r.getMessage() for r in caplog.records)  # the log says why too
    assert len(result.records) == len(demo_build.items)


def _entries(names, view="audio_only"):
    track = SimpleNamespace(cfg=SimpleNamespace(view=view))  # the fields _take/_groups read
    return [(track, i, {"filename": name, "id": f"x{i}"}, f"p{i}", f"k{i}") for i, name in enumerate(names)]


def test_batches_keep_a_clip_together_unless_it_is_larger_than_the_batch():
    queue = _entries(["a", "a", "b", "b", "b", "c"])
    assert [e[2]["filename"] for e in _take(queue, 4, by_clip=True)] == ["a", "a"]
    assert [e[2]["filename"] for e in _take(queue, 5, by_clip=True)] == ["a", "a", "b", "b", "b"]
    assert [e[2]["filename"] for e in _take(_entries(["b", "b", "b"]), 2, by_clip=True)] == ["b", "b"]
    assert [e[2]["filename"] for e in _take(queue, 4, by_clip=False)] == ["a", "a", "b", "b"]


def test_groups_are_runs_of_one_clip_with_its_audio():
    batch = _entries(["a", "a", "b"])
    groups = _groups(batch, ["A", "A", "B"], ["p0", "p1", "p2"])
    assert groups == [("A", ["p0", "p1"]), ("B", ["p2"])]


def test_a_clip_and_its_silenced_copy_are_different_groups():
    batch = _entries(["a"]) + _entries(["a"], view="silence")
    assert _groups(batch, ["A", "0"], ["p0", "p1"]) == [("A", ["p0"]), ("0", ["p1"])]


def test_views_sharing_the_audio_prefix_are_answered_together_and_equal_separate_runs(runners, demo_build, tmp_path):
    from tacos_temporal.harness.runner import evaluate_views

    runner = runners["qwen2_audio"]
    views = ("audio_only", "audio_caption", "silence", "caption_only")
    joint = evaluate_views(
        [(RunConfig(model="q", mode="logprob", view=view, batch_size=6), tmp_path / "joint" / view) for view in views],
        data=demo_build.out_dir, runner=runner, progress=False,
    )
    by_view = dict(zip(views, joint))
    assert by_view["audio_only"].results["tacos_temporal"]["answered_jointly_with_views"] == ["audio_caption", "silence"]
    assert by_view["caption_only"].results["tacos_temporal"]["answered_jointly_with_views"] == []
    for view in views:
        alone = _run(runners, "qwen2_audio", demo_build, tmp_path, mode="logprob", view=view, batch_size=6)
        for a, b in zip(by_view[view].records, alone.records):
            assert (a["id"], a["letter"], a["cache_key"]) == (b["id"], b["letter"], b["cache_key"])
            for letter in LETTERS:
                assert a["logprobs"][letter] == pytest.approx(b["logprobs"][letter], abs=2e-5)
