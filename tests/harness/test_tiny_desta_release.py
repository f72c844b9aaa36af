"""The tiny DeSTA2.5 release writer and the committed reference fixture of the ORIGINAL code.

The fixture (tests/fixtures/desta25_original, made by scripts/desta25_original_reference.py) belongs to
today's tiny release and clips; if either changes these tests say to regenerate it.  The prompt checks
restate the original's rules (desta25.md: 64 + T placeholders, left padding with pad = eos)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file

from tacos_temporal.harness import tiny_desta_release as tdr
from tacos_temporal.harness.tiny_kimi_release import reference_waveforms

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "desta25_original"
PLACEHOLDER, EOT = 128095, 128009  # <|reserved_special_token_87|>, <|eot_id|> in Llama-3.1


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    return tdr.write_tiny_desta_release(tmp_path_factory.mktemp("desta") / "release", seed=0)


def _meta(dtype="float32"):
    return json.loads((FIXTURE / f"meta_{dtype}.json").read_text())


def test_byte_identical_and_the_fixture_was_made_from_it(release, tmp_path):
    again = tdr.write_tiny_desta_release(tmp_path / "again", seed=0)
    sha = {p.relative_to(release).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(release.rglob("*")) if p.is_file()}
    assert sha == {p.relative_to(again).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(again.rglob("*")) if p.is_file()}
    assert set(sha) == {f"{sub}/{name}" for sub, names in (("desta", ("config.json", "model.safetensors")),
                        ("llama", ("config.json", "generation_config.json", "model.safetensors")),
                        ("whisper", ("config.json", "generation_config.json", "preprocessor_config.json", "model.safetensors")))
                        for name in names}
    for dtype in ("float32", "bfloat16"):
        assert _meta(dtype)["tiny_release_sha256"] == sha, "tiny DeSTA release changed: regenerate the fixture"


def test_connector_keys_follow_the_original_naming(release):
    with safe_open(str(release / "desta" / "model.safetensors"), framework="pt") as f:
        shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
        assert {f.get_slice(k).get_dtype() for k in f.keys()} == {"F32"}
    config = json.loads((release / "desta" / "config.json").read_text())
    whisper = json.loads((release / "whisper" / "config.json").read_text())
    d, layers = whisper["d_model"], config["qformer_num_hidden_layers"]
    per_layer = 2 * (3 * 2 + 2 + 2) + 2 + 2 + 2  # (self, cross) x (q,k,v + out dense + LN) + intermediate + output + LN
    assert len(shapes) == 4 + 1 + layers * per_layer + 4
    assert shapes["perception.connector.layer_prompts.3"] == (1, 64, d)
    assert shapes["perception.connector.layer_weights"] == (64, 4)
    assert shapes["perception.connector.qformer.layer.1.intermediate.dense.weight"] == (3072, d)
    assert shapes["perception.connector.proj.1.weight"] == (json.loads((release / "llama" / "config.json").read_text())["hidden_size"], d)
    # the original taps layers 7/15/23/31 for "openai/whisper-large-v3": the tiny Whisper must have them
    assert config["encoder_model_id"] == "openai/whisper-large-v3" and whisper["encoder_layers"] == 32
    with safe_open(str(release / "llama" / "model.safetensors"), framework="pt") as f:
        assert f.get_slice("lm_head.weight").get_shape() == [128256, 32] and f.get_slice("lm_head.weight").get_dtype() == "BF16"


def test_fixture_clips_are_todays():
    t = load_file(str(FIXTURE / "reference_float32.safetensors"))
    clips = {"speech_2s": t["speech_2s.samples_int16"].astype(np.float32) / 32768.0, **reference_waveforms()}
    for case in _meta()["cases"]:
        assert hashlib.sha256(clips[case["clip"]].tobytes()).hexdigest() == case["sha256_float32"], case["name"]


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_original_prompt_rules(dtype):
    t = load_file(str(FIXTURE / f"reference_{dtype}.safetensors"))
    meta = _meta(dtype)
    for case in meta["cases"]:
        p = case["name"] + "."
        ids, start = t[p + "input_ids"][0], t[p + "start_positions"][0]
        n = 64 + len(case["transcription_ids"][0])
        assert start[0] == 0 and (ids[start[1]:start[1] + n] == PLACEHOLDER).all() and (ids == PLACEHOLDER).sum() == n
        if case["name"] == "speech_asr":  # speech, no transcript: Whisper ASR (random text on tiny weights)
            assert case["transcript_given"] is None and case["transcripts"][0].strip() == case["transcripts"][0] != " "
        else:
            assert case["transcripts"] == [case["transcript_given"] if case["name"] == "speech_given" else " "]
    ids, mask = t["batched.input_ids"], t["batched.attention_mask"]
    for row, case in enumerate(meta["cases"]):
        single = t[case["name"] + ".input_ids"][0]
        pad = ids.shape[1] - single.size
        assert mask[row, :pad].sum() == 0 and (ids[row, :pad] == EOT).all() and mask[row, pad:].all()
        np.testing.assert_array_equal(ids[row, pad:], single)
        np.testing.assert_array_equal(t["batched.start_positions"][row], [row, t[case["name"] + ".start_positions"][0][1] + pad])


def test_whisper_language_and_task_ids_are_the_real_tokenizers():
    from tacos_temporal.harness.tokenizers import real_tokenizer

    tokenizer = real_tokenizer("whisper")
    config = tdr.whisper_generation_config()
    assert len(config["lang_to_id"]) == 100
    for token, i in {**config["lang_to_id"], **{f"<|{k}|>": v for k, v in config["task_to_id"].items()}}.items():
        assert tokenizer.convert_tokens_to_ids(token) == i, token
    assert tokenizer.convert_tokens_to_ids("<|notimestamps|>") == config["no_timestamps_token_id"]
    assert tokenizer.convert_tokens_to_ids("<|startoftranscript|>") == config["decoder_start_token_id"]
