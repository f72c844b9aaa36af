"""The harness adapter ``desta25``: the default prompt shape, plus the model's ASR bound to the processor."""

from __future__ import annotations

from .adapters import Adapter, converted_cache_folder, register_adapter


def bind_model(processor, model) -> None:
    """Give ``processor`` the model's transcriber when the config asks for ASR transcripts."""
    if getattr(model.config, "transcribe", False):
        from ..ports.desta25.transcribe import Transcriber

        processor.transcriber = Transcriber(model, processor.feature_extractor, use_vad=model.config.use_vad)


@register_adapter("desta25")
class DeSTA25Adapter(Adapter):
    """Audio first, then the question (items joined by a blank line in the template)."""

    def bind(self, processor, model) -> None:
        bind_model(processor, model)

    def resolve(self, model_id: str) -> str:
        """A Hub id becomes its converted folder (``$TACOS_TEMPORAL_DESTA_DIR`` or
        ``~/.cache/tacos_temporal/desta25/<repo>``), converted on first use; a local folder stays."""
        return str(converted_folder(model_id))


def converted_folder(model_id: str):
    def convert(folder, repo):
        from ..ports.desta25.loading import convert as convert_desta

        convert_desta(folder, repo)

    return converted_cache_folder(model_id, env="TACOS_TEMPORAL_DESTA_DIR", name="desta25", convert=convert)
