"""The committed Kimi-Audio reference fixture belongs to today's shared inputs.

The fixture was made by the ORIGINAL code (scripts/kimi_audio_original_reference.py) from the tiny release
and the clips of ``tiny_kimi_release``; if either changes, the fixture must be regenerated, and these
tests say so.  They also check the prompt the original built against the layout documented for
Kimi-Audio's prompt manager (text message, then audio message), written out here by hand."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from tacos_temporal.harness import tiny_kimi_release as tkr

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "kimi_audio_original"
DTYPES = ("float32", "bfloat16")


def _meta(dtype):
    return json.loads((FIXTURE / f"meta_{dtype}.json").read_text())


@pytest.mark.parametrize("dtype", DTYPES)
def test_fixture_inputs_are_todays_clips(dtype):
    waves = tkr.reference_waveforms()
    cases = {c["name"]: c for c in _meta(dtype)["cases"]}
    assert set(cases) == set(waves)
    for name, wave in waves.items():
        assert cases[name]["samples"] == wave.size
        assert cases[name]["sha256_float32"] == hashlib.sha256(wave.tobytes()).hexdigest(), (
            f"{name} changed: regenerate tests/fixtures/kimi_audio_original")


def test_fixture_was_made_from_todays_tiny_release(tmp_path):
    release = tkr.write_tiny_kimi_release(tmp_path / "r", seed=_meta("float32")["tiny_release_seed"])
    now = {p.relative_to(release).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
           for p in sorted(release.rglob("*")) if p.is_file()}
    for dtype in DTYPES:
        assert _meta(dtype)["tiny_release_sha256"] == now, "tiny release changed: regenerate the fixture"


@pytest.mark.parametrize("dtype", DTYPES)
def test_original_prompt_layout(dtype):
    """Evalkit MCQ call: [user text, user audio] -> user start, question over blanks, media span, ct,
    msg end, assistant start; codes = GLM codes + 152064 exactly where the mask is set."""
    t = load_file(str(FIXTURE / f"reference_{dtype}.safetensors"))
    blank, user, assistant, media_begin, media_end, ct, msg_end = 151666, 151670, 151671, 151661, 151663, 151675, 151645
    for case in _meta(dtype)["cases"]:
        p = case["name"] + "."
        audio, text, mask, codes = (t[p + k] for k in ("audio_input_ids", "text_input_ids", "is_continuous_mask", "glm_codes"))
        n, q = codes.size, audio.size - codes.size - 6
        assert n == (case["samples"] - 1) // 1280 + 1 if case["samples"] <= 480000 else n == 375 + (case["samples"] - 480001) // 1280 + 1
        assert audio[0] == user and (audio[1:1 + q] == blank).all()
        assert audio[1 + q] == media_begin and audio[-4] == media_end
        assert audio[-3:].tolist() == [ct, msg_end, assistant]
        np.testing.assert_array_equal(audio[2 + q:2 + q + n], codes + 152064)
        assert mask.tolist() == [0] * (2 + q) + [1] * n + [0] * 4
        assert text[0] == blank and (text[1 + q:] == blank).all() and (text[1:1 + q] < 151643).all()
        np.testing.assert_array_equal(t[p + "glm_codes_batched"], codes)
        if dtype == "float32":
            assert t[p + "whisper_features"].shape == (n, 4 * 32)
            assert t[p + "inputs_embeds"].shape == (audio.size, 32)
        assert t[p + "greedy_text_tokens"].size == _meta(dtype)["max_new_tokens"]
