"""Kimi-Audio-7B-Instruct's text-output path as native transformers 5 parts (issue #12).  Importing
this package registers ``kimi_audio`` with ``AutoConfig``, ``AutoProcessor``, ``AutoModelForCausalLM``
and ``AutoModelForMultimodalLM`` (the harness adapter ``kimi_audio`` lives in
``tacos_temporal.harness.adapter_kimi``)."""

from __future__ import annotations

from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMultimodalLM, AutoProcessor

from .configuration import KimiAudioConfig
from .modeling import KimiAudioForConditionalGeneration
from .processing import KimiAudioProcessor

__all__ = ["KimiAudioConfig", "KimiAudioForConditionalGeneration", "KimiAudioProcessor"]


def _register() -> None:
    for register, args in (
        (AutoConfig.register, ("kimi_audio", KimiAudioConfig)),
        (AutoProcessor.register, (KimiAudioConfig, KimiAudioProcessor)),
        (AutoModelForCausalLM.register, (KimiAudioConfig, KimiAudioForConditionalGeneration)),
        (AutoModelForMultimodalLM.register, (KimiAudioConfig, KimiAudioForConditionalGeneration)),
    ):
        try:
            register(*args, exist_ok=True)
        except TypeError:  # a register() without exist_ok
            register(*args)


_register()
