"""DeSTA2.5 port (issue #8) on tiny random configs: parity with an independent loop, the three traps,
full-size structure on meta, key checks, steering reach, and the harness end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import tacos_temporal.ports.desta25  # noqa: F401  (registers the Auto classes)
from tacos_temporal.ports.desta25.configuration import PLACEHOLDER_TOKEN, DeSTA25Config
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
    t_ids = tok(" " if transcript is None else transcript, add_special_tokens=False)["input_ids"]
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
        given = processor(text=_prompts(processor), audio=_audios(), transcripts=["x", None])  # given text wins, None -> ASR
        assert given["transcript_attention_mask"].sum(-1).tolist() == [1, expected]
    finally:
        processor.transcriber = None


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


# --- issue 13: the original's transcript rules, the VAD extra, dtype "auto", the converter --------


class _Words:
    """Decodes every ASR row to one fixed text: the Whisper tokenizer's part in the transcript."""

    def __init__(self, text):
        self.text = text

    def batch_decode(self, ids, skip_special_tokens=True):
        return [self.text] * len(ids)


def _transcriber(model, processor, *, asr_text, speech=None):
    from tacos_temporal.ports.desta25.transcribe import Transcriber

    detector = None if speech is None else (lambda audio: speech(audio))
    return Transcriber(model, processor.feature_extractor, use_vad=speech is not None, tokenizer=_Words(asr_text), detector=detector)


@torch.no_grad()
def test_empty_asr_result_gives_no_transcript_tokens_as_the_original(tiny):
    processor, model = tiny
    processor.transcriber = _transcriber(model, processor, asr_text="  ")  # Whisper heard nothing: strip() -> ""
    try:
        batch = processor(text=_prompts(processor), audio=_audios())
    finally:
        processor.transcriber = None
    assert batch["transcript_ids"].shape == (2, 0)
    assert (batch["input_ids"] == model.config.audio_token_id).sum(-1).tolist() == [64, 64]
    assert model(**batch).logits.shape[0] == 2
    # a caller's empty transcript is kept empty too (the port used to turn it into " ")
    given = processor(text=_prompts(processor), audio=_audios(), transcripts=["", None])
    assert given["transcript_attention_mask"].sum(-1).tolist() == [0, 1]


def test_vad_without_speech_replaces_even_a_given_transcript_with_a_space(tiny):
    processor, model = tiny
    space = len(processor.tokenizer(" ", add_special_tokens=False)["input_ids"])
    words = len(processor.tokenizer("a dog barks", add_special_tokens=False)["input_ids"])
    audios = _audios()
    first = lambda audio: audio is audios[0]  # noqa: E731  (speech in the first clip only)
    processor.transcriber = _transcriber(model, processor, asr_text="a dog barks", speech=first)
    try:
        given = processor(text=_prompts(processor), audio=audios, transcripts=["one two three", "one two three"])
        asked = processor(text=_prompts(processor), audio=audios)
    finally:
        processor.transcriber = None
    given_lengths = given["transcript_attention_mask"].sum(-1).tolist()
    assert given_lengths == [len(processor.tokenizer("one two three", add_special_tokens=False)["input_ids"]), space]
    assert asked["transcript_attention_mask"].sum(-1).tolist() == [words, space]


def test_silero_vad_finds_no_speech_in_silence_or_noise(tiny):
    from tacos_temporal.ports.desta25.transcribe import NO_SPEECH, Transcriber

    processor, model = tiny
    transcriber = Transcriber(model, processor.feature_extractor, use_vad=True, tokenizer=_Words("never used"))
    silence = np.zeros(16000 * 2, dtype=np.float32)
    assert transcriber([silence, _audios()[0]], ["a given text", None]) == [NO_SPEECH, NO_SPEECH]


def test_missing_silero_vad_names_the_extra_to_install(tiny, monkeypatch):
    import sys

    from tacos_temporal.ports.desta25.transcribe import Transcriber

    processor, model = tiny
    monkeypatch.setitem(sys.modules, "silero_vad", None)  # what an environment without the package gives
    with pytest.raises(ModelError, match=r"pip install 'tacos-temporal\[desta\]'.*use_vad"):
        Transcriber(model, processor.feature_extractor, use_vad=True)


def test_pyproject_declares_silero_vad_as_the_desta_extra():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"]
    assert any(r.startswith("silero-vad") for r in project["optional-dependencies"]["desta"])


def test_tapped_layers_follow_the_originals_table_and_unknown_encoders_fail():
    from tacos_temporal.ports.desta25.loading import tapped_layers

    assert tapped_layers("openai/whisper-large-v3") == [7, 15, 23, 31]
    assert tapped_layers("openai/whisper-tiny") == [0, 1, 2, 3]
    with pytest.raises(ModelError, match="encoder_model_id='my/whisper'"):
        tapped_layers("my/whisper")


def _hub_files(save) -> dict[str, bytes]:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        save(Path(tmp))
        return {str(p.relative_to(tmp)): p.read_bytes() for p in Path(tmp).rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def desta_hub(hub_server):
    """The three DeSTA2.5 repos on the local Hub: a 4-layer tiny Whisper as ``openai/whisper-tiny``
    (taps 0-3 in the original's table), a bf16 tiny Llama with the real Llama-3.1 tokenizer (128,256
    tokens) saved without a pad token, as the release's, and the release itself (config.json +
    connector weights, 3 Q-former layers)."""
    import json

    from safetensors.torch import save_file
    from transformers import WhisperFeatureExtractor, WhisperTokenizer

    from tacos_temporal.harness.tiny import _train_bpe
    from tacos_temporal.harness.tiny_desta25 import TINY_WHISPER
    from tacos_temporal.ports.desta25 import loading

    from tacos_temporal.harness.tokenizers import real_tokenizer

    tokenizer = real_tokenizer("llama3")
    tokenizer.pad_token = None  # DeSTA-ntu/Llama-3.1-8B-Instruct's tokenizer has none
    text = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=len(tokenizer),
                bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, tie_word_embeddings=False)
    config = DeSTA25Config(audio_config=dict(TINY_WHISPER, encoder_layers=4), text_config=text, target_layer_ids=[0, 1, 2, 3], qformer_num_hidden_layers=3,
                           qformer_num_attention_heads=4, qformer_intermediate_size=loading.QFORMER_INTERMEDIATE_SIZE,
                           audio_token_id=tokenizer.convert_tokens_to_ids(PLACEHOLDER_TOKEN))
    torch.manual_seed(0)
    model = DeSTA25ForConditionalGeneration(config).eval()
    model.language_model.to(torch.bfloat16)
    vocab, merges = _train_bpe()
    vocab["<|endoftext|>"] = len(vocab)
    asr = WhisperTokenizer(vocab=vocab, merges=merges, unk_token="<|endoftext|>", bos_token="<|endoftext|>", eos_token="<|endoftext|>")
    release = {"llm_model_id": loading.LLM_REPO, "encoder_model_id": "openai/whisper-tiny", "connector_mode": "qformer_1",
               "qformer_num_hidden_layers": 3, "prompt_size": 64, "placeholder_token": PLACEHOLDER_TOKEN}
    hub_server.reset()
    repos = {
        "openai/whisper-tiny": lambda d: (model.audio_model.save_pretrained(d), WhisperFeatureExtractor(feature_size=128).save_pretrained(d), asr.save_pretrained(d)),
        loading.LLM_REPO: lambda d: (model.language_model.save_pretrained(d), tokenizer.save_pretrained(d)),
        loading.DESTA_REPO: lambda d: ((d / "config.json").write_text(json.dumps(release)),
                                       save_file({loading.PREFIX + k: v.contiguous() for k, v in model.connector.state_dict().items()}, d / "model.safetensors")),
    }
    for repo, save in repos.items():
        hub_server.create_repo(repo, "model")
        hub_server.commit_files(repo, "model", _hub_files(save))
    yield model
    assert not hub_server.unknown, f"the clients called endpoints the test Hub lacks: {hub_server.unknown}"


@pytest.fixture(scope="module")
def converted(desta_hub, tmp_path_factory):
    """``convert`` with the default repo ids, over real HTTP to the local Hub (read-only)."""
    from tacos_temporal.ports.desta25 import loading

    return loading.convert(tmp_path_factory.mktemp("desta-converted") / "desta25")


def test_convert_reads_the_release_like_the_original_and_auto_dtype_loads_llama_in_bf16(desta_hub, converted):
    import json

    from transformers import AutoModelForMultimodalLM, AutoProcessor

    out = converted
    saved = json.loads((out / "config.json").read_text())
    assert saved["dtype"] == "bfloat16" and saved["text_config"]["dtype"] == "bfloat16"
    assert saved["target_layer_ids"] == [0, 1, 2, 3]  # whisper-tiny in the original's table
    assert saved["qformer_num_attention_heads"] == 4 and saved["qformer_num_hidden_layers"] == 3  # Whisper's heads, the release's depth
    assert saved["qformer_intermediate_size"] == 3072
    loaded = AutoModelForMultimodalLM.from_pretrained(out, dtype="auto")
    assert {p.dtype for p in loaded.language_model.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in loaded.audio_model.parameters()} == {torch.float32}
    assert {p.dtype for p in loaded.connector.parameters()} == {torch.float32}
    for key, value in desta_hub.connector.state_dict().items():
        torch.testing.assert_close(loaded.connector.state_dict()[key], value)
    processor = AutoProcessor.from_pretrained(out)
    assert processor.tokenizer.pad_token_id == processor.tokenizer.eos_token_id is not None  # pad = eos, as the original
    assert (out / "asr_tokenizer" / "tokenizer.json").is_file()  # Whisper's tokenizer, for the ASR transcript


def test_verify_runs_on_a_converted_folder_whose_tokenizer_had_no_pad_token(desta_hub, converted, tmp_path):
    import shutil

    from tacos_temporal.ports.desta25.verify import verify

    out = Path(shutil.copytree(converted, tmp_path / "converted"))
    processor = __import__("transformers").AutoProcessor.from_pretrained(out)
    prompt = _prompts(processor)[1]
    model = desta_hub
    batch = processor(text=[prompt], audio=_audios()[:1], transcripts=["a dog"])
    with torch.no_grad():
        reference = {"audio": _audios()[0], "prompt": prompt, "transcript": "a dog", "max_new_tokens": 3,
                     "audio_features": model.get_audio_features(batch["input_features"]),
                     "inputs_embeds": model.fill_placeholders(batch["input_ids"], batch["input_features"], batch["transcript_ids"], batch["transcript_attention_mask"]).float(),
                     "first_logits": model(**batch).logits[:, -1].float(),
                     "tokens": model.generate(**batch, max_new_tokens=3, do_sample=False, pad_token_id=processor.tokenizer.eos_token_id)[0, batch["input_ids"].shape[1]:]}
    torch.save(reference, tmp_path / "ref.pt")
    # a folder converted before the fix: no pad token saved
    config = out / "tokenizer_config.json"
    import json

    data = json.loads(config.read_text())
    data.pop("pad_token", None)
    config.write_text(json.dumps(data))
    assert __import__("transformers").AutoProcessor.from_pretrained(out).tokenizer.pad_token_id is None
    report = verify(out, tmp_path / "ref.pt", device="cpu")
    assert report["audio_features_max_abs"] == 0.0 and report["inputs_embeds_max_abs"] == 0.0
    assert report["greedy_tokens_agree"] == report["greedy_tokens_total"] == 3
