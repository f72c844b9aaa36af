"""The presence-only ceiling: what knowing *which* options occur in the clip, and nothing about time, is worth.

A model that knows exactly which of the four options are annotated in the clip, but not when, can
rule out the absent ones and must guess among the present ones.  The answer is always present, so
it is right with probability ``1 / k`` on an item with ``k`` present options (``k`` from 1 to 4).
The **presence-only ceiling** of a set of items is the mean of ``1 / k``: an exact expectation, no
sampling.  A model at or below it shows no use of timing; only accuracy above it needs the timeline.

Defined here once (the data layer: the dataset card shows it per build); scoring, reports and the
``presence-oracle`` baseline import it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ..errors import SourceError
from ..names import NUM_OPTIONS, TASKS


def options_in_clip(item) -> tuple[bool, ...]:
    """Whether each option (A-D order) is annotated in the item's clip.

    ``item`` is an :class:`~tacos_temporal.data.items.Item`, a dataset row or ``Item.to_dict()``
    (its ``events`` evidence), or a run record with ``options_in_clip``.
    """
    if isinstance(item, Mapping):
        if item.get("options_in_clip") is not None:
            flags = tuple(bool(x) for x in item["options_in_clip"])
        else:
            flags = tuple(bool(ev["in_clip"]) for ev in item["events"])
    else:
        flags = tuple(ev.in_clip for ev in item.events)
    if len(flags) != NUM_OPTIONS or not any(flags):
        raise SourceError(f"item {_id(item)}: needs {NUM_OPTIONS} presence flags with the answer present, got {list(flags)}")
    return flags


def presence_probability(item) -> float:
    """``1 / k``: the chance of a uniform guess among the ``k`` options present in the clip."""
    return 1.0 / sum(options_in_clip(item))


def presence_ceiling(items: Iterable) -> dict[str, float | int]:
    """The presence-only ceiling of ``items``, overall, per task present and as a mean over tasks.

    Keys: ``presence_ceiling`` (mean of ``1 / k`` over items), ``presence_ceiling_<task>``,
    ``presence_ceiling_macro`` (mean of the per-task values) and ``n_presence`` (items counted).

    >>> rows = [{"id": "EO-1", "task": "earliest_onset", "options_in_clip": [True, True, False, False]},
    ...         {"id": "LD-1", "task": "longest_duration", "options_in_clip": [True, True, True, True]}]
    >>> presence_ceiling(rows)["presence_ceiling"]
    0.375
    """
    by_task: dict[str, list[float]] = {}
    for item in items:
        task = item["task"] if isinstance(item, Mapping) else item.task
        by_task.setdefault(task, []).append(presence_probability(item))
    values = [p for group in by_task.values() for p in group]
    if not values:
        raise SourceError("presence_ceiling() got no items")
    out: dict[str, float | int] = {"n_presence": len(values), "presence_ceiling": sum(values) / len(values)}
    tasks = [t for t in TASKS if t in by_task]
    for task in tasks:
        out[f"presence_ceiling_{task}"] = sum(by_task[task]) / len(by_task[task])
    out["presence_ceiling_macro"] = sum(out[f"presence_ceiling_{t}"] for t in tasks) / len(tasks)
    return out


def present_letters(item, letters: Sequence[str]) -> list[str]:
    """The letters whose options are annotated in the clip."""
    return [letter for letter, present in zip(letters, options_in_clip(item)) if present]


def _id(item) -> str:
    return str(item.get("id", "?")) if isinstance(item, Mapping) else str(getattr(item, "id", "?"))
