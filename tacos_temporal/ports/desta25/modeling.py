"""``DeSTA25ForConditionalGeneration``: Whisper taps -> Q-former connector -> Llama, in transformers parts.

Forward pass (shared/reference/desta25.md): Whisper encoder run by hand so that the **raw** outputs of
``target_layer_ids`` are taken (trap 1: never ``hidden_states[-1]``, which is after the final
LayerNorm); one shared ``BertEncoder`` Q-former, pinned bidirectional (trap 2: ``is_decoder=True``
makes its self-attention causal under sdpa), run once per tap with that tap's 64 learned queries;
softmax layer weights per query; LayerNorm + Linear projector; the features fill the first
``prompt_size`` placeholder positions of each row and the transcript embeddings the next ``T``.
Whisper and the connector stay float32 (``_keep_in_fp32_modules_strict``, trap 3); Llama takes the
requested dtype.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import BertConfig, GenerationMixin, LlamaForCausalLM, PreTrainedModel, WhisperForConditionalGeneration
from transformers.models.bert.modeling_bert import BertEncoder

from .configuration import DeSTA25Config


def qformer_config(config: DeSTA25Config) -> BertConfig:
    """The Q-former's ``BertConfig``: hidden = Whisper d_model, exact GELU, post-LN eps 1e-12, eager."""
    qcfg = BertConfig(
        hidden_size=config.audio_config.d_model,
        num_hidden_layers=config.qformer_num_hidden_layers,
        num_attention_heads=config.qformer_num_attention_heads,
        intermediate_size=config.qformer_intermediate_size,
        hidden_act="gelu",
        layer_norm_eps=1e-12,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        is_decoder=True,
        add_cross_attention=True,
    )
    qcfg._attn_implementation = "eager"
    return qcfg


class DeSTA25Connector(nn.Module):
    """Layer prompts, the shared Q-former, softmax layer weights and the projector.

    Parameter names follow the release (``perception.connector.<name>`` there)."""

    def __init__(self, config: DeSTA25Config):
        super().__init__()
        d, n_taps, size = config.audio_config.d_model, len(config.target_layer_ids), config.prompt_size
        self.layer_prompts = nn.ParameterList([nn.Parameter(torch.zeros(1, size, d)) for _ in range(n_taps)])
        self.layer_weights = nn.Parameter(torch.zeros(size, n_taps))
        self.qformer = BertEncoder(qformer_config(config))
        self.proj = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, config.text_config.hidden_size))
        self.pin_bidirectional()

    def pin_bidirectional(self) -> None:
        """DeSTA's queries see each other both ways: no causal self-attention whatever the backend."""
        self.qformer.config._attn_implementation = "eager"
        for layer in self.qformer.layer:
            layer.attention.self.is_causal = False

    def forward(self, taps: list[torch.Tensor]) -> torch.Tensor:
        """``taps``: one (B, frames, d) tensor per target layer -> (B, prompt_size, text hidden)."""
        outs = []
        for prompt, frames in zip(self.layer_prompts, taps):
            queries = prompt.expand(frames.shape[0], -1, -1).to(frames.dtype)
            outs.append(self.qformer(queries, encoder_hidden_states=frames).last_hidden_state)
        stacked = torch.stack(outs, dim=2)  # (B, P, n_taps, d)
        weights = torch.softmax(self.layer_weights.float(), dim=-1).to(stacked.dtype)
        mixed = (stacked * weights[None, :, :, None]).sum(dim=2)
        return self.proj(mixed)


class DeSTA25PreTrainedModel(PreTrainedModel):
    config_class = DeSTA25Config
    base_model_prefix = "desta"
    input_modalities = ("audio", "text")
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _supports_flash_attn = True
    _supports_flex_attn = True
    _supports_attention_backend = True
    _no_split_modules = ["WhisperEncoderLayer", "WhisperDecoderLayer", "BertLayer", "LlamaDecoderLayer"]
    #: Trap 3: Whisper ran in float32 in the original; the connector stays float32 with it.
    _keep_in_fp32_modules_strict = ["audio_model", "connector"]

    @torch.no_grad()
    def _init_weights(self, module):
        std = 0.02
        if isinstance(module, DeSTA25Connector):
            for prompt in module.layer_prompts:
                nn.init.normal_(prompt, std=std)
            nn.init.normal_(module.layer_weights, std=1.0)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=std)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        else:
            super()._init_weights(module)


class DeSTA25ForConditionalGeneration(DeSTA25PreTrainedModel, GenerationMixin):
    """DeSTA2.5-Audio: ``audio_model`` (Whisper, ASR too), ``connector``, ``language_model`` (Llama)."""

    def __init__(self, config: DeSTA25Config):
        super().__init__(config)
        self.audio_model = WhisperForConditionalGeneration(config.audio_config)
        self.connector = DeSTA25Connector(config)
        self.language_model = LlamaForCausalLM(config.text_config)
        self.post_init()

    def post_init(self):
        super().post_init()
        self.connector.pin_bidirectional()

    # --- embeddings (generate and resize use them) ------------------------------------------------
    def get_input_embeddings(self):
        return self.language_model.get_input_embeddings()

    def set_input_embeddings(self, value):
        self.language_model.set_input_embeddings(value)

    def get_output_embeddings(self):
        return self.language_model.get_output_embeddings()

    # --- audio ------------------------------------------------------------------------------------
    def whisper_taps(self, input_features: torch.Tensor) -> list[torch.Tensor]:
        """Raw outputs of the target Whisper encoder layers (no final LayerNorm), float32 by default."""
        encoder = self.audio_model.model.encoder
        x = input_features.to(encoder.conv1.weight.dtype)
        x = nn.functional.gelu(encoder.conv1(x))
        x = nn.functional.gelu(encoder.conv2(x)).permute(0, 2, 1)
        x = x + encoder.embed_positions.weight[: x.shape[1]]
        wanted, taps = set(self.config.target_layer_ids), {}
        for idx, layer in enumerate(encoder.layers[: max(wanted) + 1]):
            x = layer(x, None)
            if idx in wanted:
                taps[idx] = x
        return [taps[i] for i in self.config.target_layer_ids]

    def get_audio_features(self, input_features: torch.Tensor) -> torch.Tensor:
        """(B, 128, 3000) mel -> (B, prompt_size, text hidden) in the connector's dtype."""
        return self.connector(self.whisper_taps(input_features))

    def fill_placeholders(self, input_ids, input_features=None, transcript_ids=None, transcript_attention_mask=None):
        """``inputs_embeds``: token embeddings with each row's placeholders replaced by its 64 audio
        features, then its ``T`` transcript embeddings (in that order, left to right)."""
        embed = self.get_input_embeddings()
        inputs_embeds = embed(input_ids)
        if input_features is None:
            return inputs_embeds
        placeholders = input_ids == self.config.audio_token_id
        features = self.get_audio_features(input_features).to(inputs_embeds.dtype)  # (B, P, H)
        valid = torch.ones(features.shape[:2], dtype=torch.bool, device=features.device)
        if transcript_ids is not None:
            if transcript_attention_mask is None:
                transcript_attention_mask = torch.ones_like(transcript_ids)
            features = torch.cat([features, embed(transcript_ids)], dim=1)
            valid = torch.cat([valid, transcript_attention_mask.bool()], dim=1)
        counts, expected = placeholders.sum(-1), valid.sum(-1)
        if not torch.equal(counts.cpu(), expected.cpu()):
            raise ValueError(
                f"placeholder counts per row {counts.tolist()} differ from the audio + transcript lengths {expected.tolist()}: "
                "build inputs with DeSTA25Processor"
            )
        source = features[valid]  # row-major: row 0's audio then transcript, row 1's...
        return inputs_embeds.masked_scatter(placeholders.unsqueeze(-1), source)

    # --- language model ---------------------------------------------------------------------------
    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        input_features=None,
        transcript_ids=None,
        transcript_attention_mask=None,
        position_ids=None,
        cache=None,
        inputs_embeds=None,
        labels=None,
        use_cache=None,
        **kwargs,
    ):
        if inputs_embeds is None:
            inputs_embeds = self.fill_placeholders(input_ids, input_features, transcript_ids, transcript_attention_mask)
        return self.language_model(
            attention_mask=attention_mask,
            position_ids=position_ids,
            cache=cache,
            inputs_embeds=inputs_embeds,
            labels=labels,
            use_cache=use_cache,
            **kwargs,
        )

    def prepare_inputs_for_generation(self, *args, is_first_iteration=False, **kwargs):
        use_cache = kwargs.get("use_cache", True)
        transcript = {k: kwargs.pop(k, None) for k in ("transcript_ids", "transcript_attention_mask")}
        model_inputs = super().prepare_inputs_for_generation(*args, is_first_iteration=is_first_iteration, **kwargs)
        if is_first_iteration or not use_cache:
            model_inputs.update({k: v for k, v in transcript.items() if v is not None})
        else:
            model_inputs.pop("input_features", None)
        return model_inputs

    # --- ASR (the transcript) ---------------------------------------------------------------------
    @torch.no_grad()
    def transcribe_ids(self, input_features: torch.Tensor) -> torch.Tensor:
        """Whisper ``generate`` on the mel features (``asr_max_new_tokens`` new tokens, the release's
        Whisper generation config when the converted folder recorded it)."""
        from transformers import GenerationConfig

        gen = getattr(self.config, "asr_generation_config", None)
        kwargs = {"generation_config": GenerationConfig.from_dict(gen)} if gen else {}
        features = input_features.to(self.audio_model.model.encoder.conv1.weight.dtype)
        return self.audio_model.generate(features, max_new_tokens=self.config.asr_max_new_tokens, **kwargs)


def audio_span_mask(input_ids: torch.Tensor, audio_token_id: int, prompt_size: int = 64, *, span: str = "features+transcript") -> torch.Tensor:
    """Audio key positions for analysis and steering: every placeholder (``"features+transcript"``,
    what ``input_ids == config.audio_token_id`` gives the harness) or only each row's first
    ``prompt_size`` placeholders (``"features"``: the 64 audio features)."""
    placeholders = input_ids == audio_token_id
    if span == "features+transcript":
        return placeholders
    if span != "features":
        raise ValueError(f"span must be 'features' or 'features+transcript', got {span!r}")
    return placeholders & (placeholders.long().cumsum(-1) <= prompt_size)
