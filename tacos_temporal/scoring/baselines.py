"""Trivial baselines, scored like models: always show them beside a model's numbers.

* ``random``: a seeded uniform letter per item (``random.Random(f"{seed}:{item id}")``);
* ``constant:A`` .. ``constant:D``: the same letter for every item (exposes answer-position bias
  of the benchmark itself: with balanced letters each scores about 25 %).

Two more need the item itself (:data:`ROW_BASELINES`; ``--model presence-oracle`` / ``caption-order``):

* ``presence-oracle``: an **oracle** that reads the annotation: a seeded uniform choice among the
  options present in the clip (``random.Random(f"{seed}:presence:{item id}")``).  Its expected
  accuracy is the presence-only ceiling (:mod:`tacos_temporal.data.presence`);
* ``caption-order``: the caption-order shortcut
  (:func:`~tacos_temporal.scoring.controls.caption_order_letter`), caption views only.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from ..data.items import Item
from ..errors import check_name
from ..names import LETTERS
from .metrics import Judged

BASELINES: tuple[str, ...] = ("random", *(f"constant:{letter}" for letter in LETTERS))
PRESENCE_ORACLE = "presence-oracle"
CAPTION_ORDER = "caption-order"
#: Baselines that answer from the item row (its evidence or its caption), not from its id alone.
ROW_BASELINES: tuple[str, ...] = (PRESENCE_ORACLE, CAPTION_ORDER)
#: Baselines that read the annotation, i.e. information no model has: labelled "oracle" everywhere.
ORACLE_BASELINES: frozenset[str] = frozenset({PRESENCE_ORACLE})


def baseline_letter(name: str, item_id: str, seed: int = 0) -> str:
    """The letter baseline ``name`` answers for one item."""
    check_name("baseline", name, BASELINES)
    if name == "random":
        return random.Random(f"{seed}:{item_id}").choice(LETTERS)
    return name.split(":", 1)[1]


def run_baseline(name: str, items: Sequence[Item], *, seed: int = 0, view: str | None = None) -> list[Judged]:
    """Judged records of baseline ``name`` on ``items``."""
    return [
        Judged(item.id, item.task, item.answer, baseline_letter(name, item.id, seed), f"baseline:{name}", view)
        for item in items
    ]


def row_baseline_letter(name: str, row, seed: int = 0) -> str | None:
    """The letter row baseline ``name`` answers for one item (a dataset row, ``Item.to_dict()`` or a
    run record); ``None`` when ``caption-order`` finds no decision in the caption."""
    from ..data.presence import present_letters
    from .controls import caption_order_letter

    check_name("row baseline", name, ROW_BASELINES)
    if name == PRESENCE_ORACLE:
        return random.Random(f"{seed}:presence:{row['id']}").choice(present_letters(row, LETTERS))
    return caption_order_letter(row.get("caption"), list(row["options"]), row["task"])
