"""Human-readable output of :func:`~tacos_temporal.scoring.metrics.score`: Markdown, PNG, terminal.

:func:`write_report` writes ``report.md`` and two plots into a folder; :func:`format_table` and
:func:`format_comparison` give plain-text tables for a terminal.  All of them read only the flat
dicts of :func:`~tacos_temporal.scoring.metrics.score` and
:func:`~tacos_temporal.scoring.metrics.compare`, so a saved ``scores.json`` can be reported again.

Plots are drawn on matplotlib's Agg canvas directly (``Figure`` + ``FigureCanvasAgg``), so writing
a report never switches the pyplot backend of the calling program.  Every file is written to a
temporary file in the target folder and moved into place with :func:`os.replace`, so a reader
never sees a half-written report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tacos_temporal.errors import ScoringError
from tacos_temporal.files import atomic_write, atomic_write_text
from tacos_temporal.names import (
    ALL_VIEWS,
    CHANCE,
    EARLIEST_ONSET,
    LATEST_OFFSET,
    LETTERS,
    LONGEST_DURATION,
    TASK_TITLES,
    TASKS,
    VIEW_TITLES,
)
from tacos_temporal.scoring.metrics import NONE_LETTER

__all__ = ["DEFAULT_SECTIONS", "ViewsReport", "format_comparison", "format_consistency", "format_controls", "format_table", "write_report", "write_views_report"]

REPORT_FILE = "report.md"
ACCURACY_PLOT = "accuracy_by_task.png"
LETTER_PLOT = "letter_distribution.png"


# --- small formatting helpers -----------------------------------------------------------------


def _pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{100.0 * value:.{digits}f} %"


def _ci(scores: Mapping, key: str) -> str:
    low, high = scores.get(f"{key}_ci_low"), scores.get(f"{key}_ci_high")
    if low is None or high is None:
        return "—"
    return f"[{100.0 * low:.1f}, {100.0 * high:.1f}]"


def _level(scores: Mapping) -> str:
    return f"{100.0 * float(scores.get('confidence', 0.95)):g} %"


def _check_scores(scores: Mapping) -> None:
    if not isinstance(scores, Mapping):
        raise ScoringError(f"scores is {type(scores).__name__}: pass the dict returned by score()")
    for key in ("n", "accuracy", "accuracy_macro"):
        if key not in scores:
            raise ScoringError(f"scores has no {key!r}: pass the dict returned by score()")


def _check_comparison(comparison: Mapping) -> None:
    if not isinstance(comparison, Mapping):
        raise ScoringError(f"comparison is {type(comparison).__name__}: pass the dict returned by compare()")
    for key in ("n", "accuracy_baseline", "accuracy_other", "net_change"):
        if key not in comparison:
            raise ScoringError(f"comparison has no {key!r}: pass the dict returned by compare()")


def _tasks(scores: Mapping) -> list[str]:
    return [t for t in TASKS if f"accuracy_{t}" in scores]


def _views(scores: Mapping) -> list[str]:
    return [v for v in ALL_VIEWS if f"accuracy_{v}" in scores]


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    align = ["---"] + ["---:"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = lambda row: "  ".join(  # noqa: E731
        (str(c).ljust(w) if i == 0 else str(c).rjust(w)) for i, (c, w) in enumerate(zip(row, widths))
    )
    return "\n".join([fmt(header), "  ".join("-" * w for w in widths), *map(fmt, rows)])


# --- terminal tables --------------------------------------------------------------------------


def _score_rows(scores: Mapping) -> list[list[str]]:
    rows = []
    for task in _tasks(scores):
        rows.append([
            TASK_TITLES[task], str(scores[f"n_{task}"]), _pct(scores[f"accuracy_{task}"]),
            _ci(scores, f"accuracy_{task}"), _pct(scores.get(f"parse_failure_rate_{task}")),
        ])
    rows.append([
        "All items (micro)", str(scores["n"]), _pct(scores["accuracy"]), _ci(scores, "accuracy"),
        _pct(scores.get("parse_failure_rate")),
    ])
    rows.append([
        "Mean over tasks (macro)", str(scores["n"]), _pct(scores["accuracy_macro"]),
        _ci(scores, "accuracy_macro"), "",
    ])
    rows.append(["Chance", "", _pct(scores.get("chance", CHANCE)), "", ""])
    return rows


def format_table(scores: Mapping) -> str:
    """Plain-text table of :func:`~tacos_temporal.scoring.metrics.score`'s output for a terminal.

    Args:
        scores (`Mapping`): the dict returned by ``score()``.

    Returns:
        `str`: one row per task present, then micro, macro and chance rows, then per view.
    """
    _check_scores(scores)
    header = ["Task", "N", "Accuracy", f"{_level(scores)} CI", "Parse failures"]
    text = _text_table(header, _score_rows(scores))
    views = _views(scores)
    if views:
        view_rows = [
            [VIEW_TITLES[v], str(scores[f"n_{v}"]), _pct(scores[f"accuracy_{v}"]), _ci(scores, f"accuracy_{v}"),
             _pct(scores.get(f"parse_failure_rate_{v}"))]
            for v in views
        ]
        text += "\n\n" + _text_table(["View", "N", "Accuracy", f"{_level(scores)} CI", "Parse failures"], view_rows)
    controls = format_controls(scores)
    if controls:
        text += "\n\n" + controls
    return text + _missing_note(scores)


def _missing_note(scores: Mapping) -> str:
    """A line on items without any prediction (scored wrong, not parse failures), if there are any."""
    missing = scores.get("missing") or 0
    if not missing:
        return ""
    return (f"\n\nMissing: {missing} of {scores['n']} items ({_pct(scores['missing_rate'])}) have no prediction; "
            "they count as wrong and are not parse failures.")


# --- controls (scoring/controls.py): beside the model's accuracy, never instead of it ------------


def _controls_rows(scores: Mapping) -> tuple[list[str], list[list[str]]]:
    """Per task and overall: the model's accuracy beside the presence-only ceiling, the caption-order
    shortcut and chance (the columns the scores support)."""
    columns = [("accuracy", "Model")]
    if "presence_ceiling" in scores:
        columns.append(("presence_ceiling", "Presence-only ceiling (oracle)"))
    if "caption_order_accuracy" in scores:
        columns.append(("caption_order_accuracy", "Caption-order shortcut"))
    if "circular_accuracy" in scores:
        columns.append(("circular_accuracy", "Circular (strict)"))
    if len(columns) == 1:
        return [], []
    rows = [
        [TASK_TITLES[t], *(_pct(scores.get(f"{key}_{t}")) for key, _ in columns), _pct(scores.get("chance", CHANCE))]
        for t in _tasks(scores)
    ]
    rows.append(["All items", *(_pct(scores.get(key)) for key, _ in columns), _pct(scores.get("chance", CHANCE))])
    return ["Task", *(title for _, title in columns), "Chance"], rows


def _circular_rows(scores: Mapping) -> list[list[str]]:
    return [[f"rotation {k}", _pct(scores.get(f"accuracy_rotation_{k}"))] for k in range(len(LETTERS)) if f"accuracy_rotation_{k}" in scores]


def format_controls(scores: Mapping) -> str:
    """Plain-text tables of the controls in a scores dict (empty when it has none).

    Args:
        scores (`Mapping`): ``score()``'s dict updated with
            :func:`~tacos_temporal.scoring.controls.control_scores`.
    """
    header, rows = _controls_rows(scores)
    parts = []
    if rows:
        parts.append(_text_table(header, rows))
    if "circular_accuracy" in scores:
        parts.append(
            "circular: " + ", ".join(f"{label} {value}" for label, value in _circular_rows(scores))
            + f"; same label under all rotations {_pct(scores.get('circular_label_consistency'))}; letter-position bias "
            f"{_pct(scores.get('circular_position_bias'))} (" + ", ".join(f"{L} {_pct(scores.get(f'circular_pred_rate_{L}'))}" for L in LETTERS) + ")"
        )
    if "reversal_consistency" in scores:
        parts.append(format_consistency(scores))
    return "\n\n".join(parts)


def format_consistency(consistency: Mapping) -> str:
    """Plain-text tables of :func:`~tacos_temporal.scoring.controls.temporal_consistency`."""
    rows = []
    for task, pair in ((EARLIEST_ONSET, "EO on reversed = LO on original"), (LATEST_OFFSET, "LO on reversed = EO on original"), (LONGEST_DURATION, "LD on reversed = LD on original")):
        if f"reversal_consistency_{task}" in consistency:
            rows.append([pair, str(consistency[f"reversal_pairs_{task}"]), _pct(consistency[f"reversal_consistency_{task}"])])
    rows.append(["All pairs", str(consistency["reversal_pairs"]), _pct(consistency["reversal_consistency"])])
    text = (
        "Time-reversal control (a control, never the benchmark's score: reversed sounds are unnatural). Same label on "
        f"both sides; a uniform guess agrees {_pct(consistency.get('reversal_chance', CHANCE))} of the time.\n"
        + _text_table(["Pair", "N", "Same label"], rows)
    )
    n = consistency.get("reversal_diagnostic_n", 0)
    if n:
        kinds = [
            ("follows the timeline (reversed answer = original answer to the mirrored question)", "reversal_follows_timeline"),
            ("ignores time (same label to the same question both ways)", "reversal_ignores_time"),
            ("question-blind (same label whatever is asked)", "reversal_question_blind"),
            ("other (neither, or no answer)", "reversal_other"),
        ]
        text += (
            f"\n\nOn the {n} EO/LO answers of clips where both apply (different correct EO and LO labels):\n"
            + _text_table(["Answer on the reversed clip", "Share"], [[label, _pct(consistency.get(key))] for label, key in kinds])
        )
    return text


CONTROLS_INTRO = (
    "A model at or below the **presence-only ceiling** (an oracle that knows which options occur in the "
    "clip, not when) shows no use of timing. The **caption-order shortcut** answers from the caption's word "
    "order alone. **Circular (strict)** counts an item right only under all four option rotations. None of "
    "these is the benchmark's score."
)


def _controls_markdown(scores: Mapping, *, heading: str = "## Controls", intro: bool = True) -> list[str]:
    header, rows = _controls_rows(scores)
    if not rows and "reversal_consistency" not in scores:
        return []
    lines = [heading, ""]
    if rows:
        lines += [*([CONTROLS_INTRO, ""] if intro else []), *_md_table(header, rows), ""]
    if "circular_accuracy" in scores:
        lines += [
            f"Circular evaluation of {scores.get('circular_n')} items: the same label under all four rotations on "
            f"{_pct(scores.get('circular_label_consistency'))} of them. Each option sits at each letter once, so the "
            f"predicted letters would be uniform without position bias; their distance from uniform is "
            f"{_pct(scores.get('circular_position_bias'))} (0 = none, 75 % = always one letter).",
            "",
            *_md_table(["Rotation", "Accuracy"], _circular_rows(scores)),
            "",
            *_md_table(["Letter", "Predicted (all rotations)"], [[L, _pct(scores.get(f"circular_pred_rate_{L}"))] for L in LETTERS]),
            "",
        ]
    if "reversal_consistency" in scores:
        level = len(heading) - len(heading.lstrip("#")) + 1  # one level below ``heading``
        lines += ["#" * level + " Time-reversal consistency", "", "```", format_consistency(scores), "```", ""]
    return lines


def _comparison_rows(cmp: Mapping) -> list[list[str]]:
    rows = []
    for label, suffix in [*((TASK_TITLES[t], f"_{t}") for t in TASKS if f"n_{t}" in cmp), ("All items", "")]:
        rows.append([
            label, str(cmp[f"n{suffix}"]), _pct(cmp[f"accuracy_baseline{suffix}"]),
            _pct(cmp[f"accuracy_other{suffix}"]), f"{100.0 * cmp[f'net_change{suffix}']:+.1f} pts",
            str(cmp.get(f"n_fixed{suffix}", "")), str(cmp.get(f"n_broken{suffix}", "")),
            _pct(cmp.get(f"fix_rate{suffix}")), _pct(cmp.get(f"break_rate{suffix}")),
            f"{cmp[f'mcnemar_p{suffix}']:.3g}" if f"mcnemar_p{suffix}" in cmp else "—",
        ])
    return rows


_COMPARISON_HEADER = ["Task", "N", "Baseline", "Other", "Net change", "Fixed", "Broken",
                      "Fix rate", "Break rate", "McNemar p"]


def format_comparison(cmp: Mapping) -> str:
    """Plain-text table of :func:`~tacos_temporal.scoring.metrics.compare`'s output.

    Args:
        cmp (`Mapping`): the dict returned by ``compare()``.

    Returns:
        `str`: one row per task present and one for all items.
    """
    _check_comparison(cmp)
    return _text_table(_COMPARISON_HEADER, _comparison_rows(cmp))


# --- Markdown ----------------------------------------------------------------------------------


def _markdown(scores: Mapping, title: str, comparison: Mapping | None) -> str:
    level = _level(scores)
    chance = scores.get("chance", CHANCE)
    lines = [
        f"# {title}",
        "",
        f"**How to read this:** accuracy is the share of the {scores['n']} questions answered with the "
        f"correct letter; an answer no letter could be read from (a parse failure) counts as wrong. "
        f"Brackets are {level} confidence intervals (Wilson score; the macro mean over tasks uses "
        f"MOVER-Wilson). Chance with four options is {_pct(chance)}: an interval that contains "
        f"{_pct(chance)} is not distinguishable from guessing.",
        "",
        "## Overall and per task",
        "",
        *_md_table(["Task", "N", "Accuracy", f"{level} CI", "Parse failures"], _score_rows(scores)),
        "",
        f"Chance level: {_pct(chance)} (one of {len(LETTERS)} options).{_missing_note(scores)}",
        "",
        f"![Accuracy by task]({ACCURACY_PLOT})",
        "",
    ]
    views = _views(scores)
    if views:
        tasks = [t for t in TASKS if any(f"accuracy_{v}_{t}" in scores for v in views)]
        rows = []
        for v in views:
            row = [VIEW_TITLES[v], str(scores[f"n_{v}"]), _pct(scores[f"accuracy_{v}"]), _ci(scores, f"accuracy_{v}")]
            row += [_pct(scores.get(f"accuracy_{v}_{t}")) for t in tasks]
            row.append(_pct(scores.get(f"parse_failure_rate_{v}")))
            rows.append(row)
        header = ["View", "N", "Accuracy", f"{level} CI", *(TASK_TITLES[t] for t in tasks), "Parse failures"]
        lines += ["## Per view", "", *_md_table(header, rows), ""]

    n = scores["n"]
    letter_rows = [
        [L, _pct(scores.get(f"pred_rate_{L}")), _pct(scores[f"n_answer_{L}"] / n) if f"n_answer_{L}" in scores else "—"]
        for L in LETTERS
    ]
    letter_rows.append([f"{NONE_LETTER} (parse failure)", _pct(scores.get(f"pred_rate_{NONE_LETTER}")), "—"])
    position_rows = [
        [L, str(scores.get(f"n_answer_{L}", 0)), _pct(scores.get(f"accuracy_answer_{L}"))] for L in LETTERS
    ]
    lines += [
        "## Predicted letters",
        "",
        "A model that prefers one letter shows a predicted share far from the answer share.",
        "",
        *_md_table(["Letter", "Predicted", "Answer"], letter_rows),
        "",
        f"![Letter distribution]({LETTER_PLOT})",
        "",
        "## Accuracy by answer position",
        "",
        *_md_table(["Answer", "N", "Accuracy"], position_rows),
        "",
    ]
    lines += _controls_markdown(scores)
    if comparison is not None:
        lines += [
            "## Comparison with the baseline",
            "",
            "Paired on the same items: *fixed* = wrong in the baseline and right here, *broken* = the "
            "reverse; the p-value is the exact McNemar test on fixed vs broken.",
            "",
            *_md_table(_COMPARISON_HEADER, _comparison_rows(comparison)),
            "",
        ]
    return "\n".join(lines)


# --- plots -------------------------------------------------------------------------------------


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=150, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _wrap_title(title: str, fig) -> str:
    """``title`` broken into lines that fit the figure's width (about 11 characters per inch at 10 pt)."""
    import textwrap

    return textwrap.fill(title, width=max(30, int(fig.get_figwidth() * 11)))


def _save_png(fig, path: Path) -> Path:
    return atomic_write(path, lambda fh: fig.savefig(fh, format="png"))


def _accuracy_plot(scores: Mapping, title: str, path: Path) -> Path:
    import numpy as np

    tasks = _tasks(scores)
    groups = [(TASK_TITLES[t], f"_{t}") for t in tasks] + [("All items", "")]
    views = _views(scores)
    # One bar per group, or one bar per view within each group when several views were scored.
    series = [(VIEW_TITLES[v], f"accuracy_{v}") for v in views] if views else [(None, "accuracy")]
    fig = _figure(max(6.0, 1.6 * len(groups) * max(1, len(series) / 2)), 4.2)
    ax = fig.add_subplot()
    width = 0.8 / len(series)
    x = np.arange(len(groups))
    colors = ["#3b75af", "#ef8636", "#519e3e", "#8d69b8", "#8c8c8c", "#c44e52"]  # one per view (time_reversed: grey)
    for s, (label, prefix) in enumerate(series):
        values, low, high = [], [], []
        for _, suffix in groups:
            key = prefix + suffix
            value = scores.get(key)
            values.append(np.nan if value is None else 100.0 * value)
            low.append(0.0 if value is None else 100.0 * (value - scores.get(f"{key}_ci_low", value)))
            high.append(0.0 if value is None else 100.0 * (scores.get(f"{key}_ci_high", value) - value))
        pos = x - 0.4 + width * (s + 0.5)
        color = colors[s % len(colors)]
        # A thin edge in the bar's own colour keeps a bar of 0 % visible as a line on the axis.
        ax.bar(pos, values, width * 0.92, yerr=[low, high], capsize=3, label=label,
               color=color, edgecolor=color, linewidth=1.0, ecolor="#333333", error_kw={"elinewidth": 1.0})
        # Each value sits just above the top of its interval, so no whisker crosses it.
        for p, v, up in zip(pos, values, high):
            if not np.isnan(v):
                ax.text(p, v + up + 1.0, f"{v:.0f}" if len(series) > 2 else f"{v:.1f}", ha="center", va="bottom",
                        fontsize=7 if len(series) > 2 else 8, color="#222222")
    chance = 100.0 * scores.get("chance", CHANCE)
    ax.axhline(chance, color="#b22222", linestyle="--", linewidth=1.2, label=f"chance ({chance:.0f} %)")
    _ceiling_marks(ax, scores, groups, x)
    ax.set_xticks(x, [g for g, _ in groups])
    ax.set_ylim(0, 112)
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel(f"accuracy (%), {_level(scores)} CI")
    ax.set_title(_wrap_title(title, fig), fontsize=10)
    # Below the axes, so that no bar or interval is hidden behind it.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=len(series) + 1, fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _save_png(fig, path)


def _ceiling_marks(ax, scores: Mapping, groups: list, x) -> None:
    """The presence-only ceiling of each group as a dotted mark across its bars (when scored)."""
    if "presence_ceiling" not in scores:
        return
    for i, (_, suffix) in enumerate(groups):
        value = scores.get(f"presence_ceiling{suffix}")
        if value is not None:
            ax.hlines(100.0 * value, x[i] - 0.45, x[i] + 0.45, colors="#222222", linestyles=":", linewidth=1.6,
                      label="presence-only ceiling (oracle)" if i == 0 else None)


def _letter_plot(scores: Mapping, title: str, path: Path) -> Path:
    import numpy as np

    labels = [*LETTERS, NONE_LETTER]
    n = scores["n"]
    predicted = [100.0 * scores.get(f"pred_rate_{L}", 0.0) for L in labels]
    answers = [100.0 * scores.get(f"n_answer_{L}", 0) / n for L in LETTERS] + [0.0]
    fig = _figure(6.0, 3.8)
    ax = fig.add_subplot()
    x = np.arange(len(labels))
    b1 = ax.bar(x - 0.2, predicted, 0.4, label="predicted", color="#3b75af")
    b2 = ax.bar(x + 0.2, answers, 0.4, label="correct answer", color="#bbbbbb")
    ax.bar_label(b1, labels=[f"{v:.0f}" for v in predicted], padding=2, fontsize=8)
    ax.bar_label(b2, labels=[f"{v:.0f}" for v in answers[:-1]] + [""], padding=2, fontsize=8)
    ax.axhline(100.0 / len(LETTERS), color="#b22222", linestyle="--", linewidth=1.0,
               label=f"uniform ({100.0 / len(LETTERS):.0f} %)")
    ax.set_xticks(x, [*LETTERS, "none\n(parse failure)"])
    ax.set_ylabel("share of items (%)")
    ax.set_ylim(0, max(105.0 / len(LETTERS), *predicted, *answers) * 1.15)
    ax.set_title(_wrap_title(f"Letter distribution: {title}", fig), fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=3, fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _save_png(fig, path)


def write_report(
    scores: Mapping,
    out_dir: str | Path,
    *,
    title: str,
    comparison: Mapping | None = None,
) -> dict[str, Path]:
    """Write ``report.md``, ``accuracy_by_task.png`` and ``letter_distribution.png`` into ``out_dir``.

    Args:
        scores (`Mapping`): the dict returned by :func:`~tacos_temporal.scoring.metrics.score`.
        out_dir (`str` or `Path`): folder to write into; created if missing, existing report
            files in it are replaced.
        title (`str`): heading of the report and of the plots (e.g. the model id and view).
        comparison (`Mapping`, *optional*, defaults to `None`): the dict returned by
            :func:`~tacos_temporal.scoring.metrics.compare`; adds a comparison table.

    Returns:
        `dict[str, Path]`: ``{"report": ..., "accuracy_by_task": ..., "letter_distribution": ...}``.
    """
    _check_scores(scores)
    if comparison is not None:
        _check_comparison(comparison)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    text = _markdown(scores, title, comparison)
    return {
        "report": atomic_write_text(out / REPORT_FILE, text),
        "accuracy_by_task": _accuracy_plot(scores, title, out / ACCURACY_PLOT),
        "letter_distribution": _letter_plot(scores, title, out / LETTER_PLOT),
    }


# --- a model's report over the views: a list of sections -------------------------------------------
#
# ``write_views_report`` writes what the paper reports for one model (views x tasks with intervals,
# the silence control, caption reliance and audio gain) beside the trivial baselines, with plots.
# The report is a list of *sections*: functions ``(report, out_dir) -> list[str]`` returning Markdown
# lines (and writing any plot they show into ``out_dir``).  Add a section by passing
# ``sections=[*DEFAULT_SECTIONS, my_section]``; add rows beside the baselines through
# ``ViewsReport.baselines`` (any name -> a ``score()`` dict).

VIEW_SHORT = {"audio_only": "AQA", "caption_only": "CQA", "audio_caption": "ACQA", "silence": "Silence"}
SCORES_FILE = "scores.json"


@dataclass
class ViewsReport:
    """What a report over a model's views shows; every section reads what it needs from it.

    Args:
        title (`str`): the report's heading (model and data).
        scores (`dict[str, Mapping]`): view -> :func:`~tacos_temporal.scoring.metrics.score` of that view's run.
        effects (`Mapping`, *optional*): :func:`~tacos_temporal.scoring.metrics.view_effects` of the views.
        baselines (`dict[str, Mapping]`): name -> ``score()`` of a baseline on the same items, shown beside the model.
        notes (`list[str]`): caveats shown in bold at the top (e.g. that the weights are random).
        examples (`list[dict]`): answers that failed to parse (``view``, ``id``, ``task``, ``options``,
            ``answer``, ``output``), shown as they came out of the model.
        examples_note (`str`): where the examples come from (mode, number of items).
        paper (`dict`, *optional*): the paper's accuracy in percent, ``{model: {view: {task: value}}}``.
        mode (`str`): the answer mode of the runs (``generate`` or ``logprob``).
    """

    title: str
    scores: dict[str, Mapping]
    effects: Mapping | None = None
    baselines: dict[str, Mapping] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    examples: list[dict] = field(default_factory=list)
    examples_note: str = ""
    paper: dict | None = None
    mode: str = "generate"

    def views(self) -> list[str]:
        return [v for v in ALL_VIEWS if v in self.scores]

    def pooled(self) -> dict:
        """One flat dict with ``accuracy_<view>[_<task>]`` (+ ci) keys: what the plots read."""
        out: dict = {"n": sum(s["n"] for s in self.scores.values()), "chance": CHANCE}
        first = next(iter(self.scores.values()))
        out["confidence"] = first.get("confidence", 0.95)
        for task in TASKS:
            if any(f"accuracy_{task}" in s for s in self.scores.values()):
                out[f"accuracy_{task}"] = None
        for view, s in self.scores.items():
            for key in ("accuracy", *(f"accuracy_{t}" for t in TASKS)):
                if key in s:
                    name = key.replace("accuracy", f"accuracy_{view}", 1)
                    out[name] = s[key]
                    for side in ("ci_low", "ci_high"):
                        out[f"{name}_{side}"] = s[f"{key}_{side}"]
        return out


ReportSection = Callable[[ViewsReport, Path], list[str]]


def _cell(scores: Mapping, key: str) -> str:
    if key not in scores:
        return "—"
    return f"{100.0 * scores[key]:.1f} {_ci(scores, key)}"


def _task_header(report: ViewsReport) -> list[str]:
    return [TASK_TITLES[t] for t in TASKS] + ["All tasks"]


def _task_cells(scores: Mapping) -> list[str]:
    return [_cell(scores, f"accuracy_{t}") for t in TASKS] + [_cell(scores, "accuracy")]


def section_intro(report: ViewsReport, out: Path) -> list[str]:
    """Title, caveats and how to read the numbers."""
    first = next(iter(report.scores.values()))
    lines = [f"# {report.title}", ""]
    lines += [f"**{note}**\n" for note in report.notes]
    how = ("the letter with the highest next-token log-probability is the answer (no text is parsed)"
           if report.mode == "logprob" else "the model's greedy free-text answer is parsed; an unparsable answer counts as wrong")
    lines += [
        f"**How to read this:** accuracy in %, with {_level(first)} Wilson intervals in brackets, over "
        f"{first['n']} four-option questions per view; answer mode `{report.mode}`: {how}. Chance is "
        f"{_pct(CHANCE)}: an interval containing it is not distinguishable from guessing.",
        "",
    ]
    return lines


def section_views(report: ViewsReport, out: Path) -> list[str]:
    """The paper's table: one row per view, one column per task, the baselines beside it."""
    header = ["View", *_task_header(report), "Parse failures"]
    rows = [[f"{VIEW_TITLES[v]}", *_task_cells(report.scores[v]), _pct(report.scores[v].get("parse_failure_rate"))]
            for v in report.views()]
    rows += [[f"*baseline: {name}*", *_task_cells(s), "—"] for name, s in report.baselines.items()]
    plot = _accuracy_plot(report.pooled(), f"{report.title}: accuracy by view and task", out / ACCURACY_PLOT)
    return [
        "## Accuracy by view and task",
        "",
        "The views of the paper: the clip alone (AQA), its caption alone (CQA), both (ACQA), and the "
        "silence control (the clip replaced by zeros of the same length: what the model answers without "
        "hearing anything). The baselines answer without looking at the input.",
        "",
        *_md_table(header, rows),
        "",
        f"![Accuracy by view and task]({plot.name})",
        "",
    ]


def section_effects(report: ViewsReport, out: Path) -> list[str]:
    """Caption reliance, audio gain given the caption, the silence control and view agreement."""
    eff = report.effects
    if not eff:
        return []
    scores = report.scores
    rows = []

    def diff_row(label: str, a: str, b: str) -> list[str] | None:
        if a not in scores or b not in scores:
            return None
        cells = [f"{100.0 * (scores[a][f'accuracy_{t}'] - scores[b][f'accuracy_{t}']):+.1f}"
                 if f"accuracy_{t}" in scores[a] and f"accuracy_{t}" in scores[b] else "—" for t in TASKS]
        return [label, *cells, f"{100.0 * (scores[a]['accuracy'] - scores[b]['accuracy']):+.1f}"]

    for label, a, b in (
        ("Caption reliance (CQA − AQA)", "caption_only", "audio_only"),
        ("Audio gain given the caption (ACQA − CQA)", "audio_caption", "caption_only"),
        ("Audio over silence (AQA − silence)", "audio_only", "silence"),
    ):
        row = diff_row(label, a, b)
        if row is not None:
            rows.append(row)
    agreement = [(k, v) for k, v in eff.items() if k.startswith("agreement_") and not k.endswith(TASKS)]
    lines = [
        "## What each view adds",
        "",
        "Differences of accuracy in points, on the same items. A model that uses the audio scores above "
        "the silence control; caption reliance above zero means the caption text answers better than the sound.",
        "",
        *_md_table(["Effect", *_task_header(report)], rows),
        "",
    ]
    if agreement:
        lines += ["Same letter in both views (a parse failure counts as its own answer): " + ", ".join(
            f"{VIEW_SHORT.get(a, a)}/{VIEW_SHORT.get(b, b)} {_pct(v)}"
            for (k, v) in agreement for a, b in [k[len("agreement_"):].split("__")]) + ".", ""]
    return lines


def section_letters(report: ViewsReport, out: Path) -> list[str]:
    """Predicted-letter shares per view beside the answer shares (position bias shows here)."""
    views = report.views()
    first = report.scores[views[0]]
    rows = []
    for letter in (*LETTERS, NONE_LETTER):
        answer = _pct(first[f"n_answer_{letter}"] / first["n"]) if f"n_answer_{letter}" in first else "—"
        label = f"{letter} (parse failure)" if letter == NONE_LETTER else letter
        rows.append([label, *(_pct(report.scores[v].get(f"pred_rate_{letter}")) for v in views), answer])
    plot = _letter_plot(first, f"{report.title}, {VIEW_TITLES[views[0]]}", out / LETTER_PLOT)
    return [
        "## Predicted letters",
        "",
        "A model that prefers one letter shows predicted shares far from the answer shares.",
        "",
        *_md_table(["Letter", *(f"{VIEW_SHORT.get(v, v)} predicted" for v in views), "Answer"], rows),
        "",
        f"![Letter distribution]({plot.name})",
        "",
    ]


def _code(text: str, limit: int = 80) -> str:
    """``text`` as a Markdown code span: control characters escaped, ``|`` and backticks made safe."""
    import json

    escaped = json.dumps(text, ensure_ascii=False)[1:-1]
    if len(escaped) > limit:
        escaped = escaped[:limit] + "…"
    return "`" + escaped.replace("`", "'").replace("|", "\\|") + "`" if escaped else "*(empty)*"


def section_examples(report: ViewsReport, out: Path) -> list[str]:
    """A few raw outputs whose answer could not be read, as the model wrote them."""
    lines = ["## Answers that failed to parse", ""]
    if report.examples_note:
        lines += [report.examples_note, ""]
    if not report.examples:
        return lines + ["None: every answer gave a letter.", ""]
    rows = [[f"`{e['id']}`", VIEW_SHORT.get(e.get("view"), str(e.get("view"))), TASK_TITLES.get(e["task"], e["task"]),
             " / ".join(f"{letter}: {o}" for letter, o in zip(LETTERS, e.get("options") or [])), e["answer"], _code(e.get("output") or "")]
            for e in report.examples]
    return lines + [*_md_table(["Item", "View", "Task", "Options", "Answer", "Output"], rows), ""]


def section_paper(report: ViewsReport, out: Path) -> list[str]:
    """The paper's numbers for scale (accuracy in %, EO / LO / LD)."""
    if not report.paper:
        return []
    views = [v for v in ALL_VIEWS if any(v in by_view for by_view in report.paper.values())]
    rows = [[model, *(" / ".join(f"{by_view[v][t]:.1f}" for t in TASKS) if v in by_view else "—" for v in views)]
            for model, by_view in report.paper.items()]
    return [
        "## The paper's numbers, for scale",
        "",
        "Kulkarni et al., Interspeech 2026: accuracy in %, Earliest Onset / Latest Offset / Longest Duration, greedy decoding.",
        "",
        *_md_table(["Model", *(f"{VIEW_SHORT.get(v, v)}" for v in views)], rows),
        "",
    ]


def section_controls(report: ViewsReport, out: Path) -> list[str]:
    """Per view, the controls its scores carry (presence-only ceiling, caption-order shortcut,
    circular, time reversal) beside the model's accuracy; nothing when none was computed."""
    lines: list[str] = []
    for view in report.views():
        lines += _controls_markdown(report.scores[view], heading=f"### {VIEW_TITLES[view]}", intro=False)
    return ["## Controls", "", CONTROLS_INTRO, "", *lines] if lines else []


DEFAULT_SECTIONS: tuple[ReportSection, ...] = (
    section_intro, section_views, section_effects, section_controls, section_letters, section_examples, section_paper,
)


def write_views_report(report: ViewsReport, out_dir: str | Path, *, sections: Sequence[ReportSection] = DEFAULT_SECTIONS) -> dict[str, Path]:
    """Write ``report.md`` (one block per section), its plots and ``scores.json`` into ``out_dir``.

    Returns:
        `dict[str, Path]`: ``report``, ``scores`` and every PNG written, by file stem.
    """
    import json

    if not report.scores:
        raise ScoringError("a views report needs the scores of at least one view")
    for scores in [*report.scores.values(), *report.baselines.values()]:
        _check_scores(scores)
    import re

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    for section in sections:
        lines += section(report, out)
    text = "\n".join(lines).rstrip() + "\n"
    files = {"report": atomic_write_text(out / REPORT_FILE, text)}
    blob = {"views": report.scores, "effects": report.effects, "baselines": report.baselines}
    files["scores"] = atomic_write_text(out / SCORES_FILE, json.dumps(blob, indent=2) + "\n")
    for name in re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", text):  # the plots the sections show
        files[Path(name).stem] = out / name
    return files
