"""The main job on the demo corpus: `tacos-temporal demo` end to end, offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from tacos_temporal import cli
from tacos_temporal.errors import BuildError
from tacos_temporal.names import VIEWS
from tacos_temporal.pipeline import run_demo


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("demo") / "run"
    return out, run_demo(out, progress=False)


def test_demo_builds_loads_and_scores_every_view(demo_run):
    out, summary = demo_run
    total = sum(summary["counts"].values())
    assert total > 0 and all(summary["counts"][task] >= 3 for task in summary["counts"])
    assert summary["rows"] == {view: total for view in VIEWS}
    for name, scores in summary["baselines"].items():
        assert scores["n"] == total
        assert scores["accuracy_ci_low"] <= scores["accuracy"] <= scores["accuracy_ci_high"], name
    # with balanced answer letters, the four constant baselines share the items between them
    constant_correct = sum(summary["baselines"][f"constant:{letter}"]["accuracy"] * total for letter in "ABCD")
    assert round(constant_correct) == total
    for path in summary["report"].values():
        assert Path(path).is_file() and Path(path).stat().st_size > 0
    assert (out / "dataset" / "README.md").is_file() and (out / "release" / "audio.zip").is_file()


def test_demo_refuses_to_overwrite_without_the_flag(demo_run):
    out, _ = demo_run
    with pytest.raises(BuildError, match="--overwrite"):
        run_demo(out, progress=False)


def test_demo_command_prints_the_summary(tmp_path, capsys):
    assert cli.main(["demo", "--out", str(tmp_path / "run"), "--quiet"]) == 0
    out = capsys.readouterr().out
    for view in VIEWS:
        assert f"load_dataset(..., {view!r})" in out
    assert "first clip decodes" in out and "constant:A" in out and "report:" in out
