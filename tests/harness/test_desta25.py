"""DeSTA2.5 port (issue #8) on tiny random configs: parity with an independent loop, the three traps,
full-size structure on meta, key checks, steering reach, and the harness end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tacos_temporal.ports.desta25  # noqa: F401  (registers the Auto classes)
from tacos_temporal.ports.desta25.configuration import DeSTA25Config
from tacos_temporal.ports.desta25.loading import PREFIX, connector_keys, load_connector
from tacos_temporal.ports.desta25.modeling import DeSTA25ForConditionalGeneration
from tacos_temporal.harness.tiny_desta25 import build, build_tokenizer, make_tiny_desta25
from tacos_temporal.harness.models import ModelError


@pytest.fixture(scope="module")
def tiny():
    return build(build_tokenizer(), seed=0)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return make_tiny_desta25(tmp_path_factory.mktemp("desta") / "tiny-desta25")


def _audios():
    rng = np.random.default_rng(0)
    return [rng.standard_normal(16000 * 2).astype(np.float32) * 0.1, rng.standard_normal(16000).astype(np.float32) * 0.3]


def _prompts(processor):
    questions = ["Which sound starts first?", "Which sound ends last in the audio clip? A. Dog Barking B. Siren"]
    return [processor.apply_chat_template([{"role": "user", "content": [{"type": "audio"}, {"type": "text", "text": q}]}], add_generation_prompt=True, tokenize=False) for q in questions]


def reference_row(model, processor, prompt, audio, transcript):
    """The original loop (desta25.md), one clip, no padding, written without the port's methods."""
    from transformers import BertConfig
    from transformers.models.bert.modeling_bert import BertEncoder

    cfg = model.config
    mel = torch.tensor(processor.feature_extractor([audio], sampling_rate=16000, return_tensors="np")["input_features"])
    enc = model.audio_model.model.encoder
    h = torch.nn.functional.gelu(enc.conv1(mel))
    h = torch.nn.functional.gelu(enc.conv2(h)).permute(0, 2, 1) + enc.embed_positions.weight
    raw = []
    for layer in enc.layers:  # raw layer outputs; the final LayerNorm is never applied
        h = layer(h, None)
        raw.append(h)
    qcfg = BertConfig(hidden_size=cfg.audio_config.d_model, num_hidden_layers=cfg.qformer_num_hidden_layers, num_attention_heads=cfg.qformer_num_attention_heads,
                      intermediate_size=cfg.qformer_intermediate_size, layer_norm_eps=1e-12, is_decoder=True, add_cross_attention=True)
    qcfg._attn_implementation = "eager"  # transformers 4.x eager Bert, no mask: bidirectional queries
    qformer = BertEncoder(qcfg).eval()
    qformer.load_state_dict(model.connector.qformer.state_dict())
    sd = {k: v for k, v in model.connector.state_dict().items()}
    outs = [qformer(sd[f"layer_prompts.{k}"], encoder_hidden_states=raw[i]).last_hidden_state for k, i in enumerate(cfg.target_layer_ids)]
    w = torch.softmax(sd["layer_weights"], dim=-1)  # (64, n_taps)
    mixed = sum(outs[k] * w[:, k : k + 1] for k in range(len(outs)))
    feats = torch.nn.functional.linear(torch.nn.functional.layer_norm(mixed, mixed.shape[-1:], sd["proj.0.weight"], sd["proj.0.bias"], 1e-5), sd["proj.1.weight"], sd["proj.1.bias"])
    tok = processor.tokenizer
    t_ids = tok(transcript if transcript else " ", add_special_tokens=False)["input_ids"]
    text = prompt.replace("<|AUDIO|>", "<start_audio>" + cfg.placeholder_token * (64 + len(t_ids)) + "<end_audio>")
    ids = torch.tensor([tok(text, add_special_tokens=False)["input_ids"]])
    emb = model.language_model.get_input_embeddings()
    x = emb(ids)
    pos = (ids[0] == cfg.audio_token_id).nonzero().flatten()
    x[0, pos[:64]] = feats[0]
    x[0, pos[64:]] = emb(torch.tensor(t_ids))
    return feats, x


@torch.no_grad()
def test_parity_with_independent_loop_batched_left_padded_different_transcripts(tiny):
    processor, model = tiny
    prompts, audios, transcripts = _prompts(processor), _audios(), ["A dog barks near a busy road today", None]
    batch = processor(text=prompts, audio=audios, transcripts=transcripts)
    assert batch["attention_mask"][1].tolist() != batch["attention_mask"][0].tolist()  # left padding in play
    assert batch["transcript_attention_mask"].sum(-1).tolist()[1] == 1  # None -> " "
    logits = model(**batch).logits[:, -1]
    generated = model.generate(**batch, max_new_tokens=4, do_sample=False)[:, batch["input_ids"].shape[1] :]
    for row in range(2):
        feats, embeds = reference_row(model, processor, prompts[row], audios[row], transcripts[row])
        torch.testing.assert_close(model.get_audio_features(batch["input_features"][row : row + 1]), feats, atol=1e-5, rtol=1e-5)
        n = embeds.shape[1]
        torch.testing.assert_close(model.fill_placeholders(**{k: batch[k][row : row + 1] for k in ("input_ids", "input_features", "transcript_ids", "transcript_attention_mask")})[:, -n:], embeds, atol=1e-5, rtol=1e-5)
        ref_logits = model.language_model(inputs_embeds=embeds).logits[0, -1]
        torch.testing.assert_close(logits[row], ref_logits, atol=1e-4, rtol=1e-4)
        ref = model.language_model.generate(inputs_embeds=embeds, attention_mask=torch.ones(embeds.shape[:2], dtype=torch.long), max_new_tokens=4, do_sample=False)
        assert generated[row].tolist()[: ref.shape[1]] == ref[0].tolist()[: generated.shape[1]]


@torch.no_grad()
def test_trap1_taps_are_raw_layer_outputs_not_final_layernorm(tiny):
    processor, model = tiny
    mel = processor(text=_prompts(processor)[:1], audio=_audios()[:1])["input_features"]
    enc = model.audio_model.model.encoder
    seen = []
    handle = enc.layers[-1].register_forward_hook(lambda m, i, o: seen.append(o))
    naive = enc(mel).last_hidden_state  # what output_hidden_states / last_hidden_state give: after LayerNorm
    handle.remove()
    taps = model.whisper_taps(mel)
    torch.testing.assert_close(taps[-1], seen[0])
    assert (taps[-1] - naive).abs().max() > 1e-2


@torch.no_grad()
def test_trap2_qformer_is_bidirectional_under_any_backend(tiny):
    processor, model = tiny
    mel = processor(text=_prompts(processor)[:1], audio=_audios()[:1])["input_features"]
    before = model.get_audio_features(mel)
    model.set_attn_implementation("sdpa")
    try:
        assert all(not layer.attention.self.is_causal for layer in model.connector.qformer.layer)
        torch.testing.assert_close(model.get_audio_features(mel), before)
        for layer in model.connector.qformer.layer:  # the naive port: is_decoder -> causal queries
            layer.attention.self.is_causal = True
        model.connector.qformer.config._attn_implementation = "sdpa"
        assert (model.get_audio_features(mel) - before).abs().max() > 1e-3
    finally:
        model.connector.pin_bidirectional()
        model.set_attn_implementation("eager")
    torch.testing.assert_close(model.get_audio_features(mel), before)


def test_trap3_whisper_and_connector_stay_float32_when_loaded_in_bf16(folder):
    from transformers import AutoModelForMultimodalLM

    model = AutoModelForMultimodalLM.from_pretrained(folder, dtype=torch.bfloat16)
    assert {p.dtype for p in model.audio_model.parameters()} == {torch.float32}
    assert {p.dtype for p in model.connector.parameters()} == {torch.float32}
    assert {p.dtype for p in model.language_model.parameters()} == {torch.bfloat16}


@pytest.mark.parametrize("depth", [2, 6])
def test_full_size_structure_on_meta(depth):
    with torch.device("meta"):
        model = DeSTA25ForConditionalGeneration(DeSTA25Config(qformer_num_hidden_layers=depth))
    keys = connector_keys(model)
    assert keys[PREFIX + "layer_prompts.3"] == (1, 64, 1280) and PREFIX + "layer_prompts.4" not in keys
    assert keys[PREFIX + "layer_weights"] == (64, 4)
    assert keys[PREFIX + "proj.0.weight"] == (1280,) and keys[PREFIX + "proj.1.weight"] == (4096, 1280)
    assert keys[PREFIX + f"qformer.layer.{depth - 1}.crossattention.self.key.weight"] == (1280, 1280)
    assert keys[PREFIX + f"qformer.layer.{depth - 1}.intermediate.dense.weight"] == (3072, 1280)
    assert keys[PREFIX + f"qformer.layer.{depth - 1}.output.LayerNorm.bias"] == (1280,)
    assert PREFIX + f"qformer.layer.{depth}.output.dense.weight" not in keys
    per_layer = 2 * (4 * 2 + 2) + 2 + 2 + 2  # (q,k,v,dense w+b; LN w+b) x2 + intermediate + output dense + LN
    assert len(keys) == 4 + 1 + 4 + depth * per_layer
    assert len(model.audio_model.model.encoder.layers) == 32 and len(model.language_model.model.layers) == 32


def test_connector_keys_checked_exactly(tiny):
    _, model = tiny
    good = {k: torch.zeros(s) for k, s in connector_keys(model).items()}
    load_connector(model.__class__(model.config), good)
    with pytest.raises(ModelError, match="missing .*unexpected"):
        load_connector(model, {k.replace(PREFIX, "connector."): v for k, v in good.items()})
    extra = dict(good, **{PREFIX + "qformer.layer.9.output.dense.weight": torch.zeros(2)})
    with pytest.raises(ModelError, match=r"unexpected \['perception.connector.qformer.layer.9"):
        load_connector(model, extra)


def test_steering_reaches_only_llama_layers(tiny):
    from tacos_temporal.harness.interventions import model_sizes, register_attention

    _, model = tiny
    name = register_attention()
    whisper, qformer = model.config.audio_config._attn_implementation, model.connector.qformer.config._attn_implementation
    model.set_attn_implementation({"text_config": name})
    try:
        assert model.config.text_config._attn_implementation == name
        assert model.config.audio_config._attn_implementation == whisper and model.connector.qformer.config._attn_implementation == qformer == "eager"
        assert model_sizes(model) == (2, 4)
    finally:
        model.set_attn_implementation({"text_config": "eager"})


def test_harness_eval_attention_and_sweep(folder, demo_build, tmp_path):
    from tacos_temporal.harness.analysis import SweepSpec, analyse_attention, sweep
    from tacos_temporal.harness.config import RunConfig, find_preset
    from tacos_temporal.harness.models import HFRunner
    from tacos_temporal.harness.runner import evaluate

    assert find_preset("DeSTA-ntu/DeSTA2.5-Audio-Llama-3.1-8B").supported
    cfg = RunConfig(model=str(folder), device="cpu", limit=4, max_new_tokens=3)
    runner = HFRunner(cfg)
    assert runner.audio_token_id == runner.model.config.audio_token_id == runner.processor.placeholder_id
    for mode in ("generate", "logprob"):
        result = evaluate(cfg.replace(mode=mode), tmp_path / mode, data=demo_build.out_dir, runner=runner, progress=False)
        assert result is not None
    att = analyse_attention(cfg, tmp_path / "att", data=demo_build.out_dir, runner=runner, progress=False)
    assert att["rows"] and all(r["audio_share"] > 0 for r in att["rows"])
    spec = SweepSpec(kind="scale", alphas=(0.5,), layers=(1,), queries="last")
    result = sweep(cfg.replace(mode="logprob"), spec, tmp_path / "sweep", data=demo_build.out_dir, runner=runner, progress=False)
    assert [(r["layer"], r["alpha"]) for r in result["rows"]] == [(1, 0.5)]


def test_audio_spans_64_features_and_64_plus_transcript(tiny):
    from tacos_temporal.ports.desta25.modeling import audio_span_mask

    processor, model = tiny
    batch = processor(text=_prompts(processor), audio=_audios(), transcripts=["one two three", None])
    both = audio_span_mask(batch["input_ids"], model.config.audio_token_id)
    feats = audio_span_mask(batch["input_ids"], model.config.audio_token_id, span="features")
    lengths = batch["transcript_attention_mask"].sum(-1)
    assert both.sum(-1).tolist() == (64 + lengths).tolist() and feats.sum(-1).tolist() == [64, 64]
    first = both.long().argmax(-1)
    for row in range(2):
        assert feats[row, first[row] : first[row] + 64].all()


def test_verify_reports_zero_differences_against_itself(folder, tmp_path):
    from transformers import AutoModelForMultimodalLM, AutoProcessor

    from tacos_temporal.ports.desta25.verify import verify

    processor, model = AutoProcessor.from_pretrained(folder), AutoModelForMultimodalLM.from_pretrained(folder).eval()
    prompt, audio = _prompts(processor)[0], _audios()[0]
    batch = processor(text=[prompt], audio=[audio], transcripts=["a dog"])
    with torch.no_grad():
        ref = {"audio": audio, "prompt": prompt, "transcript": "a dog", "max_new_tokens": 4,
               "audio_features": model.get_audio_features(batch["input_features"]),
               "inputs_embeds": model.fill_placeholders(batch["input_ids"], batch["input_features"], batch["transcript_ids"], batch["transcript_attention_mask"]),
               "first_logits": model(**batch).logits[:, -1],
               "tokens": model.generate(**batch, max_new_tokens=4, do_sample=False)[0, batch["input_ids"].shape[1] :]}
    torch.save(ref, tmp_path / "ref.pt")
    report = verify(folder, tmp_path / "ref.pt", device="cpu")
    assert report["audio_features_max_abs"] == report["inputs_embeds_max_abs"] == report["first_logits_max_abs"] == 0.0
    assert report["greedy_tokens_agree"] == report["greedy_tokens_total"] == 4


def test_asr_transcript_is_bound_by_the_adapter_and_vad_is_optional(tiny, monkeypatch):
    import importlib.util

    from tacos_temporal.harness.adapter_desta25 import bind_model
    from tacos_temporal.ports.desta25.transcribe import Transcriber

    processor, model = tiny

    class Decode:  # stands in for the Whisper tokenizer that convert-desta saves in asr_tokenizer/
        def batch_decode(self, ids, skip_special_tokens=True):
            return ["one two three"] * len(ids)

    monkeypatch.setattr(model.config, "transcribe", True)
    bind_model(processor, model)
    try:
        processor.transcriber.tokenizer = Decode()
        batch = processor(text=_prompts(processor), audio=_audios())
        expected = len(processor.tokenizer("one two three", add_special_tokens=False)["input_ids"])
        assert batch["transcript_attention_mask"].sum(-1).tolist() == [expected, expected]
        given = processor(text=_prompts(processor), audio=_audios(), transcripts=["x", None])  # given text wins
        assert given["transcript_attention_mask"].sum(-1).tolist() == [1, 1]
    finally:
        processor.transcriber = None
    if importlib.util.find_spec("silero_vad") is None:
        with pytest.raises(ModelError, match="pip install silero-vad"):
            Transcriber(model, processor.feature_extractor, use_vad=True)


def test_preset_resolves_to_a_converted_folder_and_offline_conversion_fails_clearly(folder, tmp_path, monkeypatch):
    from tacos_temporal.harness.adapter_desta25 import converted_folder

    assert converted_folder(str(folder)) == folder
    monkeypatch.setenv("TACOS_TEMPORAL_DESTA_DIR", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelError, match="cannot download DeSTA2.5 parts"):
        converted_folder("DeSTA-ntu/DeSTA2.5-Audio-Llama-3.1-8B")


def test_shared_audio_prefix_matches_whole_prompts(folder):
    from tacos_temporal.harness.config import RunConfig
    from tacos_temporal.harness.models import HFRunner

    runner = HFRunner(RunConfig(model=str(folder), device="cpu"))
    audio = _audios()[0]
    rendered = [runner.render(q, with_audio=True) for q in ("Which sound starts first? A. Siren B. Dog Barking", "Which sound ends last?")]
    # the audio markers end in an added token, so the prefix split is exact and reuse is on
    assert runner.check_prefix_split(rendered, audio) is None
    for mode in ("logprob", "generate"):
        whole = runner.answer(rendered, [audio, audio], mode=mode, max_new_tokens=3, item_ids=["a", "b"])
        shared = runner.answer_shared([(audio, rendered)], mode=mode, max_new_tokens=3)
        for w, s in zip(whole, shared):
            assert w.text == s.text
            assert w.logprobs == pytest.approx(s.logprobs, abs=1e-4)


def test_convert_assembles_three_repos_into_one_offline_folder(tiny, tmp_path, monkeypatch):
    import json

    import huggingface_hub
    from safetensors.torch import save_file
    from transformers import AutoModelForMultimodalLM, AutoProcessor, WhisperTokenizer

    from tacos_temporal.ports.desta25 import loading

    processor, model = tiny
    llm, whisper, release = tmp_path / "llm", tmp_path / "whisper", tmp_path / "release"
    model.language_model.save_pretrained(llm)
    processor.tokenizer.save_pretrained(llm)
    model.audio_model.save_pretrained(whisper)
    processor.feature_extractor.save_pretrained(whisper)
    release.mkdir()
    cfg = model.config
    (release / "config.json").write_text(json.dumps({"llm_model_id": str(llm), "encoder_model_id": str(whisper), "qformer_num_hidden_layers": cfg.qformer_num_hidden_layers,
                                                     "qformer_num_attention_heads": 4, "qformer_intermediate_size": 96,
                                                     "target_layer_ids": cfg.target_layer_ids, "prompt_size": 64, "placeholder_token": cfg.placeholder_token}))
    save_file({loading.PREFIX + k: v.contiguous() for k, v in model.connector.state_dict().items()}, release / "model.safetensors")
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda repo, filename, **kw: str(release / filename))

    class FakeAsrTokenizer:
        def save_pretrained(self, folder):
            folder.mkdir(parents=True)
            (folder / "tokenizer_config.json").write_text("{}")

    monkeypatch.setattr(WhisperTokenizer, "from_pretrained", classmethod(lambda cls, *a, **k: FakeAsrTokenizer()))
    out = loading.convert(tmp_path / "converted", "fake/desta")
    assert (out / "asr_tokenizer" / "tokenizer_config.json").is_file()
    loaded = AutoModelForMultimodalLM.from_pretrained(out, dtype=torch.bfloat16)
    assert {p.dtype for p in loaded.audio_model.parameters()} == {torch.float32} and loaded.language_model.dtype == torch.bfloat16
    assert loaded.config.qformer_num_hidden_layers == cfg.qformer_num_hidden_layers and loaded.config.audio_token_id == cfg.audio_token_id
    for key, value in model.connector.state_dict().items():
        torch.testing.assert_close(loaded.connector.state_dict()[key], value)
    proc = AutoProcessor.from_pretrained(out)
    batch = proc(text=_prompts(proc)[:1], audio=_audios()[:1], transcripts=["a dog"])
    with torch.no_grad():
        reference = model(**batch).logits[:, -1]
        torch.testing.assert_close(loaded.float()(**batch).logits[:, -1], reference, atol=0.1, rtol=0.1)
