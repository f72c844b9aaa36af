"""Baselines that answer from the item row: ``presence-oracle`` and ``caption-order``.

They run through the same loop as models (records, resume, scores, reports): the loop hands them the
rows it asks about (:meth:`RowBaselineRunner.bind_rows`), and :meth:`answer` looks each id up.
``presence-oracle`` reads the annotation (which options occur in the clip), so it is an **oracle**:
``describe()`` says so and ``results.json`` records ``"oracle": true``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ModelError
from ..scoring.baselines import ORACLE_BASELINES, row_baseline_letter
from .models import ModelRunner, Output


class RowBaselineRunner(ModelRunner):
    """A row baseline (``scoring.baselines.ROW_BASELINES``) as a model runner."""

    uses_audio = False

    def __init__(self, name: str, seed: int):
        self.name, self.seed = name, seed
        self.oracle = name in ORACLE_BASELINES
        self._rows: dict[str, Mapping] = {}

    def describe(self) -> dict[str, Any]:
        kind = "oracle baseline" if self.oracle else "baseline"
        return {"model": self.name, "revision": None, "class": kind, "oracle": self.oracle, "dtype": None, "device": None, "seed": self.seed}

    def render(self, text: str, *, with_audio: bool) -> str:
        return text

    def bind_rows(self, rows: Sequence[Mapping]) -> None:
        """Remember the rows the loop will ask about, by id (called before any ``answer``)."""
        for row in rows:
            self._rows[row["id"]] = row

    def answer(self, rendered, audios, *, mode, max_new_tokens, item_ids, tasks=None, intervention=None):
        missing = [i for i in item_ids if i not in self._rows]
        if missing:
            raise ModelError(f"{self.name} was asked about {missing[0]!r} before its row was bound (bind_rows)")
        # "" parses to no letter: an undecided caption-order answer is scored like a parse failure.
        return [Output(row_baseline_letter(self.name, self._rows[i], self.seed) or "", None) for i in item_ids]
