"""Answer extraction: a model's free text -> the option letter it chose, and the rule that decided.

:func:`parse_choice` reads the letter (``A``-``D``, :data:`tacos_temporal.names.LETTERS`) that a
model chose from its free-text output.  It is deterministic, uses only the standard library, and
never guesses: when the text gives no answer, refuses, names several answers or contradicts
itself, the result is ``Parsed(letter=None, rule=...)``, which scores as wrong, counts in the
parse-failure rate and keeps the rule that failed.  Harnesses differ by 5-10 points on the same
outputs only because of parsing (see ``lessons_from_peers.md``), so every decision is recorded.

Rules, in precedence order.  The first rule that finds a letter the text does not reject decides;
a rule whose letters are all rejected lets the next rule try.

=================  =================================================  ==================================
rule               what it matches                                    example -> letter
=================  =================================================  ==================================
``empty``          ``None``, or nothing left after normalisation      ``"  \\n"`` -> None
``bare_letter``    the whole output is one letter, with brackets,     ``"(b)."``, ``"**B**"``,
                   punctuation or an ``Option`` prefix around it      ``"Option B"`` -> B
``final_answer``   "final answer" followed by a letter or an option   ``"...Final answer: B"`` -> B
                   text (beats earlier "answer is" in the same text)
``answer_letter``  an answer phrase then a letter ("answer is",       ``"The answer is (B) Dog
                   "answer:", "correct option is", "I choose",         barking"`` -> B
                   "Conclusion:", "so B.", the question restated:
                   "the earliest sound is B"), or "B is correct/the
                   answer"
``answer_text``    an answer phrase (or the restated question) then   ``"Answer: the dog barking"``
                   an option's text                                   -> B
``leading_letter`` the output starts with a letter followed by        ``"B. Dog barking"``,
                   punctuation, a line break, a verb or option text   ``"B because ..."`` -> B
                   (other lines starting with "X." / "X)" must agree)
``refusal``        no letter so far and the text declines             ``"I'm sorry, I cannot
                   ("I cannot determine", "I'm sorry", "none of the    determine..."`` -> None
                   options")
``marked_letter``  letters in brackets or after "option"/"choice"     ``"I think (B)."`` -> B
                   anywhere in the text
``letter_mention`` any other standalone capital letter that is not    ``"It is not C, it is B"`` -> B
                   the article "A" ("A dog barks")
``option_text``    no letter at all, and exactly one option's text    ``"The sound event that starts
                   named (case, punctuation, ``_`` vs space and        earliest is the dog barking."``
                   plural/-ing insensitive, longest option first)     -> B
``ambiguous``      the deciding rule names several different letters  ``"A or B"`` -> None
``conflict``       a letter paired with a *different* option's text   ``"B. Bird Chirp"`` (Bird Chirp
                   ("B. Bird Chirp", "Bird Chirp (B)")                is option A) -> None
``none``           nothing above matched                              ``"A dog barks first."`` -> None
=================  =================================================  ==================================

How the text is read
--------------------
* **Normalisation.** NFKC (so full-width ``Ｂ`` is ``B``), control and format characters become
  spaces (NUL bytes included), ``\\r`` becomes a line break, markdown ``*`` and backticks are
  dropped and ``_`` becomes a space (``**B**`` -> ``B``, ``Stream_River`` -> ``Stream River``),
  whitespace runs shrink to one space or one line break.
* **What counts as a letter.** A standalone capital ``A``-``D``; a lower-case one only in brackets
  (``(b)``), after "option"/"choice"/"letter", right after an answer phrase (``answer: b``), at the
  start of the output followed by punctuation (``b)``), or as the whole output.  ``A``/``a``
  followed by a word is the article ("A dog barks first"), unless the word is one that cannot
  follow an article ("A is correct", "A because ...", "A or B") or the capitalised text of an
  option ("A Dog barking" when an option is "Dog barking").
* **Rejection.** A letter (or option text) right after "not", "n't", "nor", "rather than",
  "instead of", "cannot be", or after "eliminate(d)", "exclude", "rule(d) out", "except",
  "neither", "other than", or right before "is wrong/incorrect/eliminated/not correct", is
  rejected.  Rejection spreads along lists: "Eliminated: (A), (C)" rejects both, "not A or C"
  rejects both, "not A, B" rejects only A, "A and C are wrong" rejects both, "A, C is wrong" only C.
* **Ambiguity.** Letters joined by "or", "and", "/", "," or a space ("A or B", "A and C", "B C")
  all count for the rule that found one of them; several different letters -> ``ambiguous``.
* **Conflict.** When options are given, a letter immediately paired with an option's text
  ("B. Dog barking", "(B) Dog barking", "Dog barking (B)", "B, the dog barking") must be paired
  with its own option; otherwise ``conflict``.  Because "B. The bird chirp starts later" is a new
  sentence, a ``.`` only pairs a letter with text at the start of a line or when the text ends the
  line.  Option texts named elsewhere (in an explanation) never overrule a letter.
* **Cost.** Every pattern is linear in the text (whitespace runs are collapsed first, so no two
  adjacent quantifiers can share more than one character); a 1 MB output parses without
  backtracking blow-ups.
* **Cap.** Only the first :data:`MAX_PARSE_CHARS` (100,000) characters of an output are read, so a
  runaway 50 MB answer is parsed in milliseconds; the rule of such an output says so with the
  suffix ``+truncated`` (``"answer_letter+truncated"``, ``"none+truncated"``).  Real answers are far
  shorter (10 new tokens by default; a long reasoning trace is a few thousand characters).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import NamedTuple

from tacos_temporal.errors import ScoringError
from tacos_temporal.names import LETTERS, NUM_OPTIONS

# --- rule names (recorded with every parse; a scorer counts failures by rule) --------------------
RULE_EMPTY = "empty"
RULE_BARE_LETTER = "bare_letter"
RULE_FINAL_ANSWER = "final_answer"
RULE_ANSWER_LETTER = "answer_letter"
RULE_ANSWER_TEXT = "answer_text"
RULE_LEADING_LETTER = "leading_letter"
RULE_REFUSAL = "refusal"
RULE_MARKED_LETTER = "marked_letter"
RULE_OPTION_TEXT = "option_text"
RULE_LETTER_MENTION = "letter_mention"
RULE_AMBIGUOUS = "ambiguous"
RULE_CONFLICT = "conflict"
RULE_NONE = "none"

#: Every rule name, in the order the module docstring's table lists them.
RULES: tuple[str, ...] = (
    RULE_EMPTY,
    RULE_BARE_LETTER,
    RULE_FINAL_ANSWER,
    RULE_ANSWER_LETTER,
    RULE_ANSWER_TEXT,
    RULE_LEADING_LETTER,
    RULE_REFUSAL,
    RULE_MARKED_LETTER,
    RULE_LETTER_MENTION,
    RULE_OPTION_TEXT,
    RULE_AMBIGUOUS,
    RULE_CONFLICT,
    RULE_NONE,
)
#: How many characters of an output are read; a longer output is cut there before parsing.
MAX_PARSE_CHARS = 100_000
#: Appended to the rule of an output longer than :data:`MAX_PARSE_CHARS`.
TRUNCATED_SUFFIX = "+truncated"
#: Rules whose result has ``letter=None``.
FAILURE_RULES: frozenset[str] = frozenset(
    {RULE_EMPTY, RULE_REFUSAL, RULE_AMBIGUOUS, RULE_CONFLICT, RULE_NONE}
)


class Parsed(NamedTuple):
    """What :func:`parse_choice` read from one output.

    Args:
        letter (`str` or `None`): the chosen letter, one of ``LETTERS``; ``None`` when no single
            answer can be read (never a guess).
        rule (`str`): the rule that decided, one of :data:`RULES` (with :data:`TRUNCATED_SUFFIX`
            when the output was longer than :data:`MAX_PARSE_CHARS` and only its start was read).
    """

    letter: str | None
    rule: str


# --- building blocks -------------------------------------------------------------------------------
_UP = "".join(LETTERS)  # "ABCD"
_LOW = _UP.lower()
_ANY = f"[{_UP}{_LOW}]"
_NWB = r"(?<![^\W_])"  # no letter or digit just before
_NWA = r"(?![^\W_])"  # no letter or digit just after
_OPENERS = "([{<"
_CLOSERS = ")]}>"
_BRA = r"[(\[{<]"
_KET = r"[)\]}>]"
_QUOTE = "[\"'\u201c\u2018]"
_PREFIX = r"(?:option|choice|letter)"
_DASHES = "\\-\u2013\u2014"
#: How many letters a list ("A, B or C") may reach on each side of the letter that joins it.
_LIST_REACH = 8

#: Words that can follow the letter "A" but never the article "a": "A is correct", "A because".
_LETTER_FOLLOWERS = (
    "is", "was", "seems", "appears", "looks", "would", "should", "must", "could", "might", "will",
    "can", "has", "had", "does", "and", "or", "nor", "but", "so", "then", "because", "since", "as",
    "which", "that", "for", "if", "too", "also", "fits", "matches", "corresponds", "represents",
    "starts", "begins", "ends", "lasts", "occurs", "comes", "happens", "wins",
)  # fmt: skip
_FOLLOWER_ALT = "|".join(_LETTER_FOLLOWERS)

# Normalisation: control/format characters, markdown emphasis and underscores.
_TRANSLATION: dict[int, str] = {cp: " " for cp in [*range(0x00, 0x20), *range(0x7F, 0xA0)]}
del _TRANSLATION[0x0A]  # keep line breaks
_TRANSLATION.update({0x0D: "\n", 0x85: "\n", 0x2028: "\n", 0x2029: "\n", 0x200B: " "})
_TRANSLATION.update(
    {cp: "" for cp in (0x00AD, 0x180E, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF)}
)
_TRANSLATION.update({cp: "" for cp in [*range(0x202A, 0x202F), *range(0x2061, 0x2070)]})
_TRANSLATION.update({ord("*"): "", ord("`"): "", ord("_"): " "})
_SPACES = re.compile(r"[^\S\n]+")
_NEWLINES = re.compile(r" ?\n[ \n]*")

#: A bare answer is short; longer outputs skip the whole-output pattern.
_BARE_MAX_CHARS = 64
_BARE = re.compile(rf"\W*(?:{_PREFIX}\W*)?({_ANY})\W*", re.I)

_ANSWER_CUE = re.compile(
    rf"""(?:
        (?:(?P<final>final\ answer|final\ (?:option|choice))|answer
           |(?:correct|right|best|most\ likely|only)\ (?:option|choice|one)
           |my\ (?:choice|pick|selection|guess))
        (?:\ (?:is|would\ be|should\ be|must\ be|will\ be|seems\ to\ be|appears\ to\ be|has\ to\ be)
             (?:\ ?:)?
          |\ ?(?:->|=>|[:=>{_DASHES}]))
      | i(?:\ would|\ will|'d|'ll)?\ (?:choose|pick|select|go\ with)
      | (?:earliest|latest|longest|first|last)(?:\ [^\W\d_]+){{0,8}}?
        \ (?:is|was|would\ be|seems\ to\ be|appears\ to\ be)(?:\ ?:)?
    )\ ?
    (?:(?:probably|likely|most\ likely|clearly|definitely|certainly|therefore|then|thus|indeed)\ )?""",
    re.I | re.X,
)
#: Words without which no answer phrase can match: skip the pass when none is present.
_CUE_WORDS = ("answer", "option", "choice", "one", "my ", "i ", "i'", "earliest", "latest",
              "longest", "first", "last")  # fmt: skip
#: Weaker answer phrases: only a letter that ends the clause counts after them ("So B.").
_CONCLUSION_CUE = re.compile(
    rf"{_NWB}(?:so|therefore|thus|hence|in conclusion|conclusion|overall|verdict)(?:, ?| |: ?)"
    rf"(?=(?:{_PREFIX} ?)?(?:{_BRA} ?|{_QUOTE})?{_ANY}{_NWA})",
    re.I,
)
_CONCLUSION_WORDS = ("so", "therefore", "thus", "hence", "conclusion", "overall", "verdict")
#: After a conclusion word the letter ends the clause ("So B.") or a verb follows ("so B starts").
_CLAUSE_END = re.compile(rf"(?: ?{_KET})?(?: ?[.!,;:?]|\n|\Z| (?:{_FOLLOWER_ALT}){_NWA})", re.I)
_POSTFIX = re.compile(
    rf"(?P<l>{_ANY})(?<![^\W_]{_ANY}){_NWA}(?=(?: ?{_KET})? (?:is|seems to be|would be|must be"
    rf"|appears to be|should be) (?:the )?(?:(?:correct|right|best|most likely|only correct)"
    rf" (?:answer|option|choice|one)|answer|correct|right){_NWA})",
    re.I,
)
_LETTER_AT = re.compile(
    rf"(?:(?P<prefix>{_PREFIX}) ?)?(?P<open>{_BRA} ?|{_QUOTE})?(?P<l>{_ANY}){_NWA}", re.I
)
_TEXT_FILLER = re.compile(
    rf"(?:{_BRA} ?|{_QUOTE})?(?:(?:the|a|an) )?(?:sound of (?:the |a |an )?)?", re.I
)
_TEXT_JOIN = re.compile(r"(?: ?,)? (?:and/or|or|and) (?:(?:the|a|an) )?", re.I)

_BULLET = f"[#{_DASHES}>\u2022]"
_LEADING = re.compile(
    rf"(?:{_BULLET} ?)?(?:(?P<prefix>{_PREFIX}) ?)?(?P<open>{_BRA} ?)?(?P<l>{_ANY}){_NWA}"
    rf"(?P<close> ?{_KET})?",
    re.I,
)
_LEADING_DELIMITER = re.compile(rf" ?(?:[.):,!;=/{_DASHES}]|\n|\Z)")
_LEADING_FOLLOWER = re.compile(rf" (?:{_FOLLOWER_ALT}|{_ANY}){_NWA}", re.I)
_LINE_START = re.compile(
    rf"^(?:{_BULLET} ?)?(?:{_PREFIX} ?)?(?:{_BRA} ?)?(?P<l>{_ANY})(?: ?{_KET}| ?[.:]|(?=\n|\Z))",
    re.I | re.M,
)
_LINE_PREFIX_ONLY = re.compile(rf"(?:{_BULLET} ?)?(?:{_PREFIX} ?)?(?:{_BRA} ?)?\Z", re.I)

_REFUSAL = re.compile(
    r"""\b(?:
        i(?:\ am|'m)\ sorry|sorry,?\ (?:but\ )?i\b
      | i\ (?:cannot|can't|can\ not|could\ not|couldn't|am\ unable\ to|'m\ unable\ to|am\ not\ able\ to
             |'m\ not\ able\ to|do\ not|don't)
          \ (?:determine|tell|answer|identify|decide|say|know|hear|listen|access|process|provide
             |analy[sz]e|judge|infer|be\ sure)
      | (?:cannot|can't|can\ not|could\ not|couldn't)\ be\ (?:determined|identified|inferred|answered|judged)
      | (?:unable|impossible|not\ possible)\ to\ (?:determine|tell|answer|identify|infer|judge|say)
      | as\ an\ ai | no\ audio | none\ of\ the\ (?:options|above|choices|given) | n/a
      | (?:not\ enough|insufficient)\ information
    )\b""",
    re.I | re.X,
)

# Rejection: a cue right before a letter (or option text), or a predicate right after one.
_REJECT_BEFORE = re.compile(
    rf"""(?:
        (?P<elim>{_NWB}(?:neither|except|excluding|exclude[ds]?|eliminat(?:e|ed|es|ing)
                         |(?:rule[sd]?|ruling)\ out|other\ than){_NWA})
      | (?P<neg>{_NWB}(?:not|nor|never|rather\ than|instead\ of|cannot\ be|can\ not\ be){_NWA}
               |n't(?:\ be)?)
    )(?:\ (?-i:the|a|an))?(?:\ (?:options?|choices?|letters?|answers?))?(?:\ ?:)?\ ?(?:{_BRA}\ ?|{_QUOTE})?""",
    re.I | re.X,
)
#: Words without which no rejection cue can match: skip the pass when none is present.
_REJECT_WORDS = ("not", "n't", "nor", "never", "rather", "instead", "neither", "except",
                 "exclud", "eliminat", "rule", "ruling", "other")  # fmt: skip
_REJECT_AFTER = re.compile(
    rf"""(?:\ ?{_KET}|{_QUOTE})?(?:
        (?:\ ?[:,{_DASHES}])?\ (?:(?P<verb>is|are|was|were|seems?|looks?|appears?|would\ be|must\ be
             |should\ be|can\ be|could\ be)\ )?
          (?:(?:also|definitely|clearly|obviously|certainly|probably|therefore|thus|then|surely)\ )?
          (?:wrong|incorrect|false|eliminated|ruled\ out|excluded|impossible|unlikely
             |not\ (?:correct|right|true|it|possible|the\ (?:correct\ |right\ )?answer))
      | \ (?P<nverb>is|are|was|were)n't\ (?:correct|right|true|it|possible|the\ (?:correct\ |right\ )?answer)
      | \ (?:can't|cannot|can\ not)\ be\ (?:correct|right|true|it|the\ (?:correct\ |right\ )?answer)
    ){_NWA}""",
    re.I | re.X,
)
_PLURAL_VERBS = frozenset({"are", "were"})

# Lists of letters: "A or B", "(A), (C)", "options A and C", "B/C", "B C".
_JOIN = rf"(?: ?[,/&] ?(?:(?:and/or|and|or|nor) )?| (?:and/or|and|or|nor) | )"
_JOIN_NEXT = re.compile(rf"(?: ?{_KET})?{_JOIN}(?:{_PREFIX}s? )?(?:{_BRA} ?)?(?P<l>{_ANY}){_NWA}", re.I)
# The same patterns read backwards, matched on the reversed text at a letter's position: one
# anchored attempt instead of a search through a window.
_REV_PREFIX = r"(?:noitpo|eciohc|rettel)"
_REV_JOIN = r"(?:(?: (?:ro/dna|dna|ro|ron))? ?[,/&] ?| (?:ro/dna|dna|ro|ron) | )"
_JOIN_PREV_REV = re.compile(
    rf"(?: ?{_BRA})?(?: s?{_REV_PREFIX})?{_REV_JOIN}(?:{_KET} ?)?(?P<l>{_ANY}){_NWA}", re.I
)
_PREFIX_BEFORE_REV = re.compile(rf"(?: ?{_BRA})? ?s?{_REV_PREFIX}{_NWA}", re.I)
_CONJ = re.compile(r"\b(?:and|or|nor)\b", re.I)
_WORD = re.compile(r"[^\W_]")

# Letters: every standalone occurrence of one letter, either case (the caller filters).
_OCCURRENCES = {
    letter: re.compile(f"[{letter}{letter.lower()}](?<![^\\W_].){_NWA}", re.S) for letter in LETTERS
}
#: Bracketed or prefixed letters of any kind, for ``marked_letter``.
_MARKED = re.compile(
    rf"{_BRA} ?(?P<b>{_ANY})(?= ?{_KET})|{_NWB}{_PREFIX}s? ?(?:{_BRA} ?)?(?P<p>{_ANY}){_NWA}", re.I
)
_ARTICLE_TAIL = re.compile(rf" (?!(?i:{_FOLLOWER_ALT}|{_ANY}){_NWA})(?=[^\W\d_])")


# --- normalisation -----------------------------------------------------------------------------------
def _normalise(text: str) -> str:
    """NFKC, control characters and markdown out, whitespace runs to one space or line break."""
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATION)
    text = _SPACES.sub(" ", text)
    return _NEWLINES.sub("\n", text).strip()


def _stem(word: str) -> str:
    """Strip one common English suffix so "barks", "barking" and "bark" meet."""
    if len(word) >= 6 and word.endswith("ing"):
        return word[:-3]
    if len(word) >= 5 and word.endswith("ed"):
        return word[:-2]
    if len(word) >= 5 and word.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if len(word) >= 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _label_words(label: str) -> list[str]:
    return re.findall(r"[^\W_]+", _normalise(label).lower())


def _label_pattern(words: list[str]) -> str:
    """Regex for an option's text: its words in order, 1-3 non-word characters between them,
    each word with or without a plural / -ing / -ed ending."""
    parts = [re.escape(_stem(word)) + r"(?:e?s|ing|ed|e)?" for word in words]
    body = r"[^\w\n]{1,3}".join(parts)
    # The first character comes before the "no letter before" check, so the regex engine can
    # skip ahead to that character instead of trying every position.
    return body[0] + r"(?<![^\W_].)" + body[1:] + _NWA


class _Options:
    """The four labels, compiled once per distinct option tuple."""

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.labels = labels
        patterns: dict[str, list[int]] = {}  # identical patterns (duplicate labels) share a group
        for i, label in enumerate(labels):
            words = _label_words(label)
            if words:
                patterns.setdefault(_label_pattern(words), []).append(i)
        # Longest text first, so "Dog barking" is tried before "Dog" at the same place.
        ordered = sorted(patterns.items(), key=lambda item: (-len(item[0]), item[1][0]))
        #: Group name -> the option indices whose text it matches.
        self.groups: dict[str, tuple[int, ...]] = {
            f"o{k}": tuple(indices) for k, (_, indices) in enumerate(ordered)
        }
        alternation = "|".join(f"(?P<o{k}>{pattern})" for k, (pattern, _) in enumerate(ordered))
        any_text = f"(?:{alternation})" if ordered else r"(?!)"
        self.any_text = re.compile(any_text, re.I)
        sep = rf"(?: ?{_KET})?(?P<sep> ?[:.,={_DASHES}])? ?(?:(?:which is|that is|i\.e\.,?|namely) )?"
        #: "B. Dog barking", "(B) Dog barking", "B, the dog barking".
        self.after_pair = re.compile(
            rf"(?P<l>{_ANY})(?<![^\W_]{_ANY}){_NWA}(?={sep}(?:{_BRA} ?|{_QUOTE})?"
            rf"(?:(?-i:[Tt]he|[Aa]n?) )?(?P<opt>{any_text}))",
            re.I,
        )
        #: "Dog barking (B)", "Dog barking: B", "Dog barking - option B".
        self.before_pair = re.compile(
            rf"(?P<opt>{any_text})(?=(?: ?{_KET}|{_QUOTE})?(?: ?[:={_DASHES}] ?(?:{_PREFIX} )?"
            rf"(?:{_BRA} ?)?| ?(?:{_PREFIX} ?)?{_BRA} ?| {_PREFIX} )(?P<l>{_ANY}){_NWA})",
            re.I,
        )

    def matched(self, m: re.Match[str]) -> tuple[int, ...]:
        """The option indices whose group matched in ``m``."""
        for name, indices in self.groups.items():
            if m.group(name) is not None:
                return indices
        return ()


@functools.lru_cache(maxsize=4096)
def _compiled_options(labels: tuple[str, ...]) -> _Options:
    return _Options(labels)


def _check_options(options: object) -> _Options | None:
    if options is None:
        return None
    if isinstance(options, (str, bytes, bytearray, Mapping, AbstractSet)):
        raise ScoringError(
            f"options must be a sequence of {NUM_OPTIONS} option texts in {'/'.join(LETTERS)} order, "
            f"got {type(options).__name__} {options!r:.80}; pass None to read letters only"
        )
    try:
        labels = tuple(options)  # type: ignore[call-overload]
    except TypeError:
        raise ScoringError(
            f"options must be a sequence of {NUM_OPTIONS} strings or None, got "
            f"{type(options).__name__} {options!r:.80}"
        ) from None
    if len(labels) != NUM_OPTIONS:
        raise ScoringError(
            f"options must hold exactly {NUM_OPTIONS} texts (one per letter {', '.join(LETTERS)}), "
            f"got {len(labels)}: {labels!r:.120}"
        )
    bad = [f"{LETTERS[i]} is {type(label).__name__}" for i, label in enumerate(labels)
           if not isinstance(label, str)]  # fmt: skip
    if bad:
        raise ScoringError(f"options must all be strings; {', '.join(bad)}: {labels!r:.120}")
    return _compiled_options(labels)


# --- the scan: facts about one normalised text, computed lazily and once --------------------------
class _Cand(NamedTuple):
    """A candidate answer: a letter at ``pos``, or an option's text from ``pos`` to ``end``."""

    letter: str
    pos: int
    option: int | None = None
    end: int = -1
    #: Start of the answer phrase that introduced the letter: option text overlapping it ("Answer"
    #: as an option's text in "Answer: B") is the phrase, not a label of the letter.
    cue: int = -1


class _Scan:
    def __init__(self, text: str, opts: _Options | None) -> None:
        self.text = text
        self.opts = opts
        self._marked: dict[int, bool] = {}
        self._rejected: dict[int, bool] = {}
        self._article: dict[int, bool] = {}
        self._prev: dict[int, int | None] = {}
        self._next: dict[int, int | None] = {}
        self._before_kind: dict[int, str | None] = {}
        self._after_verb: dict[int, str | None] = {}
        self._reject_before: dict[int, str] | None = None
        self._reversed: str | None = None
        self._lower: str | None = None
        self._named: set[int] | None = None
        self._after_pairs: dict[int, tuple[int, int, tuple[int, ...], bool]] | None = None
        self._before_pairs: dict[int, tuple[int, int, tuple[int, ...]]] | None = None
        self._paired_letters: dict[int, list[int]] | None = None

    @property
    def reversed(self) -> str:
        if self._reversed is None:
            self._reversed = self.text[::-1]
        return self._reversed

    # -- what counts as a letter ------------------------------------------------------------------
    def marked(self, pos: int) -> bool:
        """The letter at ``pos`` is bracketed ("(b)") or follows "option"/"choice"/"letter"."""
        found = self._marked.get(pos)
        if found is None:
            text = self.text
            before = text[max(0, pos - 2) : pos].rstrip(" ")
            after = text[pos + 1 : pos + 3].lstrip(" ")
            found = bool(before and after and before[-1] in _OPENERS and after[0] in _CLOSERS)
            if not found:
                found = _PREFIX_BEFORE_REV.match(self.reversed, len(text) - pos) is not None
            self._marked[pos] = found
        return found

    def is_article(self, pos: int) -> bool:
        """``A``/``a`` at ``pos`` reads as the article ("A dog barks first")."""
        found = self._article.get(pos)
        if found is None:
            text = self.text
            found = (
                text[pos] in "Aa"
                and _ARTICLE_TAIL.match(text, pos + 1) is not None
                and not self.marked(pos)
            )
            if found and self.opts is not None and text[pos + 2].isupper():
                # "A Dog barking" with an option "Dog barking": letter A, then that option's text.
                found = self.opts.any_text.match(text, pos + 2) is None
            self._article[pos] = found
        return found

    def is_token(self, pos: int) -> bool:
        """The standalone letter at ``pos`` counts wherever it stands: a capital that is not the
        article, or a bracketed / prefixed letter of either case."""
        if self.text[pos].islower() and not self.marked(pos):
            return False
        return not self.is_article(pos)

    # -- lists ("A or B", "(A), (C)") ----------------------------------------------------------------
    def next_member(self, pos: int) -> int | None:
        if pos not in self._next:
            m = _JOIN_NEXT.match(self.text, pos + 1)
            nxt = m.start("l") if m and not self.is_article(m.start("l")) else None
            self._next[pos] = nxt
            if nxt is not None:
                self._prev.setdefault(nxt, pos)
        return self._next[pos]

    def prev_member(self, pos: int) -> int | None:
        if pos not in self._prev:
            m = _JOIN_PREV_REV.match(self.reversed, len(self.text) - pos)
            prev = None if m is None else len(self.text) - 1 - m.start("l")
            if prev is not None and self.is_article(prev):
                prev = None
            self._prev[pos] = prev
        return self._prev[pos]

    def expand(self, pos: int) -> list[int]:
        """The letter at ``pos`` and the letters listed with it (up to ``_LIST_REACH`` each side)."""
        members = [pos]
        for step in (self.prev_member, self.next_member):
            cur: int | None = pos
            for _ in range(_LIST_REACH):
                cur = step(cur)  # type: ignore[arg-type]
                if cur is None:
                    break
                members.append(cur)
        return members

    # -- rejection -----------------------------------------------------------------------------------
    @property
    def lower(self) -> str:
        if self._lower is None:
            self._lower = self.text.lower()
        return self._lower

    @property
    def reject_before(self) -> dict[int, str]:
        """End of each rejection cue ("not ", "Eliminated: (") -> "neg" or "elim"."""
        if self._reject_before is None:
            self._reject_before = {}
            if any(word in self.lower for word in _REJECT_WORDS):
                self._reject_before = {
                    m.end(): m.lastgroup for m in _REJECT_BEFORE.finditer(self.text)  # type: ignore[misc]
                }
        return self._reject_before

    def before_kind(self, pos: int, reach: int = _LIST_REACH) -> str | None:
        """The rejection cue that reaches the letter at ``pos``: its own, or one carried along a
        list from up to ``reach`` letters back ("elim" across any join, "neg" only across
        "or"/"and"/"nor")."""
        memo = self._before_kind
        if pos in memo:
            return memo[pos]
        kind = self.reject_before.get(pos)
        if kind is None and reach > 0:
            prev = self.prev_member(pos)
            if prev is not None:
                carried = memo[prev] if prev in memo else self.before_kind(prev, reach - 1)
                if carried == "elim" or (
                    carried == "neg" and _CONJ.search(self.text, prev, pos) is not None
                ):
                    kind = carried
        memo[pos] = kind
        return kind

    def after_verb(self, pos: int) -> str | None:
        """The letter at ``pos`` is followed by "is wrong" & co: the verb ("" when none)."""
        if pos not in self._after_verb:
            m = _REJECT_AFTER.match(self.text, pos + 1)
            self._after_verb[pos] = (
                None if m is None else (m.group("verb") or m.group("nverb") or "").lower()
            )
        return self._after_verb[pos]

    def rejected(self, pos: int, end: int | None = None) -> bool:
        """Whether the letter at ``pos`` (or the option text from ``pos`` to ``end``) is rejected."""
        if end is not None:
            return pos in self.reject_before or _REJECT_AFTER.match(self.text, end) is not None
        found = self._rejected.get(pos)
        if found is None:
            found = self.before_kind(pos) is not None or self.after_verb(pos) is not None
            cur: int | None = pos
            for _ in range(_LIST_REACH if not found else 0):  # "A and C are wrong" rejects A
                cur = self.next_member(cur)  # type: ignore[arg-type]
                if cur is None:
                    break
                verb = self.after_verb(cur)
                if verb is not None:
                    found = verb in _PLURAL_VERBS
                    break
            self._rejected[pos] = found
        return found

    # -- letters paired with option text -----------------------------------------------------------
    @property
    def after_pairs(self) -> dict[int, tuple[int, int, tuple[int, ...], bool]]:
        """Letter position -> (text start, text end, options, separator has '.')."""
        if self._after_pairs is None:
            self._after_pairs = {}
            if self.opts is not None:
                for m in self.opts.after_pair.finditer(self.text):
                    dot = "." in (m.group("sep") or "")
                    self._after_pairs[m.start("l")] = (
                        m.start("opt"), m.end("opt"), self.opts.matched(m), dot
                    )  # fmt: skip
        return self._after_pairs

    @property
    def before_pairs(self) -> dict[int, tuple[int, int, tuple[int, ...]]]:
        """Letter position -> (text start, text end, options)."""
        if self._before_pairs is None:
            self._before_pairs = {}
            if self.opts is not None:
                for m in self.opts.before_pair.finditer(self.text):
                    self._before_pairs[m.start("l")] = (
                        m.start("opt"), m.end("opt"), self.opts.matched(m)
                    )  # fmt: skip
        return self._before_pairs

    def _line_start(self, pos: int) -> bool:
        start = self.text.rfind("\n", 0, pos) + 1
        return _LINE_PREFIX_ONLY.match(self.text, start, pos) is not None

    def paired_options(self, pos: int, cue: int = -1) -> set[int]:
        """Options whose text stands right next to the letter at ``pos`` (and after ``cue``)."""
        found: set[int] = set()
        after = self.after_pairs.get(pos)
        if after is not None:
            _, end, indices, dot = after
            if dot and not self._line_start(pos):
                line_end = self.text.find("\n", end)
                rest = self.text[end:] if line_end < 0 else self.text[end:line_end]
                if _WORD.search(rest):  # "B. The bird chirp starts later": a new sentence
                    indices = ()
            found.update(indices)
        before = self.before_pairs.get(pos)
        if before is not None and (cue < 0 or before[1] <= cue):
            found.update(before[2])
        return found

    def paired_letters(self, start: int) -> list[int]:
        """Positions of letters paired with the option text that starts at ``start``."""
        if self._paired_letters is None:
            self._paired_letters = {}
            for table in (self.after_pairs, self.before_pairs):
                for pos, entry in table.items():  # type: ignore[attr-defined]
                    self._paired_letters.setdefault(entry[0], []).append(pos)
        return self._paired_letters.get(start, [])

    def conflicts(self, letter: str, cands: list[_Cand]) -> bool:
        """Whether a candidate pairs ``letter`` with another option's text, or an option-text
        candidate is paired with another (valid, not rejected) letter."""
        if self.opts is None:
            return False
        own = LETTERS.index(letter)
        for cand in cands:
            if cand.option is None:
                paired = self.paired_options(cand.pos, cand.cue)
                if paired and own not in paired:
                    return True
                continue
            for pos in self.paired_letters(cand.pos):
                if self.text[pos].upper() != letter and self.is_token(pos) and not self.rejected(pos):
                    return True
        return False

    # -- option text ----------------------------------------------------------------------------------
    def option_at(self, pos: int) -> tuple[tuple[int, ...], int, int] | None:
        """The option text starting at ``pos`` (after "the", "a", a bracket): (options, start, end)."""
        if self.opts is None:
            return None
        start = _TEXT_FILLER.match(self.text, pos).end()  # type: ignore[union-attr]
        m = self.opts.any_text.match(self.text, start)
        return None if m is None else (self.opts.matched(m), m.start(), m.end())

    def named_options(self) -> set[int]:
        """Options whose text is named anywhere and not rejected ("not the bird chirp")."""
        if self._named is None:
            self._named = set()
            if self.opts is not None:
                for m in self.opts.any_text.finditer(self.text):
                    indices = self.opts.matched(m)
                    if not self._named.issuperset(indices) and not self.rejected(*m.span()):
                        self._named.update(indices)
        return set(self._named)


# --- the rules ---------------------------------------------------------------------------------------
def _decide(scan: _Scan, cands: list[_Cand], rule: str, text_rule: str | None = None) -> Parsed | None:
    """Add listed letters, drop rejected candidates, then: one letter -> ``rule`` (``text_rule``
    when only option texts gave it), several -> ambiguous, paired with another option's text ->
    conflict.  ``None`` when every candidate is rejected (the next rule tries)."""
    seen: dict[tuple[int, int | None], _Cand] = {}
    for cand in cands:
        if cand.option is None:
            seen.setdefault((cand.pos, None), cand)
            for pos in scan.expand(cand.pos):
                seen.setdefault((pos, None), _Cand(scan.text[pos].upper(), pos))
        else:
            seen.setdefault((cand.pos, cand.option), cand)
    kept = [
        cand for cand in seen.values()
        if not scan.rejected(cand.pos, None if cand.option is None else cand.end)
    ]  # fmt: skip
    if not kept:
        return None
    letters = {cand.letter for cand in kept}
    if len(letters) > 1:
        return Parsed(None, RULE_AMBIGUOUS)
    letter = letters.pop()
    if scan.conflicts(letter, kept):
        return Parsed(None, RULE_CONFLICT)
    if text_rule is not None and all(cand.option is not None for cand in kept):
        rule = text_rule
    return Parsed(letter, rule)


def _letter_after_cue(scan: _Scan, cue: re.Match[str]) -> _Cand | None:
    m = _LETTER_AT.match(scan.text, cue.end())
    if m is None:
        return None
    p = m.start("l")
    if not (m.group("prefix") or m.group("open")) and scan.is_article(p):
        return None  # "the answer is a dog barking"
    return _Cand(scan.text[p].upper(), p, cue=cue.start())


def _text_after_cue(scan: _Scan, pos: int) -> list[_Cand]:
    cands: list[_Cand] = []
    hit = scan.option_at(pos)
    for _ in range(NUM_OPTIONS):  # "the dog barking or the bird chirp" names both
        if hit is None:
            break
        indices, start, end = hit
        cands.extend(_Cand(LETTERS[i], start, i, end) for i in indices)
        join = _TEXT_JOIN.match(scan.text, end)
        hit = scan.option_at(join.end()) if join else None
    return cands


def _answer_phrases(scan: _Scan) -> Parsed | None:
    """``final_answer``, then ``answer_letter`` / ``answer_text``."""
    text = scan.text
    final: list[_Cand] = []
    plain: list[_Cand] = []
    cues = _ANSWER_CUE.finditer(text) if any(w in scan.lower for w in _CUE_WORDS) else ()
    for m in cues:
        if m.start() and _WORD.match(text, m.start() - 1):
            continue  # "reanswer:", not a cue
        letter = _letter_after_cue(scan, m)
        cands = [letter] if letter else _text_after_cue(scan, m.end())
        (final if m.group("final") else plain).extend(cands)
    if final:
        result = _decide(scan, final, RULE_FINAL_ANSWER)
        if result is not None:
            return result
    conclusions = _CONCLUSION_CUE.finditer(text) if any(
        w in scan.lower for w in _CONCLUSION_WORDS
    ) else ()
    for m in conclusions:
        letter = _letter_after_cue(scan, m)
        if letter and _CLAUSE_END.match(text, letter.pos + 1):
            plain.append(letter)
    for m in _POSTFIX.finditer(text):
        pos = m.start("l")
        if scan.is_token(pos):
            plain.append(_Cand(text[pos].upper(), pos))
    if plain:
        return _decide(scan, plain, RULE_ANSWER_LETTER, RULE_ANSWER_TEXT)
    return None


def _leading_letter(scan: _Scan) -> Parsed | None:
    text = scan.text
    m = _LEADING.match(text)
    if m is None:
        return None
    pos, end = m.start("l"), m.end()
    char = text[pos]
    if m.group("close") or m.group("prefix"):
        is_letter = True  # "(B) ...", "b) ...", "Option B ..."
    elif _LEADING_DELIMITER.match(text, end):
        is_letter = True  # "B.", "B)", "B:", "B\n", "B, because"
    elif text.startswith(" ", end):
        if _LEADING_FOLLOWER.match(text, end):
            is_letter = True  # "B is ...", "A because ...", "A or B"
        elif char in _UP[1:]:
            is_letter = True  # "B Dog barking": of the capitals only "A" is also a word
        else:
            is_letter = char == "A" and not scan.is_article(pos)
    else:
        is_letter = False
    if not is_letter:
        return None
    cands = [_Cand(char.upper(), pos)]
    first_break = text.find("\n")
    if first_break >= 0:  # "A. Bird Chirp\nB. Dog barking\n..." (an echo of the options) is no answer
        cands.extend(
            _Cand(text[lm.start("l")].upper(), lm.start("l"))
            for lm in _LINE_START.finditer(text, first_break + 1)
        )
    return _decide(scan, cands, RULE_LEADING_LETTER)


def _weak_letters(scan: _Scan, marked_only: bool) -> Parsed | None:
    """``marked_letter`` (``marked_only``), or ``letter_mention`` weighed with ``option_text``."""
    text = scan.text
    kept: dict[str, list[_Cand]] = {}
    if marked_only:
        for m in _MARKED.finditer(text):
            pos = m.start("b") if m.group("b") else m.start("p")
            letter = text[pos].upper()
            if letter not in kept and not scan.rejected(pos):
                kept[letter] = [_Cand(letter, pos)]
    else:
        for letter, regex in _OCCURRENCES.items():
            for m in regex.finditer(text):  # the first kept occurrence is enough to count it
                pos = m.start()
                if scan.is_token(pos) and not scan.rejected(pos):
                    kept[letter] = [_Cand(letter, pos)]
                    break
    if len(kept) > 1:
        return Parsed(None, RULE_AMBIGUOUS)
    if kept:
        ((letter, cands),) = kept.items()
        # Every kept occurrence that stands next to option text must stand next to its own.
        paired = set(scan.after_pairs) | set(scan.before_pairs)
        cands.extend(
            _Cand(letter, pos) for pos in sorted(paired)
            if text[pos].upper() == letter and (not marked_only or scan.marked(pos))
            and scan.is_token(pos) and not scan.rejected(pos)
        )  # fmt: skip
        if scan.conflicts(letter, cands):
            return Parsed(None, RULE_CONFLICT)
        return Parsed(letter, RULE_MARKED_LETTER if marked_only else RULE_LETTER_MENTION)
    if marked_only:
        return None
    named = scan.named_options()
    if len(named) > 1:
        return Parsed(None, RULE_AMBIGUOUS)
    if named:
        return Parsed(LETTERS[named.pop()], RULE_OPTION_TEXT)
    return None
# --- public ------------------------------------------------------------------------------------------
def parse_choice(text: str | None, options: Sequence[str] | None = None) -> Parsed:
    """Read the option letter a model chose from its free-text output; never guess.

    The rules and their precedence are listed in the module docstring; the first rule that finds a
    letter the text does not reject decides.  A failure returns ``Parsed(None, rule)``: count it
    as wrong and report the failure rate by rule.

    Args:
        text (`str` or `None`): the model's output, as generated (markdown, line breaks and any
            Unicode allowed).  ``None`` reads as empty.
        options (`Sequence[str]`, *optional*, defaults to `None`): the four option texts in
            ``LETTERS`` order.  With them, an answer given as option text ("the dog barking") is
            read, and a letter paired with another option's text is a ``conflict``.  ``None``
            reads letters only.

    Returns:
        :class:`Parsed`: ``letter`` (one of ``LETTERS`` or `None`) and ``rule``.  Only the first
        :data:`MAX_PARSE_CHARS` characters are read; the rule of a longer output ends in
        ``+truncated``.

    Raises:
        :class:`~tacos_temporal.errors.ScoringError`: ``options`` is not `None` or four strings,
            or ``text`` is neither a string nor `None`.

    Examples:

    >>> options = ["Bird Chirp", "Dog barking", "Vehicle engine", "Stream_River"]
    >>> parse_choice("B", options)
    Parsed(letter='B', rule='bare_letter')
    >>> parse_choice("The correct answer is (B) Dog barking", options)
    Parsed(letter='B', rule='answer_letter')
    >>> parse_choice("B. Dog barking", options)
    Parsed(letter='B', rule='leading_letter')
    >>> parse_choice("A dog barks first.")
    Parsed(letter=None, rule='none')
    >>> parse_choice("A dog barks first.", options)
    Parsed(letter='B', rule='option_text')
    >>> parse_choice("Eliminated: (A), (C). Conclusion: (B)")
    Parsed(letter='B', rule='answer_letter')
    >>> parse_choice("A or B")
    Parsed(letter=None, rule='ambiguous')
    >>> parse_choice("B. Bird Chirp", options)
    Parsed(letter=None, rule='conflict')
    """
    opts = _check_options(options)
    if text is None:
        return Parsed(None, RULE_EMPTY)
    if not isinstance(text, str):
        raise ScoringError(
            f"text must be the model's output as str (or None), got {type(text).__name__} "
            f"{text!r:.80}; decode bytes first and store missing outputs as None"
        )
    if len(text) > MAX_PARSE_CHARS:
        letter, rule = parse_choice(text[:MAX_PARSE_CHARS], options)
        return Parsed(letter, rule + TRUNCATED_SUFFIX)
    norm = _normalise(text)
    if not norm:
        return Parsed(None, RULE_EMPTY)
    if len(norm) <= _BARE_MAX_CHARS:
        bare = _BARE.fullmatch(norm)
        if bare is not None:
            return Parsed(bare.group(1).upper(), RULE_BARE_LETTER)
    scan = _Scan(norm, opts)
    result = _answer_phrases(scan) or _leading_letter(scan)
    if result is not None:
        return result
    if _REFUSAL.search(norm):
        return Parsed(None, RULE_REFUSAL)
    result = _weak_letters(scan, marked_only=True) or _weak_letters(scan, marked_only=False)
    return result if result is not None else Parsed(None, RULE_NONE)
