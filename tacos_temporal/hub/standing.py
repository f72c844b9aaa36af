"""Whether a run is the whole published benchmark, and so may be ranked on its leaderboard.

The published benchmark is what ``tacos-temporal publish-dataset`` put in the dataset repo:
``items.jsonl`` (every item, with its ``benchmark_version``) at the repo's current commit.  A run
is complete when all of these hold (each failed one is a reason, in the order below):

1. it ran every item (no ``--limit``; ``items_run`` equals ``items_in_view``);
2. it loaded its items from that Hub dataset (not the demo corpus, a local folder or another repo);
3. the view's item set (``item_set_sha256``: ids, tasks, clips, options, answers) equals the
   published one;
4. the items' benchmark version equals the published one.

``push-results`` refuses a run with any reason unless ``--allow-partial``; then every entry is
marked partial (its notes start with ``PARTIAL (...)``) and gets a task id that ``eval.yaml`` does
not declare, so it shows on the model page and in no ranking (see ``hub.leaderboard``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..data.items import item_set_sha256
from ..errors import ConfigError
from .connection import read_remote_file
from .run import RunSummary

ITEMS_FILE = "items.jsonl"


@dataclass(frozen=True)
class PublishedBenchmark:
    """The item set of a benchmark dataset on the Hub, at one commit."""

    dataset_id: str
    revision: str
    items: int
    item_set_sha256: str
    benchmark_versions: tuple[str, ...]


def published_benchmark(api, dataset_id: str) -> PublishedBenchmark:
    """Read ``items.jsonl`` of ``dataset_id`` at its current commit (call inside ``hub_errors``)."""
    revision = api.dataset_info(dataset_id).sha
    data = read_remote_file(api, dataset_id, "dataset", ITEMS_FILE, revision)
    if data is None:
        raise ConfigError(
            f"the dataset repo {dataset_id} has no {ITEMS_FILE}, so it is not a benchmark published with "
            "`tacos-temporal publish-dataset` and no run can be checked against it; pass the benchmark's "
            "repo with --dataset-repo"
        )
    items = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
    return PublishedBenchmark(
        dataset_id=dataset_id,
        revision=revision,
        items=len(items),
        item_set_sha256=item_set_sha256(items),
        benchmark_versions=tuple(sorted({str(item.get("benchmark_version")) for item in items})),
    )


def partial_reasons(run: RunSummary, published: PublishedBenchmark) -> list[str]:
    """Why ``run`` is not the whole published benchmark (empty: it is)."""
    data = run.data
    if not data:
        return ["results.json records no data source (written by an older tacos-temporal): rerun the evaluation"]
    reasons = []
    items_run, items_in_view = data.get("items_run"), data.get("items_in_view")
    if run.limit or items_run != items_in_view or data.get("run_item_set_sha256") != data.get("item_set_sha256"):
        limit = f"--limit {run.limit}: " if run.limit else ""
        reasons.append(f"{limit}{items_run} of {items_in_view} items run")
    kind, source = data.get("kind"), data.get("source")
    if kind != "hub":
        where = {"demo": "the demo corpus", "local": f"the local folder {source}", "download": "a build of the downloaded TACOS release"}
        reasons.append(f"items from {where.get(kind, repr(source))}, not from the Hub dataset {published.dataset_id}")
    elif source != published.dataset_id:
        reasons.append(f"items from the Hub dataset {source}, not from {published.dataset_id}")
    if data.get("item_set_sha256") != published.item_set_sha256:
        reasons.append(f"a different item set ({items_in_view} items; {published.dataset_id} publishes {published.items})")
    versions = tuple(data.get("benchmark_versions") or ())
    if versions != published.benchmark_versions:
        reasons.append(f"benchmark version {', '.join(versions) or 'unknown'} ({published.dataset_id} publishes {', '.join(published.benchmark_versions)})")
    return reasons
