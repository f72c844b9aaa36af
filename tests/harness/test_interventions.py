"""Attention interventions on tiny offline checkpoints of Qwen2-Audio and Audio Flamingo 3 (float32, CPU).

Every expected value is computed here independently of ``interventions.py``: queries, keys and values
are captured from the real projections of a layer (forward hooks on ``q_proj`` / ``k_proj`` /
``v_proj``, RoPE applied with the model's own ``apply_rotary_pos_emb``), the causal + padding mask is
rebuilt from ``attention_mask``, the edit is written from its definition in probability space, and
the model's actual attention output (the input of ``o_proj``) is compared with ``weights @ v``.
"""

from __future__ import annotations

import numpy as np
import pytest

from tacos_temporal.errors import ConfigError
from tacos_temporal.harness.adapters import get_adapter
from tacos_temporal.harness.interventions import (
    ATTENTION_NAME,
    InterventionConfig,
    InterventionError,
    intervention_masks,
    parse_intervention,
    steer,
    window_mask,
)
from tacos_temporal.harness.tiny import AUTO_MODEL_CLASSES
from tacos_temporal.names import QUESTIONS

import torch  # noqa: E402  (required dependencies: a missing one must fail, not skip)
import transformers  # noqa: E402

ARCHS = ("qwen2_audio", "audioflamingo3")
SR = 16_000
TASKS_OF_BATCH = ("earliest_onset", "longest_duration")
OPTIONS = "\nA. Dog Barking\nB. Rain\nC. Siren\nD. Thunder\nAnswer with just the letter (A, B, C, or D)."


@pytest.fixture(scope="module")
def tiny_dirs(tiny_models):
    """The session's tiny checkpoints (tests/conftest.py), read-only."""
    return {arch: tiny_models[arch] for arch in ARCHS}


def load(folder, arch, **kwargs):
    processor = transformers.AutoProcessor.from_pretrained(folder)
    processor.tokenizer.padding_side = "left"
    model = getattr(transformers, AUTO_MODEL_CLASSES[arch]).from_pretrained(folder, **kwargs).eval()
    return processor, model


@pytest.fixture(scope="module", params=ARCHS)
def arch(request):
    return request.param


@pytest.fixture(scope="module")
def loaded(tiny_dirs, arch):
    return load(tiny_dirs[arch], arch)


def encode(arch, processor, tasks, seconds):
    """A left-padded batch through the harness's own adapter (chat template, audio expansion)."""
    adapter = get_adapter(arch)
    texts = [adapter.render(processor, adapter.conversation(QUESTIONS[t] + OPTIONS, with_audio=True)) for t in tasks]
    # one seeded clip per duration: the same item gets the same audio alone and in a batch
    audios = [(0.1 * np.random.RandomState(int(s * 10)).randn(int(s * SR))).astype("float32") for s in seconds]
    return adapter.encode(processor, texts, audios, SR)


@pytest.fixture(scope="module")
def batch(arch, loaded):
    processor, model = loaded
    inputs = encode(arch, processor, TASKS_OF_BATCH, (2.0, 3.1))  # 50 and 77 audio tokens: rows differ in length
    assert (inputs["attention_mask"] == 0).any(), "the batch must be left-padded"
    return inputs


def masks_for(processor, model, inputs, queries, tasks=TASKS_OF_BATCH):
    return intervention_masks(processor, inputs["input_ids"], inputs["attention_mask"], model.config.audio_token_id, tasks, queries)


def logits(model, inputs):
    with torch.no_grad():
        return model(**inputs).logits


# --- independent reference: capture one layer's q, k, v and attention output --------------------


def capture_layers(model, layers, run):
    """Run ``run()`` once and return, per layer, the pre-softmax scores ``z`` (float64, KV heads
    repeated), the values and the attention output ``(B, T, H, D)`` (the input of ``o_proj``)."""
    from transformers.models.qwen2.modeling_qwen2 import apply_rotary_pos_emb

    config = model.config.text_config
    store = {layer: {} for layer in layers}

    def keep(layer, name, pick):
        def hook(*args):
            store[layer].setdefault(name, pick(*args))  # the first call of the run (generate calls it again per step)

        return hook

    handles = []
    for layer in layers:
        attn = model.get_decoder().layers[layer].self_attn
        handles += [
            attn.register_forward_pre_hook(keep(layer, "pe", lambda m, a, kw: kw["position_embeddings"]), with_kwargs=True),
            attn.q_proj.register_forward_hook(keep(layer, "q", lambda m, i, o: o)),
            attn.k_proj.register_forward_hook(keep(layer, "k", lambda m, i, o: o)),
            attn.v_proj.register_forward_hook(keep(layer, "v", lambda m, i, o: o)),
            attn.o_proj.register_forward_pre_hook(keep(layer, "out", lambda m, a: a[0])),
        ]
    try:
        with torch.no_grad():
            run()
    finally:
        for handle in handles:
            handle.remove()
    h, hkv = config.num_attention_heads, config.num_key_value_heads
    out = {}
    for layer, got in store.items():
        b, t, _ = got["q"].shape
        d = got["q"].shape[-1] // h
        q = got["q"].view(b, t, h, d).transpose(1, 2)
        k = got["k"].view(b, t, hkv, d).transpose(1, 2)
        v = got["v"].view(b, t, hkv, d).transpose(1, 2)
        cos, sin = got["pe"]
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
        k, v = k.repeat_interleave(h // hkv, dim=1), v.repeat_interleave(h // hkv, dim=1)
        z = (q.double() @ k.double().transpose(-1, -2)) * d**-0.5  # (B, H, T, T)
        out[layer] = {"z": z, "v": v.double(), "out": got["out"].view(b, t, h, d)}
    return out


def capture_layer(model, layer, run):
    return capture_layers(model, [layer], run)[layer]


def allowed_keys(attention_mask):
    valid = attention_mask.bool()
    t = valid.shape[1]
    causal = torch.ones(t, t, dtype=torch.bool).tril()
    return causal[None, None] & valid[:, None, None, :]


def softmax_masked(z, allowed):
    return torch.softmax(z.masked_fill(~allowed, float("-inf")), dim=-1)


def weighted_output(p, v):
    return (p @ v).transpose(1, 2)  # (B, T, H, D)


def rows_of(mask):
    return [(int(b), int(r)) for b, r in mask.nonzero()]


# --- no intervention: exactly sdpa ---------------------------------------------------------------


def test_registered_function_without_intervention_gives_sdpa_logits_on_a_left_padded_batch(loaded, batch):
    processor, model = loaded
    baseline = logits(model, batch)
    with steer(model, InterventionConfig("none")) as steering:
        assert model.config.text_config._attn_implementation == ATTENTION_NAME
        assert model.config.audio_config._attn_implementation == "sdpa"  # the audio encoder keeps sdpa
        same = logits(model, batch)
    assert torch.equal(same, baseline)
    assert steering.forwards == 1 and steering.layers_reached == {0, 1}
    assert model.config.text_config._attn_implementation == "sdpa"  # restored


def test_registered_function_keeps_padding_masks(loaded, arch):
    """Without the registered mask function the left padding would be ignored: the padded row of a
    batch must give the logits of the same item run alone."""
    processor, model = loaded
    alone = encode(arch, processor, TASKS_OF_BATCH[:1], (2.0,))
    padded = encode(arch, processor, TASKS_OF_BATCH, (2.0, 3.1))
    with steer(model, "none"):
        single, batched = logits(model, alone)[0, -1], logits(model, padded)[0, -1]
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=0)


def test_generate_without_intervention_gives_the_sdpa_tokens_and_logits(loaded, batch):
    processor, model = loaded
    kwargs = dict(max_new_tokens=4, do_sample=False, output_logits=True, return_dict_in_generate=True)
    with torch.no_grad():
        baseline = model.generate(**batch, **kwargs)
        with steer(model, "none") as steering:
            same = model.generate(**batch, **kwargs)
    assert torch.equal(same.sequences, baseline.sequences)
    assert all(torch.equal(a, b) for a, b in zip(same.logits, baseline.logits))
    assert steering.forwards == 4  # prefill + 3 cached decoding steps


# --- the three edits, against their definitions ---------------------------------------------------


def test_upweight_sets_audio_mass_to_alpha_m_over_one_plus_alpha_minus_one_m_and_keeps_the_audio_distribution(loaded, batch):
    processor, model = loaded
    alpha = 3.0
    masks = masks_for(processor, model, batch, "keyword+last")
    base = capture_layer(model, 0, lambda: model(**batch))
    cfg = InterventionConfig("upweight", alpha=alpha, layers="all", queries="keyword+last")
    with steer(model, cfg, audio_mask=masks.audio, query_mask=masks.queries):
        captured = capture_layers(model, [0, 1], lambda: model(**batch))
    allowed = allowed_keys(batch["attention_mask"])
    audio = masks.audio[:, None, None, :]
    selected = rows_of(masks.queries)
    assert len(selected) >= 4  # keyword tokens + last token of each row
    untouched = batch["attention_mask"].bool() & ~masks.queries
    for layer, got in captured.items():
        p = softmax_masked(got["z"], allowed)
        m = (p * audio).sum(-1, keepdim=True)
        target = alpha * m / (1 + (alpha - 1) * m)  # the new audio mass
        # same renormalised audio weights, same renormalised text weights, audio mass = target
        expected = torch.where(audio, p / m * target, p / (1 - m) * (1 - target))
        want = weighted_output(expected, got["v"])
        for b, r in selected:
            torch.testing.assert_close(got["out"][b, r].double(), want[b, r], atol=2e-6, rtol=0)
        # other query rows: the unedited attention of this layer's (possibly already steered) inputs
        plain = weighted_output(p, got["v"])
        torch.testing.assert_close(got["out"][untouched].double(), plain[untouched], atol=2e-6, rtol=0)
    # layer 0 sees the unsteered inputs: its other rows are exactly sdpa's, its selected rows are not
    assert torch.equal(captured[0]["out"][untouched], base["out"][untouched])
    assert not torch.allclose(captured[0]["out"][masks.queries], base["out"][masks.queries])


def test_scale_is_the_softmax_of_alpha_times_the_audio_scores(loaded, batch):
    processor, model = loaded
    alpha, layer = 2.5, 1
    masks = masks_for(processor, model, batch, "last")
    with steer(model, f"scale:alpha={alpha},layers={layer},queries=last", audio_mask=masks.audio, query_mask=masks.queries):
        got = capture_layer(model, layer, lambda: model(**batch))
    edit = masks.queries[:, None, :, None] & masks.audio[:, None, None, :]
    z = torch.where(edit, alpha * got["z"], got["z"])
    want = weighted_output(softmax_masked(z, allowed_keys(batch["attention_mask"])), got["v"])
    for b, r in rows_of(masks.queries):
        torch.testing.assert_close(got["out"][b, r].double(), want[b, r], atol=2e-6, rtol=0)


@pytest.mark.parametrize("tau", [0.5, 2.0])
def test_redistribute_keeps_the_audio_mass_and_retempers_within_the_audio(loaded, batch, tau):
    processor, model = loaded
    layer = 0
    masks = masks_for(processor, model, batch, "last")
    with steer(model, InterventionConfig("redistribute", alpha=tau, layers=(layer,)), audio_mask=masks.audio, query_mask=masks.queries):
        got = capture_layer(model, layer, lambda: model(**batch))
    allowed = allowed_keys(batch["attention_mask"])
    p = softmax_masked(got["z"], allowed)
    audio = masks.audio[:, None, None, :]
    m = (p * audio).sum(-1, keepdim=True)
    within = torch.softmax((tau * got["z"]).masked_fill(~(audio & allowed), float("-inf")), dim=-1)
    expected = torch.where(audio, m * within, p)  # audio mass m kept, text weights untouched
    want = weighted_output(expected, got["v"])
    for b, r in rows_of(masks.queries):
        torch.testing.assert_close(got["out"][b, r].double(), want[b, r], atol=2e-6, rtol=0)
    # the audio mass and the entropy direction, read back by the analysis of the same forward
    from tacos_temporal.harness.attention import modality_masks, record_attention

    modal = modality_masks(processor, batch["input_ids"], batch["attention_mask"], model.config.audio_token_id)
    with record_attention(model, modal, layers=[layer]) as plain, torch.no_grad():
        model(**batch)
    with steer(model, InterventionConfig("redistribute", alpha=tau, layers=(layer,)), audio_mask=masks.audio, query_mask=masks.queries):
        with record_attention(model, modal, layers=[layer]) as steered, torch.no_grad():
            model(**batch)
    before, after = plain.result(), steered.result()
    np.testing.assert_allclose(after.audio_share, before.audio_share, atol=1e-5)
    if tau > 1:
        assert (after.audio_entropy < before.audio_entropy).all()
    else:
        assert (after.audio_entropy > before.audio_entropy).all()


# --- where it applies ----------------------------------------------------------------------------


def test_layers_not_selected_give_exactly_the_sdpa_output(loaded, batch):
    processor, model = loaded
    masks = masks_for(processor, model, batch, "all")
    base = capture_layers(model, [0, 1], lambda: model(**batch))
    with steer(model, "scale:alpha=4,layers=1,queries=all", audio_mask=masks.audio, query_mask=masks.queries):
        got = capture_layers(model, [0, 1], lambda: model(**batch))
    assert torch.equal(got[0]["out"], base[0]["out"])
    valid = batch["attention_mask"].bool()
    assert not torch.allclose(got[1]["out"][valid], base[1]["out"][valid])


def test_heads_selection_changes_only_those_heads(loaded, batch):
    processor, model = loaded
    masks = masks_for(processor, model, batch, "all")
    base = capture_layer(model, 0, lambda: model(**batch))
    with steer(model, "upweight:alpha=5,layers=0,heads=1;2,queries=all", audio_mask=masks.audio, query_mask=masks.queries):
        got = capture_layer(model, 0, lambda: model(**batch))
    valid = batch["attention_mask"].bool()
    for head in range(model.config.text_config.num_attention_heads):
        same = torch.equal(got["out"][:, :, head][valid], base["out"][:, :, head][valid])
        assert same == (head not in (1, 2)), f"head {head}"


def test_batched_results_equal_single_item_results(loaded, arch, batch):
    processor, model = loaded
    cfg = parse_intervention("upweight:alpha=4,layers=all,queries=keyword+last")
    masks = masks_for(processor, model, batch, cfg.queries)
    with steer(model, cfg, audio_mask=masks.audio, query_mask=masks.queries):
        batched = logits(model, batch)[:, -1]
    for row, (task, seconds) in enumerate(zip(TASKS_OF_BATCH, (2.0, 3.1))):
        alone = encode(arch, processor, (task,), (seconds,))
        single_masks = masks_for(processor, model, alone, cfg.queries, (task,))
        with steer(model, cfg, audio_mask=single_masks.audio, query_mask=single_masks.queries):
            single = logits(model, alone)[0, -1]
        torch.testing.assert_close(batched[row], single, atol=1e-5, rtol=0)


@pytest.mark.parametrize("queries", ["last", "keyword"])
def test_cached_generation_equals_uncached_decoding_with_generated_rows_steered_for_last(loaded, batch, queries):
    """The documented choice: prefill steers the selected prompt rows; each decoding step steers the
    new token's row for ``last`` (not for ``keyword``).  A greedy loop without cache, where the rows
    after the prompt follow the same rule, must give the same tokens and logits."""
    processor, model = loaded
    cfg = InterventionConfig("upweight", alpha=8.0, layers="all", queries=queries)
    masks = masks_for(processor, model, batch, queries)
    steps = 3
    with torch.no_grad():
        plain = model.generate(**batch, max_new_tokens=steps, do_sample=False, output_logits=True, return_dict_in_generate=True)
        with steer(model, cfg, audio_mask=masks.audio, query_mask=masks.queries) as steering:
            cached = model.generate(**batch, max_new_tokens=steps, do_sample=False, output_logits=True, return_dict_in_generate=True)
        assert steering.forwards == steps
        extra = {k: v for k, v in batch.items() if k not in ("input_ids", "attention_mask")}
        ids, mask, uncached = batch["input_ids"], batch["attention_mask"], []
        with steer(model, cfg, audio_mask=masks.audio, query_mask=masks.queries):
            for _ in range(steps):
                positions = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)  # as generate computes them
                out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=False, **extra).logits[:, -1]
                uncached.append(out)
                ids = torch.cat([ids, out.argmax(-1, keepdim=True)], dim=1)
                mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
    assert torch.equal(cached.sequences, ids)
    for a, b in zip(cached.logits, uncached):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=0)
    assert not torch.allclose(cached.logits[0], plain.logits[0])  # the intervention did something


# --- masks ---------------------------------------------------------------------------------------


def test_intervention_masks_pick_the_last_token_and_the_task_keyword(loaded, batch):
    processor, model = loaded
    masks = masks_for(processor, model, batch, "keyword+last")
    ids, valid = batch["input_ids"], batch["attention_mask"].bool()
    assert torch.equal(masks.audio, (ids == model.config.audio_token_id) & valid)
    assert masks.audio.sum(1).tolist() == [50, 77]  # 25 per second: 2.0 s -> 200 mel frames -> 50; 3.1 s -> 310 -> 77
    for row, word in enumerate(("earliest", "longest")):
        chosen = masks.queries[row].nonzero()[:, 0].tolist()
        assert chosen[-1] == ids.shape[1] - 1  # the final prompt token
        keyword = processor.tokenizer.decode(ids[row, chosen[:-1]])
        assert keyword.strip() == word
    last_only = masks_for(processor, model, batch, "last")
    assert last_only.queries.sum().item() == 2 and last_only.queries[:, -1].all()
    everything = masks_for(processor, model, batch, "all")
    assert torch.equal(everything.queries, valid)


def test_keyword_queries_fail_loudly_when_the_prompt_lacks_the_keyword(loaded, batch):
    processor, model = loaded
    with pytest.raises(InterventionError, match=r"question 'Which sound event ends latest in the given audio\?' does not occur in the prompt"):
        masks_for(processor, model, batch, "keyword", tasks=("latest_offset", "longest_duration"))
    with pytest.raises(InterventionError, match="needs task_per_row"):
        intervention_masks(processor, batch["input_ids"], batch["attention_mask"], model.config.audio_token_id, None, "keyword")


def test_right_padded_batches_are_refused(loaded, batch):
    processor, model = loaded
    right = batch["attention_mask"].flip(1)
    with pytest.raises(InterventionError, match="right-padded"):
        intervention_masks(processor, batch["input_ids"], right, model.config.audio_token_id, TASKS_OF_BATCH, "last")


def test_oracle_window_keeps_the_audio_tokens_overlapping_the_seconds():
    audio = torch.tensor([[False, True, True, True, True, True, False]])  # 5 audio tokens
    kept = window_mask(audio, (0.05, 0.12), tokens_per_second=25)  # tokens span 0.04 s each
    # token i spans [0.04 i, 0.04 (i+1)): tokens 1 (0.04-0.08), 2 (0.08-0.12) overlap [0.05, 0.12)
    assert kept.tolist() == [[False, False, True, True, False, False, False]]
    per_row = window_mask(audio.repeat(2, 1), [(0.0, 0.04), None], tokens_per_second=25)  # one window per item
    assert per_row.tolist() == [[False, True, False, False, False, False, False], audio[0].tolist()]


def test_oracle_window_restricts_the_edit_to_those_audio_keys(loaded, batch):
    processor, model = loaded
    masks = masks_for(processor, model, batch, "last")
    cfg = parse_intervention("scale:alpha=3,layers=1,window=0.4-1.0,tps=25")
    with steer(model, cfg, audio_mask=masks.audio, query_mask=masks.queries):
        got = capture_layer(model, 1, lambda: model(**batch))
    keys = window_mask(masks.audio, (0.4, 1.0), 25.0)
    assert keys.sum(1).tolist() == [15, 15]
    edit = masks.queries[:, None, :, None] & keys[:, None, None, :]
    want = weighted_output(softmax_masked(torch.where(edit, 3 * got["z"], got["z"]), allowed_keys(batch["attention_mask"])), got["v"])
    for b, r in rows_of(masks.queries):
        torch.testing.assert_close(got["out"][b, r].double(), want[b, r], atol=2e-6, rtol=0)


# --- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "layers", "heads"),
    [
        ("scale:alpha=2.0,layers=20,queries=keyword+last", (20,), None),
        ("upweight:alpha=3,layers=10-15", tuple(range(10, 16)), None),
        ("upweight:alpha=3,layers=1;3;5,heads=0;2-3", (1, 3, 5), (0, 2, 3)),
        ("redistribute:tau=0.5,layers=all", "all", None),
    ],
)
def test_parse_intervention_reads_layer_and_head_lists_and_round_trips(spec, layers, heads):
    cfg = parse_intervention(spec)
    assert cfg.layers == layers and cfg.heads == heads
    assert parse_intervention(cfg.spec()) == cfg
    assert InterventionConfig.from_dict(cfg.to_dict()) == cfg


def test_to_dict_is_stable_and_none_is_only_its_kind():
    cfg = InterventionConfig("scale", alpha=2, layers=[20, 20, 3], queries="keyword+last")
    assert cfg.to_dict() == {
        "kind": "scale", "alpha": 2.0, "layers": [3, 20], "heads": None, "queries": "keyword+last",
        "window": None, "tokens_per_second": None, "prefill_only": False, "oracle": False,
    }  # fmt: skip
    assert InterventionConfig("none", alpha=5.0).to_dict() == {"kind": "none"}
    assert InterventionConfig().describe() == "no intervention"


def test_describe_labels_the_time_window_as_oracle_analysis():
    cfg = parse_intervention("upweight:alpha=2,layers=4,window=2.5-7,tps=25")
    assert "ORACLE" in cfg.describe() and cfg.to_dict()["oracle"] is True
    assert "ORACLE" not in parse_intervention("upweight:alpha=2,layers=4").describe()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("scale:alpha=0", "alpha must be > 0"),
        ("upweight:alpha=-1", "alpha must be > 0"),
        ("redistribute:tau=0", "temperature tau"),
        ("scale:alpha=2,queries=keywords", "Did you mean: keyword"),
        ("scal:alpha=2", "Unknown intervention kind 'scal'. Did you mean: scale"),
        ("scale:alpha=2,layer=3", "Unknown intervention key 'layer'. Did you mean: layers"),
        ("scale:alpha=2,layers=5-3", "runs backwards"),
        ("scale:alpha=2,layers=1,3", "write key=value"),
        ("scale:alpha=2,window=5-2", "start < end"),
    ],
)
def test_invalid_intervention_specs_are_config_errors(spec, message):
    with pytest.raises(ConfigError, match=message):
        parse_intervention(spec)


# --- failing loudly ------------------------------------------------------------------------------


def test_layer_or_head_out_of_range_fails_before_inference(loaded, batch):
    processor, model = loaded
    masks = masks_for(processor, model, batch, "last")
    with pytest.raises(InterventionError, match="layer 2 is out of range: the language model has 2 layers"):
        with steer(model, "scale:alpha=2,layers=2", audio_mask=masks.audio, query_mask=masks.queries):
            pytest.fail("the body must not run")
    with pytest.raises(InterventionError, match="head 4 is out of range"):
        with steer(model, "scale:alpha=2,heads=4", audio_mask=masks.audio, query_mask=masks.queries):
            pytest.fail("the body must not run")
    assert model.config.text_config._attn_implementation == "sdpa"


def test_missing_or_mismatched_masks_fail_before_or_at_the_first_forward(loaded, arch, batch):
    processor, model = loaded
    with pytest.raises(InterventionError, match="needs audio_mask and query_mask"):
        with steer(model, "scale:alpha=2"):
            pass
    with pytest.raises(InterventionError, match="window needs tokens_per_second"):
        masks = masks_for(processor, model, batch, "last")
        with steer(model, "scale:alpha=2,window=1-2", audio_mask=masks.audio, query_mask=masks.queries):
            pass
    single = encode(arch, processor, TASKS_OF_BATCH[:1], (2.0,))
    masks = masks_for(processor, model, single, "last", TASKS_OF_BATCH[:1])
    with pytest.raises(InterventionError, match="batch of 2 rows but the masks have 1"):
        with steer(model, "scale:alpha=2", audio_mask=masks.audio, query_mask=masks.queries):
            logits(model, batch)
    assert model.config.text_config._attn_implementation == "sdpa"


def test_a_context_in_which_the_model_never_runs_fails(loaded, batch):
    processor, model = loaded
    masks = masks_for(processor, model, batch, "last")
    with pytest.raises(InterventionError, match="never ran inside the context"):
        with steer(model, "scale:alpha=2,layers=0", audio_mask=masks.audio, query_mask=masks.queries):
            pass


def test_plain_torch_module_cannot_be_steered():
    with pytest.raises(InterventionError, match="not a transformers PreTrainedModel"):
        with steer(torch.nn.Linear(2, 2), "none"):
            pass


class OwnConfig(transformers.PretrainedConfig):
    model_type = "tacos_own_attention_test"

    def __init__(self, num_hidden_layers=2, num_attention_heads=2, **kwargs):
        self.num_hidden_layers, self.num_attention_heads = num_hidden_layers, num_attention_heads
        super().__init__(**kwargs)


nn = torch.nn


class OwnAttention(nn.Module):  # computes attention itself, never through transformers' registry
    def forward(self, x):
        return torch.softmax(x @ x.T, dim=-1) @ x


class OwnModel(transformers.PreTrainedModel):
    config_class = OwnConfig

    def __init__(self, config):
        super().__init__(config)
        self.attn = OwnAttention()
        self.post_init()

    def forward(self, x):
        return self.attn(x)


def test_model_whose_attention_implementation_cannot_be_switched_fails_on_entry():
    """transformers refuses to switch this module's attention (its source defines an attention class
    that never calls the registry): nothing may run."""
    model = OwnModel(OwnConfig())
    with pytest.raises(InterventionError, match="does not go through the AttentionInterface"):
        with steer(model, "none"):
            pytest.fail("the body must not run")
    assert model.config._attn_implementation != ATTENTION_NAME


def test_attention_switched_away_inside_the_context_fails_at_the_next_forward(loaded, batch):
    processor, model = loaded
    with pytest.raises(InterventionError, match="never called the registered attention function"):
        with steer(model, "none"):
            model.set_attn_implementation({"text_config": "sdpa"})
            logits(model, batch)
    assert model.config.text_config._attn_implementation == "sdpa"


def test_fewer_layers_reached_than_named_fails_at_the_first_forward(tiny_dirs, arch):
    processor, model = load(tiny_dirs[arch], arch)

    class SkippedLayer(torch.nn.Module):  # a pruned model: layer 1 passes its input through
        def forward(self, hidden_states, *args, **kwargs):
            return hidden_states

    model.get_decoder().layers[1] = SkippedLayer()
    inputs = encode(arch, processor, TASKS_OF_BATCH, (2.0, 3.1))
    masks = masks_for(processor, model, inputs, "last")
    with pytest.raises(InterventionError, match=r"layers \[1\] never reached the registered attention function \(reached: \[0\]\)"):
        with steer(model, "scale:alpha=2,layers=0;1", audio_mask=masks.audio, query_mask=masks.queries):
            logits(model, inputs)
    with steer(model, "scale:alpha=2,layers=0", audio_mask=masks.audio, query_mask=masks.queries) as steering:
        logits(model, inputs)  # naming only reachable layers is fine
    assert steering.layers_reached == {0}


def test_eager_model_is_steered_and_gets_eager_back_even_after_an_error(tiny_dirs, arch):
    processor, model = load(tiny_dirs[arch], arch, attn_implementation={"text_config": "eager"})
    inputs = encode(arch, processor, TASKS_OF_BATCH, (2.0, 3.1))
    masks = masks_for(processor, model, inputs, "last")
    with steer(model, "upweight:alpha=2,layers=all", audio_mask=masks.audio, query_mask=masks.queries) as steering:
        logits(model, inputs)
    assert steering.layers_reached == {0, 1}
    assert model.config.text_config._attn_implementation == "eager"
    with pytest.raises(RuntimeError, match="boom"):
        with steer(model, "none"):
            logits(model, inputs)
            raise RuntimeError("boom")
    assert model.config.text_config._attn_implementation == "eager"


def test_steer_contexts_do_not_nest_on_one_model(loaded, batch):
    processor, model = loaded
    masks = masks_for(processor, model, batch, "last")
    with pytest.raises(InterventionError, match="do not nest"):
        with steer(model, "none"):
            logits(model, batch)
            with steer(model, "scale:alpha=2", audio_mask=masks.audio, query_mask=masks.queries):
                pass
    assert model.config.text_config._attn_implementation == "sdpa"
