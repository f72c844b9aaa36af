"""Kill -9 soak: a run killed at random moments and restarted ends identical to an uninterrupted one.

    python bench/bench_kill_soak.py                  # 10 cycles (the issue's soak)
    python bench/bench_kill_soak.py --cycles 3 --seed 1

Builds the demo benchmark and a tiny random-weight Qwen2-Audio in a temporary folder, runs
``tacos-temporal eval`` on two views once uninterrupted (the reference, timed: start-up until its
first record, then seconds per item), then starts the same command into a second folder
``--cycles`` times and sends SIGKILL at a random moment: in even cycles within 1.5 items' time
after the first new record (mid-answering, possibly mid-write), in odd cycles anywhere from the
start to one item after the first record would appear (imports, model loading, the first
answers).  Finally it lets the run finish.  Items are answered one at a time (``--batch-size 1
--no-reuse``) so that a kill can fall between any two records.  The result is compared with the reference: every
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
            "--view", "audio_only", "caption_only", "--out", str(out), "--batch-size", "1", "--no-reuse", "--quiet"]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]), "HF_HUB_OFFLINE": "1"}


def _lines(run: Path) -> int:
    """Records on disk in a run folder (every view's samples.jsonl)."""
    return sum(len(path.read_bytes().splitlines()) for path in run.rglob("samples.jsonl"))


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

    # The reference, timed: start-up (imports, loading) until the first record, then per item.
    started = time.perf_counter()
    proc = subprocess.Popen(_command(model, data, root / "reference"), env=_env(), stdout=subprocess.DEVNULL)
    while proc.poll() is None and _lines(root / "reference") == 0:
        time.sleep(0.05)
    first_record = time.perf_counter() - started
    if proc.wait() != 0:
        return 1
    reference_seconds = time.perf_counter() - started
    items = _lines(root / "reference")
    per_item = (reference_seconds - first_record) / max(1, items - 1)

    rng = random.Random(args.seed)
    killed = root / "killed"
    kills = []
    for cycle in range(args.cycles):
        before = _lines(killed)
        started = time.perf_counter()
        proc = subprocess.Popen(_command(model, data, killed), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if cycle % 2 == 0:
            # mid-answering: after the first new record, within the next item or two
            while proc.poll() is None and _lines(killed) <= before:
                time.sleep(0.02)
            delay = time.perf_counter() - started + rng.uniform(0.0, 1.5 * per_item)
        else:
            # start-up, model loading or the first answers
            delay = rng.uniform(0.0, first_record + per_item)
        try:
            proc.wait(timeout=max(0.0, delay - (time.perf_counter() - started)))
            outcome = f"finished (exit {proc.returncode})"
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            outcome = "killed"
        kills.append({"after_s": round(delay, 2), "outcome": outcome, "records_before": before, "records_after": _lines(killed)})
        if proc.returncode not in (0, -signal.SIGKILL):
            print(proc.stderr.read().decode(errors="replace"), file=sys.stderr)
            return 1
    subprocess.run(_command(model, data, killed), env=_env(), check=True, stdout=subprocess.DEVNULL)

    views = ("audio_only", "caption_only")
    ref_records = [(root / "reference" / v / "samples.jsonl").read_text(encoding="utf-8") for v in views]
    got_records = [(killed / v / "samples.jsonl").read_text(encoding="utf-8") for v in views]
    ref_scores = [json.loads((root / "reference" / v / "results.json").read_text())["results"] for v in views]
    got_scores = [json.loads((killed / v / "results.json").read_text())["results"] for v in views]
    leftovers = sorted(str(p.relative_to(root)) for p in root.rglob(".*") if "killed" in p.parts or p.name == ".killed.lock")
    result = {
        "cycles": args.cycles,
        "killed": sum(k["outcome"] == "killed" for k in kills),
        "items": items,
        "reference_seconds": round(reference_seconds, 2),
        "reference_first_record_seconds": round(first_record, 2),
        "samples_identical": got_records == ref_records,
        "scores_identical": got_scores == ref_scores,
        "hidden_files_left": leftovers,
        "kills": kills,
    }
    print(json.dumps(result))
    return 0 if result["samples_identical"] and result["scores_identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
