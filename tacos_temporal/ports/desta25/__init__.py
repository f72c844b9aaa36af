"""DeSTA2.5-Audio as native transformers 5 parts (issue #8).  Importing this package registers
``desta25`` with ``AutoConfig``, ``AutoProcessor``, ``AutoModelForMultimodalLM`` and
``AutoModelForCausalLM``, (the harness adapter ``desta25`` lives in ``tacos_temporal.harness.adapter_desta25``)."""

from __future__ import annotations

from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMultimodalLM, AutoProcessor

from .configuration import DeSTA25Config
from .modeling import DeSTA25ForConditionalGeneration
from .processing import DeSTA25Processor

__all__ = ["DeSTA25Config", "DeSTA25ForConditionalGeneration", "DeSTA25Processor"]


def _register() -> None:
    for register, args in (
        (AutoConfig.register, ("desta25", DeSTA25Config)),
        (AutoProcessor.register, (DeSTA25Config, DeSTA25Processor)),
        (AutoModelForMultimodalLM.register, (DeSTA25Config, DeSTA25ForConditionalGeneration)),
        (AutoModelForCausalLM.register, (DeSTA25Config, DeSTA25ForConditionalGeneration)),
    ):
        try:
            register(*args, exist_ok=True)
        except TypeError:  # a register() without exist_ok
            register(*args)


_register()
