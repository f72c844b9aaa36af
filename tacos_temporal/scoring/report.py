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

from collections.abc import Mapping
from pathlib import Path

from tacos_temporal.errors import ScoringError
from tacos_temporal.files import atomic_write, atomic_write_text
from tacos_temporal.names import ALL_VIEWS, CHANCE, LETTERS, TASK_TITLES, TASKS, VIEW_TITLES
from tacos_temporal.scoring.metrics import NONE_LETTER

__all__ = ["format_comparison", "format_table", "write_report"]

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
    return text + _missing_note(scores)


def _missing_note(scores: Mapping) -> str:
    """A line on items without any prediction (scored wrong, not parse failures), if there are any."""
    missing = scores.get("missing") or 0
    if not missing:
        return ""
    return (f"\n\nMissing: {missing} of {scores['n']} items ({_pct(scores['missing_rate'])}) have no prediction; "
            "they count as wrong and are not parse failures.")


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
    colors = ["#3b75af", "#ef8636", "#519e3e", "#8d69b8"]
    for s, (label, prefix) in enumerate(series):
        values, low, high = [], [], []
        for _, suffix in groups:
            key = prefix + suffix
            value = scores.get(key)
            values.append(np.nan if value is None else 100.0 * value)
            low.append(0.0 if value is None else 100.0 * (value - scores.get(f"{key}_ci_low", value)))
            high.append(0.0 if value is None else 100.0 * (scores.get(f"{key}_ci_high", value) - value))
        pos = x - 0.4 + width * (s + 0.5)
        ax.bar(pos, values, width, yerr=[low, high], capsize=4, label=label,
               color=colors[s % len(colors)], ecolor="#333333")
        # Values sit at the foot of each bar, clear of the error bars.
        for p, v in zip(pos, values):
            if not np.isnan(v):
                inside = v >= 8.0
                ax.text(p, 1.5 if inside else v + 1.0, f"{v:.1f}", ha="center", va="bottom", fontsize=8,
                        color="white" if inside else "#222222", fontweight="bold" if inside else "normal")
    chance = 100.0 * scores.get("chance", CHANCE)
    ax.axhline(chance, color="#b22222", linestyle="--", linewidth=1.2, label=f"chance ({chance:.0f} %)")
    ax.set_xticks(x, [g for g, _ in groups])
    ax.set_ylim(0, 105)
    ax.set_ylabel(f"accuracy (%), {_level(scores)} CI")
    ax.set_title(title)
    # Below the axes, so that no bar or interval is hidden behind it.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=len(series) + 1, fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _save_png(fig, path)


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
    ax.set_title(f"{title}: letter distribution")
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
