"""``KimiAudioConfig``: the Kimi fields of ``moonshotai/Kimi-Audio-7B-Instruct``'s ``config.json`` +
a Qwen2 ``text_config`` (the trunk) + ``whisper_config`` (the continuous features: Whisper-large-v3,
the release's ``whisper-large-v3/`` subfolder) + ``vq_config`` (the GLM-4-Voice VQ tokenizer,
``THUDM/glm-4-voice-tokenizer``: a ``WhisperConfig`` with its ``WhisperVQConfig`` fields).

The language model lives under ``text_config`` so that ``set_attn_implementation({"text_config": name})``
(the harness's steering and attention recording) reaches the 28 Qwen2 layers only.
Facts: shared/reference/kimi_audio.md section 2.
"""

from __future__ import annotations

from transformers import PreTrainedConfig, Qwen2Config, WhisperConfig
from transformers.configuration_utils import SubConfigSpec

#: ``openai/whisper-large-v3`` encoder sizes (Kimi's ``whisper-large-v3/`` copy).
WHISPER_LARGE_V3 = {
    "d_model": 1280, "encoder_layers": 32, "decoder_layers": 32, "encoder_attention_heads": 20,
    "decoder_attention_heads": 20, "encoder_ffn_dim": 5120, "decoder_ffn_dim": 5120, "num_mel_bins": 128,
    "vocab_size": 51866, "max_source_positions": 1500, "max_target_positions": 448,
}
#: ``THUDM/glm-4-voice-tokenizer``: whisper-large-v3 sizes + its ``WhisperVQConfig`` fields (the values
#: of its ``config.json`` as quoted by third parties; a converted folder always takes the file's own).
GLM4_VOICE_TOKENIZER = dict(
    WHISPER_LARGE_V3,
    pooling_kernel_size=4, pooling_type="avg", pooling_position=16, quantize_vocab_size=16384,
    quantize_position=16, quantize_causal_block_size=200, quantize_causal_encoder=False,
    encoder_causal_attention=False, encoder_causal_convolution=True,
)
#: The Qwen2.5-7B trunk of Kimi-Audio-7B-Instruct (``config.json``: 28 layers, GQA 28/4, vocab
#: 168448 = 152064 text ids + 16384 GLM codes).
QWEN25_7B = {
    "vocab_size": 168448, "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
    "num_attention_heads": 28, "num_key_value_heads": 4, "max_position_embeddings": 8192, "rms_norm_eps": 1e-6,
    "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0}, "use_sliding_window": False,
    "tie_word_embeddings": False, "hidden_act": "silu",
}

#: The special tokens the prompt manager uses (``kimia_infer/utils/special_tokens.py``), by field name.
SPECIAL_TOKEN_NAMES = {
    "msg_end": "<|im_msg_end|>",
    "media_begin": "<|im_media_begin|>",
    "media_end": "<|im_media_end|>",
    "kimia_text_blank": "<|im_kimia_text_blank|>",
    "kimia_text_eos": "<|im_kimia_text_eos|>",
    "kimia_user_msg_start": "<|im_kimia_user_msg_start|>",
    "kimia_assistant_msg_start": "<|im_kimia_assistant_msg_start|>",
    "kimia_speech_ct_id": "<|im_kimia_speech_ct_id|>",
    "kimia_speech_ctd_id": "<|im_kimia_speech_ctd_id|>",
}
#: Their ids in the real vocabulary (151643 + index in Kimi's list of 421 special tokens).
SPECIAL_TOKEN_IDS = {
    "msg_end": 151645, "media_begin": 151661, "media_end": 151663, "kimia_text_blank": 151666,
    "kimia_text_eos": 151667, "kimia_user_msg_start": 151670, "kimia_assistant_msg_start": 151671,
    "kimia_speech_ct_id": 151675, "kimia_speech_ctd_id": 151676,
}


class KimiAudioConfig(PreTrainedConfig):
    """Kimi-Audio-7B-Instruct's text-output path as one transformers config.

    Args:
        text_config (`Qwen2Config` or `dict`): the trunk (Qwen2.5-7B sizes by default).
        whisper_config (`WhisperConfig` or `dict`): Whisper-large-v3 (encoder only is built).
        vq_config (`WhisperConfig` or `dict`): the GLM-4-Voice VQ tokenizer (``pooling_*``,
            ``quantize_*``, ``encoder_causal_convolution`` fields of ``WhisperVQConfig``).
        kimia_token_offset (`int`, defaults to 152064): GLM code ``c`` is audio-stream id ``c + offset``.
        kimia_adaptor_input_dim (`int`, defaults to 5120): 4 Whisper frames (4 x 1280) per audio token.
        kimia_media_begin / kimia_media_end / kimia_text_blank / kimia_text_eos / kimia_user_msg_start /
            kimia_assistant_msg_start / kimia_speech_ct_id / kimia_speech_ctd_id / msg_end (`int`):
            the special ids of the prompt manager (real vocabulary by default).
        audio_token_id (`int`, *optional*): the id that marks audio positions in ``input_ids``
            (defaults to ``kimia_text_blank``: the merged prompt stream holds a blank nowhere else).
        use_whisper_feature (`bool`, defaults to `True`): add the continuous features at audio positions.
        kimia_mimo_layers / kimia_mimo_transformer_from_layer_index / kimia_mimo_audiodelaytokens /
            kimia_audio_output_vocab / kimia_text_output_vocab: recorded from the release; the MIMO
            audio-output branch is not built (text answers do not depend on it).
        text_repetition_penalty (`float`, defaults to 1.1) / text_repetition_window_size (`int`,
            defaults to 16): Kimi-Audio-Evalkit's windowed text repetition penalty (its MCQ settings).
    """

    model_type = "kimi_audio"
    sub_configs_defaults = {
        "text_config": SubConfigSpec(config_class=Qwen2Config, init_kwargs=QWEN25_7B),
        "whisper_config": SubConfigSpec(config_class=WhisperConfig, init_kwargs=WHISPER_LARGE_V3),
        "vq_config": SubConfigSpec(config_class=WhisperConfig, init_kwargs=GLM4_VOICE_TOKENIZER),
    }

    text_config: dict | Qwen2Config | None = None
    whisper_config: dict | WhisperConfig | None = None
    vq_config: dict | WhisperConfig | None = None
    kimia_token_offset: int = 152064
    kimia_adaptor_input_dim: int = 5120
    kimia_media_begin: int = SPECIAL_TOKEN_IDS["media_begin"]
    kimia_media_end: int = SPECIAL_TOKEN_IDS["media_end"]
    kimia_text_blank: int = SPECIAL_TOKEN_IDS["kimia_text_blank"]
    kimia_text_eos: int = SPECIAL_TOKEN_IDS["kimia_text_eos"]
    kimia_user_msg_start: int = SPECIAL_TOKEN_IDS["kimia_user_msg_start"]
    kimia_assistant_msg_start: int = SPECIAL_TOKEN_IDS["kimia_assistant_msg_start"]
    kimia_speech_ct_id: int = SPECIAL_TOKEN_IDS["kimia_speech_ct_id"]
    kimia_speech_ctd_id: int = SPECIAL_TOKEN_IDS["kimia_speech_ctd_id"]
    msg_end: int = SPECIAL_TOKEN_IDS["msg_end"]
    audio_token_id: int | None = None
    use_whisper_feature: bool = True
    kimia_mimo_layers: int = 6
    kimia_mimo_transformer_from_layer_index: int = 21
    kimia_mimo_audiodelaytokens: int = 6
    kimia_audio_output_vocab: int = 16896
    kimia_text_output_vocab: int = 152064
    text_repetition_penalty: float = 1.1
    text_repetition_window_size: int = 16

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        if self.audio_token_id is None:
            self.audio_token_id = self.kimia_text_blank
        if self.kimia_adaptor_input_dim != 4 * self.whisper_config.d_model:
            raise ValueError(f"kimia_adaptor_input_dim {self.kimia_adaptor_input_dim} must be 4 x Whisper d_model {self.whisper_config.d_model}")
        vq = self.vq_config
        if getattr(vq, "quantize_vocab_size", None) is None or self.kimia_token_offset + vq.quantize_vocab_size > self.text_config.vocab_size:
            raise ValueError(f"kimia_token_offset {self.kimia_token_offset} + {getattr(vq, 'quantize_vocab_size', None)} GLM codes must fit the vocabulary ({self.text_config.vocab_size})")
        if getattr(vq, "pooling_position", None) != getattr(vq, "quantize_position", None):
            raise ValueError("the GLM-4-Voice tokenizer port needs pooling_position == quantize_position (the release's layout)")

    @property
    def audio_stream_ids(self) -> tuple[int, ...]:
        """Ids that the prompt manager writes into the audio stream (role, media and turn markers)."""
        return (self.kimia_user_msg_start, self.kimia_assistant_msg_start, self.kimia_media_begin, self.kimia_media_end,
                self.kimia_speech_ct_id, self.kimia_speech_ctd_id, self.msg_end)
