"""The Hub dataset card: ``dataset_card.md`` (a template) rendered with a build's numbers.

The card's YAML ``configs:`` block is generated from :mod:`tacos_temporal.names` by
:func:`configs_yaml`; a test regenerates it and diffs it with the template, so the card can never
name a view the code does not write.  Placeholders ``{{name}}`` in the body are filled by
:func:`render_card`.
"""

from __future__ import annotations

import re
from importlib import resources

from ..names import CITATION, EXPECTED_COUNTS, SPLIT, STORED_VIEWS, TASK_CODES, TASK_TITLES, TASKS, TIME_REVERSED, VIEW_TITLES, VIEWS

TEMPLATE = "dataset_card.md"
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def configs_yaml(views=VIEWS) -> str:
    """The ``configs:`` block of the card: one config per view written, one ``test`` split each."""
    lines = ["configs:"]
    for index, view in enumerate(v for v in STORED_VIEWS if v in views):
        lines += [
            f"- config_name: {view}",
            "  data_files:",
            f"  - split: {SPLIT}",
            f"    path: data/{view}/{SPLIT}-*.parquet",
        ]
        if index == 0:
            lines.append("  default: true")
    return "\n".join(lines) + "\n"


#: The Hub's ``size_categories`` buckets (upper bounds, exclusive), as the dataset card metadata spec lists them.
SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"))


def size_category(rows: int) -> str:
    """The ``size_categories`` value of a dataset of ``rows`` rows per config (``16`` -> ``n<1K``)."""
    for bound, name in SIZE_CATEGORIES:
        if rows < bound:
            return name
    return "n>10M"


def card_template() -> str:
    return resources.files("tacos_temporal.data").joinpath(TEMPLATE).read_text(encoding="utf-8")


def _table(header: list[str], rows: list[list[object]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(out)


def render_card(report: dict) -> str:
    """The card of one build (``report`` is the content of ``build_report.json``)."""
    counts = report.get("counts", {})
    values = {
        "size_category": size_category(int(report.get("total", 0))),
        "citation": CITATION,
        "counts_table": _table(
            ["task", "code", "items", "in the paper"],
            [[TASK_TITLES[t], TASK_CODES[t], counts.get(t, 0), EXPECTED_COUNTS[t]] for t in TASKS]
            + [["**total**", "", report.get("total", 0), sum(EXPECTED_COUNTS.values())]],
        ),
        "views_table": _table(["config", "view"], [[f"`{v}`", VIEW_TITLES[v]] for v in STORED_VIEWS if v in (report.get("views") or VIEWS)]),
        "controls_table": _controls_table(report),
        "build_table": _table(
            ["field", "value"],
            [
                ["benchmark version", report.get("benchmark_version", "")],
                ["package version", report.get("package_version", "")],
                ["option seed", report.get("seed", "")],
                ["event source", f"`{report.get('sources', {}).get('events', {}).get('path', '')}`"],
                ["event source sha256", f"`{report.get('sources', {}).get('events', {}).get('sha256', '')}`"],
                ["annotation rows skipped", report.get("annotations", {}).get("rows_skipped", 0)],
                ["clips with items", report.get("clips_with_items", "")],
            ],
        ),
        "license_table": _table(["clip licence", "clips"], [[k, v] for k, v in report.get("licenses", {}).items()])
        if report.get("licenses")
        else "(per-clip licences are listed in the `license` column)",
    }
    text = card_template()
    # A build of some views only declares those: datasets resolves every declared config's files.
    text = text.replace(configs_yaml(), configs_yaml(report.get("views") or VIEWS), 1)
    unknown = sorted(set(_PLACEHOLDER.findall(text)) - set(values))
    if unknown:
        raise KeyError(f"dataset card template has unknown placeholder(s): {', '.join(unknown)}")
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), text)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def _controls_table(report: dict) -> str:
    """Per task: items, the presence-only ceiling, and the time-reversal control's item count."""
    controls = report.get("controls", {})
    ceiling = controls.get("presence_ceiling", {})
    reversed_counts = controls.get(TIME_REVERSED, {}).get("counts", {})
    counts = report.get("counts", {})
    rows = [
        [TASK_TITLES[t], counts.get(t, 0), _pct(ceiling.get(f"presence_ceiling_{t}")), reversed_counts.get(t, 0)]
        for t in TASKS
    ]
    rows.append(["**all items**", report.get("total", 0), _pct(ceiling.get("presence_ceiling")), controls.get(TIME_REVERSED, {}).get("total", 0)])
    return _table(["task", "items", "presence-only ceiling", "time-reversed items"], rows)
