"""The transcript as the original makes it: Whisper ASR when Silero VAD finds speech, else " "."""

from __future__ import annotations

from ...errors import ModelError


def speech_detector():
    """``audio -> bool`` from PyPI ``silero-vad`` (the original fetched it with torch.hub at run time)."""
    try:
        from silero_vad import get_speech_timestamps, load_silero_vad
    except ImportError as err:
        raise ModelError("DeSTA2.5 VAD needs the PyPI package silero-vad (pip install silero-vad), or set use_vad=false in the model config") from err
    import torch

    vad = load_silero_vad()
    return lambda audio: bool(get_speech_timestamps(torch.as_tensor(audio, dtype=torch.float32), vad, sampling_rate=16000))


class Transcriber:
    """``audios -> list[str | None]`` (None = no speech: the processor uses " ")."""

    def __init__(self, model, feature_extractor, *, use_vad: bool, tokenizer=None):
        self.model, self.feature_extractor, self.use_vad, self.tokenizer = model, feature_extractor, use_vad, tokenizer
        self._vad = speech_detector() if use_vad else None

    def asr_tokenizer(self):
        if self.tokenizer is None:
            from pathlib import Path

            from transformers import WhisperTokenizer

            folder = Path(str(self.model.name_or_path)) / "asr_tokenizer"
            try:
                self.tokenizer = WhisperTokenizer.from_pretrained(folder)
            except (OSError, ValueError) as err:
                raise ModelError(f"no Whisper tokenizer in {folder} for the ASR transcript: use a folder written by convert-desta, or pass transcripts") from err
        return self.tokenizer

    def __call__(self, audios) -> list[str | None]:
        keep = [self._vad(a) if self._vad else True for a in audios]
        out: list[str | None] = [None] * len(audios)
        chosen = [a for a, k in zip(audios, keep) if k]
        if chosen:
            features = self.feature_extractor(chosen, sampling_rate=16000, return_tensors="pt")["input_features"]
            ids = self.model.transcribe_ids(features.to(self.model.device))
            texts = iter(self.asr_tokenizer().batch_decode(ids, skip_special_tokens=True))
            out = [next(texts).strip() if k else None for k in keep]
        return out
