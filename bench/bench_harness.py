"""Items/s and peak memory of the harness against a naive per-item loop, on a random-weight model.

    python bench/bench_harness.py [--clips 24] [--seconds 30] [--batch-size 8] [--threads 2]

The model is a Qwen2-Audio-architecture checkpoint with random weights, large enough to matter on a
CPU (language model 4 layers x 512, audio encoder 2 layers x 256), built offline from a config; the
data is the demo benchmark with every clip re-encoded to ``--seconds`` of audio (750 audio tokens at
30 s). Variants, timed one after the other in this process:

  naive     the authors' style: per item, decode the MP3, build the prompt, ``generate`` (10 tokens)
  generate  tacos_temporal.harness (batched, sorted by length, each clip decoded once), generate mode
  logprob   the harness in logprob mode (one forward pass, no decoding steps)

Ratios are against ``naive`` measured in the same process.  Peak memory (max RSS) of each variant
is measured in a child process of its own (``--only VARIANT``), since RSS only grows.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

VARIANTS = ("naive", "generate", "logprob")


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


def naive(model_dir: Path, dataset_dir: Path, loaded=None) -> int:
    """A per-item loop as evaluation scripts of this field are written (model loaded beforehand)."""
    import torch
    from datasets import Audio, load_dataset
    from torchcodec.decoders import AudioDecoder

    from tacos_temporal.data.prompts import render_prompt
    from tacos_temporal.scoring.parsing import parse_choice

    processor, model = loaded or load_plain(model_dir)
    rows = load_dataset(str(dataset_dir), "audio_only", split="test").cast_column("audio", Audio(decode=False))
    for row in rows:
        audio = AudioDecoder(row["audio"]["bytes"], sample_rate=16000, num_channels=1).get_all_samples().data[0].numpy()
        conversation = [{"role": "user", "content": [{"type": "audio"}, {"type": "text", "text": render_prompt(row, "audio_only")}]}]
        text = processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
        inputs = processor(text=text, audio=audio, sampling_rate=16000, return_tensors="pt")
        with torch.inference_mode():
            out = model.generate(**inputs, max_new_tokens=10, do_sample=False)
        parse_choice(processor.batch_decode(out[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)[0], row["options"])
    return len(rows)


def harness(model_dir: Path, dataset_dir: Path, mode: str, batch_size: int, runner=None) -> int:
    from tacos_temporal.harness.config import RunConfig
    from tacos_temporal.harness.runner import evaluate

    cfg = RunConfig(model=str(model_dir), mode=mode, batch_size=batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        result = evaluate(cfg, Path(tmp) / "run", data=dataset_dir, runner=runner, progress=False)
    return len(result.records)


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
        n, seconds = run_variant(args.only, model_dir, dataset_dir, args.batch_size)
        print(json.dumps({"items": n, "seconds": seconds, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
        return

    from tacos_temporal.data.build import build
    from tacos_temporal.harness.config import RunConfig
    from tacos_temporal.harness.models import load_runner

    build_model(model_dir)
    build(dataset_dir, tacos_dir=long_release(work / "release", args.clips, args.seconds), views=["audio_only"], overwrite=True, progress=False)
    runner = load_runner(RunConfig(model=str(model_dir)))  # loaded once, as a multi-view run does
    # warm-up (first-call costs of torch and the processors)
    harness(model_dir, dataset_dir, "logprob", args.batch_size, runner)

    loaded = load_plain(model_dir)
    timings = {}
    for name in VARIANTS:
        timings[name] = run_variant(name, model_dir, dataset_dir, args.batch_size, runner, loaded)
    memory = {}
    for name in VARIANTS:
        out = subprocess.run(
            [sys.executable, __file__, "--only", name, "--workdir", str(work), "--batch-size", str(args.batch_size), "--threads", str(args.threads)],
            capture_output=True, text=True, check=True,
        )
        memory[name] = json.loads(out.stdout.strip().splitlines()[-1])["max_rss_mb"]
    base = timings["naive"][0] / timings["naive"][1]
    print(f"{timings['naive'][0]} items, {args.seconds:.0f} s clips, batch {args.batch_size}, {args.threads} threads")
    print(f"{'variant':<10} {'items/s':>8} {'vs naive':>9} {'peak RSS':>10}")
    for name in VARIANTS:
        n, seconds = timings[name]
        print(f"{name:<10} {n / seconds:8.2f} {n / seconds / base:8.2f}x {memory[name]:8.0f} MB")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
