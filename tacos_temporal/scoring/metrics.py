"""Scoring core: parsed answers -> accuracy, intervals, parse failures, paired comparisons.

Everything here works on saved predictions and needs no model: :func:`judge` turns text (or
letters) into :class:`Judged` records with :func:`~tacos_temporal.scoring.parsing.parse_choice`,
:func:`score` summarises them into one flat ``dict``, :func:`compare` pairs two runs item by item
and :func:`view_effects` contrasts the input views of one model.  :func:`judged_from_records`
reads records saved by a run (``samples.jsonl`` / Parquet rows) back into :class:`Judged`.

A parse failure (``letter=None``) is never guessed: it counts as wrong in every accuracy and is
reported as ``parse_failure_rate`` (lm-evaluation-harness's ``"[invalid]"``).

Intervals
---------
- A proportion ``k / n`` gets the **Wilson score interval** (Wilson 1927; recommended over the
  Wald interval by Brown, Cai & DasGupta 2001, *Statistical Science* 16:101-133).  It stays inside
  [0, 1], is not degenerate at ``k = 0`` or ``k = n`` (``k = 0`` gives ``(0, u)`` with ``u > 0``),
  and has close to nominal coverage already at the per-task sizes here (about 500 items).
- The macro average ``(p_1 + ... + p_K) / K`` over tasks gets the **MOVER-Wilson** interval
  (Zou & Donner 2008, *Statistics in Medicine* 27:1693-1702, "method of variance estimates
  recovery"; Newcombe's interval for a difference of proportions is the same construction): with
  Wilson limits ``(l_t, u_t)`` of each task,
  ``low = M - sqrt(sum_t (p_t - l_t)^2) / K`` and ``high = M + sqrt(sum_t (u_t - p_t)^2) / K``.
  It is closed form and deterministic (no bootstrap seed), reduces to the Wilson interval for one
  task, inherits Wilson's asymmetry near 0 and 1 and never leaves [0, 1] (the square root of a sum
  of squares is at most the sum, so ``low >= mean(l_t) >= 0``).  The tasks are disjoint item sets,
  so their proportions are independent, which is what the construction assumes.
- A paired comparison uses the **exact McNemar test**: a two-sided exact binomial test of the
  discordant pairs against ``p = 1/2`` (:func:`mcnemar_exact`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from statistics import NormalDist

from tacos_temporal.errors import ScoringError, unknown_name
from tacos_temporal.names import (
    ALL_VIEWS,
    AUDIO_CAPTION,
    AUDIO_ONLY,
    CAPTION_ONLY,
    CHANCE,
    LETTERS,
    NUM_OPTIONS,
    TASKS,
)
from tacos_temporal.scoring.parsing import parse_choice

__all__ = [
    "Judged",
    "MISSING_PREDICTION",
    "compare",
    "judge",
    "judged_from_records",
    "mcnemar_exact",
    "score",
    "view_effects",
    "wilson_interval",
]

#: The value a parse failure takes in the letter distribution and in view agreement.
NONE_LETTER = "none"
#: The rule of an item that has no prediction at all (scored with items given): wrong, and counted
#: as ``missing``, apart from the outputs no letter could be read from (``parse_failures``).
MISSING_PREDICTION = "missing_prediction"


@dataclass(frozen=True)
class Judged:
    """One scored item.

    Args:
        id (`str`): the item id, unique within one view of one run (e.g. ``"EO-100388"``).
        task (`str`): one of ``names.TASKS``.
        answer (`str`): the correct letter, one of ``names.LETTERS``.
        letter (`str` or `None`): the letter read from the model's output; ``None`` when parsing
            failed (scored as wrong).
        rule (`str`): the parsing rule that decided ``letter`` (``"none"`` for a failure).
        view (`str`, *optional*, defaults to `None`): the input view, one of ``names.ALL_VIEWS``.
    """

    id: str
    task: str
    answer: str
    letter: str | None
    rule: str
    view: str | None = None

    def __post_init__(self) -> None:
        # A record built by hand validates itself; judge() checks first so that its errors can
        # name the offending index.
        problems = [
            _id_problem(self.id),
            _task_problem(self.task),
            _letter_problem(self.answer),
            None if self.letter is None else _letter_problem(self.letter),
            None if isinstance(self.rule, str) else f"is {self.rule!r}: expected a string",
            None if self.view is None else _view_problem(self.view),
        ]
        for field, problem in zip(("id", "task", "answer", "letter", "rule", "view"), problems):
            if problem is not None:
                raise ScoringError(f"Judged.{field} {problem}")

    @property
    def correct(self) -> bool:
        """Whether the parsed letter is the answer; a parse failure is wrong."""
        return self.letter is not None and self.letter == self.answer


# --- validation helpers: each returns None or the end of a message "<where> <problem>" ----------


def _is_sequence(value: object) -> bool:
    return (isinstance(value, Sequence) and not isinstance(value, (str, bytes))) or _is_array(value)


def _is_array(value: object) -> bool:
    # numpy arrays / pandas Series / pyarrow lists from saved records, without importing them.
    return hasattr(value, "__len__") and hasattr(value, "tolist") and not isinstance(value, (str, bytes))


def _as_list(value: object) -> list:
    return list(value.tolist()) if _is_array(value) else list(value)  # type: ignore[arg-type]


def _letter_problem(value: object) -> str | None:
    if isinstance(value, str) and value in LETTERS:
        return None
    return f"is {value!r}: expected one of {', '.join(LETTERS)}"


def _task_problem(value: object) -> str | None:
    if isinstance(value, str) and value in TASKS:
        return None
    return f"is {value!r}: {unknown_name('task', value, TASKS)}"


def _view_problem(value: object) -> str | None:
    if isinstance(value, str) and value in ALL_VIEWS:
        return None
    return f"is {value!r}: {unknown_name('view', value, ALL_VIEWS)}"


def _id_problem(value: object) -> str | None:
    if isinstance(value, str) and value:
        return None
    return f"is {value!r}: expected a non-empty string"


def _options_problem(value: object) -> str | None:
    if _is_sequence(value):
        values = _as_list(value)
        if len(values) == NUM_OPTIONS and all(isinstance(v, str) for v in values):
            return None
    return f"is {value!r}: expected a list of {NUM_OPTIONS} strings (the labels of options {', '.join(LETTERS)})"


def _first_problem(name: str, values: Sequence, check) -> None:
    for i, value in enumerate(values):
        problem = check(value)
        if problem is not None:
            raise ScoringError(f"{name}[{i}] {problem}")


def _check_unique(name: str, ids: Sequence[str], views: Sequence[str | None]) -> None:
    seen: dict[tuple[str | None, str], int] = {}
    for i, key in enumerate(zip(views, ids)):
        if key in seen:
            where = f" in view {key[0]!r}" if key[0] is not None else ""
            raise ScoringError(
                f"{name}[{i}] is {key[1]!r}, already used by {name}[{seen[key]}]{where}: "
                "each item may appear once per view; drop the repeated row or give it its own view"
            )
        seen[key] = i


def _parse(text: str, options: list[str] | None, where: str) -> tuple[str | None, str]:
    try:
        parsed = parse_choice(text, options)
    except ScoringError as err:
        raise ScoringError(f"{where}: {err}") from err
    return parsed.letter, parsed.rule


# --- judging ------------------------------------------------------------------------------------


def judge(
    predictions: Sequence[str],
    references: Sequence[str],
    tasks: Sequence[str],
    options: Sequence[Sequence[str]] | None = None,
    ids: Sequence[str] | None = None,
    views: Sequence[str] | None = None,
) -> list[Judged]:
    """Parse each prediction and pair it with its reference.

    Every argument is validated before anything is parsed; the first problem raises
    :class:`~tacos_temporal.errors.ScoringError` naming its index, e.g.
    ``references[3] is 'E': expected one of A, B, C, D``.

    Args:
        predictions (`Sequence[str]`): the model's raw text or bare letters, one per item.
        references (`Sequence[str]`): the correct letters (``"A"`` to ``"D"``).
        tasks (`Sequence[str]`): each item's task, one of ``names.TASKS``.
        options (`Sequence[Sequence[str]]`, *optional*, defaults to `None`): the four option labels
            of each item in A-D order; with them the parser can also match an answer that repeats
            the option's text.  `None` uses the letter rules only.
        ids (`Sequence[str]`, *optional*, defaults to ``str(index)``): item ids; unique per view.
        views (`Sequence[str]`, *optional*, defaults to `None`): each item's input view, one of
            ``names.ALL_VIEWS``.  The same id may appear once in each view.

    Returns:
        `list[Judged]`, in input order.

    Example:

    ```py
    >>> [j.correct for j in judge(["B", "no idea"], ["B", "A"], ["earliest_onset"] * 2)]
    [True, False]

    ```
    """
    columns: dict[str, object] = {"predictions": predictions, "references": references, "tasks": tasks}
    if options is not None:
        columns["options"] = options
    if ids is not None:
        columns["ids"] = ids
    if views is not None:
        columns["views"] = views
    for name, column in columns.items():
        if not _is_sequence(column):
            raise ScoringError(f"{name} is {type(column).__name__}: expected a list with one entry per item")
    lists = {name: _as_list(column) for name, column in columns.items()}
    n = len(lists["predictions"])
    for name, column in lists.items():
        if len(column) != n:
            raise ScoringError(
                f"predictions has {n} items but {name} has {len(column)}: every input needs one entry per item"
            )

    _first_problem("predictions", lists["predictions"],
                   lambda v: None if isinstance(v, str) else f"is {v!r}: expected a string (text or letter)")
    _first_problem("references", lists["references"], _letter_problem)
    _first_problem("tasks", lists["tasks"], _task_problem)
    if options is not None:
        _first_problem("options", lists["options"], _options_problem)
    id_list = lists["ids"] if ids is not None else [str(i) for i in range(n)]
    _first_problem("ids", id_list, _id_problem)
    view_list = lists["views"] if views is not None else [None] * n
    if views is not None:
        _first_problem("views", view_list, _view_problem)
    _check_unique("ids", id_list, view_list)

    option_list = [_as_list(o) for o in lists["options"]] if options is not None else [None] * n
    judged = []
    for i in range(n):
        letter, rule = _parse(lists["predictions"][i], option_list[i], f"options[{i}]")
        judged.append(Judged(id_list[i], lists["tasks"][i], lists["references"][i], letter, rule, view_list[i]))
    return judged


def judged_from_records(records: Iterable[Mapping], *, reparse: bool = False) -> list[Judged]:
    """Rebuild :class:`Judged` records from saved rows (``samples.jsonl``, Parquet, dicts).

    Each record needs ``id``, ``task`` and ``answer``, and either

    - ``letter`` and ``rule``: the decision saved by the run (``letter`` may be `None`), or
    - ``prediction`` (or ``output``): the raw text, parsed here, with ``options`` when present.

    An optional ``view`` is kept.  Other keys are ignored.

    Args:
        records (`Iterable[Mapping]`): the saved rows.
        reparse (`bool`, *optional*, defaults to `False`): parse ``prediction``/``output`` again even
            where ``letter`` and ``rule`` were saved (to re-score old runs with the current parser).

    Returns:
        `list[Judged]`, in input order.
    """
    rows = list(records)
    # First pass: validate every record; keep either the saved decision or the text to parse.
    pending: list[tuple[str, str, str, str | None, tuple]] = []  # id, task, answer, view, decision
    for i, row in enumerate(rows):
        where = f"records[{i}]"
        if not isinstance(row, Mapping):
            raise ScoringError(f"{where} is {type(row).__name__}: expected a mapping with id, task, answer, ...")
        for key in ("id", "task", "answer"):
            if key not in row:
                raise ScoringError(f"{where} has no {key!r}: every record needs id, task and answer")
        for key, check in (("id", _id_problem), ("task", _task_problem), ("answer", _letter_problem)):
            problem = check(row[key])
            if problem is not None:
                raise ScoringError(f"{where}[{key!r}] {problem}")
        view = row.get("view")
        if view is not None and _view_problem(view) is not None:
            raise ScoringError(f"{where}['view'] {_view_problem(view)}")
        text_key = "prediction" if "prediction" in row else "output" if "output" in row else None
        if "letter" in row and not (reparse and text_key is not None):
            if "rule" not in row:
                raise ScoringError(
                    f"{where} has 'letter' but no 'rule': save the parsing rule with the letter, "
                    "or pass the raw text as 'prediction'"
                )
            letter = row["letter"]
            if isinstance(letter, float) and math.isnan(letter):  # pandas writes a missing letter as NaN
                letter = None
            if letter is not None and _letter_problem(letter) is not None:
                raise ScoringError(f"{where}['letter'] {_letter_problem(letter)} or None (a parse failure)")
            if not isinstance(row["rule"], str):
                raise ScoringError(f"{where}['rule'] is {row['rule']!r}: expected a string")
            decision: tuple = ("saved", letter, row["rule"])
        elif text_key is not None:
            text = row[text_key]
            if not isinstance(text, str):
                raise ScoringError(f"{where}[{text_key!r}] is {text!r}: expected a string")
            options = row.get("options")
            if options is not None:
                problem = _options_problem(options)
                if problem is not None:
                    raise ScoringError(f"{where}['options'] {problem}")
                options = _as_list(options)
            decision = ("text", text, options)
        else:
            raise ScoringError(
                f"{where} has neither 'letter'+'rule' nor 'prediction'/'output': nothing to score"
            )
        pending.append((row["id"], row["task"], row["answer"], view, decision))
    _check_unique("records", [p[0] for p in pending], [p[3] for p in pending])

    # Second pass: parse the texts.
    judged = []
    for i, (id_, task, answer, view, (kind, value, extra)) in enumerate(pending):
        if kind == "saved":
            letter, rule = value, extra
        else:
            letter, rule = _parse(value, extra, f"records[{i}]['options']")
        judged.append(Judged(id_, task, answer, letter, rule, view))
    return judged


# --- intervals and tests -----------------------------------------------------------------------


def _z(confidence: float) -> float:
    if not isinstance(confidence, (int, float)) or not 0.0 < confidence < 1.0:
        raise ScoringError(f"confidence is {confidence!r}: expected a number strictly between 0 and 1, e.g. 0.95")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n``.

    ``center = (p + z^2/2n) / (1 + z^2/n)``, ``half = z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2)``.
    The bounds are exact at the edges: ``k = 0`` gives a low bound of exactly ``0.0`` and
    ``k = n`` a high bound of exactly ``1.0`` (floating point alone would leave ``1e-17``).

    Args:
        k (`int`): successes, ``0 <= k <= n``.
        n (`int`): trials, ``n >= 1``.
        confidence (`float`, *optional*, defaults to 0.95): two-sided coverage.

    Returns:
        `tuple[float, float]`: ``(low, high)``.

    Example:

    ```py
    >>> [round(x, 4) for x in wilson_interval(5, 10)]
    [0.2366, 0.7634]

    ```
    """
    if isinstance(k, bool) or isinstance(n, bool) or not isinstance(k, int) or not isinstance(n, int):
        raise ScoringError(f"wilson_interval needs integer counts, got k={k!r}, n={n!r}")
    if n < 1 or not 0 <= k <= n:
        raise ScoringError(f"wilson_interval needs 0 <= k <= n and n >= 1, got k={k}, n={n}")
    z = _z(confidence)
    p = k / n
    z2n = z * z / n
    center = (p + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n))
    low = 0.0 if k == 0 else max(0.0, center - half)
    high = 1.0 if k == n else min(1.0, center + half)
    return low, high


def mcnemar_exact(b: int, c: int) -> float:
    """Exact two-sided McNemar test on the discordant pairs of a paired comparison.

    Under the null hypothesis each of the ``b + c`` discordant items falls on either side with
    probability 1/2, so ``p = min(1, 2 * P[X <= min(b, c)])`` with ``X ~ Binomial(b + c, 1/2)``;
    computed with exact integer sums.  ``b = c = 0`` (no discordant pair) gives ``1.0``.

    Args:
        b (`int`): items the baseline got wrong and the other run right (or the reverse).
        c (`int`): items changed in the other direction.

    Returns:
        `float`: the p-value in (0, 1].

    Example:

    ```py
    >>> mcnemar_exact(0, 5)  # 2 * (1/2)**5
    0.0625

    ```
    """
    for name, value in (("b", b), ("c", c)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ScoringError(f"mcnemar_exact needs non-negative integer counts, got {name}={value!r}")
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1))
    # Exact rational 2 * tail / 2**n; Python's int / int rounds big integers correctly.
    return min(1.0, (2 * tail) / (1 << n))


def _mover_mean(parts: Sequence[tuple[int, int]], confidence: float) -> tuple[float, float, float]:
    """Mean of proportions ``k_t / n_t`` and its MOVER-Wilson interval (see the module docstring)."""
    count = len(parts)
    props = [k / n for k, n in parts]
    limits = [wilson_interval(k, n, confidence) for k, n in parts]
    mean = sum(props) / count
    down = math.sqrt(sum((p - lo) ** 2 for p, (lo, _) in zip(props, limits))) / count
    up = math.sqrt(sum((hi - p) ** 2 for p, (_, hi) in zip(props, limits))) / count
    return mean, max(0.0, mean - down), min(1.0, mean + up)


# --- scores ------------------------------------------------------------------------------------


def _as_judged(judged: Iterable[Judged], name: str) -> list[Judged]:
    items = list(judged)
    for i, item in enumerate(items):
        if not isinstance(item, Judged):
            raise ScoringError(f"{name}[{i}] is {type(item).__name__}: expected a Judged (from judge())")
    return items


def _proportion(out: dict, key: str, items: Sequence[Judged], confidence: float) -> None:
    k = sum(j.correct for j in items)
    out[key] = k / len(items)
    out[f"{key}_ci_low"], out[f"{key}_ci_high"] = wilson_interval(k, len(items), confidence)


def _is_missing(item: Judged) -> bool:
    return item.letter is None and item.rule == MISSING_PREDICTION


def _failure_rate(items: Sequence[Judged]) -> float:
    """Share of items with an output no letter could be read from (missing predictions aside)."""
    return sum(j.letter is None and not _is_missing(j) for j in items) / len(items)


def score(judged: Iterable[Judged], *, confidence: float = 0.95) -> dict[str, float | int]:
    """Summarise judged items into one flat dict of numbers.

    Keys (``<task>`` ranges over the tasks present, ``<view>`` over the views present):

    - ``n``; ``accuracy`` (micro: every item weighs the same) with ``accuracy_ci_low`` /
      ``accuracy_ci_high`` (Wilson); ``accuracy_macro`` (mean of the per-task accuracies of the
      tasks present) with ``_ci_low`` / ``_ci_high`` (MOVER-Wilson, module docstring).
    - ``chance`` (``names.CHANCE`` = 0.25) and ``confidence`` (the coverage of every interval).
    - ``parse_failures`` (count) and ``parse_failure_rate``: outputs no letter could be read from;
      ``missing`` (count) and ``missing_rate``: items without any prediction (rule
      ``missing_prediction``).  Both count as wrong everywhere; ``pred_rate_none`` is their sum.
    - per task: ``n_<task>``, ``accuracy_<task>`` with ``_ci_low`` / ``_ci_high``,
      ``parse_failure_rate_<task>``.
    - predicted letters: ``pred_rate_A`` .. ``pred_rate_D`` and ``pred_rate_none`` (sum to 1).
    - by answer position: ``n_answer_A`` .. ``n_answer_D`` always; ``accuracy_answer_<L>`` only where
      ``n_answer_<L> > 0``.
    - only when the records carry more than one view: ``n_<view>``, ``accuracy_<view>`` (+ ci),
      ``parse_failure_rate_<view>``, ``n_<view>_<task>`` and ``accuracy_<view>_<task>`` (+ ci).

    A task (or view) absent from the records has no keys at all, rather than a zero or NaN that
    could be mistaken for a score.  With several views the top-level numbers pool every record.

    Args:
        judged (`Iterable[Judged]`): output of :func:`judge` or :func:`judged_from_records`.
        confidence (`float`, *optional*, defaults to 0.95): coverage of the intervals.

    Returns:
        `dict[str, float | int]`.

    Example:

    ```py
    >>> s = score(judge(["A", "B", "?", "D"], ["A", "C", "C", "D"], ["latest_offset"] * 4))
    >>> s["accuracy"], s["parse_failure_rate"], s["pred_rate_none"]
    (0.5, 0.25, 0.25)

    ```
    """
    items = _as_judged(judged, "judged")
    if not items:
        raise ScoringError("score() got no judged items: there is nothing to score")
    _z(confidence)
    views = {j.view for j in items}
    if None in views and len(views) > 1:
        first = next(i for i, j in enumerate(items) if j.view is None)
        raise ScoringError(
            f"judged[{first}] has no view while others have one: give every record a view or none"
        )

    out: dict[str, float | int] = {"n": len(items)}
    _proportion(out, "accuracy", items, confidence)
    by_task = {t: [j for j in items if j.task == t] for t in TASKS}
    by_task = {t: group for t, group in by_task.items() if group}
    out["accuracy_macro"], out["accuracy_macro_ci_low"], out["accuracy_macro_ci_high"] = _mover_mean(
        [(sum(j.correct for j in g), len(g)) for g in by_task.values()], confidence
    )
    out["chance"] = CHANCE
    out["confidence"] = confidence
    out["parse_failures"] = sum(j.letter is None and not _is_missing(j) for j in items)
    out["parse_failure_rate"] = out["parse_failures"] / len(items)
    out["missing"] = sum(_is_missing(j) for j in items)
    out["missing_rate"] = out["missing"] / len(items)

    for task, group in by_task.items():
        out[f"n_{task}"] = len(group)
        _proportion(out, f"accuracy_{task}", group, confidence)
        out[f"parse_failure_rate_{task}"] = _failure_rate(group)

    predicted = Counter(j.letter if j.letter is not None else NONE_LETTER for j in items)
    for letter in (*LETTERS, NONE_LETTER):
        out[f"pred_rate_{letter}"] = predicted[letter] / len(items)
    for letter in LETTERS:
        group = [j for j in items if j.answer == letter]
        out[f"n_answer_{letter}"] = len(group)
        if group:
            out[f"accuracy_answer_{letter}"] = sum(j.correct for j in group) / len(group)

    if len(views) > 1:
        for view in (v for v in ALL_VIEWS if v in views):
            in_view = [j for j in items if j.view == view]
            out[f"n_{view}"] = len(in_view)
            _proportion(out, f"accuracy_{view}", in_view, confidence)
            out[f"parse_failure_rate_{view}"] = _failure_rate(in_view)
            for task in TASKS:
                group = [j for j in in_view if j.task == task]
                if group:
                    out[f"n_{view}_{task}"] = len(group)
                    _proportion(out, f"accuracy_{view}_{task}", group, confidence)
    return out


# --- paired comparisons ------------------------------------------------------------------------


def _by_id(items: Sequence[Judged], name: str) -> dict[str, Judged]:
    out: dict[str, Judged] = {}
    for i, item in enumerate(items):
        if item.id in out:
            raise ScoringError(
                f"{name}[{i}] repeats id {item.id!r}: a paired comparison needs each item once "
                "(compare one view at a time)"
            )
        out[item.id] = item
    return out


def _check_same_item(a: Judged, b: Judged, names: tuple[str, str]) -> None:
    for field in ("task", "answer"):
        if getattr(a, field) != getattr(b, field):
            raise ScoringError(
                f"item {a.id!r} has {field} {getattr(a, field)!r} in {names[0]} but {getattr(b, field)!r} "
                f"in {names[1]}: the runs were scored on different benchmark builds"
            )


def _paired(out: dict, suffix: str, pairs: Sequence[tuple[Judged, Judged]]) -> None:
    n = len(pairs)
    base_right = sum(a.correct for a, _ in pairs)
    fixed = sum((not a.correct) and b.correct for a, b in pairs)
    broken = sum(a.correct and not b.correct for a, b in pairs)
    acc_base = base_right / n
    acc_other = sum(b.correct for _, b in pairs) / n
    out[f"n{suffix}"] = n
    out[f"accuracy_baseline{suffix}"] = acc_base
    out[f"accuracy_other{suffix}"] = acc_other
    out[f"net_change{suffix}"] = acc_other - acc_base
    out[f"n_fixed{suffix}"] = fixed
    out[f"n_broken{suffix}"] = broken
    # A rate over an empty group is defined as 0.0 (nothing could be fixed / broken) to keep the
    # dict free of None and NaN; the counts above say when that happened.
    out[f"fix_rate{suffix}"] = fixed / (n - base_right) if n - base_right else 0.0
    out[f"break_rate{suffix}"] = broken / base_right if base_right else 0.0
    out[f"mcnemar_p{suffix}"] = mcnemar_exact(fixed, broken)


def compare(baseline: Sequence[Judged], other: Sequence[Judged]) -> dict[str, float | int]:
    """Pair two runs on the same items (e.g. an intervention against its baseline).

    Keys, overall and again per task present with a ``_<task>`` suffix: ``n``,
    ``accuracy_baseline``, ``accuracy_other``, ``net_change`` (other - baseline, as a fraction),
    ``n_fixed`` (wrong -> right), ``n_broken`` (right -> wrong), ``fix_rate`` (``n_fixed`` / items the
    baseline got wrong; 0.0 when it got none wrong), ``break_rate`` (``n_broken`` / items the baseline
    got right; 0.0 when it got none right) and ``mcnemar_p`` (:func:`mcnemar_exact` on
    ``n_fixed``, ``n_broken``).  Parse failures are wrong, as in :func:`score`.

    Args:
        baseline (`Sequence[Judged]`): the reference run, each id once.
        other (`Sequence[Judged]`): the run compared with it, on the same ids.

    Returns:
        `dict[str, float | int]`.
    """
    base_items = _as_judged(baseline, "baseline")
    other_items = _as_judged(other, "other")
    if not base_items:
        raise ScoringError("compare() got an empty baseline: there is nothing to compare")
    base = _by_id(base_items, "baseline")
    oth = _by_id(other_items, "other")
    only_base = [i for i in base if i not in oth]
    only_other = [i for i in oth if i not in base]
    if only_base or only_other:
        where = (f"id {only_base[0]!r} is in baseline but not in other" if only_base
                 else f"id {only_other[0]!r} is in other but not in baseline")
        raise ScoringError(
            f"{where} ({len(only_base)} ids only in baseline, {len(only_other)} only in other): "
            "a paired comparison needs the same items in both runs"
        )
    pairs = [(base[i], oth[i]) for i in base]
    for a, b in pairs:
        _check_same_item(a, b, ("baseline", "other"))
    out: dict[str, float | int] = {}
    _paired(out, "", pairs)
    for task in TASKS:
        group = [(a, b) for a, b in pairs if a.task == task]
        if group:
            _paired(out, f"_{task}", group)
    return out


def view_effects(by_view: Mapping[str, Sequence[Judged]]) -> dict[str, float | int]:
    """What each input view adds, for one model, on the items every supplied view answered.

    Keys, overall and again per task present with a ``_<task>`` suffix:

    - ``n_common``: items (ids) present in every supplied view; only those are compared.
    - ``accuracy_<view>``: accuracy of each supplied view on those items.
    - ``caption_reliance`` = acc(caption_only) - acc(audio_only), when both are supplied.
    - ``audio_gain_given_caption`` = acc(audio_caption) - acc(caption_only), when both are supplied.
    - ``agreement_<v1>__<v2>`` for each pair of supplied views (in ``names.ALL_VIEWS`` order): the
      share of items where both gave the same letter, a parse failure counting as the value
      ``"none"``.

    Args:
        by_view (`Mapping[str, Sequence[Judged]]`): view name -> that view's judged items, each id once.

    Returns:
        `dict[str, float | int]`.
    """
    if not by_view:
        raise ScoringError("view_effects() got no views: pass {view_name: judged_items, ...}")
    for view in by_view:
        problem = _view_problem(view)
        if problem is not None:
            raise ScoringError(f"by_view key {problem}")
    views = [v for v in ALL_VIEWS if v in by_view]
    tables: dict[str, dict[str, Judged]] = {}
    for view in views:
        items = _as_judged(by_view[view], f"by_view[{view!r}]")
        for i, item in enumerate(items):
            if item.view is not None and item.view != view:
                raise ScoringError(
                    f"by_view[{view!r}][{i}] has view {item.view!r}: each list must hold that view's items only"
                )
        tables[view] = _by_id(items, f"by_view[{view!r}]")
    first = tables[views[0]]
    common = [i for i in first if all(i in tables[v] for v in views[1:])]
    if not common:
        raise ScoringError(f"the views {', '.join(views)} share no item id: nothing to compare")
    for view in views[1:]:
        for i in common:
            _check_same_item(first[i], tables[view][i], (views[0], view))

    out: dict[str, float | int] = {}

    def effects(suffix: str, ids: Sequence[str]) -> None:
        out[f"n_common{suffix}"] = len(ids)
        acc = {v: sum(tables[v][i].correct for i in ids) / len(ids) for v in views}
        for view in views:
            out[f"accuracy_{view}{suffix}"] = acc[view]
        if CAPTION_ONLY in acc and AUDIO_ONLY in acc:
            out[f"caption_reliance{suffix}"] = acc[CAPTION_ONLY] - acc[AUDIO_ONLY]
        if AUDIO_CAPTION in acc and CAPTION_ONLY in acc:
            out[f"audio_gain_given_caption{suffix}"] = acc[AUDIO_CAPTION] - acc[CAPTION_ONLY]
        for v1, v2 in combinations(views, 2):
            same = sum(
                (tables[v1][i].letter or NONE_LETTER) == (tables[v2][i].letter or NONE_LETTER) for i in ids
            )
            out[f"agreement_{v1}__{v2}{suffix}"] = same / len(ids)

    effects("", common)
    for task in TASKS:
        ids = [i for i in common if first[i].task == task]
        if ids:
            effects(f"_{task}", ids)
    return out
