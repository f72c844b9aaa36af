"""push-results: .eval_results in the model repo (pull request by default), read back and ranked."""

from __future__ import annotations

import json

import pytest
import yaml

from tacos_temporal import cli
from tacos_temporal.errors import ConfigError, HubError
from tacos_temporal.hub.leaderboard import eval_result_entries, eval_results_path, eval_results_yaml, push_results, read_leaderboard
from tacos_temporal.hub.run import read_run
from tacos_temporal.names import TASKS
from tests.hub.conftest import BENCHMARK, BOB_TOKEN, MODEL, edited_run, publish_items, snapshot

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")  # inside huggingface_hub's LFS upload

RESULTS_FILE = ".eval_results/tacos_temporal_audio_only_generate_none.yaml"
TASK_IDS = [f"audio_only_{task}" for task in TASKS]


@pytest.fixture
def model_repo(hub, demo_build):
    hub.create_repo(MODEL)
    publish_items(hub, demo_build)
    return MODEL


def test_entries_are_huggingface_hub_eval_result_entries_one_per_task(run_dir):
    from huggingface_hub import EvalResultEntry, parse_eval_result_entries

    run = read_run(run_dir)
    entries = eval_result_entries(run, dataset_id=BENCHMARK, source_url="https://example.org/details", source_name="details")
    assert all(isinstance(entry, EvalResultEntry) for entry in entries)
    back = parse_eval_result_entries(yaml.safe_load(eval_results_yaml(entries)))
    assert back == entries
    assert [entry.task_id for entry in entries] == TASK_IDS
    results = json.loads((run_dir / "results.json").read_text())
    scores = results["results"]
    assert [entry.value for entry in entries] == [round(100 * scores[f"tacos_temporal_{t}"]["acc,none"], 2) for t in TASKS]
    revision = results["tacos_temporal"]["data"]["revision"]
    assert len(revision) == 40 and all(entry.dataset_revision == revision for entry in entries)
    n = results["n-samples"]["tacos_temporal_earliest_onset"]["effective"]
    assert entries[0].notes == (
        f"n={n} of {n}; data={BENCHMARK}@{revision}; benchmark version=1.0.0; view=audio_only; answer mode=generate; intervention=none"
    )
    assert eval_results_path(run) == RESULTS_FILE


def test_intervention_is_named_in_the_notes_and_the_file_name(run_dir, tmp_path):
    run = read_run(edited_run(run_dir, tmp_path, intervention={"kind": "scale", "alpha": 2.0, "layers": [20, 21]}))
    assert run.notes == "view=audio_only; answer mode=generate; intervention=kind=scale, alpha=2.0, layers=[20, 21]"
    path = eval_results_path(run)
    assert path.startswith(".eval_results/tacos_temporal_audio_only_generate_scale-") and path.endswith(".yaml")
    # an intervened model is not the model as published: its entries are on no leaderboard
    entries = eval_result_entries(run, dataset_id=BENCHMARK)
    assert [entry.task_id for entry in entries] == [f"{task_id}_intervention" for task_id in TASK_IDS]
    assert entries[0].notes.endswith("intervention=kind=scale, alpha=2.0, layers=[20, 21]")


def test_push_results_opens_a_pull_request_read_back_from_its_ref(hub, model_repo, run_dir, capsys):
    from huggingface_hub import HfApi, parse_eval_result_entries

    before = snapshot(run_dir)
    assert cli.main(["push-results", str(run_dir), "--model-repo", MODEL, "--dataset-repo", BENCHMARK]) == 0
    out = capsys.readouterr().out
    assert f"model {MODEL}: opened pull request #1" in out and "earliest_onset" in out
    api = HfApi()
    assert RESULTS_FILE not in api.list_repo_files(MODEL)  # main is untouched
    assert RESULTS_FILE in api.list_repo_files(MODEL, revision="refs/pr/1")
    path = api.hf_hub_download(MODEL, RESULTS_FILE, revision="refs/pr/1")
    entries = parse_eval_result_entries(yaml.safe_load(open(path, encoding="utf-8")))
    assert [(e.dataset_id, e.task_id) for e in entries] == [(BENCHMARK, task_id) for task_id in TASK_IDS]
    assert all("view=audio_only" in e.notes for e in entries)

    board = api.get_dataset_leaderboard(BENCHMARK, base_model_only=False)
    assert {(row.model_id, row.pull_request, row.filename) for row in board} == {(MODEL, 1, RESULTS_FILE.split("/")[-1])}
    assert sorted(row.taskId for row in board) == sorted(TASK_IDS)
    assert snapshot(run_dir) == before


def test_a_second_identical_push_opens_no_second_pull_request(hub, model_repo, run_dir):
    first = push_results(run_dir, MODEL, dataset_repo=BENCHMARK)
    second = push_results(run_dir, MODEL, dataset_repo=BENCHMARK)
    assert (first.model.status, second.model.status) == ("opened", "unchanged")
    assert second.model.pull_request == 1
    assert len(hub.repo(MODEL).discussions) == 1 and len(hub.seen("POST", r"/commit/")) == 1


def test_a_changed_run_updates_our_open_pull_request_in_place(hub, model_repo, run_dir, tmp_path):
    push_results(run_dir, MODEL, dataset_repo=BENCHMARK)
    changed = push_results(edited_run(run_dir, tmp_path, acc=0.75), MODEL, dataset_repo=BENCHMARK)
    assert (changed.model.status, changed.model.pull_request) == ("updated", 1)
    assert len(hub.repo(MODEL).discussions) == 1
    entries = yaml.safe_load(hub.repo(MODEL).files("refs/pr/1")[RESULTS_FILE])
    assert {entry["value"] for entry in entries} == {75.0}


def test_direct_push_commits_to_main_and_the_leaderboard_ranks_it(hub, model_repo, run_dir):
    outcome = push_results(run_dir, MODEL, dataset_repo=BENCHMARK, direct=True)
    assert outcome.model.status == "committed"
    assert RESULTS_FILE in hub.repo(MODEL).files()
    assert push_results(run_dir, MODEL, dataset_repo=BENCHMARK, direct=True).model.status == "unchanged"
    board = read_leaderboard(BENCHMARK)
    assert {(row.model_id, row.pull_request, row.rank) for row in board} == {(MODEL, None, 1)}
    assert {row.value for row in board} == {entry.value for entry in outcome.entries}


def test_model_index_writes_the_legacy_card_block_and_keeps_the_card(hub, model_repo, run_dir):
    from huggingface_hub import ModelCard

    hub.commit_files(MODEL, "model", {"README.md": b"---\nlicense: mit\n---\n\n# My model\n\nWords.\n"})
    push_results(run_dir, MODEL, dataset_repo=BENCHMARK, direct=True, model_index=True)
    card = ModelCard(hub.repo(MODEL).files()["README.md"].decode())
    assert card.data.license == "mit" and "Words." in card.text
    results = card.data.eval_results
    assert [(r.dataset_type, r.dataset_config, r.metric_type) for r in results] == [(BENCHMARK, "audio_only", "accuracy")] * 3
    assert [r.metric_value for r in results] == [e.value for e in eval_result_entries(read_run(run_dir), dataset_id=BENCHMARK)]
    head = hub.repo(MODEL).refs["main"]
    assert push_results(run_dir, MODEL, dataset_repo=BENCHMARK, direct=True, model_index=True).model.status == "unchanged"
    assert hub.repo(MODEL).refs["main"] == head


def test_model_index_in_a_pull_request_goes_with_the_eval_results(hub, model_repo, run_dir):
    push_results(run_dir, MODEL, dataset_repo=BENCHMARK, model_index=True)
    files = hub.repo(MODEL).files("refs/pr/1")
    assert RESULTS_FILE in files and b"model-index" in files["README.md"]
    assert push_results(run_dir, MODEL, dataset_repo=BENCHMARK, model_index=True).model.status == "unchanged"


def test_dataset_repo_defaults_to_the_hub_id_the_run_loaded(hub, model_repo, run_dir, local_run_dir):
    outcome = push_results(run_dir, MODEL)
    assert {entry.dataset_id for entry in outcome.entries} == {BENCHMARK}
    with pytest.raises(ConfigError, match="pass --dataset-repo ORG/NAME"):
        push_results(local_run_dir, MODEL, allow_partial=True)


def test_anyone_may_open_a_pull_request_but_only_owners_commit(hub, model_repo, run_dir, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", BOB_TOKEN)
    assert push_results(run_dir, MODEL, dataset_repo=BENCHMARK).model.status == "opened"
    assert hub.repo(MODEL).discussions[0].author == "bob"
    with pytest.raises(HubError, match=r"^permission denied \(HTTP 403: You don't have the rights to write to tacos-org/random-baseline\) pushing the results to model repo"):
        push_results(run_dir, MODEL, dataset_repo=BENCHMARK, direct=True)


def test_a_missing_model_repo_is_never_created(hub, run_dir, demo_build):
    publish_items(hub, demo_build)
    with pytest.raises(HubError, match="repository not found .* create the model repo first"):
        push_results(run_dir, MODEL, dataset_repo=BENCHMARK, create=True)
    assert ("model", MODEL) not in hub.repos


# --- leaderboard integrity ------------------------------------------------------------------------


def test_a_limited_run_on_local_data_is_refused_before_anything_is_pushed(hub, model_repo, local_run_dir, capsys):
    heads = {key: repo.refs["main"] for key, repo in hub.repos.items()}
    code = cli.main(["push-results", str(local_run_dir), "--model-repo", MODEL, "--dataset-repo", BENCHMARK, "--details-repo", "tacos-org/d", "--create"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"is not a complete run of the benchmark published at {BENCHMARK}: --limit 5: 5 of 16 items run; items from the local folder" in err
    assert "--allow-partial" in err
    assert {key: repo.refs["main"] for key, repo in hub.repos.items()} == heads and not hub.repo(MODEL).discussions


def test_allow_partial_marks_the_entries_and_keeps_them_out_of_every_ranking(hub, model_repo, run_dir, local_run_dir):
    from huggingface_hub import parse_eval_result_entries

    hub.commit_files(BENCHMARK, "dataset", {"eval.yaml": __import__("tacos_temporal.hub.dataset", fromlist=["eval_yaml"]).eval_yaml().encode()})
    complete = push_results(run_dir, MODEL, dataset_repo=BENCHMARK, direct=True)
    partial = push_results(local_run_dir, MODEL, dataset_repo=BENCHMARK, direct=True, allow_partial=True)
    assert partial.model.status == "committed"
    files = hub.repo(MODEL).files()
    path = ".eval_results/tacos_temporal_audio_only_generate_none_partial.yaml"
    assert RESULTS_FILE in files and path in files  # the partial run did not replace the complete one
    entries = parse_eval_result_entries(yaml.safe_load(files[path]))
    assert [e.task_id for e in entries] == [f"{task_id}_partial" for task_id in TASK_IDS]
    n = {e.task_id: int(e.notes.split("n=")[1].split(" ")[0]) for e in entries}
    assert sum(n.values()) == 5
    assert all(e.notes.startswith("PARTIAL (--limit 5: 5 of 16 items run; items from the local folder ") for e in entries)
    assert all("; n=" in e.notes and "of" in e.notes and e.dataset_revision is None for e in entries)
    board = read_leaderboard(BENCHMARK)
    assert sorted(row.taskId for row in board) == sorted(TASK_IDS)  # only the complete run is ranked
    assert {row.value for row in board} == {entry.value for entry in complete.entries}
    # the same partial push again changes nothing
    head = hub.repo(MODEL).refs["main"]
    assert push_results(local_run_dir, MODEL, dataset_repo=BENCHMARK, direct=True, allow_partial=True).model.status == "unchanged"
    assert hub.repo(MODEL).refs["main"] == head


def _items(demo_build) -> list[dict]:
    return [json.loads(line) for line in (demo_build.out_dir / "items.jsonl").read_text().splitlines()]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("drop", "a different item set (16 items; tacos-org/tacos_temporal publishes 15)"),
        ("answer", "a different item set (16 items; tacos-org/tacos_temporal publishes 16)"),
        ("version", "benchmark version 1.0.0 (tacos-org/tacos_temporal publishes 2.0.0)"),
    ],
)
def test_another_item_set_or_benchmark_version_is_partial(hub, model_repo, run_dir, demo_build, change, reason):
    items = _items(demo_build)
    if change == "drop":
        items = items[1:]
    elif change == "answer":
        items[0]["answer"] = "B" if items[0]["answer"] == "A" else "A"
    else:
        items = [dict(item, benchmark_version="2.0.0") for item in items]
    hub.commit_files(BENCHMARK, "dataset", {"items.jsonl": "".join(json.dumps(item) + "\n" for item in items).encode()})
    with pytest.raises(ConfigError) as raised:
        push_results(run_dir, MODEL, dataset_repo=BENCHMARK)
    assert str(raised.value).split(": ", 1)[1].split(". Rerun")[0] == reason


def test_a_dataset_repo_without_an_item_set_cannot_rank_anything(hub, run_dir):
    hub.create_repo(MODEL)
    hub.create_repo("tacos-org/other", "dataset")
    with pytest.raises(ConfigError, match="has no items.jsonl, so it is not a benchmark published with `tacos-temporal publish-dataset`"):
        push_results(run_dir, MODEL, dataset_repo="tacos-org/other")


def test_model_index_for_a_repo_without_a_card_is_metadata_huggingface_hub_reads(hub, model_repo, run_dir, tmp_path, caplog):
    from huggingface_hub import ModelCard
    from huggingface_hub.repocard import metadata_load

    push_results(run_dir, MODEL, dataset_repo=BENCHMARK, direct=True, model_index=True)
    text = hub.repo(MODEL).files()["README.md"].decode()
    assert text.startswith("---\nmodel-index:\n") and text.count("---\n") == 2
    path = tmp_path / "README.md"
    path.write_text(text)
    assert metadata_load(path)["model-index"][0]["name"] == "random-baseline"
    card = ModelCard(text)
    assert [r.metric_value for r in card.data.eval_results] == [e.value for e in eval_result_entries(read_run(run_dir), dataset_id=BENCHMARK)]
    assert "metadata block was not found" not in caplog.text
    assert push_results(run_dir, MODEL, dataset_repo=BENCHMARK, direct=True, model_index=True).model.status == "unchanged"


def test_a_404_from_the_discussions_endpoint_says_so_not_repository_not_found(hub, model_repo, run_dir):
    hub.fail("GET", r"^/api/models/tacos-org/random-baseline/discussions", 404, body={"error": "Not Found"})
    with pytest.raises(HubError) as raised:
        push_results(run_dir, MODEL, dataset_repo=BENCHMARK)
    message = str(raised.value)
    assert message.startswith(
        "the discussions (pull requests) endpoint not found (HTTP 404: Not Found: GET /api/models/tacos-org/random-baseline/discussions) "
        "pushing the results to model repo tacos-org/random-baseline: the repository exists"
    ), message
    assert "repository not found" not in message
