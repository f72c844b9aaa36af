"""The same item gets the same answer however it is batched (issue 11), at real vocabularies.

Tiny random-weight models of every architecture the harness runs (Qwen2-Audio, Audio Flamingo 3,
DeSTA2.5), each with its REAL tokenizer (Qwen2's 151,643 ranks, Llama-3.1's 128,000) and the
language model at the real vocabulary size.  Eight items over three clips of different lengths give
rows with different amounts of left padding.  One item of each clip (the shortest prompts among them)
is answered alone (batch 1) and inside the batch of 8, with and without the shared audio prefix, in
both modes.

* float32: the letters' log-probabilities agree within 1e-4 and the generated texts are equal.
* bfloat16: batching must not move an answer by more than bfloat16 itself does.  The noise is
  measured, not assumed: ``|bf16 - fp32|`` of the same items at batch 1.  Every batch-8 log-prob is
  within that noise of its batch-1 value (before the logprob branch passed position ids, left-padded
  rows moved by 0.19), and wherever the top-two margin exceeds twice the noise the letter is the same.
"""

from __future__ import annotations

import numpy as np
import pytest

from tacos_temporal.harness.config import RunConfig
from tacos_temporal.harness.models import HFRunner
from tacos_temporal.names import LETTERS, QUESTIONS

import torch  # noqa: E402

ARCHS = ("qwen2_audio", "audioflamingo3", "desta25")
SR = 16_000
_OPTIONS = ("Dog Barking", "Siren", "Thunder", "Human Speech", "Bird Chirp", "Raining", "Car driving by", "Bell Ringing and distant traffic")


def _clips():
    rng = np.random.default_rng(7)
    return [rng.standard_normal(int(seconds * SR)).astype(np.float32) * 0.1 for seconds in (3.0, 1.5, 2.2)]


def _prompt(k: int) -> str:
    question = list(QUESTIONS.values())[k % 3]
    options = "\n".join(f"{letter}. {_OPTIONS[(k + i * 3) % len(_OPTIONS)]}" for i, letter in enumerate(LETTERS))
    tail = " Think about the order." * (k % 4)  # different lengths, so rows are padded differently
    return f"{question}{tail}\n{options}\nAnswer with just the letter (A, B, C, or D)."


#: 8 items: clip 0 has 3 questions, clip 1 has 3, clip 2 has 2 (the benchmark asks 3/2/1 per clip).
ITEMS = [(0, 0), (0, 1), (0, 2), (1, 3), (1, 4), (1, 5), (2, 6), (2, 7)]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    from tacos_temporal.harness.tiny import make_tiny_model
    from tacos_temporal.harness.tiny_desta25 import make_tiny_desta25

    root = tmp_path_factory.mktemp("real-vocab")
    out = {arch: make_tiny_model(arch, root / arch, tokenizer="real") for arch in ARCHS[:2]}
    out["desta25"] = make_tiny_desta25(root / "desta25", tokenizer="real")
    return out


#: Items answered alone as the reference: one per clip, the shortest prompts (most left padding in
#: the batch of 8) among them.
SINGLES = (0, 4, 7)


def _answers(runner, mode: str, batch: int, reuse: bool, only=None):
    """Outputs for ``ITEMS`` (or the indices ``only``), in batches of ``batch`` consecutive items."""
    clips = _clips()
    chosen = list(range(len(ITEMS))) if only is None else list(only)
    rendered = {i: runner.render(_prompt(ITEMS[i][1]), with_audio=True) for i in chosen}
    outputs = []
    for start in range(0, len(chosen), batch):
        chunk = chosen[start : start + batch]
        if reuse:
            groups = []
            for i in chunk:
                clip = ITEMS[i][0]
                if groups and groups[-1][0] is clips[clip]:
                    groups[-1][1].append(rendered[i])
                else:
                    groups.append((clips[clip], [rendered[i]]))
            outputs += runner.answer_shared(groups, mode=mode, max_new_tokens=3)
        else:
            outputs += runner.answer([rendered[i] for i in chunk], [clips[ITEMS[i][0]] for i in chunk], mode=mode, max_new_tokens=3, item_ids=[str(i) for i in chunk])
    return outputs


def _matrix(outputs) -> np.ndarray:
    return np.array([[o.logprobs[x] for x in LETTERS] for o in outputs])


@pytest.fixture(scope="module")
def runners(folders):
    """float32 runners; the bfloat16 ones are the same weights cast (what ``dtype=bfloat16`` loads)."""
    import copy

    import tacos_temporal.ports.desta25  # noqa: F401

    out = {}
    for arch in ARCHS:
        runner = HFRunner(RunConfig(model=str(folders[arch]), device="cpu", dtype="float32"))
        half = copy.copy(runner)
        half.model = copy.deepcopy(runner.model).to(torch.bfloat16)
        out[(arch, "float32")], out[(arch, "bfloat16")] = runner, half
    return out


@pytest.mark.parametrize("arch", ARCHS)
def test_float32_batch_of_8_equals_batch_of_1_with_and_without_reuse_in_both_modes(runners, arch):
    """Also: the output head only ever sees one position per row (no (batch, length, vocabulary)
    logits), at pre-fill and at every decoding step, in both modes, with and without reuse."""
    from tacos_temporal.harness.models import output_head

    runner = runners[(arch, "float32")]
    assert runner.check_prefix_split([runner.render(_prompt(k), with_audio=True) for k in range(3)], _clips()[0]) is None
    seen = []
    for mode in ("logprob", "generate"):
        reference = _answers(runner, mode, batch=1, reuse=False, only=SINGLES)
        for reuse in (False, True):
            hook = output_head(runner.model).register_forward_hook(lambda module, args, out: seen.append(tuple(out.shape)))
            try:
                outputs = _answers(runner, mode, batch=8, reuse=reuse)
            finally:
                hook.remove()
            batched = [outputs[i] for i in SINGLES]
            np.testing.assert_allclose(_matrix(batched), _matrix(reference), atol=1e-4, rtol=0, err_msg=f"{mode}, reuse {reuse}")
            assert [o.text for o in batched] == [o.text for o in reference]
    assert seen and all(shape[1] == 1 for shape in seen), seen


@pytest.mark.parametrize("arch", ARCHS)
def test_bfloat16_batching_moves_answers_less_than_bfloat16_itself(runners, arch):
    exact = _matrix(_answers(runners[(arch, "float32")], "logprob", batch=1, reuse=False, only=SINGLES))
    runner = runners[(arch, "bfloat16")]
    alone = _matrix(_answers(runner, "logprob", batch=1, reuse=False, only=SINGLES))
    noise = np.abs(alone - exact).max()
    assert noise > 0  # bf16 really rounds: the bound below is a measured one
    for reuse in (False, True):
        batched = _matrix(_answers(runner, "logprob", batch=8, reuse=reuse))[list(SINGLES)]
        moved = np.abs(batched - alone).max()
        assert moved <= noise, f"reuse={reuse}: batching moved log-probs by {moved:.4f} > bf16 noise {noise:.4f}"
        top2 = np.sort(alone, axis=1)[:, -2:]
        clear = (top2[:, 1] - top2[:, 0]) > 2 * noise
        assert (alone.argmax(1)[clear] == batched.argmax(1)[clear]).all()


def test_desta25_reuse_is_exact_although_llama3_merges_end_audio_with_the_blank_line(runners):
    """With the real Llama-3.1 tokenizer the text after the audio (``<end_audio>`` + blank line)
    ends in one merged token, so prompt text cut at the audio marker does not tokenize like the
    whole prompt; the token-space split still reproduces the processor's tokens exactly."""
    runner = runners[("desta25", "float32")]
    tok = runner.tokenizer
    ends = tok.encode("<end_audio>\n\nWhich", add_special_tokens=False)
    assert tok.decode(ends[-2:-1]) == ">\n\n"  # one token across the cut
    rendered = [runner.render(_prompt(k), with_audio=True) for k in range(3)]
    audio = _clips()[0]
    prefix, suffixes = runner.split_prefix(rendered)
    head = runner.encode([prefix], [audio])["input_ids"][0].tolist()
    whole = runner.encode([prefix + suffixes[0]], [audio])["input_ids"][0].tolist()
    assert head + tok(suffixes[0], add_special_tokens=False)["input_ids"] != whole  # a string-level split is not exact
    assert runner.check_prefix_split(rendered, audio) is None  # the token-space split is
    split = runner.split_tokens(head, suffixes)
    assert split[0] + split[1][0] == whole

