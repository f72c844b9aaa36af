"""publish-dataset: a built folder goes to a dataset repo with eval.yaml, and loads back with audio."""

from __future__ import annotations

import shutil

import pytest
import yaml

from tacos_temporal import cli
from tacos_temporal.errors import ConfigError, HubError
from tacos_temporal.hub.dataset import EVAL_FILE, eval_yaml, publish_dataset
from tacos_temporal.names import AUDIO_ONLY, TASKS, VIEWS
from tests.hub.conftest import ORG, snapshot

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")  # inside huggingface_hub's LFS upload

REPO = f"{ORG}/tacos_temporal"


def test_eval_yaml_declares_one_task_per_view_mode_and_question():
    document = yaml.safe_load(eval_yaml())
    assert set(document) == {"name", "description", "evaluation_framework", "tasks"}
    assert document["evaluation_framework"] == "tacos-temporal"
    tasks = document["tasks"]
    assert len(tasks) == len({task["id"] for task in tasks}) == 4 * 2 * 3  # views (silence included) x modes x questions
    assert tasks[:3] == [{"id": f"audio_only_{task}", "config": AUDIO_ONLY, "split": "test"} for task in TASKS]
    by_id = {task["id"]: task["config"] for task in tasks}
    assert by_id["caption_only_latest_offset"] == "caption_only" and by_id["audio_caption_longest_duration_logprob"] == "audio_caption"
    assert by_id["silence_earliest_onset"] == AUDIO_ONLY  # the control reads the audio_only config, under its own id
    assert not [task_id for task_id in by_id if task_id.endswith(("_partial", "_intervention"))]
    assert not [task_id for task_id in by_id if task_id.startswith("time_reversed")]  # a control, never ranked
    assert "percent" in document["description"]


def test_eval_yaml_framework_is_checked():
    with pytest.raises(ConfigError, match="lower-case identifier"):
        eval_yaml(evaluation_framework="Tacos Temporal")
    assert yaml.safe_load(eval_yaml(evaluation_framework="inspect-ai"))["evaluation_framework"] == "inspect-ai"


def test_publish_dataset_then_load_dataset_decodes_the_audio(hub, demo_build, capsys):
    from datasets import load_dataset

    before = snapshot(demo_build.out_dir)
    assert cli.main(["publish-dataset", str(demo_build.out_dir), "--repo", REPO, "--create"]) == 0
    assert "committed to main" in capsys.readouterr().out
    files = hub.repo(REPO, "dataset").files()
    assert {"README.md", "items.jsonl", "build_report.json", EVAL_FILE} <= set(files)
    assert {f"data/{view}/test-00000-of-00001.parquet" for view in VIEWS} <= set(files)
    assert files["items.jsonl"] == (demo_build.out_dir / "items.jsonl").read_bytes()
    assert b"configs:" in files["README.md"] and b"license" in files["README.md"]
    assert [task["id"] for task in yaml.safe_load(files[EVAL_FILE])["tasks"]][:3] == [f"audio_only_{task}" for task in TASKS]

    audio = load_dataset(REPO, AUDIO_ONLY, split="test")
    assert len(audio) == len(demo_build.items)
    row = audio[0]
    assert row["audio"]["sampling_rate"] > 0 and len(row["audio"]["array"]) > 0
    assert row["license"] and row["attribution"]
    captions = load_dataset(REPO, "caption_only", split="test")
    assert "audio" not in captions.column_names and "caption" in captions.column_names
    assert snapshot(demo_build.out_dir) == before  # the local folder is only read


def test_second_identical_publish_is_a_no_op(hub, demo_build):
    first = publish_dataset(demo_build.out_dir, REPO, create=True)
    head = hub.repo(REPO, "dataset").refs["main"]
    second = publish_dataset(demo_build.out_dir, REPO)
    assert (first.status, second.status) == ("committed", "unchanged")
    assert hub.repo(REPO, "dataset").refs["main"] == head
    assert not hub.seen("POST", r"/commit/")[1:]  # one commit in all


def test_data_files_of_an_older_build_are_deleted_in_the_same_commit(hub, demo_build):
    hub.create_repo(REPO, "dataset")
    hub.commit_files(REPO, "dataset", {"data/audio_only/test-00001-of-00002.parquet": b"PAR1 old shard", "notes.txt": b"kept"})
    publish_dataset(demo_build.out_dir, REPO)
    files = hub.repo(REPO, "dataset").files()
    assert "data/audio_only/test-00001-of-00002.parquet" not in files
    assert "data/audio_only/test-00000-of-00001.parquet" in files and "notes.txt" in files


def test_missing_repo_without_create_names_the_fix(hub, demo_build, capsys):
    assert cli.main(["publish-dataset", str(demo_build.out_dir), "--repo", REPO]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: repository not found (HTTP 404) pushing the dataset to dataset repo {REPO}: ")
    assert "pass --create to create it" in err
    assert f"then rerun: tacos-temporal publish-dataset {demo_build.out_dir} --repo {REPO}" in err
    assert (("dataset", REPO)) not in hub.repos


def test_incomplete_folder_is_refused_before_any_request(hub, demo_build, tmp_path):
    out = shutil.copytree(demo_build.out_dir, tmp_path / "dataset")
    shutil.rmtree(out / "data" / "caption_only")
    with pytest.raises(ConfigError, match=r"missing: data/caption_only/test-\*\.parquet"):
        publish_dataset(out, REPO, create=True)
    assert hub.requests == []


def test_bad_repo_id_is_a_config_error(demo_build):
    with pytest.raises(ConfigError, match="ORG/NAME"):
        publish_dataset(demo_build.out_dir, "tacos_temporal")
    assert not issubclass(ConfigError, HubError)
