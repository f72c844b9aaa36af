"""Intervention details from the independent check of issue 11: the oracle window in exact
arithmetic, keywords matched inside the question only, and generated-token steering both ways."""

from __future__ import annotations

import numpy as np
import pytest

from tacos_temporal.harness.adapters import get_adapter
from tacos_temporal.harness.interventions import (
    InterventionConfig,
    intervention_masks,
    parse_intervention,
    steer,
    window_mask,
    window_token_range,
)
from tacos_temporal.harness.reproduce import _generated_tokens_note
from tacos_temporal.names import QUESTIONS

import torch  # noqa: E402
import transformers  # noqa: E402

SR = 16_000


# --- oracle window --------------------------------------------------------------------------------


def test_window_edge_at_18_72_seconds_starts_token_468_exactly():
    # 18.72 s * 25 tokens/s = 468 exactly; float32 gives 467.99998 and took token 467 as well
    assert np.float32(18.72) * np.float32(25) < 468
    assert window_token_range(18.72, 20.0, 25) == (468, 500)
    audio = torch.ones(1, 750, dtype=torch.bool)
    kept = window_mask(audio, (18.72, 20.0), tokens_per_second=25.0)[0].nonzero()[:, 0].tolist()
    assert kept == list(range(468, 500))


@pytest.mark.parametrize("tps_num, tps_den", [(25, 1), (25, 2), (13, 1)])  # 25, 12.5, 13 tokens/s
def test_window_on_the_centisecond_grid_matches_integer_arithmetic(tps_num, tps_den):
    """2,011 random windows on the 0.01 s grid: the tokens overlapping [start, end), computed in
    integers (centiseconds x tokens), equal the harness's tokens."""
    rng = np.random.default_rng(0)
    tps = tps_num / tps_den
    for _ in range(2011):
        a, b = sorted(rng.choice(3001, size=2, replace=False).tolist())  # centiseconds, a < b
        # token i overlaps when (i + 1) * 100 * den > a * num and i * 100 * den < b * num
        first = (a * tps_num) // (100 * tps_den)
        stop = -((-b * tps_num) // (100 * tps_den))
        assert window_token_range(a / 100, b / 100, tps) == (first, stop), (a, b)


# --- keyword inside the question -------------------------------------------------------------------


def test_keyword_is_steered_inside_the_question_not_in_an_option():
    """With the real Qwen2-Audio tokenizer: the option "Latest alarm" comes after the question and
    used to be taken as the task word (the last match in the prompt)."""
    from tacos_temporal.harness.tokenizers import real_tokenizer

    tok = real_tokenizer("qwen2_audio")
    tok.padding_side = "left"
    question = QUESTIONS["latest_offset"]
    texts = [
        f"<|im_start|>user\n{question}\nA. Latest alarm\nB. Siren\nC. latest news\nD. Thunder<|im_end|>\n<|im_start|>assistant\n",
        f"<|im_start|>user\nCaption: the latest train leaves.\n{question}\nA. Dog\nB. Siren\nC. Wind\nD. Rain<|im_end|>\n<|im_start|>assistant\n",
    ]
    batch = tok(texts, padding=True, return_tensors="pt", add_special_tokens=False)
    masks = intervention_masks(tok, batch["input_ids"], batch["attention_mask"], None, ["latest_offset"] * 2, "keyword")
    for row, text in enumerate(texts):
        chosen = masks.queries[row].nonzero()[:, 0].tolist()
        assert tok.decode(batch["input_ids"][row, chosen]).strip() == "latest"
        # the chosen token is the question's own "latest": the text up to it ends inside the question
        upto = tok.decode(batch["input_ids"][row, : chosen[-1] + 1][batch["attention_mask"][row, : chosen[-1] + 1].bool()])
        assert upto.endswith("Which sound event ends latest")


def test_keyword_queries_fail_when_the_question_is_missing():
    from tacos_temporal.harness.interventions import InterventionError
    from tacos_temporal.harness.tokenizers import real_tokenizer

    tok = real_tokenizer("qwen2")
    batch = tok(["Which is latest? A. Latest alarm"], return_tensors="pt")
    with pytest.raises(InterventionError, match="question .* does not occur"):
        intervention_masks(tok, batch["input_ids"], batch["attention_mask"], None, ["latest_offset"], "keyword")


# --- generated tokens: prefill only (ScalingVis) or also generated --------------------------------


def test_prefill_only_is_a_recorded_config_field():
    cfg = parse_intervention("scale:alpha=2,layers=all,queries=keyword+last,prefill_only=true")
    assert cfg.prefill_only is True and not cfg.steers_decoding
    assert parse_intervention(cfg.spec()) == cfg
    assert cfg.to_dict()["prefill_only"] is True
    assert InterventionConfig.from_dict(cfg.to_dict()) == cfg
    assert "pre-fill only" in cfg.describe() and "ScalingVis" in cfg.describe()
    default = parse_intervention("scale:alpha=2,layers=all,queries=last")
    assert default.steers_decoding and default.to_dict()["prefill_only"] is False
    assert "also on generated tokens" in default.describe()


def test_paper_comparison_report_says_which_tokens_were_steered():
    both = ["scale:alpha=2,layers=all,queries=keyword+last", "scale:alpha=2,layers=all,queries=keyword+last,prefill_only=true"]
    note = _generated_tokens_note("generate", both)
    assert "pre-fill **and every generated token**" in note and "pre-fill only, generated tokens unsteered (as ScalingVis)" in note
    assert "reads the pre-fill only" in _generated_tokens_note("logprob", both[:1])


def test_prefill_only_steers_the_prefill_and_no_generated_token(tiny_models):
    """Cached greedy decoding with ``prefill_only`` equals a loop without cache in which only the
    prompt rows are steered; its first step equals the default's, later steps differ from it."""
    folder = tiny_models["qwen2_audio"]
    processor = transformers.AutoProcessor.from_pretrained(folder)
    processor.tokenizer.padding_side = "left"
    model = transformers.AutoModelForMultimodalLM.from_pretrained(folder).eval()
    adapter = get_adapter("qwen2_audio")
    texts = [adapter.render(processor, adapter.conversation(QUESTIONS[t] + "\nA. Dog\nB. Rain\nC. Siren\nD. Wind", with_audio=True)) for t in ("earliest_onset", "longest_duration")]
    audios = [(0.1 * np.random.RandomState(s).randn(int(s * SR))).astype("float32") for s in (2, 3)]
    batch = adapter.encode(processor, texts, audios, SR)
    masks = intervention_masks(processor, batch["input_ids"], batch["attention_mask"], model.config.audio_token_id, None, "last")
    steps = 4
    outputs = {}
    with torch.no_grad():
        for prefill_only in (True, False):
            cfg = InterventionConfig("upweight", alpha=50.0, layers="all", queries="last", prefill_only=prefill_only)
            with steer(model, cfg, audio_mask=masks.audio, query_mask=masks.queries):
                outputs[prefill_only] = model.generate(**batch, max_new_tokens=steps, do_sample=False, output_logits=True, return_dict_in_generate=True)
        extra = {k: v for k, v in batch.items() if k not in ("input_ids", "attention_mask")}
        ids, mask, uncached = batch["input_ids"], batch["attention_mask"], []
        cfg = InterventionConfig("upweight", alpha=50.0, layers="all", queries="last", prefill_only=True)
        for _ in range(steps):
            width = ids.shape[1] - batch["input_ids"].shape[1]
            queries = torch.cat([masks.queries, torch.zeros(ids.shape[0], width, dtype=torch.bool)], dim=1)
            audio = torch.cat([masks.audio, torch.zeros(ids.shape[0], width, dtype=torch.bool)], dim=1)
            with steer(model, cfg, audio_mask=audio, query_mask=queries):
                positions = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)
                out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=False, **extra).logits[:, -1]
            uncached.append(out)
            ids = torch.cat([ids, out.argmax(-1, keepdim=True)], dim=1)
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
    assert torch.equal(outputs[True].sequences, ids)
    for a, b in zip(outputs[True].logits, uncached):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=0)
    torch.testing.assert_close(outputs[True].logits[0], outputs[False].logits[0], atol=1e-5, rtol=0)  # same pre-fill
    assert any(not torch.allclose(a, b, atol=1e-3) for a, b in zip(outputs[True].logits[1:], outputs[False].logits[1:]))
