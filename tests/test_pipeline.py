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
from tacos_temporal.names import ALL_VIEWS, LETTERS, VIEWS
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


def test_demo_evaluates_the_untrained_tiny_model_on_every_view(demo_run):
    out, text = demo_run
    assert "UNTRAINED random weights" in text and "caption reliance" in text
    for view in ALL_VIEWS:
        results = json.loads((out / "runs" / view / "results.json").read_text())
        backwards = json.loads((out / "dataset" / "build_report.json").read_text())["controls"]["time_reversed"]["total"]
        assert results["tacos_temporal"]["view"] == view
        assert results["tacos_temporal"]["n_items"] == (backwards if view == "time_reversed" else _total(out))
    assert json.loads((out / "tiny_qwen2_audio" / "tiny_model.json").read_text())["arch"] == "qwen2_audio"
    for name in ("report.md", "accuracy_by_task.png", "letter_distribution.png"):
        assert (out / "report" / name).stat().st_size > 0


def test_demo_refuses_to_overwrite_without_the_flag(demo_run):
    out, _ = demo_run
    with pytest.raises(BuildError, match="--overwrite"):
        run_demo(out, progress=False)
