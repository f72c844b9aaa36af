"""The main job on the demo corpus: `tacos-temporal demo` end to end, offline (run once per module)."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest

from tacos_temporal import cli
from tacos_temporal.errors import BuildError
from tacos_temporal.names import ALL_VIEWS, LETTERS, VIEW_TITLES, VIEWS
from tacos_temporal.pipeline import run_demo


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo") / "run"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert cli.main(["demo", "--out", str(out), "--quiet"]) == 0
    return out, printed.getvalue()


def _total(out: Path) -> int:
    return json.loads((out / "dataset" / "build_report.json").read_text())["total"]


def test_demo_builds_and_loads_every_view(demo_run):
    out, text = demo_run
    total = _total(out)
    counts = json.loads((out / "dataset" / "build_report.json").read_text())["counts"]
    assert all(n >= 3 for n in counts.values())
    for view in VIEWS:
        assert f"load_dataset(..., {view!r}): {total} rows" in text
    assert "first clip decodes" in text
    assert (out / "release" / "audio.zip").is_file() and (out / "dataset" / "README.md").is_file()


def test_demo_scores_the_baselines_with_intervals(demo_run):
    out, text = demo_run
    total = _total(out)
    rows = dict(re.findall(r"^\s+(random|constant:[A-D])\s+([0-9.]+) \[", text, flags=re.M))
    assert set(rows) == {"random", *(f"constant:{x}" for x in LETTERS)}
    # every item has exactly one answer letter, so the four constant baselines share the items
    assert round(sum(float(rows[f"constant:{x}"]) for x in LETTERS) * total) == total


def _samples(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "samples.jsonl").read_text(encoding="utf-8").splitlines()]


def test_demo_evaluates_the_untrained_tiny_model_on_every_view_in_logprob_mode(demo_run):
    out, text = demo_run
    assert "UNTRAINED random weights" in text and "caption reliance" in text and "answer mode logprob" in text
    for view in ALL_VIEWS:
        results = json.loads((out / "runs" / view / "results.json").read_text())
        backwards = json.loads((out / "dataset" / "build_report.json").read_text())["controls"]["time_reversed"]["total"]
        assert results["tacos_temporal"]["view"] == view
        assert results["tacos_temporal"]["n_items"] == (backwards if view == "time_reversed" else _total(out))
        samples = _samples(out / "runs" / view)
        # a letter for every item: chance-level letters, not parse failures
        assert all(r["mode"] == "logprob" and r["letter"] in LETTERS and r["rule"] == "logprob" for r in samples)
    assert json.loads((out / "tiny_qwen2_audio" / "tiny_model.json").read_text())["arch"] == "qwen2_audio"


def _row(text: str, label: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(f"| {label} |"))
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip()[1:-1])]


def test_demo_report_has_the_papers_table_shape_with_baselines_effects_and_examples(demo_run):
    out, _ = demo_run
    text = (out / "report" / "report.md").read_text(encoding="utf-8")
    assert "UNTRAINED random weights" in text
    # views x tasks with intervals; the "All tasks" cell recomputed from the run's own samples
    for view in ALL_VIEWS:
        samples = _samples(out / "runs" / view)
        row = _row(text, VIEW_TITLES[view])
        assert row[4].startswith(f"{100 * sum(r['correct'] for r in samples) / len(samples):.1f} [")
        assert all(re.fullmatch(r"\d+\.\d \[\d+\.\d, \d+\.\d\]", cell) for cell in row[1:5]), row
        assert row[5] == "0.0 %"
    for name in ("random", *(f"constant:{x}" for x in LETTERS)):
        assert _row(text, f"*baseline: {name}*")
    for effect in ("Caption reliance (CQA − AQA)", "Audio gain given the caption (ACQA − CQA)", "Audio over silence (AQA − silence)"):
        assert len(_row(text, effect)) == 5
    # the paper's protocol on a few items: the untrained model's text, which does not parse
    generated = _samples(out / "runs" / "audio_only_generate")
    failed = [r for r in generated if r["letter"] is None]
    assert generated and all(r["mode"] == "generate" for r in generated)
    assert f"{len(failed)} of {len(generated)} answers gave no letter" in text
    for record in failed[:2]:
        assert _row(text, f"`{record['id']}`")[-1].startswith("`")
    assert "## The paper's numbers, for scale" in text and "| Qwen2-Audio | 30.9 / 28.1 / 32.5 |" in text
    for name in ("report.md", "scores.json", "accuracy_by_task.png", "letter_distribution.png"):
        assert (out / "report" / name).stat().st_size > 0
    assert "![Accuracy by view and task](accuracy_by_task.png)" in text and "![Letter distribution](letter_distribution.png)" in text


def test_demo_refuses_to_overwrite_without_the_flag(demo_run):
    out, _ = demo_run
    with pytest.raises(BuildError, match="--overwrite"):
        run_demo(out, progress=False)
