"""Cost of circular evaluation (``eval --circular``): four option rotations per item, against one.

    python bench/bench_circular.py [--clips 12] [--seconds 30] [--batch-size 12] [--mode logprob] [--threads 2]

Same model and data as ``bench_harness.py`` (a random-weight Qwen2-Audio of bench size on CPU; demo
clips tiled to ``--seconds``, items per clip in the release's proportions).  Timed one after the
other in this process, after one warm-up run:

  plain               every item once, shared audio prefix (the default)
  circular            every item under its 4 rotations, shared audio prefix
  plain-noreuse       every item once, ``--no-reuse`` (audio encoded and pre-filled per item)
  circular-noreuse    4 rotations, ``--no-reuse``

The rotations of a clip's items share its audio prefix, so with reuse the extra cost is the suffixes
(question and options) only: ``circular / plain`` should be far below 4, while
``circular-noreuse / plain-noreuse`` is about 4.  ``--batch-size`` should hold a clip's 12 rotated
questions (3 tasks x 4) so that each clip's prefix is pre-filled once.  Inference seconds come from
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

VARIANTS = (("plain", False, True), ("circular", True, True), ("plain-noreuse", False, False), ("circular-noreuse", True, False))


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
        for name, circular, reuse in VARIANTS:
            shares = TimeShares(runner)
            started = time.perf_counter()
            try:
                run = evaluate(base.replace(circular=circular, reuse=reuse), tmp / name, data=data, runner=runner, progress=False)
            finally:
                split = shares.close()
            wall = time.perf_counter() - started
            info = run.results["tacos_temporal"]
            results[name] = {
                "questions": len(run.records),
                "inference_seconds": info["timings"]["inference_seconds"],
                "wall_seconds": round(wall, 3),
                "reuse": info["reuse"],
                "reuse_reason": info["reuse_reason"],
                "seconds_by_part": {k: round(v, 3) for k, v in split.items()},
            }
            print(name, json.dumps(results[name]), flush=True)
        plain, circ = results["plain"], results["circular"]
        ratios = {
            "circular_over_plain": round(circ["inference_seconds"] / plain["inference_seconds"], 3),
            "circular_noreuse_over_plain_noreuse": round(results["circular-noreuse"]["inference_seconds"] / results["plain-noreuse"]["inference_seconds"], 3),
            "circular_over_circular_noreuse": round(circ["inference_seconds"] / results["circular-noreuse"]["inference_seconds"], 3),
            "questions_ratio": circ["questions"] / plain["questions"],
        }
        summary = {
            "command": "python " + " ".join(sys.argv),
            "settings": vars(args) | {"items": plain["questions"]},
            "torch": torch.__version__,
            "results": results,
            "ratios": ratios,
        }
        print(json.dumps(ratios, indent=2))
        Path(args.out).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
