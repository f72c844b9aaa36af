"""Kill -9 soak: a run killed at random moments and restarted ends identical to an uninterrupted one.

    python bench/bench_kill_soak.py                  # 10 cycles (the issue's soak)
    python bench/bench_kill_soak.py --cycles 3 --seed 1

Builds the demo benchmark and a tiny random-weight Qwen2-Audio in a temporary folder, runs
``tacos-temporal eval`` once uninterrupted (the reference, timed), then starts the same command
into a second folder ``--cycles`` times, sending SIGKILL after a random delay drawn uniformly from
[0, reference wall time] in odd cycles (so kills land in start-up, model loading, answering and
the final rewrite alike) and at a random moment up to 2 s after the first new record in even cycles
(so every other kill lands mid-answering), and finally lets it finish.  Items are answered one at
a time (``--batch-size 1 --no-reuse``) so that a kill can fall between any two records.  The result is compared with the reference: every
record of ``samples.jsonl`` identical and in the same order, the same scores in ``results.json``,
no lock or temporary file left behind.  Prints one JSON line; exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _command(model: Path, data: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "tacos_temporal.cli", "eval", "--model", str(model), "--data", str(data),
            "--view", "audio_only", "--out", str(out), "--batch-size", "1", "--no-reuse", "--quiet"]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]), "HF_HUB_OFFLINE": "1"}


def _lines(path: Path) -> int:
    return len(path.read_bytes().splitlines()) if path.is_file() else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, help="keep the files here (default: a temporary folder)")
    args = parser.parse_args(argv)

    from tacos_temporal.data.build import build
    from tacos_temporal.data.demo import make_demo_release
    from tacos_temporal.harness.tiny import make_tiny_model

    root = args.workdir or Path(tempfile.mkdtemp(prefix="kill-soak-"))
    data = build(root / "dataset", tacos_dir=make_demo_release(root / "release", overwrite=True), overwrite=True, progress=False).out_dir
    model = make_tiny_model("qwen2_audio", root / "tiny", overwrite=True)

    started = time.perf_counter()
    subprocess.run(_command(model, data, root / "reference"), env=_env(), check=True, stdout=subprocess.DEVNULL)
    reference_seconds = time.perf_counter() - started

    rng = random.Random(args.seed)
    killed = root / "killed"
    kills = []
    for cycle in range(args.cycles):
        before = _lines(killed / "samples.jsonl")
        started = time.perf_counter()
        proc = subprocess.Popen(_command(model, data, killed), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if cycle % 2 == 0:
            # while answering: once a new record is on disk, at a random moment of the next batches
            while proc.poll() is None and _lines(killed / "samples.jsonl") <= before:
                time.sleep(0.05)
            delay = time.perf_counter() - started + rng.uniform(0.0, 2.0)
        else:
            delay = rng.uniform(0.0, reference_seconds)  # anywhere: start-up, loading, answering, the final rewrite
        try:
            proc.wait(timeout=max(0.0, delay - (time.perf_counter() - started)))
            outcome = f"finished (exit {proc.returncode})"
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            outcome = "killed"
        kills.append({"after_s": round(delay, 2), "outcome": outcome, "records_before": before, "records_after": _lines(killed / "samples.jsonl")})
        if proc.returncode not in (0, -signal.SIGKILL):
            print(proc.stderr.read().decode(errors="replace"), file=sys.stderr)
            return 1
    subprocess.run(_command(model, data, killed), env=_env(), check=True, stdout=subprocess.DEVNULL)

    ref_records = (root / "reference" / "samples.jsonl").read_text(encoding="utf-8")
    got_records = (killed / "samples.jsonl").read_text(encoding="utf-8")
    ref_scores = json.loads((root / "reference" / "results.json").read_text())["results"]
    got_scores = json.loads((killed / "results.json").read_text())["results"]
    leftovers = sorted(p.name for p in killed.parent.iterdir() if p.name.startswith(".")) + sorted(p.name for p in killed.iterdir() if p.name.startswith("."))
    result = {
        "cycles": args.cycles,
        "killed": sum(k["outcome"] == "killed" for k in kills),
        "items": len(ref_records.splitlines()),
        "reference_seconds": round(reference_seconds, 2),
        "samples_identical": got_records == ref_records,
        "scores_identical": got_scores == ref_scores,
        "hidden_files_left": leftovers,
        "kills": kills,
    }
    print(json.dumps(result))
    return 0 if result["samples_identical"] and result["scores_identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
