"""Trivial baselines, scored like models: always show them beside a model's numbers.

* ``random``: a seeded uniform letter per item (``random.Random(f"{seed}:{item id}")``);
* ``constant:A`` .. ``constant:D``: the same letter for every item (exposes answer-position bias
  of the benchmark itself: with balanced letters each scores about 25 %).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from ..data.items import Item
from ..errors import check_name
from ..names import LETTERS
from .metrics import Judged

BASELINES: tuple[str, ...] = ("random", *(f"constant:{letter}" for letter in LETTERS))


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
