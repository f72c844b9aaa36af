"""The prompt text of an item in a view: the only place prompt text is assembled.

The paper did not publish its prompts; the authors' early code used greedy decoding, at most 10
new tokens, and ``{question}\\nA. {A}\\nB. {B}\\nC. {C}\\nD. {D}`` with a variant that appended
``Answer with just the letter (A, B, C, or D).``  That variant is the default here.  The audio (when
the view has audio) is placed **before** this text by the harness, as the Qwen2-Audio and Audio
Flamingo 3 examples do.

A template is a ``str.format`` string with these fields:

==================  ====================================================================
``{question}``      the task's fixed question (``names.QUESTIONS``)
``{A}`` .. ``{D}``  the option labels
``{options}``       the four options as ``A. label`` lines
``{caption}``       the clip's weak caption (caption views only)
``{context}``       ``"Caption: <caption>\\n"`` in caption views, empty otherwise
``{task}``          the task name
==================  ====================================================================
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from ..errors import ConfigError, check_name
from ..names import ALL_VIEWS, LETTERS, VIEWS_WITH_CAPTION

DEFAULT_TEMPLATE = "{context}{question}\n{options}\nAnswer with just the letter (A, B, C, or D)."
FIELDS: frozenset[str] = frozenset({"question", "options", "caption", "context", "task", *LETTERS})


def check_template(template: str) -> str:
    """Return ``template`` if every ``{field}`` in it is known, else raise :class:`ConfigError`."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as err:
        raise ConfigError(f"prompt template is not a valid format string: {err}") from err
    unknown = sorted(names - FIELDS)
    if unknown:
        raise ConfigError(
            f"prompt template uses unknown field(s) {', '.join('{' + n + '}' for n in unknown)}; "
            f"available: {', '.join('{' + n + '}' for n in sorted(FIELDS))}"
        )
    return template


def render_prompt(item: Mapping, view: str, *, template: str = DEFAULT_TEMPLATE) -> str:
    """The text of ``item`` (a dataset row or ``Item.to_dict()``) for ``view``.

    >>> item = {"task": "earliest_onset", "question": "Which sound event starts earliest in the given audio?",
    ...         "options": ["Dog", "Car", "Wind", "Rain"], "caption": "A dog barks, then a car passes."}
    >>> print(render_prompt(item, "audio_caption"))
    Caption: A dog barks, then a car passes.
    Which sound event starts earliest in the given audio?
    A. Dog
    B. Car
    C. Wind
    D. Rain
    Answer with just the letter (A, B, C, or D).
    """
    check_name("view", view, ALL_VIEWS)
    check_template(template)
    options = list(item["options"])
    caption = item.get("caption") if view in VIEWS_WITH_CAPTION else None
    if view in VIEWS_WITH_CAPTION and not caption:
        raise ConfigError(f"item {item.get('id', '?')}: view {view!r} needs a caption and the row has none")
    fields = {
        "question": item["question"],
        "options": "\n".join(f"{letter}. {label}" for letter, label in zip(LETTERS, options)),
        "caption": caption or "",
        "context": f"Caption: {caption}\n" if caption else "",
        "task": item["task"],
        **dict(zip(LETTERS, options)),
    }
    return template.format(**fields)
