"""Helpers of the tacos_temporal lm-evaluation-harness tasks (referenced from the YAML with !function).

Everything comes from the tacos-temporal package, so the tasks ask exactly our questions: the items
are loaded with ``tacos_temporal.load_benchmark``, the prompt is ``tacos_temporal.data.prompts.render_prompt``
and the generated answer is read with ``tacos_temporal.scoring.parsing.parse_choice`` (an answer
without a readable letter becomes ``[invalid]`` and counts as wrong, as lm-eval's own extraction
filters do).
"""

from __future__ import annotations

from tacos_temporal.names import CAPTION_ONLY, LETTERS, TASKS

#: lm-eval's marker of a response its filter could not read (lm_eval/filters/extraction.py).
INVALID = "[invalid]"


def load_caption_only(data: str | None = None, demo: bool = False, **_ignored) -> dict:
    """The caption_only view's ``test`` split, from ``data`` (a built folder or a Hub dataset id) or,
    with ``demo=True``, from the built-in demo corpus.  Pass them with lm-eval's ``--metadata``:
    ``--metadata '{"data": "ORG/tacos_temporal"}'`` (other metadata keys, such as ``version``, are ignored).
    """
    import tacos_temporal

    if data is None and not demo:
        raise ValueError(
            "the tacos_temporal tasks need the benchmark: pass --metadata '{\"data\": \"ORG/tacos_temporal\"}' "
            "(a Hub dataset id or a folder built with `tacos-temporal build`), or '{\"demo\": true}' for the demo corpus"
        )
    dataset = tacos_temporal.load_benchmark(CAPTION_ONLY, data_dir=data, demo=demo and data is None, progress=False)
    return {"test": dataset}


def _task_docs(task: str):
    def process_docs(dataset):
        return dataset.filter(lambda doc: doc["task"] == task)

    process_docs.__name__ = f"{task}_docs"
    return process_docs


earliest_onset_docs, latest_offset_docs, longest_duration_docs = (_task_docs(task) for task in TASKS)


def doc_to_text(doc: dict) -> str:
    """The question exactly as tacos_temporal's harness asks it (before a chat template)."""
    from tacos_temporal.data.prompts import render_prompt

    return render_prompt(doc, CAPTION_ONLY)


def doc_to_choice(doc: dict) -> list[str]:
    return list(LETTERS)


def doc_to_target(doc: dict) -> int:
    """The index of the correct letter (multiple_choice)."""
    return LETTERS.index(doc["answer"])


def doc_to_letter(doc: dict) -> str:
    """The correct letter (generate_until, compared with exact_match after the parse_choice filter)."""
    return doc["answer"]


def parse_choice_filter(resps, docs):
    """lm-eval ``custom`` filter: each generated answer -> the letter ``parse_choice`` reads (with the
    item's options), or ``[invalid]``."""
    from tacos_temporal.scoring.parsing import parse_choice

    return [[parse_choice(resp, list(doc["options"])).letter or INVALID for resp in doc_resps] for doc_resps, doc in zip(resps, docs)]
