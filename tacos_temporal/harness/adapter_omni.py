"""The harness adapters ``qwen2_5_omni`` and ``qwen3_omni_moe``: the Omni models' THINKER, loaded from
the full Hub checkpoint, and their real processor without its video processor when torchvision is
missing.

Loading.  ``Qwen/Qwen2.5-Omni-7B`` and ``Qwen/Qwen3-Omni-30B-A3B-Instruct`` hold a thinker (audio,
vision and text in, text out), a talker and a token2wav vocoder.  The Auto classes give the whole
model (``Qwen2_5OmniForConditionalGeneration``), which has no ``forward()``; the harness needs the
thinker alone (logprob mode, the shared audio prefix, interventions and attention are all
forward passes).  transformers 5.24 loads a thinker class straight from the full repository: its
checkpoint conversion mapping (``conversion_mapping.py``, ``Qwen2_5OmniThinkerForConditionalGeneration``,
reused for Qwen3-Omni's thinker) drops the ``thinker.`` prefix of the weight names and ignores
``talker.*`` / ``token2wav.*`` (``_keys_to_ignore_on_load_unexpected``); the config is the full
config's ``thinker_config``.

Inputs.  ``AutoProcessor`` builds the real ``Qwen2_5OmniProcessor`` / ``Qwen3OmniMoeProcessor``,
whose video processor (``Qwen2VLVideoProcessor``) needs torchvision.  Where torchvision does not
import, the same processor class is built from its other parts (tokenizer, Whisper feature
extractor, image processor, chat template) with the video processor absent: the only change is
that the constructor accepts ``video_processor=None``.  Audio and text go through the class's own
``__call__`` (feature extraction with ``padding="max_length"``, the ``<|AUDIO|>`` expansion to one
token per encoder frame), so the inputs are those of the full processor; videos would fail, and the
harness sends none.
"""

from __future__ import annotations

import functools

from .adapters import Adapter, register_adapter


@functools.cache
def audio_only_processor(processor_class: type) -> type:
    """``processor_class`` (an Omni processor) accepting ``video_processor=None``; nothing else differs."""

    class AudioOnly(processor_class):
        def check_argument_for_proper_class(self, argument_name, argument):
            if argument_name == "video_processor" and argument is None:
                return None
            return super().check_argument_for_proper_class(argument_name, argument)

    AudioOnly.__name__ = AudioOnly.__qualname__ = processor_class.__name__
    return AudioOnly


class OmniThinkerAdapter(Adapter):
    """The default prompt shape (audio, then the question, in one user turn) on the thinker."""

    #: the transformers class loaded from the full checkpoint, and its processor class
    model_class = ""
    processor_class = ""
    def forget_positions(self, model) -> None:
        """Drop the multimodal rotary offsets (``rope_deltas``) the thinker keeps from its last
        batch.  The shared-prefix path pre-fills with explicit positions (which leave them stale) and
        then continues a cache copied to one row per question; without stale offsets, ``generate``
        recomputes the 3-D positions of the whole prompt (prefix + suffix) from its ids, as it does
        for a prompt run whole."""
        model.model.rope_deltas = None

    def load_processor(self, model_id: str, **common):
        import transformers

        try:
            return transformers.AutoProcessor.from_pretrained(model_id, **common)
        except ImportError as err:
            if "torchvision" not in str(err).lower():
                raise
        processor_class = getattr(transformers, self.processor_class)
        tokenizer = transformers.AutoTokenizer.from_pretrained(model_id, **common)
        feature_extractor = transformers.AutoFeatureExtractor.from_pretrained(model_id, **common)
        image_processor = transformers.AutoImageProcessor.from_pretrained(model_id, **common)
        processor_dict, _ = processor_class.get_processor_dict(model_id, **common)
        chat_template = processor_dict.get("chat_template") or tokenizer.chat_template
        return audio_only_processor(processor_class)(
            image_processor=image_processor, video_processor=None, feature_extractor=feature_extractor, tokenizer=tokenizer, chat_template=chat_template
        )

    def load_model(self, model_id: str, *, dtype, **common):
        import transformers

        config = transformers.AutoConfig.from_pretrained(model_id, **common)
        thinker_config = getattr(config, "thinker_config", config)  # the full repo, or a thinker saved alone
        return getattr(transformers, self.model_class).from_pretrained(model_id, config=thinker_config, dtype=dtype, **common)


@register_adapter("qwen2_5_omni")
class Qwen25OmniAdapter(OmniThinkerAdapter):
    model_class = "Qwen2_5OmniThinkerForConditionalGeneration"
    processor_class = "Qwen2_5OmniProcessor"


@register_adapter("qwen3_omni_moe")
class Qwen3OmniMoeAdapter(OmniThinkerAdapter):
    model_class = "Qwen3OmniMoeThinkerForConditionalGeneration"
    processor_class = "Qwen3OmniMoeProcessor"
