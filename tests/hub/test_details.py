"""--details-repo: per-item samples in an lm-evaluation-harness-style details dataset."""

from __future__ import annotations

import io
import json

import pytest
import yaml

from tacos_temporal import cli
from tacos_temporal.hub.details import config_name, details_card, model_dir, samples_parquet
from tacos_temporal.hub.leaderboard import push_results
from tacos_temporal.hub.run import read_run
from tests.hub.conftest import BENCHMARK, DETAILS, MODEL, edited_run, publish_items, snapshot

RESULTS_FILE = ".eval_results/tacos_temporal_audio_only_generate_none.yaml"

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")  # inside huggingface_hub's LFS upload

CONFIG = "tacos-org__random-baseline__audio_only"


@pytest.fixture
def model_repo(hub, demo_build):
    hub.create_repo(MODEL)
    publish_items(hub, demo_build)
    return MODEL


def test_config_names_sanitise_the_model_id():
    assert model_dir("Qwen/Qwen2-Audio-7B-Instruct") == "Qwen__Qwen2-Audio-7B-Instruct"
    assert model_dir("/abs/path to/model") == "abs__path__to__model"
    assert config_name("nvidia/audio-flamingo-3-hf", "audio_caption") == "nvidia__audio-flamingo-3-hf__audio_caption"


def test_samples_parquet_has_one_schema_and_keeps_unknown_fields(run_dir):
    import pyarrow.parquet as pq

    records = read_run(run_dir).samples()
    records[0] = dict(records[0], logprobs={"A": -0.1, "B": -2.0, "C": -3.0, "D": -4.0}, extra_field={"x": [1, 2]})
    table = pq.read_table(io.BytesIO(samples_parquet(records)))
    assert table.num_rows == len(records)
    assert str(table.schema.field("logprobs").type) == "struct<A: double, B: double, C: double, D: double>"
    assert table.column("extra_field").to_pylist()[0] == {"x": [1, 2]}
    assert samples_parquet(records) == samples_parquet(records)  # deterministic bytes: a repeated push is a no-op


def test_details_card_declares_one_split_per_run_and_latest():
    paths = ["m__x/samples_audio_only_2026_01_02T00_00_00.parquet", "m__x/samples_audio_only_2026_01_01T00_00_00.parquet", "m__x/results_audio_only_2026_01_01T00_00_00.json"]
    header = yaml.safe_load(details_card(paths, DETAILS).split("---")[1])
    assert header["configs"] == [
        {
            "config_name": "m__x__audio_only",
            "data_files": [
                {"split": "2026_01_01T00_00_00", "path": paths[1]},
                {"split": "2026_01_02T00_00_00", "path": paths[0]},
                {"split": "latest", "path": paths[0]},
            ],
        }
    ]


def test_details_repo_then_load_dataset_latest(hub, model_repo, run_dir, capsys):
    from datasets import load_dataset

    before = snapshot(run_dir)
    code = cli.main(["push-results", str(run_dir), "--model-repo", MODEL, "--dataset-repo", BENCHMARK, "--details-repo", DETAILS, "--create"])
    assert code == 0
    out = capsys.readouterr().out
    assert f"dataset {DETAILS}: committed to main" in out and f"model {MODEL}: opened pull request #1" in out
    run = read_run(run_dir)
    files = hub.repo(DETAILS, "dataset").files()
    assert f"tacos-org__random-baseline/samples_audio_only_{run.timestamp}.parquet" in files
    assert json.loads(files[f"tacos-org__random-baseline/results_audio_only_{run.timestamp}.json"]) == run.results

    latest = load_dataset(DETAILS, CONFIG, split="latest")
    by_run = load_dataset(DETAILS, CONFIG, split=run.timestamp)
    records = run.samples()
    assert latest["id"] == by_run["id"] == [r["id"] for r in records]
    assert latest["correct"] == [r["correct"] for r in records]

    # the entries' source links to the details dataset
    entries = yaml.safe_load(hub.repo(MODEL).files("refs/pr/1")[RESULTS_FILE])
    assert {entry["source"]["url"] for entry in entries} == {f"{hub.base_url}/datasets/{DETAILS}"}
    assert snapshot(run_dir) == before


def test_a_later_run_adds_a_split_and_moves_latest(hub, model_repo, run_dir, tmp_path):
    from datasets import load_dataset

    push_results(run_dir, MODEL, dataset_repo=BENCHMARK, details_repo=DETAILS, create=True)
    later = edited_run(run_dir, tmp_path, date=read_run(run_dir).date + 3600)
    outcome = push_results(later, MODEL, dataset_repo=BENCHMARK, details_repo=DETAILS)
    assert outcome.details.status == "committed"
    header = yaml.safe_load(hub.repo(DETAILS, "dataset").files()["README.md"].decode().split("---")[1])
    splits = [item["split"] for item in header["configs"][0]["data_files"]]
    assert splits == [read_run(run_dir).timestamp, read_run(later).timestamp, "latest"]
    assert header["configs"][0]["data_files"][-1]["path"].endswith(f"_{read_run(later).timestamp}.parquet")
    assert len(load_dataset(DETAILS, CONFIG, split="latest")) == len(read_run(run_dir).samples())


def test_a_second_identical_details_push_is_a_no_op(hub, model_repo, run_dir):
    push_results(run_dir, MODEL, dataset_repo=BENCHMARK, details_repo=DETAILS, create=True)
    head = hub.repo(DETAILS, "dataset").refs["main"]
    again = push_results(run_dir, MODEL, dataset_repo=BENCHMARK, details_repo=DETAILS)
    assert (again.details.status, again.model.status) == ("unchanged", "unchanged")
    assert hub.repo(DETAILS, "dataset").refs["main"] == head


def test_details_card_declares_a_results_config_per_model_as_lm_eval_does():
    paths = [
        "m__x/samples_audio_only_2026_01_01T00_00_00.parquet",
        "m__x/results_audio_only_2026_01_01T00_00_00.parquet",
        "m__x/results_caption_only_2026_01_02T00_00_00.parquet",
        "m__x/results_audio_only_2026_01_01T00_00_00.json",
    ]
    header = yaml.safe_load(details_card(paths, DETAILS).split("---")[1])
    results = next(config for config in header["configs"] if config["config_name"] == "m__x__results")
    assert results["data_files"] == [
        {"split": "2026_01_01T00_00_00", "path": [paths[1]]},
        {"split": "2026_01_02T00_00_00", "path": [paths[2]]},
        {"split": "latest", "path": [paths[2]]},
    ]
    assert not any(path.endswith(".json") for config in header["configs"] for files in config["data_files"] for path in ([files["path"]] if isinstance(files["path"], str) else files["path"]))


def test_the_results_config_loads_the_runs_scores(hub, model_repo, run_dir, tmp_path):
    from datasets import load_dataset

    push_results(run_dir, MODEL, dataset_repo=BENCHMARK, details_repo=DETAILS, create=True)
    later = edited_run(run_dir, tmp_path, date=read_run(run_dir).date + 3600, acc=0.5)
    push_results(later, MODEL, dataset_repo=BENCHMARK, details_repo=DETAILS)
    run = read_run(run_dir)
    first = load_dataset(DETAILS, "tacos-org__random-baseline__results", split=run.timestamp)
    latest = load_dataset(DETAILS, "tacos-org__random-baseline__results", split="latest")
    assert len(first) == len(latest) == 1
    assert json.loads(first[0]["results"]) == run.results
    assert first[0]["view"] == "audio_only" and first[0]["data"] == run.data_label
    assert first[0]["tacos_temporal_earliest_onset/acc"] == run.results["results"]["tacos_temporal_earliest_onset"]["acc,none"]
    assert latest[0]["tacos_temporal_earliest_onset/acc"] == 0.5 and latest[0]["date"] == read_run(later).iso_date
