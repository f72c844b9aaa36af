"""Run folders read by lm-evaluation-harness's own tooling (lm_eval 0.4.13, a dev dependency).

Real run folders of the tiny text-only checkpoint on the demo benchmark's caption_only view are
handed to lm-eval's readers unchanged: the file-name helpers of ``lm_eval.utils``, ``make_table``
for tasks and groups, and the result and sample formatting of ``lm_eval.loggers.WandbLogger``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from lm_eval import utils as lm_utils
from lm_eval.loggers.wandb_logger import WandbLogger

from tacos_temporal.data.load import load_view_dataset
from tacos_temporal.harness.config import RunConfig
from tacos_temporal.harness.lm_eval_layout import INVALID, lm_eval_files
from tacos_temporal.harness.results import RESULTS_FILE, SAMPLES_FILE
from tacos_temporal.harness.runner import evaluate
from tacos_temporal.names import TASKS

TASK_NAMES = [f"tacos_temporal_{task}" for task in TASKS]
SAMPLE_KEYS = {"doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "filter", "metrics", "doc_hash", "prompt_hash", "target_hash"}


@pytest.fixture(scope="module")
def runs(tiny_models, demo_build, tmp_path_factory) -> dict[str, Path]:
    """``full``: every item, generate mode; ``limit3``: ``--limit 3`` in logprob mode, one item per task."""
    from tacos_temporal.harness.models import load_runner

    model = str(tiny_models["qwen2_text"])
    runner = load_runner(RunConfig(model=model, view="caption_only"))
    root = tmp_path_factory.mktemp("lm_eval_runs")
    evaluate(RunConfig(model=model, view="caption_only", batch_size=8), root / "full", data=demo_build.out_dir, runner=runner, progress=False)
    evaluate(RunConfig(model=model, view="caption_only", mode="logprob", limit=3), root / "limit3", data=demo_build.out_dir, runner=runner, progress=False)
    return {"full": root / "full", "limit3": root / "limit3"}


def _listing(run_dir: Path) -> list[str]:
    return [str(path) for path in sorted(run_dir.iterdir())]


def _results(run_dir: Path) -> dict:
    [path] = lm_utils.get_results_filenames(_listing(run_dir))
    return json.loads(Path(path).read_text())


def _samples(run_dir: Path) -> dict[str, list[dict]]:
    return {
        lm_utils.get_file_task_name(Path(path).name): [json.loads(line) for line in Path(path).read_text().splitlines()]
        for path in lm_utils.get_sample_results_filenames(_listing(run_dir))
    }


@pytest.mark.parametrize("name", ["full", "limit3"])
def test_lm_eval_file_helpers_find_one_results_file_and_one_samples_file_per_task(runs, name):
    listing = _listing(runs[name])
    [results] = lm_utils.get_results_filenames(listing)
    samples = lm_utils.get_sample_results_filenames(listing)
    assert sorted(lm_utils.get_file_task_name(Path(p).name) for p in samples) == sorted(TASK_NAMES)
    dates = {lm_utils.get_file_datetime(Path(p).name).removesuffix(".json") for p in [results, *samples]}
    assert len(dates) == 1  # results and samples of one run share lm-eval's date id
    assert lm_utils.get_latest_filename(samples) in samples
    # our own files stay, and results_<date>.json is the same document as results.json
    assert Path(results).read_bytes() == (runs[name] / RESULTS_FILE).read_bytes()
    assert (runs[name] / SAMPLES_FILE).is_file()


def test_results_carry_lm_eval_keys_and_counts_before_and_after_limit(runs, demo_build):
    full, cut = _results(runs["full"]), _results(runs["limit3"])
    per_task = {task: sum(1 for item in demo_build.items if item.task == task) for task in TASKS}
    for results in (full, cut):
        for key in ("results", "groups", "group_subtasks", "configs", "versions", "n-shot", "higher_is_better", "n-samples", "config"):
            assert key in results, key
        assert results["group_subtasks"] == {"tacos_temporal": TASK_NAMES}
        assert set(results["versions"]) == set(results["n-shot"]) == set(results["higher_is_better"]) == {"tacos_temporal", *TASK_NAMES}
        assert results["higher_is_better"]["tacos_temporal_earliest_onset"]["acc"] is True
        assert results["higher_is_better"]["tacos_temporal"]["parse_failure_rate"] is False
    assert full["n-samples"] == {f"tacos_temporal_{t}": {"original": per_task[t], "effective": per_task[t]} for t in TASKS}
    assert cut["n-samples"] == {f"tacos_temporal_{t}": {"original": per_task[t], "effective": 1} for t in TASKS}
    assert cut["config"]["limit"] == 3
    # one item: no standard error, written as lm-eval writes it
    assert all(cut["results"][name]["acc_stderr,none"] == "N/A" for name in TASK_NAMES)
    assert isinstance(full["results"]["tacos_temporal"]["acc_stderr,none"], float)
    assert cut["configs"]["tacos_temporal_earliest_onset"]["output_type"] == "multiple_choice"
    assert full["configs"]["tacos_temporal_earliest_onset"]["output_type"] == "generate_until"


@pytest.mark.parametrize("name", ["full", "limit3"])
@pytest.mark.parametrize("column", ["results", "groups"])
def test_make_table_renders_tasks_and_groups(runs, name, column):
    results = _results(runs[name])
    table = lm_utils.make_table(results, column)
    header = "Groups" if column == "groups" else "Tasks"
    assert table.splitlines()[0].split("|")[1].strip() == header
    assert "tacos_temporal" in table and "acc" in table and "↑" in table
    if column == "results":
        assert all(f"- {task}" in table for task in TASKS)  # subtasks indented under the group
    if name == "limit3" and column == "results":
        assert "N/A" in table


def test_samples_have_lm_eval_fields_beside_ours(runs, demo_build):
    view = load_view_dataset(demo_build.out_dir, "caption_only", progress=False)
    for name, run in runs.items():
        ours = {json.loads(line)["id"]: json.loads(line) for line in (run / SAMPLES_FILE).read_text().splitlines()}
        samples = _samples(run)
        assert sum(len(lines) for lines in samples.values()) == len(ours)
        for task_name, lines in samples.items():
            for line in lines:
                assert SAMPLE_KEYS <= set(line)
                record = ours[line["id"]]
                assert {key: line[key] for key in record} == record  # every field of our record, unchanged
                assert f"tacos_temporal_{line['task']}" == task_name
                assert view[line["doc_id"]]["id"] == line["doc"]["id"] == line["id"]  # doc_id: the row in the split
                assert line["target"] == record["answer"] and line["metrics"] == ["acc"]
                assert line["acc"] == (1.0 if record["correct"] else 0.0)
                assert line["prompt_hash"] == lm_utils.hash_string(line["arguments"]["gen_args_0"]["arg_0"]) == lm_utils.hash_string(record["prompt"])
                assert line["target_hash"] == lm_utils.hash_string(record["answer"])
                if record["mode"] == "generate":
                    assert line["filtered_resps"] == [record["letter"] or INVALID] and line["resps"] == [[record["output"]]]
                else:
                    assert [args["arg_1"] for args in line["arguments"].values()] == ["A", "B", "C", "D"]
                    logprobs = [float(pair[0]) for pair in line["filtered_resps"]]
                    assert "ABCD"[logprobs.index(max(logprobs))] == record["letter"]


def test_samples_files_load_with_datasets_json(runs):
    from datasets import load_dataset

    paths = lm_utils.get_sample_results_filenames(_listing(runs["full"]))
    rows = load_dataset("json", data_files=paths, split="train")
    assert {"doc_id", "doc", "filtered_resps", "acc"} <= set(rows.column_names)


def _in_memory(sample: dict) -> dict:
    """A sample as ``simple_evaluate`` returns it before ``save_results_samples`` (arguments as a list
    of tuples): the form ``WandbLogger.log_eval_samples`` takes, for lm-eval's own files too."""
    sample = copy.deepcopy(sample)
    sample["arguments"] = [tuple(args[f"arg_{j}"] for j in range(len(args))) for args in sample["arguments"].values()]
    return sample


@pytest.mark.parametrize("name", ["full", "limit3"])
def test_wandb_logger_formats_results_and_samples(runs, name):
    # WandbLogger.__init__ starts a W&B run; its formatting methods need only the results dict.
    logger = WandbLogger.__new__(WandbLogger)
    results = _results(runs[name])
    logger.post_init(results)
    configs = logger._get_config()
    assert set(configs["task_configs"]) == set(TASK_NAMES)
    summary, flat = logger._sanitize_results_dict()
    assert summary["tacos_temporal_earliest_onset/alias"] == "earliest_onset"
    assert isinstance(flat["tacos_temporal_earliest_onset/acc"], float)
    if name == "limit3":
        assert summary["tacos_temporal_earliest_onset/acc_stderr"] == "N/A"
    # log_eval_samples: every task that is not a group has a config; the group is in "groups"
    tasks = [task for task in logger.task_names if task not in logger.group_names]
    assert sorted(tasks) == sorted(TASK_NAMES)
    for task, lines in _samples(runs[name]).items():
        frame = logger._generate_dataset([_in_memory(line) for line in lines], logger.task_configs[task])
        assert list(frame["id"]) == [line["doc_id"] for line in lines]
        assert list(frame["acc"]) == [line["acc"] for line in lines]


def test_a_finished_run_keeps_one_set_of_lm_eval_files(demo_build, tmp_path):
    config = RunConfig(model="random", view="caption_only", limit=3)
    evaluate(config, tmp_path / "run", data=demo_build.out_dir, progress=False)
    first = lm_eval_files(tmp_path / "run")
    evaluate(config, tmp_path / "run", data=demo_build.out_dir, progress=False)  # resumed: nothing to answer
    second = lm_eval_files(tmp_path / "run")
    assert len(first) == len(second) == 4  # one results file, one samples file per task
    assert first != second  # the second finish replaced the first one's files
    evaluate(config, tmp_path / "run", data=demo_build.out_dir, progress=False, overwrite=True)
    assert len(lm_eval_files(tmp_path / "run")) == 4
