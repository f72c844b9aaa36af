"""The time-reversal control: every clip played backwards, and the items its reversed event times give.

Playing a clip of ``D`` seconds backwards maps every annotated interval ``[s, e]`` to ``[D - e, D - s]``:
the order of events flips, each label's summed duration stays the same.  So, by construction
(``names.MIRRORED_TASKS``):

* the earliest onset of the reversed clip is the latest offset of the original (same label, same
  margin), and the latest offset of the reversed clip is the earliest onset of the original;
* the longest duration is unchanged.

The control's items are **selected from the reversed event times with the same rules and margins**
(:func:`~tacos_temporal.data.selection.select_answer`), not copied from the original items; a test
checks that they are exactly the mirrored items.  Options follow the benchmark's rule
(:mod:`.options`) keyed by the reversed ids, so letters are balanced within each task of the control
and drawn independently of the item each one mirrors: a model that always answers one letter cannot
look consistent with the timeline.  Answers are compared by label
(:func:`tacos_temporal.scoring.controls.temporal_consistency`).

``D`` is the clip's decoded length, or its last annotated offset when an annotation runs past the
decoded end (so no reversed time is negative); without audio (``--items-only``) it is the last
annotated offset.  Selection never depends on ``D`` (every time shifts by the same amount), only the
evidence times do; ``D`` and where it came from are written beside each reversed item.

Reversed sounds are unnatural (a decaying bell becomes a swelling one; speech is not speech): the
control shows whether a model's answers follow the timeline, never the benchmark's score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import BuildError
from ..files import atomic_write_text
from ..names import BENCHMARK_VERSION, DEFAULT_SEED, MIRRORED_TASKS, QUESTIONS, TASKS, TIME_REVERSED
from .events import Annotations, Clip, LabelEvents, read_event_table
from .items import Item, item_id
from .options import plan_options
from .selection import TIME_DECIMALS, _evidence, select_answer, select_items

#: The reversed items of a build, beside ``items.jsonl``.
REVERSED_ITEMS_FILE = f"items_{TIME_REVERSED}.jsonl"
#: Where ``D`` came from.
DECODED = "decoded"
LAST_OFFSET = "last_offset"
#: Suffix of a reversed item's id: ``EO-100388`` asked on the reversed clip is ``EO-100388-rev``.
REVERSED_ID_SUFFIX = "-rev"


def reversed_item_id(task: str, filename: str) -> str:
    """``reversed_item_id("earliest_onset", "100388.mp3") == "EO-100388-rev"``."""
    return item_id(task, filename) + REVERSED_ID_SUFFIX


def last_offset(clip: Clip) -> float:
    """The latest annotated end of any label of ``clip``."""
    return max(events.offset for events in clip.labels)


def reversal_duration(clip: Clip, decoded_s: float | None) -> tuple[float, str]:
    """``D`` for ``clip`` and its source (see the module docstring)."""
    end = last_offset(clip)
    if decoded_s is None:
        return end, LAST_OFFSET
    return (decoded_s, DECODED) if decoded_s >= end else (end, LAST_OFFSET)


def reverse_clip(clip: Clip, duration_s: float) -> Clip:
    """``clip`` played backwards: every interval ``[s, e]`` becomes ``[D - e, D - s]``.

    >>> from tacos_temporal.data.events import annotations_from_mapping
    >>> clip = annotations_from_mapping({"1.mp3": {"Dog": [(0.0, 2.0)], "Car": [(1.0, 9.0)]}}).clips["1.mp3"]
    >>> reverse_clip(clip, 10.0).get("Dog").intervals
    ((8.0, 10.0),)
    """
    if duration_s < last_offset(clip):
        raise BuildError(
            f"clip {clip.filename}: cannot reverse it about D={duration_s} s, its annotations end at "
            f"{last_offset(clip)} s; use reversal_duration() to choose D"
        )
    labels = []
    for events in clip.labels:
        flipped = sorted((round(duration_s - end, TIME_DECIMALS), round(duration_s - start, TIME_DECIMALS)) for start, end in events.intervals)
        labels.append(LabelEvents(events.label, tuple(flipped)))
    return Clip(clip.filename, tuple(labels))


def select_reversed_items(
    events: Annotations | str | Path,
    *,
    durations: Mapping[str, float] | None = None,
    seed: int = DEFAULT_SEED,
    clips: Sequence[str] | None = None,
    label_pool: Sequence[str] | None = None,
) -> list[tuple[Item, dict]]:
    """The items of the time-reversal control, each with how it was made.

    Args:
        events (`Annotations` or path): the event source of the benchmark.
        durations (`Mapping[str, float]`, *optional*): decoded clip lengths in seconds; a clip
            without one is reversed about its last annotated offset.
        seed (`int`, defaults to 0): the option seed (as in :func:`select_items`).
        clips (`Sequence[str]`, *optional*): restrict to these clips (e.g. a split).
        label_pool (`Sequence[str]`, *optional*): as in :func:`select_items`.

    Returns:
        `list[tuple[Item, dict]]`: each reversed item (id ``<code>-<stem>-rev``, ordered by task,
        then clip) and ``{"clip_duration_s": D, "duration_source": "decoded" | "last_offset",
        "mirrors": <id of the original item it mirrors>}``.
    """
    if not isinstance(events, Annotations):
        events = read_event_table(events)
    durations = durations or {}
    keep = frozenset(clips) if clips is not None else None
    original = {
        (item.task, item.filename): item.id
        for item in select_items(events, seed=seed, clips=keep, label_pool=label_pool)
    }
    pool = tuple(sorted(set(label_pool))) if label_pool is not None else events.labels
    selected = []
    for task in TASKS:
        for filename, clip in events.clips.items():
            if keep is not None and filename not in keep:
                continue
            duration, source = reversal_duration(clip, durations.get(filename))
            backwards = reverse_clip(clip, duration)
            answer = select_answer(backwards, task)
            if answer is not None:
                selected.append((task, clip, backwards, answer, duration, source))
    # The option rule of the benchmark, keyed by the reversed ids (so letters are balanced within
    # each task of the control and drawn independently of the item each one mirrors).
    plans = plan_options([(reversed_item_id(task, clip.filename), task, clip, answer.label) for task, clip, _, answer, _, _ in selected], pool, seed=seed)
    out: list[tuple[Item, dict]] = []
    for (task, clip, backwards, answer, duration, source), plan in zip(selected, plans):
        item = Item(
            id=plan.item_id,
            task=task,
            filename=clip.filename,
            question=QUESTIONS[task],
            options=plan.options,
            answer=plan.answer,
            answer_label=answer.label,
            margin_s=answer.margin_s,
            events=_evidence(backwards, plan),
            clip_labels=len(clip.labels),
            benchmark_version=BENCHMARK_VERSION,
        )
        extra = {
            "clip_duration_s": round(duration, TIME_DECIMALS),
            "duration_source": source,
            "mirrors": original.get((MIRRORED_TASKS[task], clip.filename)),
        }
        out.append((item, extra))
    return out


def write_reversed_items(entries: Sequence[tuple[Item, dict]], path: str | Path) -> Path:
    """Write the reversed items as JSON Lines: the item's fields, then ``clip_duration_s``,
    ``duration_source`` and ``mirrors`` (readable with ``read_items_jsonl``, which keeps the item fields)."""
    import json

    lines = [json.dumps({**item.to_dict(), **extra}, ensure_ascii=False) for item, extra in entries]
    return atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))


def reverse_audio(data: bytes) -> bytes:
    """The clip in ``data`` (any format torchcodec decodes) played backwards, as lossless FLAC at
    its own rate and channel count (sample-exact: no re-encoding loss on top of the source)."""
    import torch
    from torchcodec.decoders import AudioDecoder
    from torchcodec.encoders import AudioEncoder

    samples = AudioDecoder(data).get_all_samples()
    backwards = torch.flip(samples.data, dims=[-1]).contiguous()
    return bytes(AudioEncoder(backwards, sample_rate=int(samples.sample_rate)).to_tensor("flac").numpy().tobytes())
