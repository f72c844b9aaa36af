"""Controls that separate temporal reasoning from sound recognition, and how they are scored.

Four controls, each defined here once (the presence-only ceiling itself is
:mod:`tacos_temporal.data.presence`, because the dataset card shows it):

* **Presence-only ceiling** - accuracy of a model that knows which options occur in the clip but
  nothing about time (uniform among the present options).  :func:`control_scores` puts it beside a
  model's accuracy (``presence_ceiling``, ``presence_ceiling_<task>``).
* **Caption-order shortcut** (caption views) - :func:`caption_order_letter`: earliest onset = the
  option the caption mentions first, latest offset = the option it mentions last, longest duration =
  the option it mentions first (see the function for the matching rule and why).
* **Circular evaluation** (``eval --circular``) - every item asked with its four cyclic option
  rotations (:func:`rotate_options`); :func:`circular_scores` scores it strictly (right under all
  four), per rotation, and measures the letter-position bias the rotations reveal.
* **Time reversal** (the ``time_reversed`` view) - :func:`temporal_consistency` pairs a model's
  answers on reversed clips with its answers on the originals: a model that follows the timeline
  answers earliest onset on the reversed clip with the label it gave for latest offset on the
  original (and the reverse), and keeps its longest-duration label.

None of these is the benchmark's score; reports show them beside it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from ..data.presence import presence_ceiling
from ..errors import ScoringError
from ..names import (
    CHANCE,
    EARLIEST_ONSET,
    LATEST_OFFSET,
    LETTERS,
    MIRRORED_TASKS,
    NUM_OPTIONS,
    TASKS,
)
from .metrics import wilson_interval

__all__ = [
    "caption_mentions",
    "caption_order_letter",
    "circular_id",
    "circular_scores",
    "control_scores",
    "rotate_options",
    "rotate_row",
    "temporal_consistency",
]

# --- caption-order shortcut -------------------------------------------------------------------

#: Words that never identify a sound: function words, and "sound" itself (labels such as
#: ``Helicopter sound`` would otherwise match every caption that says "sounds").
CAPTION_STOP_WORDS: frozenset[str] = frozenset(
    "a an the of and or in on at by to from for with while then as is are be its it this that "
    "some someone something sound sounds".split()
)
#: Suffixes cut from a word before matching, first that leaves at least 3 letters.
_SUFFIXES: tuple[str, ...] = ("ing", "es", "ed", "s", "e")
_WORD = re.compile(r"[a-z0-9]+")


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _stems(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text.lower())]


def caption_mentions(caption: str, options: Sequence[str]) -> list[tuple[int, int] | None]:
    """Where the caption mentions each option: ``(first, last)`` word position, or ``None``.

    An option is mentioned at a word of the caption when that word and one of the option's words
    have the same stem (lower case, one of ``-ing -es -ed -s -e`` cut off if at least three letters
    remain; function words and "sound" ignored): ``Dog Barking`` is mentioned by "dogs" and by
    "barks", ``Stream_River`` by "river".

    >>> caption_mentions("A dog barks while birds are chirping.", ["Bird Chirp", "Dog", "Car", "Rain"])
    [(4, 6), (1, 1), None, None]
    """
    words = _stems(caption)
    out: list[tuple[int, int] | None] = []
    for option in options:
        keys = {_stem(w) for w in _WORD.findall(option.lower()) if w not in CAPTION_STOP_WORDS}
        hits = [i for i, word in enumerate(words) if word in keys and word not in CAPTION_STOP_WORDS]
        out.append((hits[0], hits[-1]) if hits else None)
    return out


def caption_order_letter(caption: str | None, options: Sequence[str], task: str) -> str | None:
    """The caption-order shortcut's answer, or ``None`` when the caption does not decide it.

    * ``earliest_onset``: the option whose first mention comes first;
    * ``latest_offset``: the option whose last mention comes last;
    * ``longest_duration``: the option whose first mention comes first.  A clip caption names its
      dominant sound first, as the sentence's subject ("A man speaks while birds chirp in the
      background"), and the dominant sound is usually the one that lasts; the rule also makes the
      baseline's LD score show how often the caption's first sound is the longest one.

    ``None`` (scored wrong, like a parse failure) when no option is mentioned or two options tie
    (one caption word matches both): the shortcut never guesses.

    >>> caption_order_letter("A dog barks, then a car passes.", ["Car", "Dog", "Rain", "Wind"], "earliest_onset")
    'B'
    >>> caption_order_letter("A dog barks, then a car passes.", ["Car", "Dog", "Rain", "Wind"], "latest_offset")
    'A'
    """
    if task not in TASKS:
        raise ScoringError(f"task is {task!r}: expected one of {', '.join(TASKS)}")
    if len(options) != NUM_OPTIONS:
        raise ScoringError(f"options has {len(options)} labels: expected {NUM_OPTIONS}")
    if not caption:
        return None
    mentions = caption_mentions(caption, options)
    found = [(letter, m) for letter, m in zip(LETTERS, mentions) if m is not None]
    if not found:
        return None
    if task == LATEST_OFFSET:
        best = max(m[1] for _, m in found)
        winners = [letter for letter, m in found if m[1] == best]
    else:
        best = min(m[0] for _, m in found)
        winners = [letter for letter, m in found if m[0] == best]
    return winners[0] if len(winners) == 1 else None


# --- circular evaluation ----------------------------------------------------------------------

ROTATION_MARK = "@rot"


def rotate_options(options: Sequence[str], answer: str, k: int) -> tuple[list[str], str]:
    """Rotation ``k`` (0-3) of an item: option ``A`` moves to position ``-k``, the rest follow.

    >>> rotate_options(["w", "x", "y", "z"], "B", 1)
    (['x', 'y', 'z', 'w'], 'A')
    """
    if not 0 <= k < NUM_OPTIONS:
        raise ScoringError(f"rotation is {k!r}: expected 0 to {NUM_OPTIONS - 1}")
    options = list(options)
    index = LETTERS.index(answer)
    return options[k:] + options[:k], LETTERS[(index - k) % NUM_OPTIONS]


def rotate_row(row: Mapping, k: int) -> dict:
    """Rotation ``k`` of an item row (dataset row or ``Item.to_dict()``): options, answer and the
    per-option evidence move together; ``id`` becomes :func:`circular_id`, and ``item_id`` /
    ``rotation`` record where it came from."""
    options, answer = rotate_options(row["options"], row["answer"], k)
    out = {**row, "id": circular_id(row["id"], k), "options": options, "answer": answer, "item_id": row["id"], "rotation": k}
    if row.get("events") is not None:
        events = list(row["events"])
        out["events"] = [{**ev, "letter": letter} for ev, letter in zip(events[k:] + events[:k], LETTERS)]
    return out


def circular_id(item_id: str, k: int) -> str:
    """The id of rotation ``k`` of an item: ``EO-100388@rot2``."""
    return f"{item_id}{ROTATION_MARK}{k}"


def _label(record: Mapping) -> str | None:
    letter = record.get("letter")
    if letter is None or (isinstance(letter, float) and math.isnan(letter)) or letter not in LETTERS:
        return None
    return list(record["options"])[LETTERS.index(letter)]


def circular_scores(records: Iterable[Mapping], *, confidence: float = 0.95) -> dict[str, float | int]:
    """Strict and per-rotation accuracy of a circular run, and its letter-position bias.

    ``records`` are the run's rows, each with ``item_id`` (the original id), ``rotation`` (0-3),
    ``task``, ``answer``, ``options`` and ``letter``.  Every item needs all four rotations.

    Keys: ``circular_n`` (items); ``circular_accuracy`` (right under all four rotations) with a
    Wilson interval, and per task; ``accuracy_rotation_<k>``; ``circular_label_consistency`` (the same
    label chosen under all four rotations, right or wrong); ``circular_pred_rate_<L>`` (share of the
    parsed answers that are letter L, over all rotations) and ``circular_position_bias``: the total
    variation distance of that letter distribution from uniform, ``0.5 * sum_L |rate_L - 1/4|``.
    Each option sits at each letter exactly once over the rotations, so a model whose choice
    depends only on the labels has no bias (0); one that always says ``A`` has 0.75.
    """
    groups: dict[str, dict[int, Mapping]] = {}
    for i, record in enumerate(records):
        if "rotation" not in record or "item_id" not in record:
            raise ScoringError(f"records[{i}] has no rotation/item_id: it is not from a circular run (eval --circular)")
        groups.setdefault(record["item_id"], {})[int(record["rotation"])] = record
    if not groups:
        raise ScoringError("circular_scores() got no records")
    incomplete = [item for item, rotations in groups.items() if set(rotations) != set(range(NUM_OPTIONS))]
    if incomplete:
        raise ScoringError(
            f"{len(incomplete)} item(s) lack some of the {NUM_OPTIONS} rotations (first: {incomplete[0]}); "
            "resume the circular run with the same command to complete it"
        )
    out: dict[str, float | int] = {"circular_n": len(groups)}

    def strict(rotations: Mapping[int, Mapping]) -> bool:
        return all(r.get("letter") == r["answer"] for r in rotations.values())

    right = sum(strict(g) for g in groups.values())
    out["circular_accuracy"] = right / len(groups)
    out["circular_accuracy_ci_low"], out["circular_accuracy_ci_high"] = wilson_interval(right, len(groups), confidence)
    for task in TASKS:
        members = [g for g in groups.values() if g[0]["task"] == task]
        if members:
            k = sum(strict(g) for g in members)
            out[f"circular_n_{task}"] = len(members)
            out[f"circular_accuracy_{task}"] = k / len(members)
    for k in range(NUM_OPTIONS):
        out[f"accuracy_rotation_{k}"] = sum(g[k].get("letter") == g[k]["answer"] for g in groups.values()) / len(groups)
    consistent = 0
    for g in groups.values():
        labels = {_label(r) for r in g.values()}
        consistent += len(labels) == 1 and None not in labels
    out["circular_label_consistency"] = consistent / len(groups)
    letters = Counter(r.get("letter") for g in groups.values() for r in g.values() if r.get("letter") in LETTERS)
    parsed = sum(letters.values())
    for letter in LETTERS:
        out[f"circular_pred_rate_{letter}"] = letters[letter] / parsed if parsed else 0.0
    out["circular_position_bias"] = 0.5 * sum(abs(out[f"circular_pred_rate_{L}"] - 1 / NUM_OPTIONS) for L in LETTERS) if parsed else 0.0
    return out


# --- time reversal ----------------------------------------------------------------------------


def temporal_consistency(original: Iterable[Mapping], reversed_: Iterable[Mapping]) -> dict[str, float | int]:
    """Do a model's answers follow the timeline when the timeline is reversed?

    ``original`` are the records of a run on ``audio_only``, ``reversed_`` those of the same model on
    ``time_reversed``; each record needs ``task``, ``filename``, ``options``, ``answer`` and
    ``letter``.  Answers are compared by **label** (the two sides draw their options and letters
    independently).  A reversed item of task ``T`` is paired with the original item of task
    ``MIRRORED_TASKS[T]`` on the same clip.

    Keys (a parse failure never matches anything):

    - ``reversal_pairs`` / ``reversal_consistency`` and per reversed task ``reversal_pairs_<task>`` /
      ``reversal_consistency_<task>``: the share of pairs where the model chose the same label on both
      sides (``earliest_onset``: EO on the reversed clip = LO on the original; ``latest_offset``: LO
      reversed = EO original; ``longest_duration``: LD unchanged, which a time-blind model also does).
    - On the clips where **both apply** (EO and LO items on both sides, with different correct labels,
      so following the timeline and ignoring it predict different answers), each of the clip's two
      reversed answers ``a`` (task ``T``) is classified against the model's original answers to the
      mirrored question ``m`` and to the same question ``s``:
      ``reversal_follows_timeline`` (``a == m != s``), ``reversal_ignores_time`` (``a == s != m``: the
      same label both ways), ``reversal_question_blind`` (``a == m == s``: the same label whatever is
      asked) and ``reversal_other``; shares of ``reversal_diagnostic_n`` answers, summing to 1.
    - ``reversal_chance``: 0.25.
    """
    orig = _by_clip_task(original, "original")
    back = _by_clip_task(reversed_, "reversed_")
    out: dict[str, float | int] = {"reversal_chance": CHANCE}
    all_pairs = 0
    all_same = 0
    for task in TASKS:
        pairs = [(back[key], orig[(key[0], MIRRORED_TASKS[task])]) for key in back if key[1] == task and (key[0], MIRRORED_TASKS[task]) in orig]
        if not pairs:
            continue
        same = sum(_label(a) is not None and _label(a) == _label(b) for a, b in pairs)
        out[f"reversal_pairs_{task}"] = len(pairs)
        out[f"reversal_consistency_{task}"] = same / len(pairs)
        all_pairs += len(pairs)
        all_same += same
    if not all_pairs:
        raise ScoringError(
            "the two runs share no clip with a mirrored item: pass the records of the same model on "
            "audio_only and on time_reversed, built from the same event table"
        )
    out["reversal_pairs"] = all_pairs
    out["reversal_consistency"] = all_same / all_pairs
    kinds = Counter()
    clips = {clip for clip, task in back if task == EARLIEST_ONSET}
    for clip in sorted(clips):
        keys = [(clip, EARLIEST_ONSET), (clip, LATEST_OFFSET)]
        if not all(k in back and k in orig for k in keys):
            continue
        if _answer_label(orig[keys[0]]) == _answer_label(orig[keys[1]]):
            continue  # one label starts first and ends last: both hypotheses give the same answer
        for task in (EARLIEST_ONSET, LATEST_OFFSET):
            a = _label(back[(clip, task)])
            m = _label(orig[(clip, MIRRORED_TASKS[task])])
            s_ = _label(orig[(clip, task)])
            if a is None:
                kinds["other"] += 1
            elif a == m and a == s_:
                kinds["question_blind"] += 1
            elif a == m:
                kinds["follows_timeline"] += 1
            elif a == s_:
                kinds["ignores_time"] += 1
            else:
                kinds["other"] += 1
    total = sum(kinds.values())
    out["reversal_diagnostic_n"] = total
    if total:
        for kind in ("follows_timeline", "ignores_time", "question_blind", "other"):
            out[f"reversal_{kind}"] = kinds[kind] / total
    return out


def _answer_label(record: Mapping) -> str:
    return list(record["options"])[LETTERS.index(record["answer"])]


def _by_clip_task(records: Iterable[Mapping], name: str) -> dict[tuple[str, str], Mapping]:
    out: dict[tuple[str, str], Mapping] = {}
    for i, record in enumerate(records):
        for key in ("task", "filename", "options", "answer"):
            if key not in record:
                raise ScoringError(f"{name}[{i}] has no {key!r}: pass the run's samples.jsonl records")
        if record.get("rotation") not in (None, 0):
            continue  # circular runs: the original option order only
        out[(record["filename"], record["task"])] = record
    return out


# --- everything one run's records support -----------------------------------------------------


def control_scores(records: Sequence[Mapping], *, items: Sequence | None = None, confidence: float = 0.95) -> dict[str, float | int]:
    """The controls that one run's records (``samples.jsonl``) support, as flat keys for ``score()``'s dict.

    - presence-only ceiling (``presence_ceiling*``) when the records carry ``options_in_clip``, or
      ``items`` (``Item`` objects or dicts with ``events``) are given; when some record marks no
      option as present (hand-made evidence), ``presence_ceiling_unavailable`` counts them instead;
    - caption-order shortcut (``caption_order_accuracy``, ``_<task>``, ``caption_order_coverage``:
      share of items it answers) when the records carry ``caption_order_letter``;
    - circular scores (:func:`circular_scores`) when the records carry ``rotation``.

    Records of a circular run count each item once (rotation 0) for the first two.
    """
    rows = [r for r in records if r.get("rotation") in (None, 0)]
    out: dict[str, float | int] = {}
    if rows and all(r.get("options_in_clip") is not None for r in rows):
        lacking = sum(not any(r["options_in_clip"]) for r in rows)
        if lacking:
            # Evidence that marks no option as present (a hand-made dataset): no ceiling rather
            # than one over a subset; the count says why it is missing.
            out["presence_ceiling_unavailable"] = lacking
        else:
            out.update(presence_ceiling(rows))
    elif items:
        by_id = {(i["id"] if isinstance(i, Mapping) else i.id): i for i in items}
        wanted = [by_id[r.get("item_id", r["id"])] for r in rows if r.get("item_id", r["id"]) in by_id]
        if wanted:
            out.update(presence_ceiling(wanted))
    if rows and all("caption_order_letter" in r for r in rows):
        right = [r["caption_order_letter"] == r["answer"] for r in rows]
        out["caption_order_accuracy"] = sum(right) / len(rows)
        out["caption_order_coverage"] = sum(r["caption_order_letter"] is not None for r in rows) / len(rows)
        for task in TASKS:
            group = [r for r in rows if r["task"] == task]
            if group:
                out[f"caption_order_accuracy_{task}"] = sum(r["caption_order_letter"] == r["answer"] for r in group) / len(group)
    if records and any("rotation" in r for r in records):
        out.update(circular_scores(records, confidence=confidence))
    return out
