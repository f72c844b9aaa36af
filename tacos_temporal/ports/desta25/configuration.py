"""``DeSTA25Config``: Whisper (``audio_config``) + the DeSTA connector + Llama (``text_config``).

The language model lives under ``text_config`` so that ``set_attn_implementation({"text_config": name})``
(the harness's steering and attention recording) reaches the Llama layers only.
"""

from __future__ import annotations

from transformers import LlamaConfig, PreTrainedConfig, WhisperConfig
from transformers.configuration_utils import SubConfigSpec

#: ``openai/whisper-large-v3`` sizes (the defaults of ``audio_config``).
WHISPER_LARGE_V3 = {
    "d_model": 1280, "encoder_layers": 32, "decoder_layers": 32, "encoder_attention_heads": 20,
    "decoder_attention_heads": 20, "encoder_ffn_dim": 5120, "decoder_ffn_dim": 5120, "num_mel_bins": 128,
    "vocab_size": 51866, "max_source_positions": 1500, "max_target_positions": 448,
}
#: ``meta-llama/Llama-3.1-8B-Instruct`` sizes (the defaults of ``text_config``).
LLAMA_31_8B = {
    "vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
    "num_attention_heads": 32, "num_key_value_heads": 8, "max_position_embeddings": 131072, "rms_norm_eps": 1e-5,
    "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
    "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                        "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
}

#: ``<|reserved_special_token_87|>`` in the Llama-3.1 vocabulary: the audio/transcript placeholder.
PLACEHOLDER_TOKEN = "<|reserved_special_token_87|>"
#: The text the chat template puts where the audio goes (``<|AUDIO|>`` -> markers + placeholders).
AUDIO_MARKER = "<|AUDIO|>"
AUDIO_START, AUDIO_END = "<start_audio>", "<end_audio>"


class DeSTA25Config(PreTrainedConfig):
    """DeSTA2.5-Audio (``DeSTA-ntu/DeSTA2.5-Audio-Llama-3.1-8B``) as one transformers config.

    Args:
        audio_config (`WhisperConfig` or `dict`): the Whisper model (encoder taps + ASR decoder).
        text_config (`LlamaConfig` or `dict`): the language model.
        qformer_num_hidden_layers (`int`, defaults to 2): Q-former depth (the release's ``config.json``
            value; class default 2, training recipe 6: always read it from the checkpoint).
        qformer_num_attention_heads / qformer_intermediate_size: Q-former sizes (20 / 3072 at full size).
        target_layer_ids (`list[int]`): Whisper encoder layers whose **raw** outputs are tapped.
        prompt_size (`int`, defaults to 64): learned queries per tap = audio features per clip.
        placeholder_token (`str`): the token repeated ``prompt_size + T`` times in the prompt.
        audio_token_id (`int`): id of ``placeholder_token`` (the harness's audio key positions).
        transcribe (`bool`): run Whisper ASR for the transcript when none is given (the original does).
        use_vad (`bool`): run ASR only when Silero VAD (PyPI ``silero-vad``) finds speech, else " ".
        asr_max_new_tokens (`int`, defaults to 128): ASR budget of the original.
        asr_generation_config (`dict`, *optional*): ``openai/whisper-large-v3``'s generation config (set by ``convert``).
    """

    model_type = "desta25"
    sub_configs_defaults = {
        "audio_config": SubConfigSpec(config_class=WhisperConfig, init_kwargs=WHISPER_LARGE_V3),
        "text_config": SubConfigSpec(config_class=LlamaConfig, init_kwargs=LLAMA_31_8B),
    }

    audio_config: dict | WhisperConfig | None = None
    text_config: dict | LlamaConfig | None = None
    qformer_num_hidden_layers: int = 2
    qformer_num_attention_heads: int = 20
    qformer_intermediate_size: int = 3072
    target_layer_ids: list[int] | tuple[int, ...] = (7, 15, 23, 31)
    prompt_size: int = 64
    placeholder_token: str = PLACEHOLDER_TOKEN
    audio_token_id: int | None = None
    transcribe: bool = True
    use_vad: bool = True
    asr_max_new_tokens: int = 128
    asr_generation_config: dict | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        self.target_layer_ids = [int(i) for i in self.target_layer_ids]
        n_layers = self.audio_config.encoder_layers
        if not self.target_layer_ids or any(not 0 <= i < n_layers for i in self.target_layer_ids):
            raise ValueError(f"target_layer_ids {self.target_layer_ids} must lie in 0..{n_layers - 1} (Whisper encoder layers)")
        if self.audio_config.d_model % self.qformer_num_attention_heads:
            raise ValueError(f"Whisper d_model {self.audio_config.d_model} is not a multiple of {self.qformer_num_attention_heads} Q-former heads")
