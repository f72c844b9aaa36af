"""The four options of an item: which distractors, and where the answer goes.

The rule (deterministic given ``seed``; documented in the dataset card):

1. **Distractors from the clip first.**  Every other label annotated in the clip is a valid
   distractor (the margin rule guarantees none of them is the extreme).  If the clip has more than
   three, three are drawn with the item's own random generator.
2. **Then labels absent from the clip**, drawn from the pool (every label of the event source),
   skipping labels that could be read as the same event as one of the clip's labels: same words
   after lower-casing and dropping punctuation, or one a word-sequence inside the other
   (``Ringing`` vs ``Bell Ringing``).
3. **Balanced answer letters.**  Within each task the answer positions are ``A, B, C, D`` repeated
   (so counts differ by at most one) and shuffled with a generator seeded by ``(seed, task)``; the
   distractors fill the other positions in a shuffled order.

Each item's generator is ``random.Random(f"tacos_temporal:{seed}:{item_id}")`` (Python seeds a
``str`` through SHA-512: stable across runs, platforms and Python versions), so an item's options
do not depend on which other clips are in the table.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import BuildError
from ..names import BENCHMARK_NAME, LETTERS, NUM_OPTIONS
from .events import Clip


@dataclass(frozen=True)
class OptionPlan:
    item_id: str
    options: tuple[str, ...]
    answer: str


def label_words(label: str) -> tuple[str, ...]:
    """``"Sheep_Goat Bleat"`` -> ``("sheep", "goat", "bleat")``."""
    return tuple(re.findall(r"[a-z0-9]+", label.lower()))


def _contains(outer: tuple[str, ...], inner: tuple[str, ...]) -> bool:
    n = len(inner)
    return any(outer[i : i + n] == inner for i in range(len(outer) - n + 1))


def confusable(a: str, b: str) -> bool:
    """Whether two labels could be read as the same event (equal words, or one inside the other).

    >>> confusable("Ringing", "Bell Ringing"), confusable("Dog Barking", "Bird Chirp")
    (True, False)
    """
    wa, wb = label_words(a), label_words(b)
    if not wa or not wb:
        return a.strip().lower() == b.strip().lower()
    return _contains(wa, wb) or _contains(wb, wa)


class ConfusionIndex:
    """For each label, the labels :func:`confusable` with it (itself included), computed once."""

    def __init__(self, labels: Sequence[str]):
        self._words = {label: label_words(label) for label in dict.fromkeys(labels)}
        self._index: dict[str, frozenset[str]] = {}

    def __getitem__(self, label: str) -> frozenset[str]:
        found = self._index.get(label)
        if found is None:
            words = label_words(label)
            found = frozenset(
                {label}
                | {
                    other
                    for other, other_words in self._words.items()
                    if (_contains(words, other_words) or _contains(other_words, words))
                    if words and other_words
                }
            )
            self._index[label] = found
        return found


def item_rng(seed: int, item_id: str) -> random.Random:
    return random.Random(f"{BENCHMARK_NAME}:{seed}:{item_id}")


def choose_distractors(
    clip: Clip,
    answer_label: str,
    pool: Sequence[str],
    rng: random.Random,
    confusions: ConfusionIndex | None = None,
) -> list[str]:
    """Three distractors for ``answer_label`` in ``clip`` (rules 1 and 2 of the module docstring)."""
    need = NUM_OPTIONS - 1
    confusions = confusions if confusions is not None else ConfusionIndex(pool)
    in_clip = [label for label in clip.label_names() if label != answer_label]
    chosen = rng.sample(in_clip, need) if len(in_clip) > need else list(in_clip)
    if len(chosen) < need:
        blocked: set[str] = set()
        for own in clip.label_names():
            blocked |= confusions[own]
        absent = [label for label in pool if label not in blocked]
        # A lazy Fisher-Yates shuffle: draw uniformly from the labels not drawn yet, only as many
        # as needed (a full shuffle of the pool per item was most of the selection time).
        for drawn in range(len(absent)):
            if len(chosen) == need:
                break
            pick = rng.randrange(drawn, len(absent))
            absent[drawn], absent[pick] = absent[pick], absent[drawn]
            label = absent[drawn]
            # Keep the absent distractors apart from each other too.
            if label not in blocked:
                chosen.append(label)
                blocked |= confusions[label]
    if len(chosen) < need:
        raise BuildError(
            f"clip {clip.filename}: only {len(chosen)} distractor(s) for {answer_label!r}; the label pool "
            f"({len(pool)} labels) is too small. Pass a larger label_pool or use an event table with more labels."
        )
    return chosen


def balanced_positions(n: int, rng: random.Random) -> list[int]:
    """``n`` answer positions, each of A-D used ``n // 4`` or ``n // 4 + 1`` times, shuffled."""
    positions = [i % NUM_OPTIONS for i in range(n)]
    rng.shuffle(positions)
    return positions


def plan_options(
    requests: Sequence[tuple[str, str, Clip, str]], pool: Sequence[str], *, seed: int
) -> list[OptionPlan]:
    """Options for each ``(item_id, task, clip, answer_label)``, in the same order."""
    by_task: dict[str, list[int]] = defaultdict(list)
    for index, (_, task, _, _) in enumerate(requests):
        by_task[task].append(index)
    position = [0] * len(requests)
    for task, indices in by_task.items():
        for index, pos in zip(indices, balanced_positions(len(indices), random.Random(f"{BENCHMARK_NAME}:{seed}:{task}"))):
            position[index] = pos
    confusions = ConfusionIndex(pool)
    plans = []
    for index, (iid, _, clip, answer_label) in enumerate(requests):
        rng = item_rng(seed, iid)
        distractors = choose_distractors(clip, answer_label, pool, rng, confusions)
        rng.shuffle(distractors)
        options = list(distractors)
        options.insert(position[index], answer_label)
        plans.append(OptionPlan(iid, tuple(options), LETTERS[position[index]]))
    return plans
