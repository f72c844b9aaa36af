"""The transcript as the original makes it (``DeSTA25AudioModel.generate`` in desta/models/modeling_desta25.py).

For each clip, Silero VAD first decides whether it holds speech:

* no speech: the transcript is the single text ``" "``, **even when the caller supplied one**;
* speech and a caller's transcript: that text, unchanged (an empty string stays empty);
* speech and no transcript: Whisper ASR (``generate``, ``asr_max_new_tokens``), decoded without
  special tokens and stripped; an empty result stays ``""`` (no transcript tokens).

Without VAD (``use_vad=False``, not the original's behaviour) every clip counts as speech.
"""

from __future__ import annotations

from ...errors import ModelError

#: What ``pip`` installs for the VAD (the ``desta`` extra of tacos-temporal).
VAD_PACKAGE = "silero-vad"
NO_SPEECH = " "


def speech_detector():
    """``audio -> bool`` from PyPI ``silero-vad`` (the original fetched it with torch.hub at run time).

    The original calls ``get_speech_timestamps(samples, vad_model)`` with its default 16 kHz rate.
    """
    try:
        from silero_vad import get_speech_timestamps, load_silero_vad
    except ImportError as err:
        raise ModelError(
            f"DeSTA2.5's voice activity detection needs the package {VAD_PACKAGE}: pip install 'tacos-temporal[desta]' "
            f"(or pip install {VAD_PACKAGE}), or set \"use_vad\": false in the model folder's config.json to transcribe every clip"
        ) from err
    import torch

    vad = load_silero_vad()
    return lambda audio: bool(get_speech_timestamps(torch.as_tensor(audio, dtype=torch.float32), vad, sampling_rate=16000))


class Transcriber:
    """``(audios, transcripts=None) -> list[str]``: each clip's transcript, decided as the original does.

    Args:
        model: a ``DeSTA25ForConditionalGeneration`` (its Whisper runs the ASR).
        feature_extractor: the ``WhisperFeatureExtractor`` of the processor.
        use_vad (`bool`): gate the transcript with Silero VAD (the original always does).
        tokenizer (*optional*): the Whisper tokenizer for decoding ASR ids (default: the model
            folder's ``asr_tokenizer/``, written by ``convert-desta``).
        detector (*optional*): ``audio -> bool`` used instead of Silero VAD when ``use_vad`` is true.
    """

    def __init__(self, model, feature_extractor, *, use_vad: bool, tokenizer=None, detector=None):
        self.model, self.feature_extractor, self.use_vad, self.tokenizer = model, feature_extractor, use_vad, tokenizer
        self._vad = (detector or speech_detector()) if use_vad else None

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

    def __call__(self, audios, transcripts=None) -> list[str]:
        given = list(transcripts) if transcripts is not None else [None] * len(audios)
        if len(given) != len(audios):
            raise ValueError(f"{len(given)} transcripts for {len(audios)} audio clips")
        speech = [self._vad(a) for a in audios] if self._vad is not None else [True] * len(audios)
        need = [i for i, (s, t) in enumerate(zip(speech, given)) if s and t is None]
        asr: dict[int, str] = {}
        if need:
            features = self.feature_extractor([audios[i] for i in need], sampling_rate=16000, return_tensors="pt")["input_features"]
            ids = self.model.transcribe_ids(features.to(self.model.device))
            asr = dict(zip(need, (text.strip() for text in self.asr_tokenizer().batch_decode(ids, skip_special_tokens=True))))
        return [NO_SPEECH if not s else (asr[i] if t is None else str(t)) for i, (s, t) in enumerate(zip(speech, given))]
