"""Per-family adapters: how a prompt becomes a conversation and a batch of model inputs.

Everything else (batching, resume, caching, records) lives in :mod:`.runner`; an adapter holds only
what differs between model families.  Register a new one with ``@register_adapter("name")`` and
point a preset's ``adapter`` key at it.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import unknown_name

_ADAPTERS: dict[str, type[Adapter]] = {}


def register_adapter(name: str):
    """Class decorator: make an :class:`Adapter` available under ``name``."""

    def wrap(cls: type[Adapter]) -> type[Adapter]:
        cls.name = name
        _ADAPTERS[name] = cls
        return cls

    return wrap


def get_adapter(name: str) -> Adapter:
    if name not in _ADAPTERS:
        raise unknown_name("adapter", name, sorted(_ADAPTERS))
    return _ADAPTERS[name]()


def adapter_names() -> list[str]:
    return sorted(_ADAPTERS)


class Adapter:
    """The default adapter: audio first, then the text, in one user turn; the processor's chat template."""

    name = "default"

    def conversation(self, text: str, *, with_audio: bool, system_prompt: str | None = None) -> list[dict]:
        """The chat of one item.  The audio comes **before** the question (the prefix shared by all
        questions about one clip)."""
        content: list[dict] = [{"type": "audio"}] if with_audio else []
        content.append({"type": "text", "text": text})
        turns = [{"role": "system", "content": [{"type": "text", "text": system_prompt}]}] if system_prompt else []
        return turns + [{"role": "user", "content": content}]

    def render(self, processor, conversation: list[dict]) -> str:
        """The exact prompt text the model sees (chat template applied, generation prompt added)."""
        return processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)

    def encode(self, processor, texts: Sequence[str], audios: Sequence | None, sampling_rate: int | None):
        """A left-padded batch of model inputs (``BatchFeature``)."""
        kwargs = {"text": list(texts), "return_tensors": "pt", "padding": True}
        if audios:
            kwargs.update(audio=list(audios), sampling_rate=sampling_rate)
        return processor(**kwargs)


register_adapter("default")(Adapter)


@register_adapter("qwen2_audio")
class Qwen2AudioAdapter(Adapter):
    """Qwen2-Audio: the default shape; its processor pads on the tokenizer's side (set to left)."""


@register_adapter("audioflamingo3")
class AudioFlamingo3Adapter(Adapter):
    """Audio Flamingo 3: pad the text only; a top-level ``padding=True`` also pads the audio
    features and breaks the encoder (hf_stack.md)."""

    def encode(self, processor, texts, audios, sampling_rate):
        kwargs = {"text": list(texts), "return_tensors": "pt", "text_kwargs": {"padding": True}}
        if audios:
            kwargs.update(audio=list(audios), sampling_rate=sampling_rate)
        return processor(**kwargs)


def converted_cache_folder(model_id: str, *, env: str, name: str, convert) -> "Path":
    """The folder a native port loads for ``model_id``: a local folder stays as it is; a Hub id maps
    to ``$<env>`` or ``~/.cache/tacos_temporal/<name>``, plus ``<org>--<repo>``, converted there on
    first use by ``convert(folder, model_id)`` (DeSTA2.5, Kimi-Audio)."""
    import os
    from pathlib import Path

    if Path(model_id).is_dir():
        return Path(model_id)
    root = Path(os.environ.get(env, Path.home() / ".cache" / "tacos_temporal" / name))
    folder = root / model_id.replace("/", "--")
    if not (folder / "config.json").is_file():
        convert(folder, model_id)
    return folder
