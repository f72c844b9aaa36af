"""Modality attention analysis on tiny offline checkpoints (Qwen2-Audio and Audio Flamingo 3, float32).

The independent reference is an ``output_attentions=True`` run of the same checkpoint with eager
attention in the language model: its last row per layer gives the shares and the entropy directly.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from tacos_temporal.harness.adapters import get_adapter
from tacos_temporal.harness.attention import (
    METRICS,
    AttentionRecord,
    modality_masks,
    plot_layers,
    record_attention,
    summarise,
    write_csv,
)
from tacos_temporal.harness.interventions import InterventionConfig, InterventionError, intervention_masks, steer
from tacos_temporal.harness.tiny import AUTO_MODEL_CLASSES
from tacos_temporal.names import QUESTIONS

import torch  # noqa: E402  (required dependencies: a missing one must fail, not skip)
import transformers  # noqa: E402

ARCHS = ("qwen2_audio", "audioflamingo3")
SR = 16_000
TASKS_OF_BATCH = ("latest_offset", "earliest_onset")
OPTIONS = "\nA. Dog Barking\nB. Rain\nC. Siren\nD. Thunder\nAnswer with just the letter (A, B, C, or D)."


@pytest.fixture(scope="module")
def tiny_dirs(tiny_models):
    """The session's tiny checkpoints (tests/conftest.py), read-only."""
    return {arch: tiny_models[arch] for arch in ARCHS}


@pytest.fixture(scope="module", params=ARCHS)
def arch(request):
    return request.param


def load(folder, arch, **kwargs):
    processor = transformers.AutoProcessor.from_pretrained(folder)
    processor.tokenizer.padding_side = "left"
    return processor, getattr(transformers, AUTO_MODEL_CLASSES[arch]).from_pretrained(folder, **kwargs).eval()


@pytest.fixture(scope="module")
def loaded(tiny_dirs, arch):
    return load(tiny_dirs[arch], arch)


@pytest.fixture(scope="module")
def batch(arch, loaded):
    processor, _ = loaded
    adapter = get_adapter(arch)
    texts = [adapter.render(processor, adapter.conversation(QUESTIONS[t] + OPTIONS, with_audio=True)) for t in TASKS_OF_BATCH]
    audios = [(0.1 * np.random.RandomState(int(s * 10)).randn(int(s * SR))).astype("float32") for s in (1.5, 2.6)]
    inputs = adapter.encode(processor, texts, audios, SR)
    assert (inputs["attention_mask"] == 0).any(), "the batch must be left-padded"
    return inputs


@pytest.fixture(scope="module")
def masks(loaded, batch):
    processor, model = loaded
    return modality_masks(processor, batch["input_ids"], batch["attention_mask"], model.config.audio_token_id)


@pytest.fixture(scope="module")
def recorded(loaded, batch, masks) -> AttentionRecord:
    _, model = loaded
    with record_attention(model, masks) as recorder, torch.no_grad():
        model(**batch)
    return recorder.result()


@pytest.fixture(scope="module")
def eager_last_rows(tiny_dirs, arch, batch):
    """``(layers, B, H, T)``: the final prompt token's weights from eager attention's own output."""
    _, model = load(tiny_dirs[arch], arch, attn_implementation={"text_config": "eager"})
    with torch.no_grad():
        attentions = model(**batch, output_attentions=True).attentions
    assert len(attentions) == model.config.text_config.num_hidden_layers
    return torch.stack([a[:, :, -1, :] for a in attentions]).double()


def test_masks_split_keys_into_audio_special_and_text(loaded, batch, masks):
    processor, model = loaded
    ids, valid = batch["input_ids"], batch["attention_mask"].bool()
    assert torch.equal(masks.valid, valid)
    assert torch.equal(masks.audio, (ids == model.config.audio_token_id) & valid)
    im_start = processor.tokenizer.convert_tokens_to_ids("<|im_start|>")
    assert masks.special[ids == im_start].all()  # chat-template tokens are special
    assert not (masks.special & masks.audio).any() and not (masks.special & ~valid).any()
    text = valid & ~masks.audio & ~masks.special
    question = processor.tokenizer.decode(ids[0][text[0]])
    assert "ends latest" in question and "<|im_start|>" not in question


def test_shares_sum_to_one_per_layer_and_head_without_padding(recorded, loaded):
    _, model = loaded
    config = model.config.text_config
    assert recorded.audio_share.shape == (2, config.num_hidden_layers, config.num_attention_heads)
    total = recorded.audio_share + recorded.text_share + recorded.special_share
    np.testing.assert_allclose(total, 1.0, atol=1e-6)
    assert (recorded.audio_share > 0).all() and (recorded.text_share > 0).all() and (recorded.special_share > 0).all()
    assert recorded.n_audio.tolist() == [37, 65]  # 1.5 s and 2.6 s at 25 tokens per second


def test_audio_share_equals_the_eager_output_attentions_mass_of_the_last_token(recorded, eager_last_rows, masks):
    audio = masks.audio[None, :, None, :]
    special = masks.special[None, :, None, :]
    eager_audio = (eager_last_rows * audio).sum(-1).permute(1, 0, 2).numpy()  # (B, layers, H)
    eager_special = (eager_last_rows * special).sum(-1).permute(1, 0, 2).numpy()
    np.testing.assert_allclose(recorded.audio_share, eager_audio, atol=1e-5)
    np.testing.assert_allclose(recorded.special_share, eager_special, atol=1e-5)


def test_audio_entropy_is_the_entropy_of_the_renormalised_audio_weights(recorded, eager_last_rows, masks):
    for b in range(2):
        n = int(masks.audio[b].sum())
        for layer in range(eager_last_rows.shape[0]):
            for head in range(eager_last_rows.shape[2]):
                weights = eager_last_rows[layer, b, head][masks.audio[b]].numpy()
                weights = weights / weights.sum()
                entropy = float(-(weights * np.log(weights)).sum())
                assert recorded.audio_entropy[b, layer, head] == pytest.approx(entropy, abs=1e-5)
                assert recorded.audio_entropy_norm[b, layer, head] == pytest.approx(entropy / math.log(n), abs=1e-5)


def test_upweight_raises_the_recorded_audio_share_as_the_formula_says(loaded, batch, masks, recorded):
    """Only layer 0 is steered and only the last row: layer 0's recorded share must follow
    alpha*m/(1+(alpha-1)m) exactly and keep the within-audio entropy (its inputs are unsteered)."""
    processor, model = loaded
    alpha = 4.0
    steer_masks = intervention_masks(processor, batch["input_ids"], batch["attention_mask"], model.config.audio_token_id, TASKS_OF_BATCH, "last")
    cfg = InterventionConfig("upweight", alpha=alpha, layers=(0,))
    with steer(model, cfg, audio_mask=steer_masks.audio, query_mask=steer_masks.queries):
        with record_attention(model, masks) as recorder, torch.no_grad():
            model(**batch)
    after = recorder.result()
    m = recorded.audio_share[:, 0]
    np.testing.assert_allclose(after.audio_share[:, 0], alpha * m / (1 + (alpha - 1) * m), atol=1e-5)
    np.testing.assert_allclose(after.audio_entropy[:, 0], recorded.audio_entropy[:, 0], atol=1e-5)
    assert (after.audio_share[:, 0] > m).all()


def test_record_attention_fails_loudly(loaded, batch, masks):
    _, model = loaded
    with pytest.raises(InterventionError, match="out of range"):
        with record_attention(model, masks, layers=[0, 7]):
            pytest.fail("the body must not run")
    with pytest.raises(InterventionError, match="never ran a prefill"):
        with record_attention(model, masks):
            pass
    with pytest.raises(InterventionError, match="one prefill"):
        with record_attention(model, masks), torch.no_grad():
            model(**batch)
            model(**batch)
    assert model.config.text_config._attn_implementation == "sdpa"


def test_recording_during_generate_keeps_the_prefill_and_the_tokens(loaded, batch, masks, recorded):
    _, model = loaded
    with torch.no_grad():
        plain = model.generate(**batch, max_new_tokens=3, do_sample=False)
        with record_attention(model, masks) as recorder:
            same = model.generate(**batch, max_new_tokens=3, do_sample=False)
    assert torch.equal(plain, same)
    np.testing.assert_allclose(recorder.result().audio_share, recorded.audio_share, atol=1e-6)


def test_summarise_averages_heads_within_items_then_gives_normal_intervals_over_items(recorded):
    rows = summarise([recorded, recorded], per_head=True)  # 4 items
    n_layers, n_heads = recorded.audio_share.shape[1:]
    assert len(rows) == n_layers * (1 + n_heads)
    mean_row = next(r for r in rows if r["layer"] == 1 and r["head"] == "mean")
    per_item = np.concatenate([recorded.audio_share[:, 1].mean(1)] * 2)
    half = 1.959963984540054 * per_item.std(ddof=1) / math.sqrt(4)
    assert mean_row["n_items"] == 4
    assert mean_row["audio_share"] == pytest.approx(per_item.mean())
    assert mean_row["audio_share_ci_low"] == pytest.approx(per_item.mean() - half)
    assert mean_row["audio_share_ci_high"] == pytest.approx(per_item.mean() + half)
    head_row = next(r for r in rows if r["layer"] == 0 and r["head"] == 2)
    assert head_row["text_share"] == pytest.approx(recorded.text_share[:, 0, 2].mean())
    single = summarise(AttentionRecord.concatenate([recorded]))
    assert all(set(METRICS) <= set(r) for r in single)


def test_one_item_gives_no_interval(recorded):
    one = AttentionRecord(recorded.layers, *(getattr(recorded, name)[:1] for name in METRICS), n_audio=recorded.n_audio[:1])
    row = summarise(one)[0]
    assert not math.isnan(row["audio_share"]) and math.isnan(row["audio_share_ci_low"])


def test_csv_and_png_are_written(recorded, tmp_path):
    rows = summarise(recorded, per_head=True)
    csv_path = write_csv(rows, tmp_path / "attention.csv")
    with csv_path.open(encoding="utf-8") as handle:
        read = list(csv.DictReader(handle))
    assert len(read) == len(rows)
    assert read[0]["layer"] == "0" and read[0]["head"] == "mean"
    assert float(read[0]["audio_share"]) == pytest.approx(rows[0]["audio_share"], abs=1e-6)
    png = plot_layers(rows, tmp_path / "attention.png", title="tiny model, untrained weights")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
