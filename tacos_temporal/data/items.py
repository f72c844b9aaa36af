"""The item schema: one four-option question about one clip.  Defined here once.

``items.jsonl`` holds one :meth:`Item.to_dict` per line, fields in :data:`ITEM_FIELDS` order.  The
dataset views hold the same fields plus clip columns (licence, attribution, audio, caption); their
``datasets.Features`` are derived from this schema in :mod:`tacos_temporal.data.views`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ..errors import SourceError, check_name
from ..files import atomic_write_text, read_jsonl_objects
from ..names import LETTERS, NUM_OPTIONS, TASK_CODES, TASKS


@dataclass(frozen=True)
class OptionEvidence:
    """Why an option is right or wrong: its timing in the clip (``None`` when absent from the clip).

    Args:
        letter (`str`): A-D.
        label (`str`): the option text.
        in_clip (`bool`): whether the label is annotated in this clip.
        onset_s (`float`, *optional*): first start, seconds.
        offset_s (`float`, *optional*): last end, seconds.
        duration_s (`float`, *optional*): summed length of its intervals, seconds.
        intervals (`list[list[float]]`): every ``[start, end]`` of the label in the clip.
    """

    letter: str
    label: str
    in_clip: bool
    onset_s: float | None
    offset_s: float | None
    duration_s: float | None
    intervals: tuple[tuple[float, float], ...]

    def to_dict(self) -> dict:
        out = asdict(self)
        out["intervals"] = [list(iv) for iv in self.intervals]
        return out

    @classmethod
    def from_dict(cls, data: Mapping) -> OptionEvidence:
        return cls(
            letter=data["letter"],
            label=data["label"],
            in_clip=bool(data["in_clip"]),
            onset_s=data.get("onset_s"),
            offset_s=data.get("offset_s"),
            duration_s=data.get("duration_s"),
            intervals=tuple(tuple(iv) for iv in data.get("intervals") or ()),
        )


@dataclass(frozen=True)
class Item:
    """One benchmark question.

    Args:
        id (`str`): ``"<task code>-<clip stem>"``, e.g. ``"EO-100388"``; unique in the benchmark.
        task (`str`): one of ``names.TASKS``.
        filename (`str`): the TACOS clip, ``"<freesound id>.mp3"``.
        question (`str`): ``names.QUESTIONS[task]``.
        options (`tuple[str, str, str, str]`): the labels in A-D order.
        answer (`str`): the correct letter.
        answer_label (`str`): the correct option's text.
        margin_s (`float`): lead of the answer over the runner-up label of the clip, in seconds
            (onset gap for EO, offset gap for LO, summed-duration gap for LD).
        events (`tuple[OptionEvidence, ...]`): evidence per option, A-D order.
        clip_labels (`int`): number of distinct labels annotated in the clip.
        benchmark_version (`str`): ``names.BENCHMARK_VERSION`` of the rules that made the item.
    """

    id: str
    task: str
    filename: str
    question: str
    options: tuple[str, ...]
    answer: str
    answer_label: str
    margin_s: float
    events: tuple[OptionEvidence, ...]
    clip_labels: int
    benchmark_version: str

    def __post_init__(self) -> None:
        check_name("task", self.task, TASKS)
        if len(self.options) != NUM_OPTIONS or len(set(self.options)) != NUM_OPTIONS:
            raise SourceError(f"item {self.id}: needs {NUM_OPTIONS} distinct options, got {list(self.options)}")
        if self.answer not in LETTERS or self.options[LETTERS.index(self.answer)] != self.answer_label:
            raise SourceError(f"item {self.id}: answer {self.answer!r} does not point at {self.answer_label!r}")

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["options"] = list(self.options)
        out["events"] = [ev.to_dict() for ev in self.events]
        return out

    @classmethod
    def from_dict(cls, data: Mapping) -> Item:
        missing = [name for name in ITEM_FIELDS if name not in data]
        if missing:
            raise SourceError(f"item {data.get('id', '?')!r} lacks field(s) {', '.join(missing)}")
        values = {name: data[name] for name in ITEM_FIELDS}
        values["options"] = tuple(data["options"])
        values["events"] = tuple(OptionEvidence.from_dict(ev) for ev in data["events"])
        return cls(**values)


ITEM_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Item))


def item_id(task: str, filename: str) -> str:
    """``item_id("earliest_onset", "100388.mp3") == "EO-100388"``."""
    return f"{TASK_CODES[task]}-{Path(filename).stem}"


def write_items_jsonl(items: Iterable[Item], path: str | Path) -> Path:
    """Write ``items.jsonl`` atomically (one JSON object per line, UTF-8, fields in schema order)."""
    lines = [json.dumps(item.to_dict(), ensure_ascii=False) for item in items]
    return atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))


def read_items_jsonl(path: str | Path) -> list[Item]:
    """Read and validate ``items.jsonl``; a bad line raises :class:`SourceError` naming the line."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"items file not found: {path} (make one with: tacos-temporal build --items-only)")
    items: list[Item] = []
    seen: set[str] = set()
    rows = read_jsonl_objects(path, lambda number, problem: SourceError(f"{path}:{number}: not a valid item: {problem}"))
    for number, data in rows:
        try:
            item = Item.from_dict(data)
        except (ValueError, KeyError, TypeError, SourceError) as err:
            raise SourceError(f"{path}:{number}: not a valid item: {err}") from err
        if item.id in seen:
            raise SourceError(f"{path}:{number}: duplicate item id {item.id!r}")
        seen.add(item.id)
        items.append(item)
    return items


def item_set_sha256(items: Iterable[Mapping]) -> str:
    """A fingerprint of a set of items (``Item.to_dict()`` or dataset rows): sha256 over each item's
    id, task, clip, options and answer, in id order.  Two runs or builds with the same fingerprint
    asked the same questions with the same options and answers, whatever order or view."""
    keyed = sorted(
        [str(item["id"]), str(item["task"]), str(item["filename"]), [str(o) for o in item["options"]], str(item["answer"])] for item in items
    )
    return hashlib.sha256(json.dumps(keyed, ensure_ascii=False, separators=(",", ":")).encode("utf-8")).hexdigest()
