"""The report over a model's views (the demo's report): the paper's table shape with intervals, the
baselines beside it, the view effects, unparsed examples, extensible sections, and plots whose
labels and titles stay readable."""

from __future__ import annotations

import json
import re

import pytest

from tacos_temporal.names import ALL_VIEWS, LETTERS, TASKS, VIEW_TITLES
from tacos_temporal.scoring import report as report_module
from tacos_temporal.scoring.metrics import Judged, score, view_effects
from tacos_temporal.scoring.report import DEFAULT_SECTIONS, ViewsReport, write_report, write_views_report


def _judged(view: str, right_every: int) -> list[Judged]:
    """24 items, 8 per task; every ``right_every``-th answered right, the others a wrong letter."""
    out = []
    for i in range(24):
        answer = LETTERS[i % 4]
        letter = answer if i % right_every == 0 else LETTERS[(i + 1) % 4]
        out.append(Judged(f"item-{i}", TASKS[i % 3], answer, letter, "logprob", view))
    return out


@pytest.fixture
def views_report() -> ViewsReport:
    judged = {view: _judged(view, k) for view, k in zip(ALL_VIEWS, (2, 3, 1, 4))}
    baselines = {"random": score([Judged(j.id, j.task, j.answer, LETTERS[0], "baseline:random") for j in judged["audio_only"]])}
    return ViewsReport(
        title="A model on a benchmark",
        scores={view: score(items) for view, items in judged.items()},
        effects=view_effects(judged),
        baselines=baselines,
        notes=["The weights are RANDOM."],
        examples=[{"id": "EO-1", "view": "audio_only", "task": "earliest_onset", "options": ["Dog", "Cat", "Bird", "Car"],
                   "answer": "A", "output": "\x0e{Sa|`2q\n"}],
        examples_note="Generate mode on 1 item.",
        paper={"Some-LM": {"audio_only": {t: 50.0 for t in TASKS}, "silence": {t: 25.0 for t in TASKS}}},
        mode="logprob",
    )


def _table_row(text: str, label: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(f"| {label} |"))
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip()[1:-1])]


def test_views_table_has_one_row_per_view_with_intervals_and_the_baselines(views_report, tmp_path):
    files = write_views_report(views_report, tmp_path)
    text = files["report"].read_text(encoding="utf-8")
    assert text.startswith("# A model on a benchmark\n") and "**The weights are RANDOM.**" in text
    # audio_only: every 2nd item right -> 12 of 24 overall; per task 4 of 8 (items 0, 6, 12, 18 are EO...)
    audio = _table_row(text, VIEW_TITLES["audio_only"])
    assert audio[4].startswith("50.0 [") and audio[5] == "0.0 %"
    for view in views_report.scores:  # the four views the fixture answered
        row = _table_row(text, VIEW_TITLES[view])
        assert len(row) == 6 and all("[" in cell for cell in row[1:5])
    # audio_caption answered everything right
    assert _table_row(text, VIEW_TITLES["audio_caption"])[4].startswith("100.0 [")
    baseline = _table_row(text, "*baseline: random*")
    assert baseline[4].startswith("25.0 [")  # constant A: one answer in four is A
    assert "![Accuracy by view and task](accuracy_by_task.png)" in text


def test_effects_are_differences_of_the_view_accuracies(views_report, tmp_path):
    text = write_views_report(views_report, tmp_path)["report"].read_text(encoding="utf-8")
    s = views_report.scores
    reliance = _table_row(text, "Caption reliance (CQA − AQA)")
    assert reliance[4] == f"{100 * (s['caption_only']['accuracy'] - s['audio_only']['accuracy']):+.1f}" == "-16.7"  # 8/24 - 12/24
    assert _table_row(text, "Audio gain given the caption (ACQA − CQA)")[4] == "+66.7"  # 24/24 - 8/24
    assert _table_row(text, "Audio over silence (AQA − silence)")[4] == "+25.0"  # 12/24 - 6/24


def test_unparsed_examples_are_shown_escaped_inside_the_table(views_report, tmp_path):
    text = write_views_report(views_report, tmp_path)["report"].read_text(encoding="utf-8")
    row = _table_row(text, "`EO-1`")
    assert row[-1] == "`\\u000e{Sa\\|'2q\\n`"  # control characters escaped, no raw | or backtick
    assert "A: Dog / B: Cat / C: Bird / D: Car" in row
    assert "Generate mode on 1 item." in text


def test_without_unparsed_answers_the_section_says_so(views_report, tmp_path):
    views_report.examples = []
    text = write_views_report(views_report, tmp_path)["report"].read_text(encoding="utf-8")
    assert "None: every answer gave a letter." in text


def test_the_papers_numbers_are_shown_for_scale(views_report, tmp_path):
    text = write_views_report(views_report, tmp_path)["report"].read_text(encoding="utf-8")
    assert _table_row(text, "Some-LM") == ["Some-LM", "50.0 / 50.0 / 50.0", "25.0 / 25.0 / 25.0"]


def test_sections_and_baseline_rows_can_be_added(views_report, tmp_path):
    views_report.baselines["reversed audio"] = views_report.scores["silence"]

    def controls(report, out):
        return ["## Controls", "", f"{len(report.baselines)} rows beside the model.", ""]

    files = write_views_report(views_report, tmp_path, sections=[*DEFAULT_SECTIONS, controls])
    text = files["report"].read_text(encoding="utf-8")
    assert text.rstrip().endswith("2 rows beside the model.")
    assert _table_row(text, "*baseline: reversed audio*")[4].startswith("25.0 [")
    saved = json.loads(files["scores"].read_text())
    assert set(saved) == {"views", "effects", "baselines"} and set(saved["baselines"]) == {"random", "reversed audio"}
    assert {name for name in files} == {"report", "scores", "accuracy_by_task", "letter_distribution"}


@pytest.fixture
def figures(monkeypatch):
    """The figures the report saves (saving still happens)."""
    seen = []
    original = report_module._save_png

    def keep(fig, path):
        seen.append(fig)
        return original(fig, path)

    monkeypatch.setattr(report_module, "_save_png", keep)
    return seen


def _label_and_whisker_tops(fig):
    ax = fig.axes[0]
    whiskers = []
    for collection in ax.collections:
        for segment in collection.get_segments():
            if len(segment) == 2 and segment[0][0] == segment[1][0]:  # a vertical error bar
                whiskers.append((segment[0][0], max(segment[0][1], segment[1][1])))
    labels = [(text.get_position()[0], text.get_position()[1]) for text in ax.texts]
    return labels, whiskers


@pytest.mark.parametrize("kind", ["views", "single"])
def test_value_labels_sit_above_their_interval_and_bars_are_drawn(kind, views_report, figures, tmp_path):
    if kind == "views":
        write_views_report(views_report, tmp_path)
    else:
        write_report(views_report.scores["audio_only"], tmp_path, title="t")
    fig = figures[0]
    labels, whiskers = _label_and_whisker_tops(fig)
    assert labels and len(labels) == len(whiskers)
    for x, y in labels:
        top = next(top for wx, top in whiskers if abs(wx - x) < 1e-9)
        assert y > top, "a label crossed by its whisker"
    bars = [patch for patch in fig.axes[0].patches]
    assert bars and all(bar.get_linewidth() > 0 for bar in bars)  # a 0 % bar still shows its edge


def test_plot_titles_fit_inside_the_figure(views_report, figures, tmp_path):
    views_report.title = "Demo: a tiny untrained audio-language model on the synthetic demo benchmark, every view"
    write_views_report(views_report, tmp_path)
    assert len(figures) == 2
    for fig in figures:
        fig.canvas.draw()
        box = fig.axes[0].title.get_window_extent()
        assert box.x0 >= 0 and box.x1 <= fig.bbox.width, fig.axes[0].title.get_text()



def test_controls_of_a_view_are_shown_beside_its_accuracy(views_report, tmp_path):
    audio = dict(views_report.scores["audio_only"])
    audio.update({"presence_ceiling": 0.5, **{f"presence_ceiling_{t}": 0.5 for t in TASKS}})
    views_report.scores["audio_only"] = audio
    text = write_views_report(views_report, tmp_path)["report"].read_text(encoding="utf-8")
    assert text.count("## Controls\n") == 1 and text.count("presence-only ceiling**") == 1  # the intro once
    assert f"### {VIEW_TITLES['audio_only']}\n" in text
    assert f"### {VIEW_TITLES['caption_only']}\n" not in text  # no controls computed there
    row = _table_row(text, "All items")
    assert row[1] == "50.0 %" and row[2] == "50.0 %"  # the model's 12/24 beside the ceiling of 0.5
