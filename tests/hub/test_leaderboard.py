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
from tests.hub.conftest import BENCHMARK, BOB_TOKEN, MODEL, edited_run, snapshot

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")  # inside huggingface_hub's LFS upload

RESULTS_FILE = ".eval_results/tacos_temporal_audio_only_generate_none.yaml"


@pytest.fixture
def model_repo(hub):
    hub.create_repo(MODEL)
    hub.create_repo(BENCHMARK, "dataset")
    return MODEL


def test_entries_are_huggingface_hub_eval_result_entries_one_per_task(run_dir):
    from huggingface_hub import EvalResultEntry, parse_eval_result_entries

    run = read_run(run_dir)
    entries = eval_result_entries(run, dataset_id=BENCHMARK, source_url="https://example.org/details", source_name="details")
    assert all(isinstance(entry, EvalResultEntry) for entry in entries)
    back = parse_eval_result_entries(yaml.safe_load(eval_results_yaml(entries)))
    assert back == entries
    assert [entry.task_id for entry in entries] == list(TASKS)
    scores = json.loads((run_dir / "results.json").read_text())["results"]
    assert [entry.value for entry in entries] == [round(100 * scores[f"tacos_temporal_{t}"]["acc,none"], 2) for t in TASKS]
    assert entries[0].notes == "view=audio_only; answer mode=generate; intervention=none"
    assert eval_results_path(run) == RESULTS_FILE


def test_intervention_is_named_in_the_notes_and_the_file_name(run_dir, tmp_path):
    run = read_run(edited_run(run_dir, tmp_path, intervention={"kind": "scale", "alpha": 2.0, "layers": [20, 21]}))
    assert run.notes == "view=audio_only; answer mode=generate; intervention=kind=scale, alpha=2.0, layers=[20, 21]"
    path = eval_results_path(run)
    assert path.startswith(".eval_results/tacos_temporal_audio_only_generate_scale-") and path.endswith(".yaml")


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
    assert [(e.dataset_id, e.task_id) for e in entries] == [(BENCHMARK, task) for task in TASKS]
    assert all("view=audio_only" in e.notes for e in entries)

    board = api.get_dataset_leaderboard(BENCHMARK, base_model_only=False)
    assert {(row.model_id, row.pull_request, row.filename) for row in board} == {(MODEL, 1, RESULTS_FILE.split("/")[-1])}
    assert sorted(row.taskId for row in board) == sorted(TASKS)
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


def test_dataset_repo_defaults_to_the_hub_id_in_results_json(hub, model_repo, run_dir, tmp_path):
    with pytest.raises(ConfigError, match="pass --dataset-repo ORG/NAME"):
        push_results(run_dir, MODEL)
    outcome = push_results(edited_run(run_dir, tmp_path, dataset_path=BENCHMARK), MODEL)
    assert {entry.dataset_id for entry in outcome.entries} == {BENCHMARK}


def test_anyone_may_open_a_pull_request_but_only_owners_commit(hub, model_repo, run_dir, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", BOB_TOKEN)
    assert push_results(run_dir, MODEL, dataset_repo=BENCHMARK).model.status == "opened"
    assert hub.repo(MODEL).discussions[0].author == "bob"
    with pytest.raises(HubError, match=r"^permission denied \(HTTP 403: You don't have the rights to write to tacos-org/random-baseline\) pushing the results to model repo"):
        push_results(run_dir, MODEL, dataset_repo=BENCHMARK, direct=True)


def test_a_missing_model_repo_is_never_created(hub, run_dir):
    with pytest.raises(HubError, match="repository not found .* create the model repo first"):
        push_results(run_dir, MODEL, dataset_repo=BENCHMARK, create=True)
    assert ("model", MODEL) not in hub.repos
