"""Prompt text per view: the only place it is assembled."""

from __future__ import annotations

import pytest

from tacos_temporal.data.prompts import DEFAULT_TEMPLATE, check_template, render_prompt
from tacos_temporal.errors import ConfigError

ITEM = {
    "id": "LO-1",
    "task": "latest_offset",
    "question": "Which sound event ends latest in the given audio?",
    "options": ["Dog", "Car", "Wind", "Rain"],
    "caption": "A dog barks while wind blows.",
}


def test_audio_only_prompt_has_question_lettered_options_and_answer_cue_but_no_caption():
    text = render_prompt(ITEM, "audio_only")
    assert text.splitlines() == [
        "Which sound event ends latest in the given audio?",
        "A. Dog",
        "B. Car",
        "C. Wind",
        "D. Rain",
        "Answer with just the letter (A, B, C, or D).",
    ]
    assert "dog barks" not in text


@pytest.mark.parametrize("view", ["caption_only", "audio_caption"])
def test_caption_views_put_the_caption_before_the_question(view):
    assert render_prompt(ITEM, view).startswith("Caption: A dog barks while wind blows.\nWhich sound event")


def test_silence_control_is_worded_like_audio_only():
    assert render_prompt(ITEM, "silence") == render_prompt(ITEM, "audio_only")


def test_caption_view_without_caption_is_an_error():
    with pytest.raises(ConfigError, match="needs a caption"):
        render_prompt({**ITEM, "caption": ""}, "caption_only")


def test_custom_template_fields():
    assert render_prompt(ITEM, "audio_only", template="{task}: {A}|{D}") == "latest_offset: Dog|Rain"


@pytest.mark.parametrize("template, message", [("{qestion}", "unknown field"), ("{question", "not a valid format")])
def test_bad_templates_are_refused_with_the_available_fields(template, message):
    with pytest.raises(ConfigError, match=message):
        check_template(template)


def test_default_template_uses_the_papers_answer_cue():
    assert DEFAULT_TEMPLATE.endswith("Answer with just the letter (A, B, C, or D).")


def test_unknown_view_is_refused():
    with pytest.raises(ConfigError, match="Did you mean"):
        render_prompt(ITEM, "audio_onyl")
