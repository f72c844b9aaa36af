"""Cost of the registered attention function, of an intervention and of the attention analysis.

    python bench/bench_interventions.py [--repeat 15] [--batch 1] [--memory-batch 2] [--json out.json]

The model is a random-weight Qwen2-Audio built from its config here (no download): language model
4 layers x 512 (8 heads, 2 KV heads, MLP 1408), audio encoder 2 layers x 256, one 30 s clip per item
(750 audio tokens + the prompt, about 800 tokens); the tokenizer and processor come from
``tacos_temporal.harness.tiny``.  float32 on CPU.

**Time.**  Every variant runs in this process, interleaved (one call of each per round), and the
median over rounds is compared with the median of plain ``sdpa`` of the same rounds.  Two forwards
are timed: the whole model (audio encoder included) and the language model alone
(``model.get_decoder()(inputs_embeds=...)``), where the overhead lives.  Targets: function active
without intervention <= 1.1x, an intervention on one layer <= 1.3x.

**Memory.**  Each variant runs in a fresh interpreter (``--memory-child``): build model and inputs,
run a warm-up forward of the same kind, reset the kernel's peak-RSS counter
(``echo 5 > /proc/self/clear_refs``), run one forward and read the peak (``VmHWM`` in
``/proc/self/status``) minus the resident set before it: the forward's peak working memory, for
the whole model and for the language model alone.  glibc's mmap threshold is fixed at 64 KiB in the child, so freed tensors go back
to the OS and set-up leftovers cannot hide the forward.  Linux only.  Median of three processes.
Compared: plain sdpa, :func:`record_attention` (all layers), and ``output_attentions=True`` with
eager attention in the language model (the usual way).  Target: the analysis >= 10x less than
``output_attentions``.  The script prints the peaks and the peaks above plain sdpa (what the
analysis itself costs); RSS is what the OS sees (torch's CPU allocations are not visible to
``tracemalloc``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SR = 16_000
TEXT = {"hidden_size": 512, "intermediate_size": 1408, "num_hidden_layers": 4, "num_attention_heads": 8, "num_key_value_heads": 2}
AUDIO = {"d_model": 256, "encoder_layers": 2, "encoder_attention_heads": 4, "encoder_ffn_dim": 1024, "num_mel_bins": 128, "max_source_positions": 1500}
PROMPT = (
    "Which sound event starts earliest in the given audio?\nA. Dog Barking\nB. Rain\nC. Siren\nD. Thunder\n"
    "Answer with just the letter (A, B, C, or D)."
)


def build(batch: int):
    """(processor, model, inputs) of the benchmark model; deterministic."""
    import numpy as np
    import torch
    from transformers import AutoProcessor, Qwen2AudioConfig, Qwen2AudioForConditionalGeneration

    from tacos_temporal.harness.adapters import get_adapter
    from tacos_temporal.harness.tiny import make_tiny_model

    folder = make_tiny_model("qwen2_audio", Path(tempfile.mkdtemp(prefix="bench-steer-")) / "tiny")
    processor = AutoProcessor.from_pretrained(folder)
    processor.tokenizer.padding_side = "left"
    tokenizer = processor.tokenizer
    text = dict(TEXT, vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    config = Qwen2AudioConfig(audio_config=dict(AUDIO), text_config=text, audio_token_index=tokenizer.convert_tokens_to_ids("<|AUDIO|>"))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = Qwen2AudioForConditionalGeneration(config).eval()
    adapter = get_adapter("qwen2_audio")
    rendered = adapter.render(processor, adapter.conversation(PROMPT, with_audio=True))
    audios = [(0.1 * np.random.RandomState(i).randn(30 * SR)).astype("float32") for i in range(batch)]
    inputs = adapter.encode(processor, [rendered] * batch, audios, SR)
    return processor, model, inputs


def variants(processor, model, inputs):
    """name -> context-manager factory.  ``None`` = plain sdpa."""
    import contextlib

    from tacos_temporal.harness.attention import modality_masks, record_attention
    from tacos_temporal.harness.interventions import intervention_masks, steer

    ids, mask, audio_id = inputs["input_ids"], inputs["attention_mask"], model.config.audio_token_id
    tasks = ["earliest_onset"] * ids.shape[0]
    masks = {q: intervention_masks(processor, ids, mask, audio_id, tasks, q) for q in ("last", "keyword+last", "all")}
    modal = modality_masks(processor, ids, mask, audio_id)

    def steering(spec, queries):
        return lambda: steer(model, spec, audio_mask=masks[queries].audio, query_mask=masks[queries].queries)

    return {
        "sdpa": contextlib.nullcontext,
        "function, no intervention": steering("none", "last"),
        "scale, 1 layer, last": steering("scale:alpha=2,layers=1,queries=last", "last"),
        "scale, 1 layer, keyword+last": steering("scale:alpha=2,layers=1,queries=keyword+last", "keyword+last"),
        "scale, 1 layer, all queries": steering("scale:alpha=2,layers=1,queries=all", "all"),
        "scale, all layers, last": steering("scale:alpha=2,layers=all,queries=last", "last"),
        "analysis (record_attention)": lambda: record_attention(model, modal),
    }


def time_forwards(repeat: int, batch: int) -> dict:
    import torch

    processor, model, inputs = build(batch)
    runs = variants(processor, model, inputs)
    language_model = language_model_call(model, inputs)
    calls = {
        "whole model": lambda: model(**inputs),
        "language model": language_model,
    }
    times = {part: {name: [] for name in runs} for part in calls}
    with torch.no_grad():
        for part, call in calls.items():
            for name, context in runs.items():  # warm-up
                with context():
                    call()
            for _ in range(repeat):
                for name, context in runs.items():
                    with context():
                        start = time.perf_counter()
                        call()
                        times[part][name].append(time.perf_counter() - start)
    out = {}
    for part, by_name in times.items():
        base = statistics.median(by_name["sdpa"])
        out[part] = {name: {"median_s": statistics.median(t), "ratio": statistics.median(t) / base} for name, t in by_name.items()}
    out["tokens"] = int(inputs["input_ids"].shape[1])
    out["audio_tokens"] = int((inputs["input_ids"][0] == model.config.audio_token_id).sum())
    return out


def language_model_call(model, inputs):
    """A call of the language model alone, fed the embeddings (audio features merged) that the whole
    model gives it: what the overhead of the attention function touches."""
    import torch

    decoder = model.get_decoder()
    seen = {}

    def keep(module, args, kwargs):
        seen.setdefault("embeds", kwargs["inputs_embeds"])

    handle = decoder.register_forward_pre_hook(keep, with_kwargs=True)
    with torch.no_grad():
        model(**inputs)
    handle.remove()
    embeds, mask = seen["embeds"], inputs["attention_mask"]
    return lambda **kwargs: decoder(inputs_embeds=embeds, attention_mask=mask, **kwargs)


def memory_child(mode: str, part: str, batch: int) -> None:
    import contextlib

    import torch

    processor, model, inputs = build(batch)
    if mode == "output_attentions (eager)":
        model.set_attn_implementation({"text_config": "eager"})
    call = (lambda **kw: model(**inputs, **kw)) if part == "whole model" else language_model_call(model, inputs)
    context = variants(processor, model, inputs)["analysis (record_attention)"] if mode == "analysis" else contextlib.nullcontext
    kwargs = {"output_attentions": True} if mode.startswith("output_attentions") else {}
    with torch.no_grad(), context():  # warm-up: one-time allocations (thread pools, kernel caches) are not the forward's
        call(**kwargs)
    gc.collect()
    before = _status_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS (VmHWM) to the current RSS
    with torch.no_grad(), context():
        out = call(**kwargs)
    peak = _status_kib("VmHWM")
    kept = sum(a.numel() * a.element_size() for a in out.attentions) if getattr(out, "attentions", None) else 0
    print(json.dumps({"mode": mode, "part": part, "peak_kib": peak - before, "attention_bytes_kept": kept}))


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


#: A fixed mmap threshold: every allocation above 64 KiB gets its own mapping and is returned to the
#: OS when freed, so the resident set follows live memory (glibc's dynamic threshold would otherwise
#: serve the forward from heap pages kept from the set-up and hide it).
CHILD_ENV = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "OMP_NUM_THREADS": "1"}


def measure_memory(batch: int, processes: int = 3) -> dict:
    out = {}
    for part in ("whole model", "language model"):
        out[part] = {}
        for mode in ("sdpa", "analysis", "output_attentions (eager)"):
            peaks = []
            for _ in range(processes):
                result = subprocess.run(
                    [sys.executable, __file__, "--memory-child", mode, "--part", part, "--memory-batch", str(batch)],
                    capture_output=True, text=True, check=True, env=CHILD_ENV,
                )  # fmt: skip
                peaks.append(json.loads(result.stdout.strip().splitlines()[-1])["peak_kib"])
            out[part][mode] = {"peak_mib": statistics.median(peaks) / 1024, "runs_mib": [round(p / 1024, 1) for p in peaks]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--batch", type=int, default=1, help="items per timed forward")
    parser.add_argument("--memory-batch", type=int, default=2, help="items per forward in the memory runs")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for the timing (1: steadier ratios on a shared machine)")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--part", default="whole model", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.part, args.memory_batch)
        return
    import torch
    import transformers

    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.get_num_threads()} threads, float32 CPU")
    timing = time_forwards(args.repeat, args.batch)
    print(f"\nforward time, batch {args.batch}, {timing['tokens']} tokens ({timing['audio_tokens']} audio), median of {args.repeat}:")
    for part in ("whole model", "language model"):
        print(f"  {part}:")
        for name, row in timing[part].items():
            print(f"    {name:32s} {row['median_s'] * 1000:8.1f} ms  {row['ratio']:5.2f}x")
    memory = measure_memory(args.memory_batch)
    print(f"\npeak working memory of one forward (RSS, batch {args.memory_batch}, median of 3 fresh processes):")
    for part, rows in memory.items():
        base = rows["sdpa"]["peak_mib"]
        print(f"  {part}:")
        for mode, row in rows.items():
            print(f"    {mode:32s} {row['peak_mib']:8.1f} MiB  (above sdpa {row['peak_mib'] - base:7.1f} MiB)  runs {row['runs_mib']}")
        eager, analysis = rows["output_attentions (eager)"]["peak_mib"], rows["analysis"]["peak_mib"]
        above = (eager - base) / max(analysis - base, 0.1)  # 0.1 MiB: below that the difference is noise
        print(f"    output_attentions / analysis: {eager / max(analysis, 0.1):.1f}x the whole peak; >= {above:.0f}x the memory above sdpa")
    if args.json:
        args.json.write_text(json.dumps({"timing": timing, "memory": memory}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
