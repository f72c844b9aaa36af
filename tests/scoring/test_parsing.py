"""Tests of tacos_temporal.scoring.parsing: the case table, properties, error paths, long inputs.

The table ``parse_cases.json`` beside this file holds hand-written cases (what a careful human
reader answers); each case's ``why`` is its test id.
"""

from __future__ import annotations

import ast
import doctest
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tacos_temporal.errors import ScoringError, TacosTemporalError
from tacos_temporal.names import LETTERS
from tacos_temporal.scoring import parsing
from tacos_temporal.scoring.parsing import RULES, Parsed, parse_choice

CASES_FILE = Path(__file__).with_name("parse_cases.json")
CASES = json.loads(CASES_FILE.read_text(encoding="utf-8"))["cases"]
OPTIONS = ["Bird Chirp", "Dog barking", "Vehicle engine", "Stream_River"]


@pytest.mark.parametrize("case", CASES, ids=[case["why"] for case in CASES])
def test_parse_case_table(case):
    got = parse_choice(case["text"], case["options"])
    assert got == Parsed(case["letter"], case["rule"]), case["why"]


def test_case_table_is_large_and_covers_every_rule():
    assert len(CASES) >= 80
    assert {case["rule"] for case in CASES} == set(RULES)
    assert all(case["letter"] in (*LETTERS, None) for case in CASES)
    assert len({case["why"] for case in CASES}) == len(CASES), "why doubles as the test id"


def test_rule_names_are_module_constants_listed_in_the_docstring():
    constants = {v for k, v in vars(parsing).items() if k.startswith("RULE_")}
    assert constants == set(RULES)
    for rule in RULES:
        assert f"``{rule}``" in parsing.__doc__


def test_docstring_examples_run():
    result = doctest.testmod(parsing, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


# --- the named pitfalls (also in the table; here as readable behaviour) ----------------------------
def test_article_a_in_prose_is_not_option_a():
    assert parse_choice("A dog barks first.").letter is None
    assert parse_choice("A bird chirps before the engine").letter is None
    assert parse_choice("A dog barks first.", OPTIONS).letter == "B"  # Dog barking


def test_last_letter_is_not_taken_blindly_when_it_was_eliminated():
    assert parse_choice("Conclusion: (B). Eliminated: (A), (C).").letter == "B"
    assert parse_choice("Eliminated: (A), (C). (B) remains.").letter == "B"


def test_letter_with_its_own_option_text_on_the_first_line_is_right():
    assert parse_choice("B. Dog barking", OPTIONS) == Parsed("B", "leading_letter")


def test_letter_with_another_options_text_is_a_conflict_not_a_guess():
    assert parse_choice("B. Bird Chirp", OPTIONS) == Parsed(None, "conflict")


def test_rejected_letter_is_never_chosen():
    assert parse_choice("It is not C, it is B").letter == "B"
    assert parse_choice("not C") == Parsed(None, "none")


def test_refusals_and_several_answers_return_none():
    for text in ("I cannot determine the order.", "I'm sorry.", "A or B", "A and C"):
        assert parse_choice(text, OPTIONS).letter is None, text


# --- properties ----------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300), use_options=st.booleans())
def test_arbitrary_unicode_never_raises_and_returns_a_letter_or_none(text, use_options):
    got = parse_choice(text, OPTIONS if use_options else None)
    assert got.letter in (*LETTERS, None)
    assert got.rule in RULES


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from("ABCDabcd ()[].,:;-/\n*_'\"not is or and answer"), max_size=200),
    use_options=st.booleans(),
)
def test_letter_heavy_text_never_raises(text, use_options):
    got = parse_choice(text, OPTIONS if use_options else None)
    assert got.letter in (*LETTERS, None)
    assert (got.letter is None) == (got.rule in parsing.FAILURE_RULES)


# Option texts drawn to collide with the forms: "Answer", "B", brackets, markdown, empty strings.
option_text = st.one_of(
    st.text(max_size=30),
    st.lists(st.sampled_from(["Answer", "answer", "option", "A", "B", "(", ")", "**", "the", ""]),
             max_size=3).map(" ".join),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    options=st.one_of(st.none(), st.lists(option_text, min_size=4, max_size=4)),
    letter=st.sampled_from(LETTERS),
    form=st.sampled_from(["{}", "({})", "Answer: {}", "**{}**"]),
)
def test_explicit_letter_forms_return_that_letter_for_any_options(options, letter, form):
    assert parse_choice(form.format(letter), options).letter == letter


# --- options validation ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "options",
    [
        [],
        ["Bird Chirp", "Dog barking", "Vehicle engine"],
        ["Bird Chirp", "Dog barking", "Vehicle engine", "Stream_River", "Rain"],
        ["Bird Chirp", "Dog barking", None, "Stream_River"],
        ["Bird Chirp", "Dog barking", 3, "Stream_River"],
        [b"Bird Chirp", "Dog barking", "Vehicle engine", "Stream_River"],
        "ABCD",
        {"A": "Bird Chirp", "B": "Dog barking", "C": "Vehicle engine", "D": "Stream_River"},
        {"Bird Chirp", "Dog barking", "Vehicle engine", "Stream_River"},
        42,
    ],
    ids=[
        "no options",
        "three options",
        "five options",
        "None among options",
        "int among options",
        "bytes among options",
        "a string of four characters",
        "a mapping",
        "an unordered set",
        "not iterable",
    ],
)
def test_options_that_are_not_four_strings_raise_scoring_error(options):
    with pytest.raises(ScoringError, match="options"):
        parse_choice("B", options)


def test_scoring_error_is_a_value_error_and_a_package_error():
    with pytest.raises(ValueError):
        parse_choice("B", ["only one"])
    with pytest.raises(TacosTemporalError):
        parse_choice("B", ["only one"])


def test_options_may_be_any_ordered_sequence_of_four_strings():
    assert parse_choice("dog barking", tuple(OPTIONS)) == Parsed("B", "option_text")
    assert parse_choice("dog barking", iter(OPTIONS)) == Parsed("B", "option_text")


def test_text_that_is_not_a_string_raises_scoring_error():
    with pytest.raises(ScoringError, match="text"):
        parse_choice(b"B", OPTIONS)  # type: ignore[arg-type]
    with pytest.raises(ScoringError, match="text"):
        parse_choice(float("nan"), OPTIONS)  # type: ignore[arg-type]


def test_duplicate_or_empty_option_texts_never_guess():
    assert parse_choice("dog", ["Dog", "dog", "Rain", "Wind"]) == Parsed(None, "ambiguous")
    assert parse_choice("B", ["", "", "", ""]) == Parsed("B", "bare_letter")
    assert parse_choice("dog", ["", "", "", ""]) == Parsed(None, "none")


# --- long and hostile inputs -------------------------------------------------------------------------
MEGABYTE = 1_000_000
HOSTILE = {
    "spaces": " " * MEGABYTE + "B",
    "open brackets": "( " * (MEGABYTE // 2),
    "letters and spaces": "A " * (MEGABYTE // 2),
    "eliminated list": "Eliminated: " + "(A), " * (MEGABYTE // 5),
    "rejections": "not B " * (MEGABYTE // 6),
    "answer phrases": "answer: " * (MEGABYTE // 8),
    "letter with label lines": "B. Dog barking\n" * (MEGABYTE // 15),
    "option text": "stream,,," * (MEGABYTE // 9),
    "nul bytes": "\x00" * MEGABYTE + "B",
    "mixed": "not (A) or B, C is wrong; the dog barking, answer: " * (MEGABYTE // 50),
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_megabyte_hostile_outputs_parse_without_error(text):
    # No timing assertion (it would be flaky); a catastrophic backtracking pattern would hang here.
    got = parse_choice(text, OPTIONS)
    assert got.letter in (*LETTERS, None)


def test_megabyte_output_with_one_answer_at_the_end_is_read():
    assert parse_choice("The dog barks. " * (MEGABYTE // 15) + "Final answer: B", OPTIONS).letter == "B"


def test_control_characters_never_crash():
    controls = "".join(chr(c) for c in range(0x20))
    text = controls + "Answer: B" + "".join(chr(c) for c in range(0x7F, 0xA0))
    assert parse_choice(text) == Parsed("B", "answer_letter")


# --- import cost -------------------------------------------------------------------------------------
def test_parsing_imports_only_the_standard_library_and_names_errors():
    tree = ast.parse(Path(parsing.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    allowed = {"tacos_temporal.errors", "tacos_temporal.names"}
    stdlib = sys.stdlib_module_names
    outside = {m for m in imported if m not in allowed and m.split(".")[0] not in stdlib}
    assert not outside


def test_importing_parsing_does_not_import_torch():
    code = "import sys, tacos_temporal.scoring.parsing; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- the cap on what is read (issue 17) ---------------------------------------------------------


def test_a_huge_answer_is_read_only_up_to_the_cap_and_says_so():
    from tacos_temporal.scoring.parsing import MAX_PARSE_CHARS, TRUNCATED_SUFFIX

    options = ["Bird Chirp", "Dog barking", "Vehicle engine", "Stream_River"]
    huge = "The answer is (C). " + "la " * (50_000_000 // 3)  # a 50 MB runaway generation
    assert parse_choice(huge, options) == ("C", "answer_letter" + TRUNCATED_SUFFIX)
    # an answer given only after the cap is not read
    late = "x " * MAX_PARSE_CHARS + "The answer is (C)."
    assert parse_choice(late, options) == (None, "none" + TRUNCATED_SUFFIX)
    # exactly at the cap the whole text is read, with no suffix
    at_cap = "The answer is (C)." + " " * (MAX_PARSE_CHARS - 18)
    assert len(at_cap) == MAX_PARSE_CHARS and parse_choice(at_cap, options) == ("C", "answer_letter")
