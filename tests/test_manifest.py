"""The official item set has not drifted: builder/manifest.json matches a fresh build.

If this fails after a change to the selection or option rules, the change alters the benchmark:
bump BENCHMARK_VERSION in tacos_temporal/names.py and regenerate the manifest with the command in
its "regenerate" field, in the same commit.
"""

from __future__ import annotations

import json
from pathlib import Path

from tacos_temporal.names import BENCHMARK_VERSION, EXPECTED_COUNTS

REPO = Path(__file__).resolve().parents[1]


def test_manifest_counts_are_the_papers():
    manifest = json.loads((REPO / "builder" / "manifest.json").read_text())
    assert manifest["counts"] == EXPECTED_COUNTS
    assert manifest["total"] == 1657


def test_fresh_build_of_the_real_event_table_matches_the_manifest(events_test_csv):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_manifest", REPO / "builder" / "make_manifest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    manifest = json.loads((REPO / "builder" / "manifest.json").read_text())
    fresh = module.manifest_for(events_test_csv, seed=manifest["seed"])
    assert fresh["benchmark_version"] == BENCHMARK_VERSION == manifest["benchmark_version"]
    assert fresh == manifest, "the item set changed: bump BENCHMARK_VERSION and regenerate builder/manifest.json"
