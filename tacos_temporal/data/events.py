"""Sound-event annotations: read them, validate them row by row, aggregate them per clip and label.

Two sources are accepted:

* the **event table** (``tacos_temporal/data/tacos_events/`` format, the benchmark's source): CSV with
  ``idx,filename,subclass,intervals,question``, one row per (clip, label), ``intervals`` like
  ``"[0.93-1.40, 2.28-2.75]"``;
* TACOS ``annotations_strong.csv`` (``filename,text,onset,offset``, one row per occurrence), for users
  who build their own variant: the label is the caption text, normalised by :func:`normalize_label`.

Per label of a clip (benchmark.md section 2.1): onset = earliest interval start, offset = latest
interval end, duration = **sum** of the interval lengths (not offset - onset).

Malformed rows never reach the selection: each is skipped with a counted reason in the
:class:`ReadReport` (with its line number), and so is every other row of its clip (a clip whose annotation is partly broken
could otherwise produce a wrong "earliest" or "longest" answer).  A label holding a line break or
another control character is malformed too (``bad_label``): shown as an option it would break the
A-D layout of the prompt.  ``strict=True`` raises
:class:`~tacos_temporal.errors.AnnotationError` instead.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..errors import AnnotationError, SourceError
from .naming import check_clip_filename
from .tables import read_csv_columns

EVENT_TABLE_COLUMNS: tuple[str, ...] = ("filename", "subclass", "intervals")
STRONG_COLUMNS: tuple[str, ...] = ("filename", "text", "onset", "offset")

# Reasons a row is skipped, in the order they are checked.
MISSING_VALUE = "missing_value"
UNSAFE_FILENAME = "unsafe_filename"
UNKNOWN_CLIP = "unknown_clip"
BAD_LABEL = "bad_label"
BAD_INTERVAL = "bad_interval"
NEGATIVE_TIME = "negative_time"
ONSET_NOT_BEFORE_OFFSET = "onset_not_before_offset"
CLIP_HAS_MALFORMED_ROWS = "clip_has_malformed_rows"
SKIP_REASONS: tuple[str, ...] = (
    MISSING_VALUE,
    UNSAFE_FILENAME,
    UNKNOWN_CLIP,
    BAD_LABEL,
    BAD_INTERVAL,
    NEGATIVE_TIME,
    ONSET_NOT_BEFORE_OFFSET,
    CLIP_HAS_MALFORMED_ROWS,
)
#: Reasons that also drop the rest of the clip (the clip itself is fine for the other two reasons:
#: an unsafe or unknown file name has no clip to drop).
_MALFORMED = frozenset({MISSING_VALUE, BAD_LABEL, BAD_INTERVAL, NEGATIVE_TIME, ONSET_NOT_BEFORE_OFFSET})
#: Unicode categories a label may not contain: control characters (line breaks, tabs, NUL, ...) and
#: line/paragraph separators would break the one-option-per-line layout of the A-D prompt.
_BAD_LABEL_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_INTERVAL_RE = re.compile(rf"\s*({_NUMBER})\s*-\s*({_NUMBER})\s*")


@dataclass(frozen=True)
class LabelEvents:
    """All occurrences of one label in one clip.

    Args:
        label (`str`): the sound-event label as written in the source (``Stream_River``).
        intervals (`tuple[tuple[float, float], ...]`): (start, end) in seconds, sorted.
    """

    label: str
    intervals: tuple[tuple[float, float], ...]

    @cached_property
    def onset(self) -> float:
        """Earliest start of any interval."""
        return self.intervals[0][0]

    @cached_property
    def offset(self) -> float:
        """Latest end of any interval."""
        return max(end for _, end in self.intervals)

    @cached_property
    def duration(self) -> float:
        """Sum of the interval lengths (overlapping intervals of one label are summed as given)."""
        return math.fsum(end - start for start, end in self.intervals)


@dataclass(frozen=True)
class Clip:
    """The annotated labels of one TACOS clip, sorted by label."""

    filename: str
    labels: tuple[LabelEvents, ...]

    def label_names(self) -> tuple[str, ...]:
        return tuple(events.label for events in self.labels)

    def get(self, label: str) -> LabelEvents | None:
        for events in self.labels:
            if events.label == label:
                return events
        return None


@dataclass
class ReadReport:
    """What reading an annotation source kept and skipped.

    Args:
        source (`str`): path or URL that was read.
        rows (`int`): data rows read.
        rows_used (`int`): rows that reached a clip.
        skipped (`Counter[str]`): skipped rows per reason (see ``SKIP_REASONS``).
        dropped_clips (`list[str]`): clips removed because one of their rows was malformed.
        examples (`list[dict]`): the first few skipped rows with line number, reason and detail.
    """

    source: str
    rows: int = 0
    rows_used: int = 0
    skipped: Counter = field(default_factory=Counter)
    dropped_clips: list[str] = field(default_factory=list)
    examples: list[dict] = field(default_factory=list)
    max_examples: int = 20

    def skip(self, line: int, reason: str, detail: str) -> None:
        self.skipped[reason] += 1
        if len(self.examples) < self.max_examples:
            self.examples.append({"line": line, "reason": reason, "detail": detail})

    @property
    def rows_skipped(self) -> int:
        return sum(self.skipped.values())

    def to_dict(self) -> dict:
        return {
            "source": Path(self.source).name,  # no machine paths in shared reports
            "rows": self.rows,
            "rows_used": self.rows_used,
            "rows_skipped": self.rows_skipped,
            "skipped": {reason: self.skipped[reason] for reason in SKIP_REASONS if self.skipped[reason]},
            "dropped_clips": list(self.dropped_clips),
            "examples": list(self.examples),
        }


@dataclass
class Annotations:
    """Clips (by file name, sorted) and the report of how they were read."""

    clips: dict[str, Clip]
    report: ReadReport

    @property
    def labels(self) -> tuple[str, ...]:
        """Every distinct label of the source, sorted: the pool of absent-label distractors."""
        return tuple(sorted({ev.label for clip in self.clips.values() for ev in clip.labels}))


def normalize_label(text: str) -> str:
    """Normalise a free-text caption into a label: collapse whitespace, strip end punctuation, lower case.

    >>> normalize_label("  A dog   barks loudly. ")
    'a dog barks loudly'
    """
    return " ".join(str(text).split()).strip(" .,;:!?").lower()


def parse_intervals(text: str) -> list[tuple[float, float]]:
    """Parse ``"[0.93-1.40, 2.28-2.75]"`` into ``[(0.93, 1.4), (2.28, 2.75)]``.

    Raises `ValueError` naming the piece that is not ``start-end``; validity of the numbers
    (negative, start >= end) is checked by the reader, which knows the row.
    """
    body = str(text).strip()
    if body.startswith("[") and body.endswith("]"):
        body = body[1:-1]
    if not body.strip():
        raise ValueError("no intervals")
    out = []
    for piece in body.split(","):
        match = _INTERVAL_RE.fullmatch(piece)
        if match is None:
            raise ValueError(f"{piece.strip()!r} is not 'start-end'")
        out.append((float(match.group(1)), float(match.group(2))))
    return out


def label_problem(label: str) -> str | None:
    """What makes ``label`` unfit to be shown as an option, or ``None``.

    >>> label_problem("Dog barking") is None, label_problem("Dog\\nbarking")[:17]
    (True, 'contains U+000A (')
    """
    for char in label:
        if unicodedata.category(char) in _BAD_LABEL_CATEGORIES:
            return f"contains U+{ord(char):04X} (a line break or control character), which would break the A-D layout of the prompt"
    return None


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""


def _check_interval(start: float, end: float) -> str | None:
    if not (math.isfinite(start) and math.isfinite(end)):
        return BAD_INTERVAL
    if start < 0 or end < 0:
        return NEGATIVE_TIME
    if start >= end:
        return ONSET_NOT_BEFORE_OFFSET
    return None


def _assemble(
    rows: Iterable[tuple[int, object, object, list[tuple[float, float]] | None, str | None]],
    report: ReadReport,
    known_clips: frozenset[str] | None,
    strict: bool,
) -> Annotations:
    """Validate rows ``(line, filename, label, intervals | None, parse_error)`` and group them by clip."""
    grouped: dict[str, dict[str, list[tuple[float, float]]]] = {}
    row_lines: dict[str, list[int]] = {}
    broken: set[str] = set()
    for line, filename, label, intervals, parse_error in rows:
        report.rows += 1
        if _is_missing(filename) or _is_missing(label):
            report.skip(line, MISSING_VALUE, "empty filename or label")
            # Drop the rest of the clip, under the same (stripped) name its other rows are kept by;
            # an unsafe or unknown name has no clip to drop.
            name = "" if _is_missing(filename) else str(filename).strip()
            if name and check_clip_filename(name) is None and (known_clips is None or name in known_clips):
                broken.add(name)
            continue
        filename = str(filename).strip()
        label = str(label).strip()
        problem = check_clip_filename(filename)
        if problem is not None:
            report.skip(line, UNSAFE_FILENAME, f"{filename!r}: {problem}")
            continue
        if known_clips is not None and filename not in known_clips:
            report.skip(line, UNKNOWN_CLIP, f"{filename} is not a clip of the TACOS release")
            continue
        bad = label_problem(label)
        if bad is not None:
            report.skip(line, BAD_LABEL, f"{filename} / {label!r}: {bad}")
            broken.add(filename)
            continue
        if parse_error is not None or intervals is None:
            reason = MISSING_VALUE if parse_error == "missing" else BAD_INTERVAL
            report.skip(line, reason, f"{filename} / {label}: {parse_error}")
            broken.add(filename)
            continue
        reason = next((r for r in (_check_interval(s, e) for s, e in intervals) if r), None)
        if reason is not None:
            report.skip(line, reason, f"{filename} / {label}: {intervals}")
            broken.add(filename)
            continue
        grouped.setdefault(filename, {}).setdefault(label, []).extend(intervals)
        row_lines.setdefault(filename, []).append(line)
    for filename in sorted(broken):
        for line in row_lines.pop(filename, []):
            report.skip(line, CLIP_HAS_MALFORMED_ROWS, f"{filename}: another row of this clip is malformed")
        grouped.pop(filename, None)
    report.dropped_clips = sorted(broken)
    report.rows_used = report.rows - report.rows_skipped
    if strict and report.rows_skipped:
        first = "; ".join(f"line {ex['line']}: {ex['reason']} ({ex['detail']})" for ex in report.examples[:5])
        raise AnnotationError(
            f"{report.rows_skipped} malformed annotation row(s) in {report.source} "
            f"({', '.join(f'{k}: {v}' for k, v in report.to_dict()['skipped'].items())}). First: {first}. "
            "Fix the source, or build without --strict to skip them (they are listed in build_report.json)."
        )
    clips = {
        filename: Clip(
            filename,
            tuple(
                LabelEvents(label, tuple(sorted(intervals)))
                for label, intervals in sorted(grouped[filename].items())
            ),
        )
        for filename in sorted(grouped)
    }
    return Annotations(clips, report)


def read_event_table(
    path: str | Path, *, known_clips: Iterable[str] | None = None, strict: bool = False
) -> Annotations:
    """Read an event table (``idx,filename,subclass,intervals,question``).

    Args:
        path (`str` or `Path`): the CSV file.
        known_clips (`Iterable[str]`, *optional*): clip file names of the TACOS release; rows of other
            clips are skipped as ``unknown_clip``.
        strict (`bool`, defaults to `False`): raise on any malformed row instead of skipping it.
    """
    frame = read_csv_columns(path, EVENT_TABLE_COLUMNS, "event table")
    report = ReadReport(source=str(path))

    def rows():
        for offset, (filename, label, text) in enumerate(
            zip(frame["filename"], frame["subclass"], frame["intervals"])
        ):
            line = offset + 2  # 1-based, after the header
            if _is_missing(text):
                yield line, filename, label, None, "missing"
                continue
            try:
                yield line, filename, label, parse_intervals(text), None
            except ValueError as err:
                yield line, filename, label, None, str(err)

    known = frozenset(known_clips) if known_clips is not None else None
    return _assemble(rows(), report, known, strict)


def read_strong_annotations(
    path: str | Path,
    *,
    clips: Iterable[str] | None = None,
    known_clips: Iterable[str] | None = None,
    strict: bool = False,
) -> Annotations:
    """Read TACOS ``annotations_strong.csv`` as an event source (label = normalised caption text).

    Args:
        path (`str` or `Path`): the CSV file (``filename,text,onset,offset``).
        clips (`Iterable[str]`, *optional*): keep only these clips (e.g. the test split).
        known_clips (`Iterable[str]`, *optional*): see :func:`read_event_table`.
        strict (`bool`, defaults to `False`): raise on any malformed row instead of skipping it.
    """
    frame = read_csv_columns(path, STRONG_COLUMNS, "strong annotations")
    keep = frozenset(clips) if clips is not None else None
    report = ReadReport(source=str(path))

    def rows():
        for offset, (filename, text, onset, offset_s) in enumerate(
            zip(frame["filename"], frame["text"], frame["onset"], frame["offset"])
        ):
            if keep is not None and filename not in keep:
                continue
            line = offset + 2
            label = None if _is_missing(text) else normalize_label(text)
            if _is_missing(onset) or _is_missing(offset_s):
                yield line, filename, label, None, "missing"
                continue
            try:
                yield line, filename, label, [(float(onset), float(offset_s))], None
            except ValueError:
                yield line, filename, label, None, f"onset {onset!r} / offset {offset_s!r} are not numbers"

    known = frozenset(known_clips) if known_clips is not None else None
    return _assemble(rows(), report, known, strict)


def annotations_from_mapping(
    clips: Mapping[str, Mapping[str, Iterable[tuple[float, float]]]], *, source: str = "<memory>"
) -> Annotations:
    """Build :class:`Annotations` from ``{filename: {label: [(start, end), ...]}}`` (tests, notebooks)."""
    report = ReadReport(source=source)
    rows = (
        (index, filename, label, [tuple(map(float, iv)) for iv in intervals], None)
        for index, (filename, label, intervals) in enumerate(
            (f, lab, ivs) for f, labels in clips.items() for lab, ivs in labels.items()
        )
    )
    return _assemble(rows, report, None, strict=False)
