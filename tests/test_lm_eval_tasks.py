"""The lm-evaluation-harness tasks in lm_eval_tasks/tacos_temporal, run by the real harness (lm_eval
0.4.13, a dev dependency) on the tiny text-only checkpoint and the demo build's caption_only view.

With ``apply_chat_template=True`` lm-eval sees exactly the prompt of tacos_temporal's own harness, so
its numbers are ours: the multiple_choice task picks the letter our ``logprob`` mode picks, and the
generate_until task (greedy, filtered with parse_choice) reads the letter our ``generate`` mode reads.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs the real harness twice on a tiny model (about a minute on 2 CPU cores)

from tacos_temporal.harness.config import RunConfig
from tacos_temporal.harness.runner import evaluate
from tacos_temporal.names import BENCHMARK_VERSION, LETTERS, TASKS

TASK_DIR = Path(__file__).resolve().parents[1] / "lm_eval_tasks" / "tacos_temporal"
GROUPS = ("tacos_temporal_caption_only_mc", "tacos_temporal_caption_only_gen")
MAX_TOKENS = 8


@pytest.fixture(scope="module")
def lm_eval_run(tiny_models, demo_build):
    import lm_eval
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(TASK_DIR), metadata={"data": str(demo_build.out_dir)})
    return lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={tiny_models['qwen2_text']},dtype=float32",
        tasks=list(GROUPS),
        task_manager=manager,
        apply_chat_template=True,
        gen_kwargs=f"max_gen_toks={MAX_TOKENS}",
        log_samples=True,
        batch_size=4,
        device="cpu",
    )


@pytest.fixture(scope="module")
def our_runs(tiny_models, demo_build, tmp_path_factory):
    from tacos_temporal.harness.models import load_runner

    model = str(tiny_models["qwen2_text"])
    runner = load_runner(RunConfig(model=model, view="caption_only"))
    root = tmp_path_factory.mktemp("ours")
    return {
        mode: evaluate(RunConfig(model=model, view="caption_only", mode=mode, max_new_tokens=MAX_TOKENS), root / mode, data=demo_build.out_dir, runner=runner, progress=False)
        for mode in ("logprob", "generate")
    }


def test_task_manager_finds_the_tasks_and_groups_and_their_version():
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(TASK_DIR))
    names = set(manager.all_tasks)
    for group in GROUPS:
        assert group in names
        assert {f"{group}_{task}" for task in TASKS} <= names
    assert not {name for name in names if name.startswith("_")}  # the templates are not tasks
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!function", lambda loader, node: loader.construct_scalar(node))
    versions = {}
    for path in TASK_DIR.glob("*.yaml"):
        config = yaml.load(path.read_text(), Loader=Loader)
        if "metadata" in config:
            versions[path.name] = str(config["metadata"]["version"])
    assert set(versions) == {"_mc_template.yaml", "_gen_template.yaml", *(f"{group}.yaml" for group in GROUPS)}
    assert set(versions.values()) == {BENCHMARK_VERSION}  # the task version is the benchmark's


def _by_id(samples: dict, prefix: str) -> dict[str, dict]:
    return {line["doc"]["id"]: line for task in TASKS for line in samples[f"{prefix}_{task}"]}


def test_multiple_choice_picks_the_letter_our_logprob_mode_picks(lm_eval_run, our_runs, demo_build):
    samples = _by_id(lm_eval_run["samples"], "tacos_temporal_caption_only_mc")
    records = our_runs["logprob"].records
    assert set(samples) == {record["id"] for record in records} == {item.id for item in demo_build.items}
    for record in records:
        line = samples[record["id"]]
        loglikelihoods = [resp[0][0] for resp in line["resps"]]
        assert LETTERS[loglikelihoods.index(max(loglikelihoods))] == record["letter"]
        # lm-eval moves the prompt's trailing "\n" (end of the chat template) into the continuation
        # (lm_eval/api/model.py _encode_pair), so each of its four numbers is our letter's
        # log-probability plus the same log P("\n"): one offset per item, the same choice.
        offsets = [value - record["logprobs"][letter] for letter, value in zip(LETTERS, loglikelihoods)]
        assert max(offsets) - min(offsets) == pytest.approx(0.0, abs=1e-4)
        assert offsets[0] <= 0.0
    results = lm_eval_run["results"]
    for task in TASKS:
        assert results[f"tacos_temporal_caption_only_mc_{task}"]["acc,none"] == pytest.approx(our_runs["logprob"].scores[f"accuracy_{task}"])
    assert results["tacos_temporal_caption_only_mc"]["acc,none"] == pytest.approx(our_runs["logprob"].scores["accuracy"])


def test_generation_reads_the_letter_our_generate_mode_reads(lm_eval_run, our_runs):
    samples = _by_id(lm_eval_run["samples"], "tacos_temporal_caption_only_gen")
    for record in our_runs["generate"].records:
        line = samples[record["id"]]
        assert line["arguments"][0][0] == record["prompt"]  # the same chat-templated prompt
        assert line["resps"][0][0] == record["output"]
        assert line["filtered_resps"][0] == (record["letter"] or "[invalid]")
        assert line["exact_match"] == float(record["correct"])
    results = lm_eval_run["results"]
    for task in TASKS:
        assert results[f"tacos_temporal_caption_only_gen_{task}"]["exact_match,parse_choice"] == pytest.approx(our_runs["generate"].scores[f"accuracy_{task}"])


def test_the_tasks_say_how_to_pass_the_data(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("tacos_lm_eval_utils", TASK_DIR / "utils.py")
    utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(utils)
    with pytest.raises(ValueError, match=r"""--metadata '\{"data": "ORG/tacos_temporal"\}'"""):
        utils.load_caption_only(version=BENCHMARK_VERSION)
    assert utils.parse_choice_filter([["I cannot tell.", "B"]], [{"options": ["w", "x", "y", "z"]}]) == [["[invalid]", "B"]]
