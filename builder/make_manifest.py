"""Regenerate builder/manifest.json: the fingerprint of the official item set.

    python builder/make_manifest.py [EVENTS_CSV]   # default: the test table shipped in the package

The manifest records what the published build must contain: counts per task, the sha256 of the
event table it was selected from, the option seed, the benchmark version and the sha256 of
``items.jsonl``.  tests/test_manifest.py rebuilds the items and compares; a difference means a rule
changed, so bump ``names.BENCHMARK_VERSION`` and regenerate this file in the same commit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

from tacos_temporal.data.build import build
from tacos_temporal.data.sources import bundled_event_table
from tacos_temporal.names import DEFAULT_SEED

MANIFEST = Path(__file__).with_name("manifest.json")


def manifest_for(events: Path, seed: int = DEFAULT_SEED) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        result = build(Path(tmp) / "out", events=events, items_only=True, seed=seed, progress=False)
        items_sha = hashlib.sha256((result.out_dir / "items.jsonl").read_bytes()).hexdigest()
    report = result.report
    return {
        "regenerate": "python builder/make_manifest.py",
        "benchmark_version": report["benchmark_version"],
        "seed": seed,
        "event_table_sha256": report["sources"]["events"]["sha256"],
        "counts": report["counts"],
        "total": report["total"],
        "clips_with_items": report["clips_with_items"],
        "items_jsonl_sha256": items_sha,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("events", type=Path, nargs="?", help="the TACOS test event table (default: the copy shipped in the package)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    MANIFEST.write_text(json.dumps(manifest_for(args.events or bundled_event_table(), args.seed), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {MANIFEST}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
