"""Kimi-Audio port (issue #12) on the tiny release: parity with an independent reference of the
original text-mode loop (kimi_audio.md 2.10), prompt layouts with the real ids, token counts, key
maps over the release's 453 names, the full size on meta, and every harness feature end to end."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import tacos_temporal.ports.kimi_audio  # noqa: F401  (registers the Auto classes)
from tacos_temporal.errors import ModelError
from tacos_temporal.ports.kimi_audio.configuration import SPECIAL_TOKEN_IDS, KimiAudioConfig
from tacos_temporal.ports.kimi_audio.loading import classify_glm_key, classify_kimi_key, classify_whisper_key, map_keys, release_key_names
from tacos_temporal.ports.kimi_audio.modeling import KimiAudioForConditionalGeneration, KimiWindowedRepetitionPenalty
from tacos_temporal.ports.kimi_audio.processing import audio_token_count

BLANK, TEXT_EOS = 151666, 151667
USER, ASSISTANT, MEDIA_BEGIN, MEDIA_END, CT, MSG_END = 151670, 151671, 151661, 151663, 151675, 151645


@pytest.fixture(scope="module")
def folder(tiny_kimi_audio):
    return tiny_kimi_audio


@pytest.fixture(scope="module")
def runner(folder):
    from tacos_temporal.harness.config import RunConfig
    from tacos_temporal.harness.models import HFRunner

    return HFRunner(RunConfig(model=str(folder), device="cpu", dtype="float32"))


@pytest.fixture(scope="module")
def tiny(folder):
    from transformers import AutoModelForCausalLM, AutoProcessor

    return AutoProcessor.from_pretrained(folder), AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()


def _audios():
    rng = np.random.default_rng(0)
    return [rng.standard_normal(16000 * 3).astype(np.float32) * 0.3, rng.standard_normal(16000 + 777).astype(np.float32) * 0.5]


QUESTIONS = ["Which sound starts first? A. Dog Barking B. Siren", "Which sound ends last in the clip?"]


def _evalkit_prompt(processor, question):
    conversation = [{"role": "user", "content": [{"type": "text", "text": question}, {"type": "audio"}]}]
    return processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)


# --- the original, written from kimia_infer + GLM-4-Voice without the port's methods -------------------
def reference_streams(tokenizer, question, n_audio):
    """``KimiAPromptManager.get_prompt`` for [user text, user audio] (Evalkit's MCQ call), text mode."""
    q = tokenizer.encode(question, add_special_tokens=False)
    audio = [USER] + [BLANK] * len(q) + [MEDIA_BEGIN] + ["code"] * n_audio + [MEDIA_END, CT, MSG_END, ASSISTANT]
    text = [BLANK] + q + [BLANK] * (n_audio + 2) + [BLANK, BLANK, BLANK]
    continuous = [a == "code" for a in audio]
    return audio, text, continuous


def _block_causal(mask, block):
    length = mask.shape[1]
    causal = torch.tril(torch.ones(length, length, dtype=torch.bool))
    blocks = torch.zeros(length, length, dtype=torch.bool)
    for s in range(0, length, block):
        blocks[s : s + block, s : s + block] = True
    allowed = (causal | blocks)[None] & mask.bool()[:, None, :]
    return ((1.0 - allowed.float()) * torch.finfo(torch.float32).min)[:, None]


def _encoder_layer(h, mask, p, prefix, heads):
    ln = torch.nn.functional.layer_norm
    x = ln(h, h.shape[-1:], p[prefix + "self_attn_layer_norm.weight"], p[prefix + "self_attn_layer_norm.bias"])
    b, t, d = x.shape
    q = torch.nn.functional.linear(x, p[prefix + "self_attn.q_proj.weight"], p[prefix + "self_attn.q_proj.bias"]).view(b, t, heads, -1).transpose(1, 2)
    k = torch.nn.functional.linear(x, p[prefix + "self_attn.k_proj.weight"]).view(b, t, heads, -1).transpose(1, 2)
    v = torch.nn.functional.linear(x, p[prefix + "self_attn.v_proj.weight"], p[prefix + "self_attn.v_proj.bias"]).view(b, t, heads, -1).transpose(1, 2)
    att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // heads) + mask, dim=-1) @ v
    h = h + torch.nn.functional.linear(att.transpose(1, 2).reshape(b, t, d), p[prefix + "self_attn.out_proj.weight"], p[prefix + "self_attn.out_proj.bias"])
    x = ln(h, h.shape[-1:], p[prefix + "final_layer_norm.weight"], p[prefix + "final_layer_norm.bias"])
    x = torch.nn.functional.linear(torch.nn.functional.gelu(torch.nn.functional.linear(x, p[prefix + "fc1.weight"], p[prefix + "fc1.bias"])), p[prefix + "fc2.weight"], p[prefix + "fc2.bias"])
    return h + x


def reference_glm_codes(model, feature_extractor, audio):
    """``extract_speech_token`` + ``WhisperVQEncoder.forward`` up to the quantizer."""
    cfg = model.config.vq_config
    p = {k: v.float() for k, v in model.speech_tokenizer.state_dict().items()}
    segments = [audio[s : s + 480000] for s in range(0, len(audio), 480000)]
    feats = feature_extractor(segments, sampling_rate=16000, return_attention_mask=True, return_tensors="pt", padding="longest", pad_to_multiple_of=1280)
    mask = feats["attention_mask"][:, ::2]
    h = torch.nn.functional.gelu(torch.nn.functional.conv1d(torch.nn.functional.pad(feats["input_features"], (2, 0)), p["conv1.weight"], p["conv1.bias"]))
    h = torch.nn.functional.gelu(torch.nn.functional.conv1d(torch.nn.functional.pad(h, (2, 0)), p["conv2.weight"], p["conv2.bias"], stride=2)).permute(0, 2, 1)
    h = h + p["embed_positions.weight"][: h.shape[1]]
    att_mask = _block_causal(mask, cfg.quantize_causal_block_size)
    for i in range(cfg.quantize_position):
        h = _encoder_layer(h, att_mask, p, f"layers.{i}.", cfg.encoder_attention_heads)
        if i + 1 == cfg.pooling_position:
            h = torch.nn.functional.avg_pool1d(h.permute(0, 2, 1), 4).permute(0, 2, 1)
            mask = mask[:, ::4]
            att_mask = _block_causal(mask, cfg.quantize_causal_block_size // 4)
    flat = h.reshape(-1, h.shape[-1])
    codes = torch.cdist(flat, p["codebook.weight"]).argmin(-1).reshape(h.shape[:2])
    return codes[mask.bool()]


def reference_whisper_features(model, feature_extractor, audio):
    """``WhisperEncoder.tokenize_waveform`` + ``extract_whisper_feat``'s reshape (stock encoder weights)."""
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    encoder = WhisperEncoder(model.config.whisper_config).eval()
    encoder.load_state_dict(model.whisper_encoder.state_dict())
    parts = []
    for start in range(0, len(audio), 480000):
        segment = audio[start : start + 480000]
        mel = feature_extractor([segment], sampling_rate=16000, return_tensors="pt")["input_features"]
        parts.append(encoder(mel).last_hidden_state[0, : ((len(segment) - 1) // 1280 + 1) * 4])
    frames = torch.cat(parts)
    return frames.reshape(frames.shape[0] // 4, frames.shape[1] * 4)


def reference_embeds(model, audio_ids, text_ids, continuous, features):
    """``MoonshotKimiaModel.forward``'s embedding, the adaptor applied to the whole zero-filled sequence."""
    embed = model.get_input_embeddings().weight
    a = embed[torch.tensor(audio_ids)]
    mask = torch.tensor(continuous)
    expanded = torch.zeros(len(audio_ids), features.shape[-1])
    expanded[mask] = features
    p = {k: v.float() for k, v in model.vq_adaptor.state_dict().items()}
    w = torch.nn.functional.linear(torch.nn.functional.silu(torch.nn.functional.linear(expanded, p["layers.0.weight"], p["layers.0.bias"])), p["layers.3.weight"], p["layers.3.bias"])
    w = torch.nn.functional.layer_norm(w, w.shape[-1:], p["layers.4.weight"], p["layers.4.bias"], eps=model.config.text_config.rms_norm_eps)
    w = w * mask[:, None]
    merged = (a + w) * torch.sqrt(torch.tensor(2.0))
    a = a * (~mask[:, None]) + merged * mask[:, None]
    return (a + embed[torch.tensor(text_ids)])[None]


def reference_generate(model, embeds, max_new_tokens, penalty=1.1, window=16):
    """``KimiAudio._generate_loop`` in text mode, batch 1: greedy on log_softmax, ``KimiASampler``'s
    windowed penalty, the next step's input ``E[blank] + E[text token]``, stop at text EOS."""
    from transformers import DynamicCache

    embed = model.get_input_embeddings().weight
    cache, tokens, x = DynamicCache(config=model.config.text_config), [], embeds
    position = torch.arange(embeds.shape[1])[None]
    first_logits = None
    for i in range(max_new_tokens):
        hidden = model.model(inputs_embeds=x, position_ids=position, cache=cache, use_cache=True).last_hidden_state
        logits = model.lm_head(hidden[:, -1]).float()[0]
        if first_logits is None:
            first_logits = logits.clone()
        if penalty > 1.0 and i > window:
            recent = torch.tensor(tokens[-window:])
            scores = logits.gather(0, recent)
            logits = logits.scatter(0, recent, torch.where(scores < 0, scores * penalty, scores / penalty))
        token = int(torch.log_softmax(logits, dim=-1).argmax())
        if token == TEXT_EOS:
            break
        tokens.append(token)
        x = (embed[BLANK] + embed[token])[None, None]
        position = position[:, -1:] + 1
    return first_logits, tokens


@torch.no_grad()
def test_parity_with_independent_reference_of_the_original_batched_left_padded(tiny):
    processor, model = tiny
    fe = processor.feature_extractor
    audios = _audios()
    prompts = [_evalkit_prompt(processor, q) for q in QUESTIONS]
    batch = processor(text=prompts, audio=audios)
    assert batch["attention_mask"][1].sum() != batch["attention_mask"][0].sum()  # left padding in play
    audio_ids, _, features = model.audio_inputs(batch["input_ids"], batch["attention_mask"], **{k: batch[k] for k in
                                                ("whisper_input_features", "glm_input_features", "glm_attention_mask", "audio_chunk_rows", "audio_chunk_lengths")})
    streams = model.dual_streams(batch["input_ids"], audio_ids)
    embeds = model.get_inputs_embeds(**{k: v for k, v in batch.items() if k != "audio_token_mask"})
    logits = model(**batch).logits[:, -1].float()
    generated = model.generate(**batch, max_new_tokens=20, do_sample=False)[:, batch["input_ids"].shape[1] :]
    for row, (question, audio) in enumerate(zip(QUESTIONS, audios)):
        codes = reference_glm_codes(model, fe, audio)
        ref_audio, ref_text, continuous = reference_streams(processor.tokenizer, question, len(codes))
        ref_audio = [c + model.config.kimia_token_offset if a == "code" else a for a, c in zip(ref_audio, [None] * ref_audio.index("code") + codes.tolist() + [None] * 4)]
        n = len(ref_audio)
        assert streams[0][row, -n:].tolist() == ref_audio and streams[1][row, -n:].tolist() == ref_text
        feats = reference_whisper_features(model, fe, audio)
        torch.testing.assert_close(features[row, -n:][torch.tensor(continuous)], feats, atol=1e-5, rtol=1e-5)
        ref_embeds = reference_embeds(model, ref_audio, ref_text, continuous, feats)
        torch.testing.assert_close(embeds[row : row + 1, -n:], ref_embeds, atol=1e-5, rtol=1e-5)
        ref_first, ref_tokens = reference_generate(model, ref_embeds, 20)
        torch.testing.assert_close(logits[row], ref_first, atol=1e-4, rtol=1e-4)
        ours = generated[row].tolist()
        assert ours[: len(ref_tokens)] == ref_tokens
        assert len(ref_tokens) == 20 or ours[len(ref_tokens)] == TEXT_EOS


@torch.no_grad()
def test_first_step_audio_then_blank_stream_is_what_generate_feeds(tiny):
    """Decoding steps embed E[blank] + E[token]: the audio stream forced to blank after the prompt."""
    processor, model = tiny
    ids = torch.tensor([[151670, 23085, 151645, 151671, 85301]])
    embeds = model.get_inputs_embeds(ids)
    table = model.get_input_embeddings().weight
    torch.testing.assert_close(embeds[0, 1], table[BLANK] + table[23085])
    torch.testing.assert_close(embeds[0, 0], table[151670] + table[BLANK])
    torch.testing.assert_close(embeds[0, 4], table[BLANK] + table[85301])


# --- prompt layout, token counts --------------------------------------------------------------------
def test_special_ids_of_the_converted_tokenizer_are_the_real_ones(tiny):
    processor, model = tiny
    for field, token_id in SPECIAL_TOKEN_IDS.items():
        assert getattr(model.config, field if field == "msg_end" else ("kimia_" + field if not field.startswith("kimia") else field)) == token_id
    assert model.config.audio_token_id == processor.audio_token_id == BLANK
    assert model.config.kimia_token_offset == len(processor.tokenizer) == 152064
    assert model.generation_config.eos_token_id == TEXT_EOS


def test_text_tokenizer_uses_kimis_split_pattern_single_digits_and_qwen_ranks(tiny):
    tok = tiny[0].tokenizer
    pieces = [tok.decode([i]) for i in tok.encode("Answer in 2024 seconds", add_special_tokens=False)]
    assert pieces == ["Answer", " in", " ", "2", "0", "2", "4", " seconds"]  # \p{N}: one digit per piece
    assert tok.encode("Which", add_special_tokens=False) == [23085]  # Qwen's BPE rank of "Which" in qwen.tiktoken


@pytest.mark.parametrize("layout", ["text+audio", "audio+text", "audio", "multi-turn"])
def test_prompt_builder_lays_out_the_prompt_managers_ids(tiny, layout):
    processor, _ = tiny
    tok = processor.tokenizer
    q, a = "Which sound starts first?", "A. Dog Barking"
    qi, ai = tok.encode(q, add_special_tokens=False), tok.encode(a, add_special_tokens=False)
    audio = np.zeros(16000 * 2, dtype=np.float32)
    n = audio_token_count(audio)
    clip = [MEDIA_BEGIN] + [BLANK] * n + [MEDIA_END]
    if layout == "text+audio":  # ct after the audio, as the last item of the user run
        messages = [{"role": "user", "content": [{"type": "text", "text": q}, {"type": "audio"}]}]
        expected = [USER] + qi + clip + [CT, MSG_END, ASSISTANT]
    elif layout == "audio+text":  # no ct: the last item is text
        messages = [{"role": "user", "content": [{"type": "audio"}, {"type": "text", "text": q}]}]
        expected = [USER] + clip + qi + [MSG_END, ASSISTANT]
    elif layout == "audio":
        messages = [{"role": "user", "content": [{"type": "audio"}]}]
        expected = [USER] + clip + [CT, MSG_END, ASSISTANT]
    else:  # role tokens only when the role changes; msg_end closes each run
        messages = [{"role": "user", "content": q}, {"role": "assistant", "content": a}, {"role": "user", "content": [{"type": "audio"}]}]
        expected = [USER] + qi + [MSG_END, ASSISTANT] + ai + [MSG_END, USER] + clip + [CT, MSG_END, ASSISTANT]
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert processor(text=[prompt], audio=[audio])["input_ids"][0].tolist() == expected


def test_processor_refuses_inputs_the_original_cannot_take(tiny):
    processor, model = tiny
    prompt = _evalkit_prompt(processor, "Q?")
    with pytest.raises(ValueError, match="no audio was given"):
        processor(text=[prompt])
    with pytest.raises(ValueError, match="one clip per prompt"):
        processor(text=[prompt.replace("<|im_media_end|>", "<|im_kimia_text_blank|><|im_media_end|>")], audio=[np.zeros(1600, dtype=np.float32)])
    with pytest.raises(ValueError, match="one clip per prompt"):
        processor(text=[prompt, prompt], audio=[np.zeros(1600, dtype=np.float32)])
    with pytest.raises(ValueError, match="clip is empty"):
        processor(text=[prompt], audio=[np.zeros(0, dtype=np.float32)])
    with pytest.raises(ValueError, match="16000 Hz"):
        processor(text=[prompt], audio=[np.zeros(1600, dtype=np.float32)], sampling_rate=8000)
    batch = processor(text=[prompt], audio=[np.zeros(16000, dtype=np.float32)])
    ids = batch["input_ids"].clone()
    ids[0, ids[0].tolist().index(BLANK)] = 23085  # one audio position fewer than codes and features
    with pytest.raises(ValueError, match=r"row 0: 12 audio positions, 13 GLM codes, 13 Whisper features"):
        model.get_inputs_embeds(ids, batch["attention_mask"], **{k: batch[k] for k in ("whisper_input_features", "glm_input_features", "glm_attention_mask", "audio_chunk_rows", "audio_chunk_lengths")})


def test_system_turns_are_refused(tiny):
    processor, _ = tiny
    with pytest.raises(Exception, match="no system turn"):
        processor.apply_chat_template([{"role": "system", "content": "x"}, {"role": "user", "content": "y"}], tokenize=False)


@pytest.mark.parametrize("seconds", [0.01, 0.08, 0.0801, 1.0, 10.0, 29.99, 30.0, 30.0001, 65.0])
def test_audio_tokens_per_chunk_are_l_minus_1_over_1280_plus_1(seconds):
    samples = int(round(seconds * 16000))
    chunks = [min(480000, samples - s) for s in range(0, samples, 480000)]
    assert audio_token_count(np.zeros(samples, dtype=np.float32)) == sum((c - 1) // 1280 + 1 for c in chunks)
    if seconds == 65.0:
        assert [(c - 1) // 1280 + 1 for c in chunks] == [375, 375, 63]


@torch.no_grad()
def test_glm_codes_and_whisper_rows_match_the_placeholders_for_odd_lengths(tiny):
    processor, model = tiny
    for samples in (1, 1280, 1281, 16000 + 5):
        audio = np.random.default_rng(samples).standard_normal(samples).astype(np.float32)
        batch = processor(text=[_evalkit_prompt(processor, "Q?")], audio=[audio])
        keys = ("whisper_input_features", "glm_input_features", "glm_attention_mask", "audio_chunk_rows", "audio_chunk_lengths")
        codes = model.audio_codes(*(batch[k] for k in keys[1:]))[0]
        feats = model.whisper_features(batch["whisper_input_features"], batch["audio_chunk_rows"], batch["audio_chunk_lengths"])[0]
        assert codes.numel() == feats.shape[0] == int(batch["audio_token_mask"].sum()) == (samples - 1) // 1280 + 1


@torch.no_grad()
def test_reshape_puts_four_consecutive_frames_in_one_row(tiny):
    _, model = tiny
    d = model.config.whisper_config.d_model
    hook = model.whisper_encoder.register_forward_hook(lambda m, i, o: o.__class__(last_hidden_state=torch.arange(2 * 1500 * d, dtype=torch.float32).reshape(2, 1500, d)))
    try:
        rows = model.whisper_features(torch.zeros(2, 128, 3000), torch.tensor([0, 0]), torch.tensor([480000, 2561]))[0]
    finally:
        hook.remove()
    assert rows.shape == (375 + 3, 4 * d)
    assert rows[1, :d].tolist() == list(range(4 * d, 5 * d)) and rows[1, 3 * d :].tolist() == list(range(7 * d, 8 * d))
    assert rows[375, :d].tolist() == list(range(1500 * d, 1501 * d))  # second chunk starts at its frame 0


def test_windowed_repetition_penalty_acts_only_after_the_window():
    proc = KimiWindowedRepetitionPenalty(2.0, 3, prompt_length=2)
    scores = torch.tensor([[1.0, -1.0, 2.0, 4.0, 0.5]])
    assert torch.equal(proc(torch.tensor([[4, 4, 0, 1, 2]]), scores.clone()), scores)  # 3 generated: not more than 3
    out = proc(torch.tensor([[4, 4, 0, 1, 1, 2]]), scores.clone())  # 4 generated: the last 3 (1, 1, 2) once each
    assert out.tolist() == [[1.0, -2.0, 1.0, 4.0, 0.5]]


# --- loading ---------------------------------------------------------------------------------------
def test_key_map_takes_345_of_the_release_453_and_ignores_exactly_the_mimo_branch_and_inv_freq():
    names = release_key_names(28, 6)
    assert len(names) == len(set(names)) == 453
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in KimiAudioForConditionalGeneration(KimiAudioConfig()).state_dict().items()
                    if k.startswith(("model.", "lm_head.", "vq_adaptor."))}
    taken, ignored = map_keys(names, lambda k: classify_kimi_key(k, 28, 6), expected)
    assert len(taken) == 345 and len(ignored) == 108
    assert sorted(ignored) == sorted([k for k in names if "mimo" in k or k.endswith("rotary_emb.inv_freq")])
    assert sum(k.endswith("inv_freq") for k in ignored) == 34
    assert taken["model.vq_adaptor.layers.4.bias"] == "vq_adaptor.layers.4.bias" and taken["model.layers.27.mlp.down_proj.weight"] == "model.layers.27.mlp.down_proj.weight"
    with pytest.raises(ModelError, match=r"unexpected tensors \['model.layers.28"):
        map_keys(names + ["model.layers.28.mlp.up_proj.weight"], lambda k: classify_kimi_key(k, 28, 6), expected)
    with pytest.raises(ModelError, match=r"missing \['lm_head.weight'\]"):
        map_keys([k for k in names if k != "lm_head.weight"], lambda k: classify_kimi_key(k, 28, 6), expected)


def test_glm_and_whisper_key_maps_keep_the_quantizer_half_and_the_encoder():
    glm = ["conv1.weight", "conv2.bias", "embed_positions.weight", "codebook.weight", "embed_positions2.weight", "ema_count", "layer_norm.weight"]
    glm += [f"layers.{i}.fc1.weight" for i in range(32)]
    taken, ignored = map_keys(glm, lambda k: classify_glm_key(k, 16))
    assert sorted(taken.values()) == sorted("speech_tokenizer." + k for k in glm[:5] + [f"layers.{i}.fc1.weight" for i in range(16)])
    assert set(ignored) == {"ema_count", "layer_norm.weight"} | {f"layers.{i}.fc1.weight" for i in range(16, 32)}
    assert classify_glm_key("model.encoder.layers.3.fc1.weight", 16) == ("take", "speech_tokenizer.layers.3.fc1.weight")
    assert classify_whisper_key("model.encoder.layer_norm.weight", 32) == ("take", "whisper_encoder.layer_norm.weight")
    assert classify_whisper_key("model.decoder.layers.0.fc1.weight", 32)[0] == "ignore"
    assert classify_whisper_key("model.encoder.layers.32.fc1.weight", 32) == ("unknown", None)


def test_full_size_text_path_on_meta_has_the_release_parameter_count():
    with torch.device("meta"):
        model = KimiAudioForConditionalGeneration(KimiAudioConfig())
    h, inter, vocab, kv = 3584, 18944, 168448, 4 * 128
    layer = (h * h + h) + 2 * (kv * h + kv) + h * h + 3 * h * inter + 2 * h
    trunk = sum(p.numel() for p in model.model.parameters()) + model.lm_head.weight.numel()
    assert trunk == 28 * layer + 2 * vocab * h + h
    mimo = 6 * layer + h + vocab * h  # mimo_layers, mimo_norm, mimo_output: not built
    adaptor = sum(p.numel() for p in model.vq_adaptor.parameters())
    assert adaptor == 5120 * h + h + h * h + h + 2 * h
    assert trunk + mimo + adaptor == 9_766_334_464  # kimi_audio.md: the release's 453 tensors minus 34 inv_freq
    assert len(model.model.layers) == 28 and len(model.whisper_encoder.layers) == 32 and len(model.speech_tokenizer.layers) == 16
    assert model.speech_tokenizer.codebook.weight.shape == (16384, 1280) and model.speech_tokenizer.embed_positions2.weight.shape == (375, 1280)


def test_dtype_pins_glm_float32_whisper_and_trunk_as_requested(folder):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder)  # dtype "auto": the release's bf16
    assert {p.dtype for p in model.speech_tokenizer.parameters()} == {torch.float32}
    assert model.model.embed_tokens.weight.dtype == model.whisper_encoder.conv1.weight.dtype == model.vq_adaptor.layers[0].weight.dtype == torch.bfloat16


def test_converter_refuses_a_release_with_an_unknown_tensor(tmp_path):
    import json
    import shutil

    from tacos_temporal.harness.tiny_kimi_release import GLM_SUBFOLDER, write_tiny_kimi_release
    from tacos_temporal.ports.kimi_audio.loading import load_release

    release = write_tiny_kimi_release(tmp_path / "release")
    index = json.loads((release / "model.safetensors.index.json").read_text())
    index["weight_map"]["model.extra_head.weight"] = "model-1-of-6.safetensors"
    (release / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(ModelError, match=r"unexpected tensors \['model.extra_head.weight'\]"):
        load_release(str(release), str(release / GLM_SUBFOLDER))
    shutil.rmtree(release / GLM_SUBFOLDER)
    with pytest.raises(ModelError, match="glm-4-voice-tokenizer is neither a folder nor a Hub id"):
        load_release(str(tmp_path / "release"), str(release / GLM_SUBFOLDER))


# --- harness ---------------------------------------------------------------------------------------
def test_steering_reaches_every_trunk_layer_and_nothing_else(tiny):
    from tacos_temporal.harness.interventions import model_sizes, register_attention

    _, model = tiny
    name = register_attention()
    whisper, vq = model.config.whisper_config._attn_implementation, model.config.vq_config._attn_implementation
    model.set_attn_implementation({"text_config": name})
    try:
        assert model.config.text_config._attn_implementation == name
        assert all(layer.self_attn.config._attn_implementation == name for layer in model.model.layers)
        assert model.config.whisper_config._attn_implementation == whisper and model.config.vq_config._attn_implementation == vq == "sdpa"
        assert model_sizes(model) == (2, 4)
    finally:
        model.set_attn_implementation({"text_config": "sdpa"})


def test_harness_generate_logprob_interventions_attention_and_reuse(folder, runner, demo_build, tmp_path):
    from tacos_temporal.harness.analysis import analyse_attention
    from tacos_temporal.harness.config import ModelPreset, RunConfig, find_preset
    from tacos_temporal.harness.models import HFRunner
    from tacos_temporal.harness.runner import evaluate

    preset = find_preset("moonshotai/Kimi-Audio-7B-Instruct")
    assert preset.supported and preset.adapter == "kimi_audio"
    cfg = RunConfig(model=str(folder), device="cpu", limit=2, max_new_tokens=3, dtype="float32")
    assert runner.adapter.name == "kimi_audio" and runner.audio_token_id == BLANK
    results = {}
    for mode in ("generate", "logprob"):
        results[mode] = evaluate(cfg.replace(mode=mode), tmp_path / mode, data=demo_build.out_dir, runner=runner, progress=False)
        assert len(results[mode].records) == 2
        assert results[mode].results["tacos_temporal"]["reuse"] is False  # Evalkit's order (question first) shares no prefix
    steered = evaluate(cfg.replace(mode="logprob", intervention="scale:alpha=2,layers=all,queries=keyword+last"), tmp_path / "steered",
                       data=demo_build.out_dir, runner=runner, progress=False)
    assert any(a["logprobs"] != b["logprobs"] for a, b in zip(steered.records, results["logprob"].records))
    att = analyse_attention(cfg, tmp_path / "att", data=demo_build.out_dir, runner=runner, progress=False)
    assert att["rows"] and all(r["audio_share"] > 0 for r in att["rows"])
    first = HFRunner(cfg, preset=ModelPreset(name="tiny", hub_id=str(folder), auto_class="AutoModelForCausalLM", adapter="kimi_audio_audio_first"))
    for mode in ("logprob", "generate"):
        shared = evaluate(cfg.replace(mode=mode, reuse=True), tmp_path / f"shared-{mode}", data=demo_build.out_dir, runner=first, progress=False)
        full = evaluate(cfg.replace(mode=mode, reuse=False), tmp_path / f"full-{mode}", data=demo_build.out_dir, runner=first, progress=False)
        assert shared.results["tacos_temporal"]["reuse"] is True
        for a, b in zip(shared.records, full.records):
            assert (a["id"], a["output"]) == (b["id"], b["output"])
            assert a["logprobs"] == pytest.approx(b["logprobs"], abs=1e-4)


def test_preset_resolves_a_hub_id_to_a_converted_folder_and_fails_clearly_offline(folder, tmp_path, monkeypatch):
    from tacos_temporal.harness.adapter_kimi import converted_folder

    assert converted_folder(str(folder)) == folder
    monkeypatch.setenv("TACOS_TEMPORAL_KIMI_DIR", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelError, match="cannot download config.json of moonshotai/Kimi-Audio-7B-Instruct"):
        converted_folder("moonshotai/Kimi-Audio-7B-Instruct")


def test_reproduce_recipe_runs_kimis_views_and_silence_beside_the_paper(runner, demo_build, tmp_path):
    from tacos_temporal.harness.reproduce import load_recipe, reproduce

    recipe = load_recipe("kimi-audio")
    assert recipe.paper_model == "Kimi-Audio" and recipe.model == "kimi-audio-7b-instruct" and "silence" in recipe.views
    reproduce(recipe, tmp_path / "out", data=demo_build.out_dir, limit=2, runner=runner, progress=False)
    report = (tmp_path / "out" / "report.md").read_text()
    assert "58.0" in report and "22.0" in report  # the paper's Kimi-Audio audio-only and silence EO beside ours
    for view in ("audio_only", "caption_only", "audio_caption", "silence"):
        assert (tmp_path / "out" / "views" / view / "results.json").is_file()


def test_special_token_list_matches_the_tiny_release_and_fills_a_json_without_one(tmp_path):
    import json

    from tacos_temporal.harness import tiny_kimi_release
    from tacos_temporal.ports.kimi_audio.loading import kimi_special_tokens, tokenizer_from_tiktoken

    names = kimi_special_tokens()
    assert names == tiny_kimi_release.special_tokens() and len(names) == 421
    assert {n: 151643 + names.index(n) for n in ("<|im_msg_end|>", "<|im_media_begin|>", "<|im_kimia_text_blank|>")} == {
        "<|im_msg_end|>": 151645, "<|im_media_begin|>": 151661, "<|im_kimia_text_blank|>": 151666}
    (tmp_path / "tiktoken.model").write_bytes(tiny_kimi_release.qwen_tiktoken_bytes())
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "TikTokenTokenizer"}))
    tok = tokenizer_from_tiktoken(tmp_path)
    assert len(tok) == 152064 and tok.convert_tokens_to_ids("<|im_kimia_speech_ctd_id|>") == 151676
    assert tok.pad_token == f"<|reserved_token_{20 + 421 - 34 - 1}|>" and tok.eos_token == "[EOS]"  # 34 named, then reserved 20...


@torch.no_grad()
def test_glm_tokenizer_keeps_a_kernel_that_takes_its_block_causal_mask(tiny):
    processor, model = tiny
    batch = processor(text=[_evalkit_prompt(processor, "Q?")], audio=[_audios()[0]])
    args = (batch["glm_input_features"], batch["glm_attention_mask"])
    codes = model.speech_tokenizer(*args)[0]
    model.config.vq_config._attn_implementation = "flash_attention_2"
    try:
        assert torch.equal(model.speech_tokenizer(*args)[0], codes)
        assert model.config.vq_config._attn_implementation == "sdpa"
    finally:
        model.config.vq_config._attn_implementation = "sdpa"
