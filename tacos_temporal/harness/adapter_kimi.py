"""The harness adapters of Kimi-Audio (native port ``tacos_temporal.ports.kimi_audio``).

* ``kimi_audio``: Kimi-Audio-Evalkit's MCQ call, the question **before** the audio
  (``[{"message_type": "text", ...}, {"message_type": "audio", ...}]`` in one user turn).  Each item
  then has its own prefix, so clip reuse is off (the run records why).
* ``kimi_audio_audio_first``: the audio before the question, as the harness asks the other models;
  the clip's prefix (up to ``<|im_media_end|>``) is shared, so reuse pre-fills it once.  No preset
  uses it (the preset keeps Evalkit's order); pass ``HFRunner(cfg, preset=ModelPreset(...,
  adapter="kimi_audio_audio_first"))`` to ask that way.

Kimi-Audio has no system turn (the prompt manager takes user and assistant turns only).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelError
from .adapters import Adapter, converted_cache_folder, register_adapter


@register_adapter("kimi_audio")
class KimiAudioAdapter(Adapter):
    """Question first, then the audio (Kimi-Audio-Evalkit ``almeval/models/kimi_audio.py``)."""

    audio_first = False

    def conversation(self, text: str, *, with_audio: bool, system_prompt: str | None = None) -> list[dict]:
        if system_prompt:
            raise ModelError("Kimi-Audio has no system turn (its prompt manager takes user and assistant turns only): drop --system-prompt")
        content = [{"type": "text", "text": text}]
        if with_audio:
            content.insert(0 if self.audio_first else 1, {"type": "audio"})
        return [{"role": "user", "content": content}]

    def resolve(self, model_id: str) -> str:
        """A Hub id becomes its converted folder (``$TACOS_TEMPORAL_KIMI_DIR`` or
        ``~/.cache/tacos_temporal/kimi_audio/<repo>``), converted on first use; a local folder stays."""
        return str(converted_folder(model_id))


@register_adapter("kimi_audio_audio_first")
class KimiAudioAudioFirstAdapter(KimiAudioAdapter):
    """Audio first, then the question: the prefix every question about a clip shares."""

    audio_first = True


def converted_folder(model_id: str) -> Path:
    def convert(folder, repo):
        from ..ports.kimi_audio.loading import convert as convert_kimi

        convert_kimi(folder, repo)

    return converted_cache_folder(model_id, env="TACOS_TEMPORAL_KIMI_DIR", name="kimi_audio", convert=convert)
