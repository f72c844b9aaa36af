"""Items/s and peak memory of the harness against a naive per-item loop, on a random-weight model.

    python bench/bench_harness.py [--clips 24] [--seconds 30] [--batch-size 8] [--threads 2]

The model is a Qwen2-Audio-architecture checkpoint with random weights, large enough to matter on a
CPU (language model 4 layers x 512, audio encoder 2 layers x 256), built offline from a config; the
data is the demo benchmark with every clip re-encoded to ``--seconds`` of audio (750 audio tokens at
30 s). Variants, timed one after the other in this process:

  naive     the authors' style: per item, decode the MP3, build the prompt, ``generate`` (10 tokens)
  generate  tacos_temporal.harness (batched, sorted by length, each clip decoded once), generate mode
  logprob   the harness in logprob mode (one forward pass, no decoding steps)

The items follow the benchmark's clip structure: of its 718 clips, 339 carry three questions, 261
two and 118 one; ``--clips`` clips are given the same shares of multiplicities (24 clips -> 55 items).
Each harness mode runs with the shared audio prefix (default) and with ``--no-reuse``; the share of
time in feature extraction, audio encoder, pre-fill of prompts holding audio, and the rest (suffixes
and decoding steps) is measured with forward hooks.

Ratios are against ``naive`` measured in the same process.  Peak memory of each variant is measured
in a child process of its own (``--only VARIANT``): the peak resident set (``VmHWM``, reset through
``/proc/self/clear_refs`` once the model is loaded) above the resident set at that moment.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

VARIANTS = ("naive", "generate", "generate-noreuse", "logprob", "logprob-noreuse")
#: Items per clip in the authors' release: 339 clips x 3, 261 x 2, 118 x 1 (1,657 items, 718 clips).
MULTIPLICITY = ((3, 339), (2, 261), (1, 118))


def build_model(folder: Path) -> Path:
    """A random-weight Qwen2-Audio of bench size, with the tiny model's tokenizer and real processor."""
    import torch
    import transformers

    from tacos_temporal.harness.tiny import make_tiny_model

    make_tiny_model("qwen2_audio", folder, overwrite=True)
    config = transformers.AutoConfig.from_pretrained(folder)
    text = {**config.text_config.to_dict(), "hidden_size": 512, "intermediate_size": 1536, "num_hidden_layers": 4, "num_attention_heads": 8, "num_key_value_heads": 4}
    text.pop("layer_types", None)  # derived from num_hidden_layers again
    audio = {**config.audio_config.to_dict(), "d_model": 256, "encoder_layers": 2, "encoder_attention_heads": 4, "encoder_ffn_dim": 1024}
    config.text_config = type(config.text_config)(**text)
    config.audio_config = type(config.audio_config)(**audio)
    torch.manual_seed(0)
    model = transformers.AutoModelForMultimodalLM.from_config(config)
    model.save_pretrained(folder)
    return folder


def long_release(folder: Path, clips: int, seconds: float) -> Path:
    """The demo release with every clip tiled to ``seconds`` (MP3 again, like TACOS clips)."""
    import torch
    from torchcodec.decoders import AudioDecoder
    from torchcodec.encoders import AudioEncoder

    from tacos_temporal.data.demo import make_demo_release

    release = make_demo_release(folder, num_clips=clips, overwrite=True)
    source = release / "audio.zip"
    out = io.BytesIO()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(out, "w") as new:
        for name in old.namelist():
            samples = AudioDecoder(old.read(name)).get_all_samples()
            n = int(seconds * samples.sample_rate)
            tiled = samples.data.repeat(1, n // samples.data.shape[1] + 1)[:, :n]
            data = AudioEncoder(tiled.contiguous(), sample_rate=samples.sample_rate).to_tensor("mp3").numpy().tobytes()
            new.writestr(name, data)
    source.write_bytes(out.getvalue())
    return release


def load_plain(model_dir: Path):
    import transformers

    processor = transformers.AutoProcessor.from_pretrained(model_dir)
    return processor, transformers.AutoModelForMultimodalLM.from_pretrained(model_dir).eval()


def clip_structure(clips: int) -> list[int]:
    """Items per clip for ``clips`` clips, in the release's proportions (largest remainder)."""
    total = sum(n for _, n in MULTIPLICITY)
    exact = [(k, clips * n / total) for k, n in MULTIPLICITY]
    counts = {k: int(v) for k, v in exact}
    for k, v in sorted(exact, key=lambda kv: int(kv[1]) - kv[1])[: clips - sum(counts.values())]:
        counts[k] += 1
    return [k for k, n in counts.items() for _ in range(n)]


def structured_dataset(release: Path, out: Path, clips: int) -> Path:
    """A one-view dataset folder whose items follow :func:`clip_structure` over the release's clips."""
    from datasets import Dataset

    from tacos_temporal.data.card import configs_yaml
    from tacos_temporal.data.items import Item, OptionEvidence, item_id
    from tacos_temporal.data.tacos import TacosRelease
    from tacos_temporal.data.views import view_features
    from tacos_temporal.names import BENCHMARK_VERSION, LETTERS, QUESTIONS, TASKS

    tacos = TacosRelease(release)
    names = sorted(tacos.audio.names())[:clips]
    if len(names) < clips:
        raise SystemExit(f"the release has only {len(names)} clips; pass fewer --clips")
    labels = ["Tone", "Beeping", "Noise burst", "Chirp", "Click train", "Hum"]
    rows = []
    for n, (filename, count) in enumerate(zip(names, clip_structure(clips))):
        data = tacos.audio.read_bytes(filename)
        for task in TASKS[:count]:
            options = tuple(labels[(n + i) % len(labels)] for i in range(4))
            answer = LETTERS[(n + TASKS.index(task)) % 4]
            evidence = tuple(OptionEvidence(l, o, False, None, None, None, ()) for l, o in zip(LETTERS, options))
            item = Item(item_id(task, filename), task, filename, QUESTIONS[task], options, answer, options[LETTERS.index(answer)], 1.0, evidence, 4, BENCHMARK_VERSION)
            clip = tacos.metadata[filename]
            rows.append({**item.to_dict(), "license": clip.license, "attribution": clip.attribution, "source_url": clip.source_url, "clip_duration_s": None, "audio": {"bytes": data, "path": filename}})
    for view in ("audio_only", "audio_caption"):
        (out / "data" / view).mkdir(parents=True, exist_ok=True)
        view_rows = [{**row, "caption": tacos.captions[row["filename"]]} if view == "audio_caption" else row for row in rows]
        Dataset.from_list(view_rows, features=view_features(view)).to_parquet(out / "data" / view / "test-00000-of-00001.parquet")
    (out / "README.md").write_text("---\n" + configs_yaml(("audio_only", "audio_caption")) + "---\nbench data\n")
    return out


class TimeShares:
    """Wall time in feature extraction, the audio encoder, LM passes over prompts holding audio, and the rest."""

    def __init__(self, runner):
        import time as _time

        self.totals = {"features": 0.0, "encoder": 0.0, "prefill": 0.0, "suffix_and_decode": 0.0}
        model = runner.model.model
        audio_id = runner.model.config.audio_token_id
        fe_class = type(runner.processor.feature_extractor)
        original = fe_class.__call__
        self._restore = [lambda: setattr(fe_class, "__call__", original)]
        totals = self.totals

        def timed_call(fe, *args, **kwargs):
            start = _time.perf_counter()
            try:
                return original(fe, *args, **kwargs)
            finally:
                totals["features"] += _time.perf_counter() - start

        fe_class.__call__ = timed_call
        starts = {}

        def pre(name):
            def hook(module, args, kwargs):
                starts[name] = _time.perf_counter()
            return hook

        def post(name):
            def hook(module, args, kwargs, output):
                seconds = _time.perf_counter() - starts.pop(name)
                if name == "encoder":
                    totals["encoder"] += seconds
                else:
                    embeds = kwargs.get("inputs_embeds")
                    long = embeds is not None and embeds.shape[1] > 64
                    totals["prefill" if long else "suffix_and_decode"] += seconds
            return hook

        for name, module in (("encoder", model.audio_tower), ("lm", model.language_model)):
            handles = (module.register_forward_pre_hook(pre(name), with_kwargs=True), module.register_forward_hook(post(name), with_kwargs=True))
            self._restore += [h.remove for h in handles]

    def close(self) -> dict[str, float]:
        for undo in self._restore:
            undo()
        return dict(self.totals)


def naive(model_dir: Path, dataset_dir: Path, loaded=None) -> int:
    """A per-item loop as evaluation scripts of this field are written (model loaded beforehand)."""
    import torch
    from datasets import Audio
    from torchcodec.decoders import AudioDecoder

    from tacos_temporal.data.load import load_view_dataset
    from tacos_temporal.data.prompts import render_prompt
    from tacos_temporal.scoring.parsing import parse_choice

    processor, model = loaded or load_plain(model_dir)
    rows = load_view_dataset(dataset_dir, "audio_only").cast_column("audio", Audio(decode=False))
    for row in rows:
        audio = AudioDecoder(row["audio"]["bytes"], sample_rate=16000, num_channels=1).get_all_samples().data[0].numpy()
        conversation = [{"role": "user", "content": [{"type": "audio"}, {"type": "text", "text": render_prompt(row, "audio_only")}]}]
        text = processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
        inputs = processor(text=text, audio=audio, sampling_rate=16000, return_tensors="pt")
        with torch.inference_mode():
            out = model.generate(**inputs, max_new_tokens=10, do_sample=False)
        parse_choice(processor.batch_decode(out[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)[0], row["options"])
    return len(rows)


def harness(model_dir: Path, dataset_dir: Path, variant: str, batch_size: int, runner=None) -> int:
    from tacos_temporal.harness.config import RunConfig
    from tacos_temporal.harness.runner import evaluate

    mode, _, noreuse = variant.partition("-")
    cfg = RunConfig(model=str(model_dir), mode=mode, batch_size=batch_size, reuse=not noreuse)
    with tempfile.TemporaryDirectory() as tmp:
        result = evaluate(cfg, Path(tmp) / "run", data=dataset_dir, runner=runner, progress=False)
    return len(result.records)


def views_jointly_vs_apart(model_dir: Path, dataset_dir: Path, batch_size: int, runner) -> dict[str, float]:
    """Items/s of two audio views answered together (shared prefixes) and one after the other."""
    from tacos_temporal.harness.config import RunConfig
    from tacos_temporal.harness.runner import evaluate, evaluate_views

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        cfgs = [RunConfig(model=str(model_dir), mode="logprob", view=view, batch_size=batch_size) for view in ("audio_only", "audio_caption")]
        start = time.perf_counter()
        runs = evaluate_views([(cfg, Path(tmp) / "joint" / cfg.view) for cfg in cfgs], data=dataset_dir, runner=runner, progress=False)
        out["joint"] = sum(len(r.records) for r in runs) / (time.perf_counter() - start)
        start = time.perf_counter()
        runs = [evaluate(cfg, Path(tmp) / "apart" / cfg.view, data=dataset_dir, runner=runner, progress=False) for cfg in cfgs]
        out["apart"] = sum(len(r.records) for r in runs) / (time.perf_counter() - start)
    return out


def run_variant(name: str, model_dir: Path, dataset_dir: Path, batch_size: int, runner=None, loaded=None) -> tuple[int, float]:
    """Run one variant with its model already loaded; return (items, seconds)."""
    if name == "naive":
        loaded = loaded or load_plain(model_dir)
    else:
        from tacos_temporal.harness.config import RunConfig
        from tacos_temporal.harness.models import load_runner

        runner = runner or load_runner(RunConfig(model=str(model_dir)))
    start = time.perf_counter()
    n = naive(model_dir, dataset_dir, loaded) if name == "naive" else harness(model_dir, dataset_dir, name, batch_size, runner)
    return n, time.perf_counter() - start


def _rss_mb(field: str) -> float:
    """``VmRSS`` or ``VmHWM`` (peak) of this process from /proc, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--only", choices=VARIANTS, help="(internal) run one variant and print its max RSS")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="tacos-bench-"))
    model_dir, dataset_dir = work / "model", work / "dataset"
    if args.only:
        from tacos_temporal.harness.config import RunConfig
        from tacos_temporal.harness.models import load_runner

        loaded = load_plain(model_dir) if args.only == "naive" else None
        runner = load_runner(RunConfig(model=str(model_dir))) if args.only != "naive" else None
        before = _rss_mb("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
        n, seconds = run_variant(args.only, model_dir, dataset_dir, args.batch_size, runner, loaded)
        print(json.dumps({"items": n, "seconds": seconds, "peak_above_start_mb": _rss_mb("VmHWM") - before}))
        return

    from tacos_temporal.data.build import build
    from tacos_temporal.harness.config import RunConfig
    from tacos_temporal.harness.models import load_runner

    build_model(model_dir)
    release = long_release(work / "release", max(36, args.clips * 2), args.seconds)
    structured_dataset(release, dataset_dir, args.clips)
    runner = load_runner(RunConfig(model=str(model_dir)))  # loaded once, as a multi-view run does
    # warm-up (first-call costs of torch and the processors)
    harness(model_dir, dataset_dir, "logprob", args.batch_size, runner)

    loaded = load_plain(model_dir)
    timings, shares = {}, {}
    for name in VARIANTS:
        meter = TimeShares(runner) if name != "naive" else None
        timings[name] = run_variant(name, model_dir, dataset_dir, args.batch_size, runner, loaded)
        if meter is not None:
            shares[name] = meter.close()
    memory = {}
    for name in VARIANTS:
        out = subprocess.run(
            [sys.executable, __file__, "--only", name, "--workdir", str(work), "--batch-size", str(args.batch_size), "--threads", str(args.threads)],
            capture_output=True, text=True, check=True,
        )
        memory[name] = json.loads(out.stdout.strip().splitlines()[-1])["peak_above_start_mb"]
    base = timings["naive"][0] / timings["naive"][1]
    print(f"{timings['naive'][0]} items over {args.clips} clips, {args.seconds:.0f} s audio, batch {args.batch_size}, {args.threads} threads")
    print(f"{'variant':<17} {'items/s':>8} {'vs naive':>9} {'peak mem':>10}   time shares: features / encoder / prefill / suffix+decode")
    for name in VARIANTS:
        n, seconds = timings[name]
        share = shares.get(name)
        parts = ""
        if share:
            total = sum(share.values()) or 1.0
            parts = " / ".join(f"{100 * share[k] / total:4.1f}%" for k in ("features", "encoder", "prefill", "suffix_and_decode"))
        print(f"{name:<17} {n / seconds:8.2f} {n / seconds / base:8.2f}x {memory[name]:8.0f} MB   {parts}")
    rate = {name: timings[name][0] / timings[name][1] for name in VARIANTS}
    two_views = views_jointly_vs_apart(model_dir, dataset_dir, args.batch_size, runner)
    print(f"audio_only + audio_caption, logprob: answered jointly {two_views['joint']:.2f} items/s vs one view after the other "
          f"{two_views['apart']:.2f} items/s ({two_views['joint'] / two_views['apart']:.2f}x)")
    print(f"logprob with reuse vs without: {rate['logprob'] / rate['logprob-noreuse']:.2f}x; generate: {rate['generate'] / rate['generate-noreuse']:.2f}x")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
