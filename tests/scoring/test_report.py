"""Report writing: Markdown, PNG plots and terminal tables from score() / compare() dicts."""

from __future__ import annotations

import os

import pytest

from tacos_temporal.errors import ScoringError
from tacos_temporal.names import (
    AUDIO_CAPTION,
    AUDIO_ONLY,
    CAPTION_ONLY,
    EARLIEST_ONSET,
    LATEST_OFFSET,
    LETTERS,
    LONGEST_DURATION,
    TASK_TITLES,
    TASKS,
    VIEW_TITLES,
)
from tacos_temporal.scoring.metrics import Judged, compare, score
from tacos_temporal.files import atomic_write
from tacos_temporal.scoring.report import format_comparison, format_table, write_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXPECTED_FILES = {"report.md", "accuracy_by_task.png", "letter_distribution.png"}


def _judged(view=None, shift=0):
    """30 items, 10 per task; item i answers LETTERS[i % 4]; about 60 % right, a few failures."""
    out = []
    for i in range(30):
        answer = LETTERS[i % 4]
        if (i + shift) % 7 == 0:
            letter = None
        elif (i + shift) % 5 < 3:
            letter = answer
        else:
            letter = LETTERS[(i + 1) % 4]
        out.append(Judged(f"item-{i}", TASKS[i % 3], answer, letter, "none" if letter is None else "letter", view))
    return out


@pytest.fixture
def scores():
    return score(_judged())


def _check_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 1024
    import matplotlib.image

    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 300


def test_report_writes_markdown_and_two_readable_pngs(tmp_path, scores):
    paths = write_report(scores, tmp_path / "out", title="Tiny model, audio only")
    assert {p.name for p in paths.values()} == EXPECTED_FILES
    assert set(os.listdir(tmp_path / "out")) == EXPECTED_FILES  # no temporary file left behind
    _check_png(paths["accuracy_by_task"])
    _check_png(paths["letter_distribution"])


def test_report_markdown_names_every_task_chance_and_how_to_read(tmp_path, scores):
    text = write_report(scores, tmp_path, title="Tiny model")["report"].read_text(encoding="utf-8")
    assert text.startswith("# Tiny model\n")
    for task in TASKS:
        assert TASK_TITLES[task] in text
    assert "How to read this" in text
    assert "Chance level: 25.0 %" in text
    assert "| none (parse failure) |" in text
    assert "## Accuracy by answer position" in text
    assert "95 % CI" in text
    assert f"{100 * scores['accuracy']:.1f} %" in text
    assert "accuracy_by_task.png" in text and "letter_distribution.png" in text


def test_report_with_views_and_comparison(tmp_path):
    judged = _judged(AUDIO_ONLY) + _judged(CAPTION_ONLY, shift=2) + _judged(AUDIO_CAPTION, shift=3)
    cmp = compare(_judged(), _judged(shift=1))
    paths = write_report(score(judged), tmp_path, title="Three views", comparison=cmp)
    text = paths["report"].read_text(encoding="utf-8")
    assert "## Per view" in text
    for view in (AUDIO_ONLY, CAPTION_ONLY, AUDIO_CAPTION):
        assert VIEW_TITLES[view] in text
    assert "## Comparison with the baseline" in text and "McNemar" in text
    _check_png(paths["accuracy_by_task"])


def test_report_of_a_single_task_mentions_only_that_task(tmp_path):
    judged = [j for j in _judged() if j.task == LATEST_OFFSET]
    text = write_report(score(judged), tmp_path, title="LO only")["report"].read_text(encoding="utf-8")
    assert TASK_TITLES[LATEST_OFFSET] in text
    assert TASK_TITLES[EARLIEST_ONSET] not in text and TASK_TITLES[LONGEST_DURATION] not in text
    _check_png(tmp_path / "accuracy_by_task.png")


def test_report_replaces_an_earlier_report(tmp_path, scores):
    write_report(scores, tmp_path, title="first")
    write_report(scores, tmp_path, title="second")
    assert (tmp_path / "report.md").read_text(encoding="utf-8").startswith("# second")
    assert set(os.listdir(tmp_path)) == EXPECTED_FILES


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "report.md"
    target.write_text("old")

    def half_write(fh):
        fh.write(b"new, but incomp")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, half_write)
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["report.md"]


def test_report_rejects_something_that_is_not_a_score_dict(tmp_path, scores):
    with pytest.raises(ScoringError, match="score()"):
        write_report({"accuracy": 0.5}, tmp_path, title="x")
    with pytest.raises(ScoringError, match="compare()"):
        write_report(scores, tmp_path, title="x", comparison={"n": 3})
    assert os.listdir(tmp_path) == []


def test_format_table_lists_tasks_micro_macro_and_chance(scores):
    table = format_table(scores)
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["Task", "N", "Accuracy"]
    for task in TASKS:
        row = next(ln for ln in lines if ln.startswith(TASK_TITLES[task]))
        assert f"{100 * scores[f'accuracy_{task}']:.1f} %" in row
        assert str(scores[f"n_{task}"]) in row
    assert any(ln.startswith("All items (micro)") for ln in lines)
    assert any(ln.startswith("Mean over tasks (macro)") for ln in lines)
    assert any(ln.startswith("Chance") and "25.0 %" in ln for ln in lines)


def test_format_comparison_shows_signed_net_change():
    cmp = compare(_judged(), _judged(shift=1))
    text = format_comparison(cmp)
    assert f"{100 * cmp['net_change']:+.1f} pts" in text
    assert all(TASK_TITLES[t] in text for t in TASKS)
    assert "McNemar p" in text.splitlines()[0]
