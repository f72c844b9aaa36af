"""``KimiAudioForConditionalGeneration``: Kimi-Audio-7B-Instruct's text-output path in transformers parts.

Forward pass (shared/reference/kimi_audio.md section 2.2, read from the Hub's
``modeling_moonshot_kimia.py`` and ``kimia_infer``):

* **Discrete codes** (:class:`KimiAudioSpeechTokenizer`, the GLM-4-Voice VQ tokenizer): causal conv1
  and conv2 (stride 2), ``embed_positions``, 16 stock ``WhisperEncoderLayer`` under a block-causal
  mask (full attention inside 200-frame blocks, causal across them, and the padding mask), average
  pooling x4 and the codebook argmin (the original's ``addmm`` distance).  Always float32
  (``_keep_in_fp32_modules_strict``): the original ran it in the 4.x default dtype.
* **Continuous features**: a stock ``WhisperEncoder`` (Whisper-large-v3, final LayerNorm included)
  on each 30-s chunk, the first ``4 x N`` frames of a chunk with ``N`` codes, chunks concatenated,
  4 frames -> one 5120-d row, through the VQ adaptor (Linear, SiLU, Linear, LayerNorm).
* **Dual-stream embedding**: ``E[audio stream] + E[text stream]``; at audio positions the audio part
  is ``(E[code + offset] + adaptor(w)) * sqrt(tensor(2.0, dtype))`` (bf16: 1.4140625), as the original.
* **Trunk**: a stock ``Qwen2Model`` (so the attention interface, the harness's steering, attention
  analysis and prefix reuse reach all its layers), then ``lm_head`` over the full vocabulary.

``input_ids`` is one merged stream: where the original's text stream is ``<blank>`` it holds the
audio-stream id, elsewhere the text id (every position of the original's text-mode layout has a
blank in at least one stream).  Audio positions hold ``config.audio_token_id`` (the blank id, found
nowhere else in a prompt) and are filled with the GLM codes.  :meth:`dual_streams` rebuilds the
original's two streams exactly.  Decoding steps embed ``E[blank] + E[text token]``: the audio stream
forced to blank after the first step, as ``kimia.py`` does in text mode.

Left out (not needed for text answers, and said so in the README): the 6-layer MIMO audio-output
branch (``mimo_layers``, ``mimo_norm``, ``mimo_output``; it branches off after layer 21 and never
feeds back), the flow-matching detokenizer and the BigVGAN vocoder.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from transformers import GenerationMixin, LogitsProcessor, LogitsProcessorList, PreTrainedModel, Qwen2Model
from transformers.modeling_outputs import CausalLMOutputWithPast
from transformers.models.whisper.modeling_whisper import WhisperEncoder, WhisperEncoderLayer

from .configuration import KimiAudioConfig
from .processing import SAMPLES_PER_TOKEN, whisper_token_count


class CausalConv1d(nn.Conv1d):
    """``Conv1d`` with ``dilation * (kernel - 1)`` zeros on the left and none on the right."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, dilation=1, bias=True):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=0, dilation=dilation, bias=bias)
        self.left_padding = dilation * (kernel_size - 1)

    def forward(self, inputs):
        return super().forward(nn.functional.pad(inputs, (self.left_padding, 0)))


class KimiAudioSpeechTokenizer(nn.Module):
    """The GLM-4-Voice VQ tokenizer (``THUDM/glm-4-voice-tokenizer``'s ``WhisperVQEncoder`` cut at the
    quantizer, as ``speech_tokenizer/utils.py::load_quantize_encoder`` loads it).

    Parameter names are the checkpoint's without ``model.encoder.``: ``conv1``, ``conv2``,
    ``embed_positions``, ``layers.{0..quantize_position-1}``, ``codebook``, ``embed_positions2``
    (loaded for an exact key match; it acts only after the quantizer)."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        config._attn_implementation = "sdpa"  # the 4.x default the original ran under; never steered
        d = config.d_model
        conv = CausalConv1d if config.encoder_causal_convolution else None
        if conv is None:
            self.conv1 = nn.Conv1d(config.num_mel_bins, d, kernel_size=3, padding=1)
            self.conv2 = nn.Conv1d(d, d, kernel_size=3, stride=2, padding=1)
        else:
            self.conv1 = conv(config.num_mel_bins, d, 3)
            self.conv2 = conv(d, d, 3, stride=2)
        self.embed_positions = nn.Embedding(config.max_source_positions, d)
        self.layers = nn.ModuleList([WhisperEncoderLayer(config) for _ in range(config.quantize_position)])
        self.codebook = nn.Embedding(config.quantize_vocab_size, d)
        self.embed_positions2 = nn.Embedding(math.ceil(config.max_source_positions / config.pooling_kernel_size), d)
        self.pooling = nn.AvgPool1d(config.pooling_kernel_size) if config.pooling_type == "avg" else nn.MaxPool1d(config.pooling_kernel_size)

    @property
    def causal(self) -> bool:
        return bool(self.config.encoder_causal_attention or self.config.quantize_causal_encoder)

    @staticmethod
    def block_causal_mask(attention_mask: torch.Tensor, block_size: int, dtype: torch.dtype) -> torch.Tensor:
        """(B, 1, T, T) additive mask: causal, full inside ``block_size`` blocks, padded keys masked
        (``WhisperVQEncoder.get_block_causal_attention_mask``)."""
        length = attention_mask.shape[1]
        causal = torch.tril(torch.ones(1, length, length, dtype=torch.bool, device=attention_mask.device))
        blocks = torch.block_diag(*[causal.new_ones(min(block_size, length - s), min(block_size, length - s)) for s in range(0, length, block_size)])
        allowed = (causal | blocks) & attention_mask.bool()[:, None, :]
        return ((1.0 - allowed.to(dtype)) * torch.finfo(dtype).min).unsqueeze(1)

    def _mask(self, attention_mask, block_size, dtype):
        if self.causal:  # layers built with is_causal ignore the padding mask (plain causal attention)
            length = attention_mask.shape[1]
            allowed = torch.tril(torch.ones(length, length, dtype=torch.bool, device=attention_mask.device))
            return ((1.0 - allowed.to(dtype)) * torch.finfo(dtype).min)[None, None].expand(attention_mask.shape[0], 1, length, length)
        if block_size is None:
            return ((1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min).expand(-1, 1, attention_mask.shape[1], -1)
        return self.block_causal_mask(attention_mask, block_size, dtype)

    def forward(self, input_features: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``input_features`` (B, 128, F) and ``attention_mask`` (B, F) from ``WhisperFeatureExtractor``
        (``padding="longest"``, ``pad_to_multiple_of=1280``) -> codes (B, F // 8) and their validity."""
        cfg = self.config
        if cfg._attn_implementation not in ("sdpa", "eager"):  # e.g. a model-wide flash-attention request:
            cfg._attn_implementation = "sdpa"  # the block-causal mask needs a kernel that takes a 4-D float mask
        dtype = self.conv1.weight.dtype
        stride = self.conv1.stride[0] * self.conv2.stride[0]
        mask = attention_mask[:, ::stride]
        block = cfg.quantize_causal_block_size
        hidden = nn.functional.gelu(self.conv1(input_features.to(dtype)))
        hidden = nn.functional.gelu(self.conv2(hidden)).permute(0, 2, 1)
        hidden = hidden + self.embed_positions.weight[: hidden.shape[1]]
        extended = self._mask(mask, block, dtype)
        for idx, layer in enumerate(self.layers):
            hidden = layer(hidden, extended)
            if idx + 1 == cfg.pooling_position:
                hidden = hidden.permute(0, 2, 1)
                if hidden.shape[-1] % cfg.pooling_kernel_size:
                    hidden = nn.functional.pad(hidden, (0, cfg.pooling_kernel_size - hidden.shape[-1] % cfg.pooling_kernel_size))
                hidden = self.pooling(hidden).permute(0, 2, 1)
                mask = mask[:, :: cfg.pooling_kernel_size]
                extended = self._mask(mask, block // cfg.pooling_kernel_size if block else None, dtype)
        flat = hidden.reshape(-1, hidden.shape[-1])
        codebook = self.codebook.weight
        # vector_quantize of speech_tokenizer/modeling_whisper.py, operation for operation
        distances = torch.addmm(torch.sum(codebook**2, dim=1) + torch.sum(flat**2, dim=1, keepdim=True), flat, codebook.t(), alpha=-2.0, beta=1.0)
        codes = torch.min(distances, dim=1).indices.reshape(hidden.shape[:2])
        return codes, mask.bool()


class KimiAudioVQAdaptor(nn.Module):
    """Whisper features (4 x 1280 = 5120) -> trunk width: Linear, SiLU, Dropout(0), Linear, LayerNorm
    (eps = ``rms_norm_eps``); indices 0, 3, 4 as the release's ``model.vq_adaptor.layers.*``."""

    def __init__(self, config: KimiAudioConfig):
        super().__init__()
        hidden = config.text_config.hidden_size
        self.layers = nn.Sequential(
            nn.Linear(config.kimia_adaptor_input_dim, hidden, bias=True), nn.SiLU(), nn.Dropout(0.0),
            nn.Linear(hidden, hidden, bias=True), nn.LayerNorm(hidden, eps=config.text_config.rms_norm_eps, bias=True),
        )

    def forward(self, features):
        return self.layers(features)


class KimiWindowedRepetitionPenalty(LogitsProcessor):
    """Kimi-Audio's text repetition penalty (``kimia_infer/utils/sampler.py``): only once more than
    ``window`` tokens were generated, and only on the last ``window`` of them (prompt excluded);
    a score ``s`` becomes ``s * penalty`` if negative, else ``s / penalty``.  HF's
    ``RepetitionPenaltyLogitsProcessor`` acts on every earlier token from the first step instead."""

    def __init__(self, penalty: float, window: int, prompt_length: int):
        if penalty <= 0 or window < 1:
            raise ValueError(f"penalty must be > 0 and window >= 1, got {penalty} and {window}")
        self.penalty, self.window, self.prompt_length = float(penalty), int(window), int(prompt_length)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.penalty == 1.0 or input_ids.shape[1] - self.prompt_length <= self.window:
            return scores
        recent = input_ids[:, -self.window :]
        picked = torch.gather(scores, 1, recent)
        picked = torch.where(picked < 0, picked * self.penalty, picked / self.penalty)
        return scores.scatter(1, recent, picked)


class KimiAudioPreTrainedModel(PreTrainedModel):
    config_class = KimiAudioConfig
    base_model_prefix = "kimi_audio"
    input_modalities = ("audio", "text")
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _supports_flash_attn = True
    _supports_flex_attn = True
    _supports_attention_backend = True
    _no_split_modules = ["WhisperEncoderLayer", "Qwen2DecoderLayer"]
    #: The GLM-4-Voice tokenizer ran in float32 in the original (the 4.x default); its argmin is the
    #: most dtype-sensitive step.  Whisper and the trunk take the requested dtype (bf16 in the original).
    _keep_in_fp32_modules_strict = ["speech_tokenizer"]

    @torch.no_grad()
    def _init_weights(self, module):
        std = 0.02
        if isinstance(module, (nn.Linear, nn.Conv1d)):
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


class KimiAudioForConditionalGeneration(KimiAudioPreTrainedModel, GenerationMixin):
    """Kimi-Audio text path: ``model`` (stock Qwen2), ``lm_head``, ``vq_adaptor``, ``whisper_encoder``
    (stock Whisper encoder) and ``speech_tokenizer`` (GLM-4-Voice VQ)."""

    def __init__(self, config: KimiAudioConfig):
        super().__init__(config)
        self.model = Qwen2Model(config.text_config)
        self.lm_head = nn.Linear(config.text_config.hidden_size, config.text_config.vocab_size, bias=False)
        self.vq_adaptor = KimiAudioVQAdaptor(config)
        self.whisper_encoder = WhisperEncoder(config.whisper_config)
        self.speech_tokenizer = KimiAudioSpeechTokenizer(config.vq_config)
        self.post_init()

    def get_input_embeddings(self):
        return self.model.embed_tokens

    def set_input_embeddings(self, value):
        self.model.embed_tokens = value

    def get_output_embeddings(self):
        return self.lm_head

    # --- audio ------------------------------------------------------------------------------------
    @torch.no_grad()
    def audio_codes(self, glm_input_features, glm_attention_mask, audio_chunk_rows, audio_chunk_lengths) -> dict[int, torch.Tensor]:
        """GLM codes per batch row (0..16383), each clip's chunks in one batch as ``extract_speech_token``
        runs them (padded to the clip's longest chunk, a multiple of 1280 samples)."""
        out = {}
        for row in audio_chunk_rows.unique(sorted=True).tolist():
            pick = (audio_chunk_rows == row).nonzero().flatten()
            longest = int(audio_chunk_lengths[pick].max())
            frames = math.ceil(longest / SAMPLES_PER_TOKEN) * SAMPLES_PER_TOKEN // 160
            codes, valid = self.speech_tokenizer(glm_input_features[pick, :, :frames], glm_attention_mask[pick, :frames])
            out[row] = codes[valid]  # chunk by chunk, valid codes only
        return out

    def whisper_features(self, whisper_input_features, audio_chunk_rows, audio_chunk_lengths) -> dict[int, torch.Tensor]:
        """(T, 5120) continuous features per batch row: the encoder's ``last_hidden_state`` of each
        30-s chunk, its first ``4 x N`` frames, chunks concatenated, 4 frames per row."""
        dtype = self.whisper_encoder.conv1.weight.dtype
        hidden = self.whisper_encoder(whisper_input_features.to(dtype)).last_hidden_state
        out: dict[int, list[torch.Tensor]] = {}
        for chunk, (row, length) in enumerate(zip(audio_chunk_rows.tolist(), audio_chunk_lengths.tolist())):
            out.setdefault(row, []).append(hidden[chunk, : whisper_token_count(length) * 4])
        return {row: torch.cat(parts).reshape(-1, 4 * hidden.shape[-1]) for row, parts in out.items()}

    def audio_inputs(self, input_ids, attention_mask=None, whisper_input_features=None, glm_input_features=None, glm_attention_mask=None,
                     audio_chunk_rows=None, audio_chunk_lengths=None):
        """``(audio_input_ids, is_continuous_mask, whisper_features)`` for a prompt batch: the audio
        stream with the codes at the audio positions, those positions, and (B, S, 5120) features there."""
        placeholders = input_ids == self.config.audio_token_id
        if attention_mask is not None:
            placeholders &= attention_mask.bool()
        codes = self.audio_codes(glm_input_features, glm_attention_mask, audio_chunk_rows, audio_chunk_lengths)
        feats = self.whisper_features(whisper_input_features, audio_chunk_rows, audio_chunk_lengths)
        audio_ids, _ = self.dual_streams(input_ids)
        expanded = None
        for row in range(input_ids.shape[0]):
            n_slots = int(placeholders[row].sum())
            n_codes = int(codes[row].numel()) if row in codes else 0
            n_feats = int(feats[row].shape[0]) if row in feats else 0
            if not n_slots == n_codes == n_feats:
                raise ValueError(f"row {row}: {n_slots} audio positions, {n_codes} GLM codes, {n_feats} Whisper features: "
                                 "they must be equal (build inputs with KimiAudioProcessor)")
            if n_slots:
                audio_ids[row, placeholders[row]] = codes[row].to(audio_ids.device) + self.config.kimia_token_offset
                if expanded is None:
                    expanded = feats[row].new_zeros(*input_ids.shape, feats[row].shape[-1])
                expanded[row, placeholders[row]] = feats[row]
        return audio_ids, placeholders, expanded

    # --- embeddings ---------------------------------------------------------------------------------
    def dual_streams(self, input_ids, audio_input_ids=None) -> tuple[torch.Tensor, torch.Tensor]:
        """The original's ``(input_ids, text_input_ids)`` from the merged stream: audio-stream ids
        (role, media and turn markers; codes when ``audio_input_ids`` gives them) with a blank text,
        every other id in the text stream with a blank audio."""
        blank = self.config.kimia_text_blank
        if audio_input_ids is None:
            in_audio = torch.isin(input_ids, torch.tensor(self.config.audio_stream_ids, device=input_ids.device))
            audio_input_ids = torch.where(in_audio, input_ids, torch.full_like(input_ids, blank))
        text_input_ids = torch.where(audio_input_ids != blank, torch.full_like(input_ids, blank), input_ids)
        return audio_input_ids, text_input_ids

    def dual_stream_embeds(self, audio_input_ids, text_input_ids, is_continuous_mask=None, whisper_features=None):
        """``MoonshotKimiaModel.forward``'s embedding: audio part, continuous merge, plus the text part."""
        embed = self.get_input_embeddings()
        audio_emb = embed(audio_input_ids)
        if whisper_features is not None and self.config.use_whisper_feature and is_continuous_mask is not None and is_continuous_mask.any():
            mask = is_continuous_mask.bool().to(audio_emb.device)
            adapted = self.vq_adaptor(whisper_features[mask].to(self.vq_adaptor.layers[0].weight.dtype)).to(audio_emb.dtype)
            whisper_emb = torch.zeros_like(audio_emb)
            whisper_emb[mask] = adapted
            merged = (audio_emb + whisper_emb) * torch.sqrt(torch.tensor(2.0, dtype=whisper_emb.dtype, device=audio_emb.device))
            audio_emb = torch.where(mask[..., None], merged, audio_emb)
        return audio_emb + embed(text_input_ids)

    def get_inputs_embeds(self, input_ids, attention_mask=None, audio_input_ids=None, is_continuous_mask=None, whisper_features=None, **audio):
        """``inputs_embeds`` for merged ``input_ids``: audio from the processor's audio inputs
        (``whisper_input_features``, ``glm_*``, ``audio_chunk_*``), or given directly as the original's
        ``audio_input_ids`` + ``is_continuous_mask`` + ``whisper_features`` (B, S, 5120)."""
        if audio.get("whisper_input_features") is not None and audio_input_ids is None:
            audio_input_ids, is_continuous_mask, whisper_features = self.audio_inputs(input_ids, attention_mask, **audio)
        audio_ids, text_ids = self.dual_streams(input_ids, audio_input_ids)
        return self.dual_stream_embeds(audio_ids, text_ids, is_continuous_mask, whisper_features)

    # --- language model ---------------------------------------------------------------------------
    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        position_ids=None,
        cache=None,
        inputs_embeds=None,
        labels=None,
        use_cache=None,
        logits_to_keep=0,
        whisper_input_features=None,
        glm_input_features=None,
        glm_attention_mask=None,
        audio_chunk_rows=None,
        audio_chunk_lengths=None,
        audio_input_ids=None,
        is_continuous_mask=None,
        whisper_features=None,
        audio_token_mask=None,
        **kwargs,
    ):
        # ``audio_token_mask`` (the processor's audio positions, for the harness) is recomputed from
        # ``input_ids == config.audio_token_id``; it is accepted so that ``model(**processor(...))`` works.
        if inputs_embeds is None:
            inputs_embeds = self.get_inputs_embeds(
                input_ids, attention_mask, audio_input_ids=audio_input_ids, is_continuous_mask=is_continuous_mask, whisper_features=whisper_features,
                whisper_input_features=whisper_input_features, glm_input_features=glm_input_features, glm_attention_mask=glm_attention_mask,
                audio_chunk_rows=audio_chunk_rows, audio_chunk_lengths=audio_chunk_lengths,
            )
        outputs = self.model(attention_mask=attention_mask, position_ids=position_ids, cache=cache, inputs_embeds=inputs_embeds, use_cache=use_cache, **kwargs)
        hidden = outputs.last_hidden_state
        keep = slice(-logits_to_keep, None) if isinstance(logits_to_keep, int) else logits_to_keep
        logits = self.lm_head(hidden[:, keep, :])
        loss = None
        if labels is not None:
            loss = self.loss_function(logits=logits, labels=labels, vocab_size=self.config.text_config.vocab_size, **kwargs)
        return CausalLMOutputWithPast(loss=loss, logits=logits, cache=outputs.cache, hidden_states=outputs.hidden_states, attentions=outputs.attentions)

    AUDIO_INPUTS = ("whisper_input_features", "glm_input_features", "glm_attention_mask", "audio_chunk_rows", "audio_chunk_lengths",
                    "audio_input_ids", "is_continuous_mask", "whisper_features", "audio_token_mask")

    def prepare_inputs_for_generation(self, *args, inputs_embeds=None, is_first_iteration=False, **kwargs):
        """Audio inputs go in at the first step only; later steps embed ``E[blank] + E[token]`` (the
        original forces the audio stream to ``<blank>`` after the prompt in text mode)."""
        audio = {k: kwargs.pop(k, None) for k in self.AUDIO_INPUTS}
        model_inputs = super().prepare_inputs_for_generation(*args, inputs_embeds=inputs_embeds, is_first_iteration=is_first_iteration, **kwargs)
        if is_first_iteration or not kwargs.get("use_cache", True):
            model_inputs.update({k: v for k, v in audio.items() if v is not None})
        return model_inputs

    def generate(self, inputs=None, generation_config=None, logits_processor=None, **kwargs):
        """``GenerationMixin.generate`` plus Kimi-Audio-Evalkit's windowed text repetition penalty
        (``config.text_repetition_penalty`` over the last ``text_repetition_window_size`` generated tokens)."""
        input_ids = inputs if inputs is not None else kwargs.get("input_ids")
        processors = LogitsProcessorList(logits_processor or [])
        if self.config.text_repetition_penalty != 1.0 and input_ids is not None:
            processors.append(KimiWindowedRepetitionPenalty(self.config.text_repetition_penalty, self.config.text_repetition_window_size, input_ids.shape[1]))
        return super().generate(inputs, generation_config=generation_config, logits_processor=processors, **kwargs)
