"""The harness adapter ``granite_speech``: Granite-Speech takes the audio as a placeholder inside the
user's text, as its model card writes it (``"<|audio|>can you transcribe the speech ..."``): its
chat template renders string content only, and ``GraniteSpeechProcessor`` expands each
``processor.audio_token`` in the text into one token per projected audio frame."""

from __future__ import annotations

from .adapters import Adapter, register_adapter


def flatten_audio_items(conversation: list[dict], audio_token: str) -> list[dict]:
    """``conversation`` with every list content joined into one string, audio items as ``audio_token``."""
    out = []
    for turn in conversation:
        content = turn["content"]
        if not isinstance(content, str):
            content = "".join(audio_token if item.get("type") == "audio" else item["text"] for item in content)
        out.append({**turn, "content": content})
    return out


@register_adapter("granite_speech")
class GraniteSpeechAdapter(Adapter):
    """Audio first, then the question, as one string turn with the processor's audio placeholder."""

    def render(self, processor, conversation: list[dict]) -> str:
        return processor.apply_chat_template(flatten_audio_items(conversation, processor.audio_token), add_generation_prompt=True, tokenize=False)
