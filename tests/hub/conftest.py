"""Fixtures of the Hub tests: the local Hub test server, reset for each test, with two users, and a
finished run folder.  huggingface_hub, datasets and evaluate talk real HTTP to the server
(HF_ENDPOINT is set in tests/conftest.py before they are imported)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

#: Alice's token: the secret that must never appear in any output, log, message or file.
TOKEN = "hf_secret123TacosTemporalTestToken"
#: Bob: an authenticated user without write access to Alice's namespaces.
BOB_TOKEN = "hf_bob456TacosTemporalTestToken"
ORG = "tacos-org"
MODEL = f"{ORG}/random-baseline"
BENCHMARK = f"{ORG}/tacos_temporal"
DETAILS = f"{ORG}/tacos_temporal-details"


@pytest.fixture
def hub(hub_server, monkeypatch):
    """The local Hub, empty, with users ``alice`` (member of ``tacos-org``; HF_TOKEN is hers) and ``bob``."""
    hub_server.reset()
    hub_server.add_user("alice", TOKEN, orgs=(ORG,))
    hub_server.add_user("bob", BOB_TOKEN)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    yield hub_server
    assert not hub_server.unknown, f"the clients called endpoints the test Hub lacks: {hub_server.unknown}"


@pytest.fixture(scope="session")
def run_dir(hub_server, demo_build, tmp_path_factory) -> Path:
    """A complete run of the random baseline on the audio_only view of the benchmark published at
    BENCHMARK (the demo build, pushed to the local Hub and loaded from it), read-only.

    Session fixtures are set up before the function-scoped ``hub`` fixture, which then resets the
    Hub for the test: tests that push the run publish the item set again with :func:`publish_items`.
    """
    from tacos_temporal.harness.config import RunConfig
    from tacos_temporal.harness.runner import evaluate
    from tacos_temporal.hub.dataset import publish_dataset

    hub_server.reset()
    hub_server.add_user("alice", TOKEN, orgs=(ORG,))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_TOKEN", TOKEN)
        publish_dataset(demo_build.out_dir, BENCHMARK, create=True)
        out = tmp_path_factory.mktemp("run") / "random-audio_only"
        evaluate(RunConfig(model="random", view="audio_only"), out, data=BENCHMARK, progress=False)
    hub_server.reset()
    return out


@pytest.fixture(scope="session")
def local_run_dir(demo_build, tmp_path_factory) -> Path:
    """The same run on the local build folder with ``--limit 5``: not the published benchmark (read-only)."""
    from tacos_temporal.harness.config import RunConfig
    from tacos_temporal.harness.runner import evaluate

    out = tmp_path_factory.mktemp("run") / "random-local-limit5"
    evaluate(RunConfig(model="random", view="audio_only", limit=5), out, data=demo_build.out_dir, progress=False)
    return out


def publish_items(hub, build, repo_id: str = BENCHMARK) -> None:
    """Put the published item set (what publish-dataset pushes besides the Parquet views) in ``repo_id``."""
    if ("dataset", repo_id) not in hub.repos:
        hub.create_repo(repo_id, "dataset")
    files = {name: (build.out_dir / name).read_bytes() for name in ("items.jsonl", "build_report.json")}
    hub.commit_files(repo_id, "dataset", files, title="publish the item set")


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative path -> sha256 of its bytes)."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def edited_run(run_dir: Path, tmp_path: Path, **changes) -> Path:
    """A copy of the run with results.json changed: ``acc`` (every task), ``date``, ``dataset_path``,
    ``intervention``."""
    copy = shutil.copytree(run_dir, tmp_path / "run")
    results = json.loads((copy / "results.json").read_text())
    if "acc" in changes:
        for name, scores in results["results"].items():
            if name != "tacos_temporal":
                scores["acc,none"] = changes["acc"]
    if "date" in changes:
        results["date"] = changes["date"]
    if "dataset_path" in changes:
        for config in results["configs"].values():
            config["dataset_path"] = changes["dataset_path"]
    if "intervention" in changes:
        results["tacos_temporal"]["intervention"] = changes["intervention"]
    (copy / "results.json").write_text(json.dumps(results))
    return copy
