"""``tacos-temporal controls``: what the controls say about a build, without any model.

From a build folder (``items.jsonl``, and ``items_time_reversed.jsonl`` beside it; an ``--items-only``
build of the real event table is enough) it computes, per task and overall:

* the presence-only ceiling (exact) and the ``presence-oracle`` baseline's realised accuracy;
* chance and the ``random`` baseline, also scored circularly (right under all four rotations), so
  the strict metric's own floor is visible: a uniform guess is right under all four with
  probability ``(1/4)^4``, the presence oracle with the mean of ``(1/k)^4``;
* the time-reversal control's items, and the temporal consistency of two reference answerers: the
  answer key (follows the timeline by definition: 100 %) and the presence oracle (ignores time);
* the caption-order shortcut, when the folder holds the ``caption_only`` config (captions are not
  part of the event table).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ..data.items import read_items_jsonl
from ..data.presence import presence_ceiling
from ..data.reversal import REVERSED_ITEMS_FILE
from ..errors import ScoringError
from ..names import CAPTION_ONLY, CHANCE, NUM_OPTIONS, TASK_TITLES, TASKS
from .baselines import PRESENCE_ORACLE, baseline_letter, row_baseline_letter
from .controls import caption_order_letter, circular_scores, rotate_row, temporal_consistency

ITEMS_FILE = "items.jsonl"


def _items_path(path: Path) -> Path:
    return path / ITEMS_FILE if path.is_dir() else path


def _accuracy(rows: Sequence[Mapping], letters: Sequence[str | None]) -> dict[str, float]:
    out = {"all": sum(l == r["answer"] for r, l in zip(rows, letters)) / len(rows)}
    for task in TASKS:
        pairs = [(r, l) for r, l in zip(rows, letters) if r["task"] == task]
        if pairs:
            out[task] = sum(l == r["answer"] for r, l in pairs) / len(pairs)
    return out


def _record(row: Mapping, letter: str | None) -> dict:
    return {**row, "letter": letter}


def summarize_controls(path: str | Path, *, seed: int = 0) -> dict:
    """The controls of the build at ``path`` (a build folder or an ``items.jsonl``)."""
    path = Path(path)
    items = read_items_jsonl(_items_path(path))
    rows = [item.to_dict() for item in items]
    out: dict = {"n": len(rows), "chance": CHANCE}
    ceiling = presence_ceiling(items)
    out["presence_ceiling"] = {"all": ceiling["presence_ceiling"], **{t: ceiling[f"presence_ceiling_{t}"] for t in TASKS if f"presence_ceiling_{t}" in ceiling}}
    oracle = [row_baseline_letter(PRESENCE_ORACLE, row, seed) for row in rows]
    out["presence_oracle"] = _accuracy(rows, oracle)
    out["random"] = _accuracy(rows, [baseline_letter("random", row["id"], seed) for row in rows])

    rotated = [rotate_row(row, k) for row in rows for k in range(NUM_OPTIONS)]
    out["circular"] = {
        "random": circular_scores([_record(r, baseline_letter("random", r["id"], seed)) for r in rotated])["circular_accuracy"],
        PRESENCE_ORACLE: circular_scores([_record(r, row_baseline_letter(PRESENCE_ORACLE, r, seed)) for r in rotated])["circular_accuracy"],
        "chance": CHANCE**NUM_OPTIONS,
    }

    folder = path if path.is_dir() else path.parent
    reversed_path = folder / REVERSED_ITEMS_FILE
    if reversed_path.is_file():
        backwards = [item.to_dict() for item in read_items_jsonl(reversed_path)]
        key = temporal_consistency([_record(r, r["answer"]) for r in rows], [_record(r, r["answer"]) for r in backwards])
        ignoring = temporal_consistency(
            [_record(r, row_baseline_letter(PRESENCE_ORACLE, r, seed)) for r in rows],
            [_record(r, row_baseline_letter(PRESENCE_ORACLE, r, seed)) for r in backwards],
        )
        out["time_reversed"] = {
            "n": len(backwards),
            "counts": {t: sum(r["task"] == t for r in backwards) for t in TASKS},
            "answer_key_consistency": key["reversal_consistency"],
            "presence_oracle_consistency": ignoring["reversal_consistency"],
            "pairs": key["reversal_pairs"],
            "diagnostic_answers": key["reversal_diagnostic_n"],
            "answer_key_follows_timeline": key.get("reversal_follows_timeline"),
            "presence_oracle_ignores_time": ignoring.get("reversal_ignores_time"),
        }
    captions = _captions(folder) if path.is_dir() else None
    if captions is not None:
        letters = [caption_order_letter(captions.get(row["id"]), row["options"], row["task"]) for row in rows]
        out["caption_order"] = {**_accuracy(rows, letters), "coverage": sum(l is not None for l in letters) / len(letters)}
    return out


def _captions(folder: Path) -> dict[str, str] | None:
    """Captions by item id from the folder's ``caption_only`` config, or ``None`` without one."""
    if not (folder / "data" / CAPTION_ONLY).is_dir():
        return None
    from ..data.load import load_view_dataset

    dataset = load_view_dataset(folder, CAPTION_ONLY, progress=False)
    return dict(zip(dataset["id"], dataset["caption"]))


def format_controls_summary(summary: Mapping) -> str:
    """Markdown of :func:`summarize_controls` (also fine in a terminal)."""
    if "presence_ceiling" not in summary:
        raise ScoringError("pass the dict returned by summarize_controls()")
    pct = lambda v: "-" if v is None else f"{100 * v:.1f} %"  # noqa: E731
    columns = [*TASKS, "all"]
    header = ["", *(TASK_TITLES[t] for t in TASKS), "all items"]
    rows = [
        ["chance", *(pct(summary["chance"]) for _ in columns)],
        ["random baseline", *(pct(summary["random"].get(c)) for c in columns)],
        ["presence-only ceiling (oracle, exact)", *(pct(summary["presence_ceiling"].get(c)) for c in columns)],
        ["presence-oracle baseline (seeded run)", *(pct(summary["presence_oracle"].get(c)) for c in columns)],
    ]
    if "caption_order" in summary:
        rows.append(["caption-order shortcut", *(pct(summary["caption_order"].get(c)) for c in columns)])
    lines = [
        f"# Controls of this build ({summary['n']} items)",
        "",
        "A model at or below the presence-only ceiling shows no use of timing.",
        "",
        "| " + " | ".join(header) + " |",
        "|---|" + "---:|" * len(columns),
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
    ]
    if "caption_order" in summary:
        lines += [f"Caption-order shortcut answers {pct(summary['caption_order']['coverage'])} of the items (the rest: no option mentioned, or a tie).", ""]
    else:
        lines += ["Caption-order shortcut: needs the captions (a build with the caption_only config; the event table has none).", ""]
    circ = summary["circular"]
    lines += [
        f"Circular scoring (right under all four rotations): chance {pct(circ['chance'])}, random baseline "
        f"{pct(circ['random'])}, presence oracle {pct(circ[PRESENCE_ORACLE])}.",
        "",
    ]
    if "time_reversed" in summary:
        tr = summary["time_reversed"]
        lines += [
            f"Time-reversed control: {tr['n']} items ("
            + ", ".join(f"{TASK_TITLES[t]} {n}" for t, n in tr["counts"].items())
            + f"), {tr['pairs']} mirrored pairs. Same label on both sides: the answer key {pct(tr['answer_key_consistency'])} "
            f"(by construction), the time-blind presence oracle {pct(tr['presence_oracle_consistency'])}. "
            f"{tr['diagnostic_answers']} EO/LO answers fall on clips where following the timeline and ignoring it differ.",
            "",
        ]
    return "\n".join(lines)
