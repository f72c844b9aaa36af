"""Cost of circular evaluation (``eval --circular``): four option rotations per item, against one.

    python bench/bench_circular.py [--clips 12] [--seconds 30] [--batch-size 12] [--mode logprob] [--threads 2]

``--batch-size`` is the batch of the runs without rotations; the circular runs use four times as
many rows, so that both hold the same clips per batch (with the same rows per batch a circular
batch holds a quarter of the clips, and the audio encoder and pre-fill run less batched: measured
at about twice the prefix time on this CPU).

Same model and data as ``bench_harness.py`` (a random-weight Qwen2-Audio of bench size on CPU; demo
clips tiled to ``--seconds``, items per clip in the release's proportions).  Timed one after the
other in this process, after one warm-up run:

  plain               every item once, shared audio prefix (the default)    } twice, alternating;
  circular            every item under its 4 rotations, shared audio prefix } the faster run kept
  plain-noreuse       every item once, ``--no-reuse`` (audio encoded and pre-filled per item)
  circular-noreuse    4 rotations, ``--no-reuse``

The rotations of a clip's items share its audio prefix, so with reuse the extra cost is the suffixes
(question and options) only: ``circular / plain`` should be far below 4, while
``circular-noreuse / plain-noreuse`` is about 4.  Inference seconds come from
each run's ``results.json`` (model loading excluded); ratios are within this process.  Each run
also reports its seconds in feature extraction, the audio encoder, LM passes over prompts holding
audio (pre-fill) and the rest (suffixes), measured with ``bench_harness.TimeShares``.
Writes ``bench/bench_circular.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_harness import TimeShares, build_model, long_release, structured_dataset  # noqa: E402

#: (name, circular, reuse); the reuse pair is timed twice, alternating, and the faster of each kept
#: (this machine is shared: the counts below are exact, the seconds are not).
VARIANTS = (
    ("plain", False, True), ("circular", True, True), ("plain", False, True), ("circular", True, True),
    ("plain-noreuse", False, False), ("circular-noreuse", True, False),
)


class PassCounter:
    """Audio-encoder forward passes and language-model tokens, split as ``TimeShares`` splits time."""

    def __init__(self, runner):
        self.counts = {"encoder_passes": 0, "prefill_tokens": 0, "suffix_tokens": 0}
        model = runner.model.model
        counts = self.counts

        def encoder(module, args, kwargs, output):
            counts["encoder_passes"] += 1

        def lm(module, args, kwargs, output):
            embeds = kwargs.get("inputs_embeds")
            if embeds is None:
                return
            rows, length = embeds.shape[0], embeds.shape[1]
            counts["prefill_tokens" if length > 64 else "suffix_tokens"] += rows * length

        self._handles = [
            model.audio_tower.register_forward_hook(encoder, with_kwargs=True),
            model.language_model.register_forward_hook(lm, with_kwargs=True),
        ]

    def close(self) -> dict[str, int]:
        for handle in self._handles:
            handle.remove()
        return dict(self.counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--batch-size", type=int, default=12)
    parser.add_argument("--mode", default="logprob", choices=("logprob", "generate"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(Path(__file__).with_suffix(".json")))
    args = parser.parse_args()

    import torch

    from tacos_temporal.harness.config import RunConfig
    from tacos_temporal.harness.models import load_runner
    from tacos_temporal.harness.runner import evaluate

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = build_model(tmp / "model")
        release = long_release(tmp / "release", args.clips + args.clips // 2 + 3, args.seconds)
        data = structured_dataset(release, tmp / "data", args.clips)
        base = RunConfig(model=str(model), mode=args.mode, batch_size=args.batch_size, device="cpu")
        runner = load_runner(base)
        evaluate(base.replace(limit=3), tmp / "warmup", data=data, runner=runner, progress=False)
        results = {}
        for attempt, (name, circular, reuse) in enumerate(VARIANTS):
            shares = TimeShares(runner)
            calls = PassCounter(runner)
            started = time.perf_counter()
            # Rotations multiply the rows by 4: a circular batch of 4x the rows holds the same clips
            # (and so batches the audio encoder and the prefix pre-fill the same way).
            size = args.batch_size * (4 if circular else 1)
            try:
                run = evaluate(base.replace(circular=circular, reuse=reuse, batch_size=size), tmp / f"{name}-{attempt}", data=data, runner=runner, progress=False)
            finally:
                split = shares.close()
                counted = calls.close()
            wall = time.perf_counter() - started
            info = run.results["tacos_temporal"]
            if name in results and results[name]["inference_seconds"] <= info["timings"]["inference_seconds"]:
                print(name, "(repeat, slower: kept the first)", info["timings"]["inference_seconds"], flush=True)
                continue
            results[name] = {
                "questions": len(run.records),
                "batch_size": size,
                "inference_seconds": info["timings"]["inference_seconds"],
                "wall_seconds": round(wall, 3),
                "reuse": info["reuse"],
                "reuse_reason": info["reuse_reason"],
                "seconds_by_part": {k: round(v, 3) for k, v in split.items()},
                # Counts do not depend on the machine's load: the audio encoder's forward passes
                # (clips encoded), LM tokens in passes over prompts holding audio and in the rest.
                **counted,
            }
            print(name, json.dumps(results[name]), flush=True)
        plain, circ = results["plain"], results["circular"]
        ratios = {
            "circular_over_plain": round(circ["inference_seconds"] / plain["inference_seconds"], 3),
            "circular_noreuse_over_plain_noreuse": round(results["circular-noreuse"]["inference_seconds"] / results["plain-noreuse"]["inference_seconds"], 3),
            "circular_over_circular_noreuse": round(circ["inference_seconds"] / results["circular-noreuse"]["inference_seconds"], 3),
            "questions_ratio": circ["questions"] / plain["questions"],
            "encoder_passes_ratio": round(circ["encoder_passes"] / plain["encoder_passes"], 3),
            "prefill_tokens_ratio": round(circ["prefill_tokens"] / plain["prefill_tokens"], 3),
            "suffix_tokens_ratio": round(circ["suffix_tokens"] / max(1, plain["suffix_tokens"]), 3),
        }
        summary = {
            "command": "python " + " ".join(sys.argv),
            "settings": vars(args) | {"items": plain["questions"], "out": Path(args.out).name},  # no machine paths
            "torch": torch.__version__,
            "results": results,
            "ratios": ratios,
        }
        print(json.dumps(ratios, indent=2))
        Path(args.out).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
