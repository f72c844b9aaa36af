"""The harness at Qwen2-Audio's real shapes: real vocabulary, real width, 30 s clips (issue 11).

    python bench/bench_real_shapes.py [--clips 6] [--seconds 30] [--batch-size 8] [--threads 2]

The model is a random-weight Qwen2-Audio with the **real Qwen2 tokenizer** (151,643 ranks + the
Qwen2-Audio specials, :func:`tacos_temporal.harness.tokenizers.real_tokenizer`), the real
vocabulary size (156,032 embedding rows) and the real widths of Qwen2-Audio-7B-Instruct (language
model hidden 3584, MLP 18944, 28 heads / 4 kv heads; audio encoder d_model 1280, 20 heads, MLP
5120), so the width-to-vocabulary proportions are the real ones.  Only the depth is cut (1 language
layer, 1 encoder layer instead of 32 + 32), which makes the output head (3584 x 156,032) a larger
share of the work than in the real model: that is exactly the cost a per-position head wastes.
bfloat16 weights, as the model is run.  The items follow the benchmark's 3/2/1 questions per clip
(``bench_harness.clip_structure``), every clip re-encoded to ``--seconds`` of audio.

Variants, one after the other in this process, with the model loaded once per loader:

  naive                  per item: decode, chat template, processor, ``generate`` (10 tokens), as
                         the authors' scripts do (the model's forward makes logits at every position)
  generate               tacos_temporal.harness, generate mode (batched, audio prefix shared per clip)
  logprob                the harness, logprob mode (one forward pass per batch)
  logprob-full-logits    the harness's logprob mode as it was before issue 11: the output head at
                         every prompt position (emulated here by switching the last-position head off)

Peak memory: the peak resident set (``VmHWM``, reset through ``/proc/self/clear_refs`` right before
each variant) above the resident set at that moment, in this process.  Ratios are against ``naive``
in the same run.  Time shares: audio encoder, language-model layers, output head, and the rest
(processor, decoding loop, Python), measured with forward hooks.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_harness import _rss_mb, clip_structure, harness, load_plain, long_release, naive, structured_dataset  # noqa: E402

VARIANTS = ("naive", "generate", "logprob", "logprob-full-logits")
#: Qwen2-Audio-7B-Instruct's widths (config.json of the Hub repo), depth cut to one layer each.
TEXT = {"hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 1, "num_attention_heads": 28, "num_key_value_heads": 4, "vocab_size": 156032}
AUDIO = {"d_model": 1280, "encoder_layers": 1, "encoder_attention_heads": 20, "encoder_ffn_dim": 5120}


def build_model(folder: Path) -> Path:
    import torch
    import transformers

    from tacos_temporal.harness.tiny import make_tiny_model

    make_tiny_model("qwen2_audio", folder, overwrite=True, tokenizer="real")
    config = transformers.AutoConfig.from_pretrained(folder)
    text = {**config.text_config.to_dict(), **TEXT}
    text.pop("layer_types", None)
    config.text_config = type(config.text_config)(**text)
    config.audio_config = type(config.audio_config)(**{**config.audio_config.to_dict(), **AUDIO})
    config.dtype = "bfloat16"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = transformers.AutoModelForMultimodalLM.from_config(config, dtype=torch.bfloat16)
    for name in ("model.safetensors",):
        (folder / name).unlink(missing_ok=True)
    model.save_pretrained(folder)
    return folder


class Shares:
    """Seconds in the audio encoder, the language-model layers and the output head (forward hooks)."""

    def __init__(self, model):
        self.totals = {"encoder": 0.0, "lm_layers": 0.0, "head": 0.0}
        starts, self.handles = {}, []
        head = model.get_output_embeddings()
        for name, module in (("encoder", model.model.audio_tower), ("lm_layers", model.model.language_model), ("head", head)):
            self.handles.append(module.register_forward_pre_hook(lambda m, a, name=name: starts.__setitem__(name, time.perf_counter())))
            self.handles.append(module.register_forward_hook(lambda m, a, o, name=name: self.totals.__setitem__(name, self.totals[name] + time.perf_counter() - starts[name])))

    def close(self) -> dict[str, float]:
        for h in self.handles:
            h.remove()
        return self.totals


@contextlib.contextmanager
def full_logits():
    """The logprob branch as before issue 11: the head sees every position (letters read at the last)."""
    import torch

    from tacos_temporal.harness import models

    original = models.last_position_head

    @contextlib.contextmanager
    def every_position(model, letter_ids):
        first = []
        head = models.output_head(model)
        hook = head.register_forward_hook(lambda m, a, out: first or first.append(torch.log_softmax(out[:, -1, :].float(), dim=-1)[:, letter_ids]))
        try:
            yield first
        finally:
            hook.remove()

    models.last_position_head = every_position
    try:
        yield
    finally:
        models.last_position_head = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", type=Path, help="keep the model and data here (reused when present)")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args()

    import torch

    from tacos_temporal.harness.config import RunConfig
    from tacos_temporal.harness.models import load_runner

    torch.set_num_threads(args.threads)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="tacos-bench-real-"))
    model_dir, dataset_dir = work / "model", work / "dataset"
    if not (model_dir / "model.safetensors").is_file():
        build_model(model_dir)
    if not (dataset_dir / "README.md").is_file():
        release = long_release(work / "release", max(36, args.clips * 2), args.seconds)
        structured_dataset(release, dataset_dir, args.clips)
    load1 = os.getloadavg()[0]
    runner = load_runner(RunConfig(model=str(model_dir)))
    loaded = (runner.processor, runner.model)  # the same weights for the naive loop
    harness(model_dir, dataset_dir, "logprob", args.batch_size, runner)  # warm-up

    results = {}
    for name in VARIANTS:
        shares = Shares(runner.model)
        before = _rss_mb("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
        start = time.perf_counter()
        if name == "naive":
            n = naive(model_dir, dataset_dir, loaded)
        elif name == "logprob-full-logits":
            with full_logits():
                n = harness(model_dir, dataset_dir, "logprob", args.batch_size, runner)
        else:
            n = harness(model_dir, dataset_dir, name, args.batch_size, runner)
        seconds = time.perf_counter() - start
        results[name] = {"items": n, "seconds": seconds, "peak_mb": _rss_mb("VmHWM") - before, "shares": shares.close()}
    load2 = os.getloadavg()[0]

    base = results["naive"]["items"] / results["naive"]["seconds"]
    print(f"{results['naive']['items']} items over {args.clips} clips ({'/'.join(map(str, clip_structure(args.clips)))} questions), "
          f"{args.seconds:.0f} s audio, batch {args.batch_size}, {args.threads} threads, bfloat16; "
          f"vocabulary 156,032, hidden 3584; load average {load1:.1f} -> {load2:.1f} on {os.cpu_count()} cores")
    print(f"{'variant':<20} {'items/s':>8} {'vs naive':>9} {'peak mem':>10}   time: encoder / LM layers / head / rest")
    for name, r in results.items():
        rate = r["items"] / r["seconds"]
        s = r["shares"]
        rest = max(r["seconds"] - sum(s.values()), 0.0)
        parts = " / ".join(f"{100 * x / r['seconds']:4.1f}%" for x in (s["encoder"], s["lm_layers"], s["head"], rest))
        print(f"{name:<20} {rate:8.3f} {rate / base:8.2f}x {r['peak_mb']:8.0f} MB   {parts}")
    if args.json:
        args.json.write_text(json.dumps({"load_average": [load1, load2], "args": {k: str(v) for k, v in vars(args).items()}, "results": results}, indent=2) + "\n")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
