"""Which questions exist: the Earliest-Onset, Latest-Offset and Longest-Duration rules.

The rules (benchmark.md section 2; they reproduce the authors' 1,657 items exactly):

1. A clip needs at least two distinct labels.
2. Per label: onset = first start, offset = last end, duration = summed interval lengths.
3. ``earliest_onset``: the label with the smallest onset, if it starts at least 1.0 s before every
   other label.  ``latest_offset``: the largest offset, at least 1.0 s after every other label.
   ``longest_duration``: the largest duration, at least 3.0 s longer than every other label.
   Margins are compared with a tolerance of ``MARGIN_TOLERANCE_S`` (1e-6 s): bounds have two
   decimals and margins of exactly 1.00 s occur and count.
4. The answer is the extreme over all labels of the clip, not only over the shown options.

Nothing here is random: the seed only affects the options (:mod:`.options`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import BuildError, check_name
from ..names import (
    BENCHMARK_VERSION,
    DEFAULT_SEED,
    EARLIEST_ONSET,
    LATEST_OFFSET,
    LETTERS,
    LONGEST_DURATION,
    MARGIN_TOLERANCE_S,
    MARGINS_S,
    QUESTIONS,
    TASKS,
)
from .events import Annotations, Clip, LabelEvents, read_event_table
from .items import Item, OptionEvidence, item_id
from .options import OptionPlan, plan_options

#: Digits kept in ``margin_s`` and the evidence times: removes float noise such as 0.9999999999.
TIME_DECIMALS = 6


@dataclass(frozen=True)
class Answer:
    """The extreme label of a clip for one task, and its lead over the runner-up."""

    task: str
    label: str
    runner_up: str
    margin_s: float


def _key(task: str, events: LabelEvents) -> float:
    """The quantity a task ranks labels by, oriented so that larger is "more extreme"."""
    if task == EARLIEST_ONSET:
        return -events.onset
    if task == LATEST_OFFSET:
        return events.offset
    if task == LONGEST_DURATION:
        return events.duration
    raise check_name("task", task, TASKS)  # pragma: no cover - check_name raises first


def select_answer(clip: Clip, task: str) -> Answer | None:
    """The answer of ``task`` for ``clip``, or ``None`` if the clip does not qualify.

    >>> from tacos_temporal.data.events import annotations_from_mapping
    >>> clip = annotations_from_mapping({"1.mp3": {"Dog": [(0.0, 2.0)], "Car": [(1.0, 9.0)]}}).clips["1.mp3"]
    >>> select_answer(clip, "earliest_onset")
    Answer(task='earliest_onset', label='Dog', runner_up='Car', margin_s=1.0)
    >>> select_answer(clip, "longest_duration").label
    'Car'
    """
    check_name("task", task, TASKS)
    if len(clip.labels) < 2:
        return None
    ranked = sorted(clip.labels, key=lambda ev: _key(task, ev), reverse=True)
    best, second = ranked[0], ranked[1]
    margin = _key(task, best) - _key(task, second)
    if margin < MARGINS_S[task] - MARGIN_TOLERANCE_S:
        return None
    return Answer(task, best.label, second.label, round(margin, TIME_DECIMALS))


def _evidence(clip: Clip, plan: OptionPlan) -> tuple[OptionEvidence, ...]:
    out = []
    for letter, label in zip(LETTERS, plan.options):
        events = clip.get(label)
        if events is None:
            out.append(OptionEvidence(letter, label, False, None, None, None, ()))
        else:
            out.append(
                OptionEvidence(
                    letter,
                    label,
                    True,
                    round(events.onset, TIME_DECIMALS),
                    round(events.offset, TIME_DECIMALS),
                    round(events.duration, TIME_DECIMALS),
                    events.intervals,
                )
            )
    return tuple(out)


def select_items(
    events: Annotations | str | Path,
    *,
    seed: int = DEFAULT_SEED,
    tasks: Sequence[str] = TASKS,
    clips: Iterable[str] | None = None,
    label_pool: Sequence[str] | None = None,
) -> list[Item]:
    """Select the benchmark's items from an event source.

    Args:
        events (`Annotations` or path): read annotations, or the path of an event table.
        seed (`int`, defaults to 0): seed of the option rule (distractors and answer letters).
            Which items exist and their answers never depend on it.
        tasks (`Sequence[str]`, defaults to all three): tasks to select.
        clips (`Iterable[str]`, *optional*): restrict to these clip file names (e.g. a split).
        label_pool (`Sequence[str]`, *optional*): labels that may serve as absent distractors;
            defaults to every label of ``events``.

    Returns:
        `list[Item]` ordered by task (``names.TASKS`` order), then by clip file name.

    Example:

    ```py
    >>> from tacos_temporal import select_items
    >>> from tacos_temporal.data.sources import bundled_event_table
    >>> items = select_items(bundled_event_table())  # doctest: +SKIP
    >>> len(items)  # doctest: +SKIP
    1657
    ```
    """
    if not isinstance(events, Annotations):
        events = read_event_table(events)
    for task in tasks:
        check_name("task", task, TASKS)
    pool = tuple(sorted(set(label_pool))) if label_pool is not None else events.labels
    keep = frozenset(clips) if clips is not None else None
    selected: list[tuple[str, Clip, Answer]] = []
    for task in (t for t in TASKS if t in tasks):
        for filename, clip in events.clips.items():
            if keep is not None and filename not in keep:
                continue
            answer = select_answer(clip, task)
            if answer is not None:
                selected.append((task, clip, answer))
    ids = [item_id(task, clip.filename) for task, clip, _ in selected]
    if len(set(ids)) != len(ids):
        clash = sorted({i for i in ids if ids.count(i) > 1})
        raise BuildError(
            f"clip file names collide on item ids {', '.join(clash[:5])}: ids use the file stem, so "
            "'1.mp3' and '1.wav' cannot both be clips; rename one of them"
        )
    items: list[Item] = []
    plans = plan_options(
        [(item_id(task, clip.filename), task, clip, answer.label) for task, clip, answer in selected],
        pool,
        seed=seed,
    )
    for (task, clip, answer), plan in zip(selected, plans):
        items.append(
            Item(
                id=plan.item_id,
                task=task,
                filename=clip.filename,
                question=QUESTIONS[task],
                options=plan.options,
                answer=plan.answer,
                answer_label=answer.label,
                margin_s=answer.margin_s,
                events=_evidence(clip, plan),
                clip_labels=len(clip.labels),
                benchmark_version=BENCHMARK_VERSION,
            )
        )
    return items
