"""Saved predictions -> judged records, so any run can be re-scored without running a model.

Accepted inputs (``tacos-temporal score PATH``):

* a **run folder** holding ``samples.jsonl`` (the harness's per-item records: ``id``, ``task``,
  ``answer``, ``options``, ``letter``, ``rule``, ``view``, ...);
* a **JSON Lines file** of predictions.  Each line has ``id`` and the model's answer as
  ``prediction`` (free text or a letter; ``output`` is accepted too) or an already parsed
  ``letter`` + ``rule``; ``view`` is optional.  Lines that lack ``task``/``answer`` take them from
  the items (``--items``: an ``items.jsonl`` or a built dataset folder).

With items given, **every item is scored**: an item without a prediction counts as wrong (rule
``missing_prediction``; reported as ``missing``, apart from the ``parse_failures`` of outputs no
letter could be read from), never silently dropped; a prediction for an unknown id is an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ..data.items import Item, read_items_jsonl
from ..errors import ScoringError
from ..files import read_jsonl_objects
from .metrics import MISSING_PREDICTION, Judged, judged_from_records

SAMPLES_FILE = "samples.jsonl"
ITEMS_FILE = "items.jsonl"


def read_jsonl(path: str | Path) -> list[dict]:
    """Rows of a JSON Lines file; a bad line raises :class:`ScoringError` naming it."""
    return [row for _, row in read_jsonl_objects(path, lambda number, problem: ScoringError(f"{path}:{number} is {problem}"))]


def resolve_items(path: str | Path) -> list[Item]:
    """Items from ``items.jsonl`` or from a built dataset folder that holds one."""
    path = Path(path)
    return read_items_jsonl(path / ITEMS_FILE if path.is_dir() else path)


def predictions_file(path: str | Path) -> Path:
    """The JSON Lines file behind ``path`` (a run folder resolves to its ``samples.jsonl``)."""
    path = Path(path)
    if path.is_dir():
        samples = path / SAMPLES_FILE
        if not samples.is_file():
            raise ScoringError(f"{path} is a folder without {SAMPLES_FILE}: pass a run folder or a predictions .jsonl file")
        return samples
    if not path.is_file():
        raise ScoringError(f"predictions not found: {path}")
    return path


def join_items(rows: Sequence[Mapping], items: Sequence[Item]) -> list[dict]:
    """Complete prediction rows with task, answer and options from ``items``; add missing items."""
    by_id = {item.id: item for item in items}
    out: list[dict] = []
    seen: set[tuple[str, object]] = set()
    views = set()
    for index, row in enumerate(rows):
        item = by_id.get(str(row.get("id")))
        if item is None:
            raise ScoringError(
                f"predictions[{index}] has id {row.get('id')!r}, which is not an item of the benchmark "
                "(check that --items is the build the predictions were made on)"
            )
        joined = {"task": item.task, "answer": item.answer, "options": list(item.options), **row}
        if joined["task"] != item.task or joined["answer"] != item.answer:
            raise ScoringError(f"predictions[{index}] ({item.id}) disagrees with the items on its task or answer")
        seen.add((item.id, row.get("view")))
        views.add(row.get("view"))
        out.append(joined)
    for view in sorted(views, key=str) or [None]:
        for item in items:
            if (item.id, view) not in seen:
                out.append(
                    {"id": item.id, "task": item.task, "answer": item.answer, "letter": None, "rule": MISSING_PREDICTION, "view": view}
                )
    return out


def load_judged(path: str | Path, *, items: str | Path | Sequence[Item] | None = None, reparse: bool = False) -> list[Judged]:
    """Judge saved predictions (a run folder or a ``.jsonl``), joined with ``items`` when given."""
    rows = read_jsonl(predictions_file(path))
    if not rows:
        raise ScoringError(f"{path} holds no predictions")
    if items is None and not all("task" in row and "answer" in row for row in rows):
        raise ScoringError(
            f"{path} has rows without task/answer: pass the items they answer, e.g. --items OUT/items.jsonl"
        )
    if items is not None:
        rows = join_items(rows, items if isinstance(items, Sequence) and not isinstance(items, str) else resolve_items(items))
    return judged_from_records(rows, reparse=reparse)
