"""The files of a run folder, documented key by key (as lm-evaluation-harness's ``result_schema.py``).

``samples.jsonl`` - one JSON object per item, in benchmark order::

    id               item id ("EO-100388")
    task, view       task and input view
    filename         the TACOS clip
    answer           correct letter
    options          the four labels, A-D
    mode             "generate" or "logprob"
    prompt           the exact text the model saw (chat template applied)
    prompt_sha256    hash of ``prompt``
    audio_sha256     hash of the clip's file bytes (null in caption_only)
    audio_seconds    the clip's full length (null in caption_only)
    audio_truncated  whether the clip was cut to the model's audio limit
    output           generated text (generate mode; null in logprob mode)
    letter           the chosen letter, or null when no letter could be read (scored wrong)
    rule             the parse rule (generate), "logprob", or "baseline:<name>"
    logprobs         next-token log-probability of A-D after the prompt (null when unavailable)
    correct          letter == answer
    cache_key        sha256 over item id, audio hash, prompt, model id and revision, dtype, mode,
                     decoding settings, audio limit and benchmark version: a resumed run reuses a
                     record only when its key matches
    options_in_clip  whether each option (A-D) is annotated in the clip: the presence-only ceiling
    caption_order_letter  caption views only: the caption-order shortcut's letter (null: undecided)
    item_id, rotation     circular runs only: the original item id and the rotation (0-3); ``id`` is
                     ``<item_id>@rot<k>`` and ``options``/``answer`` are rotated

``results.json`` - a superset of lm-evaluation-harness's results file (``lm_eval/result_schema.py``);
the same bytes are written as ``results_<date_id>.json`` beside lm-eval-named sample files
(``harness/lm_eval_layout.py``), so that lm-eval's readers (``get_results_filenames``, ``make_table``,
``WandbLogger``) read the folder::

    results          {"tacos_temporal": the group, "tacos_temporal_<task>": the task}, each {"alias",
                     "acc,none", "acc_stderr,none", "acc_ci_low,none", "acc_ci_high,none",
                     "parse_failure_rate,none"}; the group's "acc" is over every item (micro, as lm-eval
                     weights a group by size) and it adds "acc_macro,none".  A stderr that cannot be
                     computed (one item) is "N/A", as lm-eval writes it.
    groups           {"tacos_temporal": the group's entry of "results"}
    group_subtasks   {"tacos_temporal": ["tacos_temporal_<task>", ...]}
    configs          per task: task, tag, dataset_path, dataset_name (the view), test_split, output_type,
                     num_fewshot, metric_list, filter_list (generate), metadata.version
    versions         per task and the group: BENCHMARK_VERSION
    n-shot           per task and the group: 0
    higher_is_better per task and the group: {"acc": true, "parse_failure_rate": false, ...}
    n-samples        per task: {"original": items of the task in the view, "effective": items run}
    config           model, model_args, batch_size, device, limit, ... (lm-eval's keys)
    model_name, model_name_sanitized, model_revision, model_dtype, date, git_hash,
    transformers_version, total_evaluation_time_seconds
    tacos_temporal   everything of this package: run_config, model (describe()), view, mode, decoding,
                     intervention, package_versions, audio_truncated, timings, samples file,
                     scores (the flat dict of ``scoring.metrics.score``), data (where the items came
                     from: source kind, path or Hub id, revision, benchmark version, item-set hashes;
                     see ``data_provenance``);
                     ``oracle`` (true for the presence-oracle baseline and oracle interventions),
                     ``circular``, and in a time_reversed run answered with audio_only
                     ``temporal_consistency`` (the reversal_* keys, the original view and run folder)
    The flat scores also hold the controls (scoring/controls.py): presence_ceiling[_<task>],
    caption_order_accuracy[_<task>] and caption_order_coverage (caption views), circular_* and
    accuracy_rotation_<k> (circular runs), reversal_* (time_reversed with audio_only).
``run_config.json`` - the configuration the folder belongs to (checked when a run resumes).
"""

from __future__ import annotations

import math
import platform
import re
import subprocess
import time
from importlib import metadata
from pathlib import Path

from ..names import BENCHMARK_NAME, BENCHMARK_VERSION, TASKS, VIEWS_WITH_AUDIO

SAMPLES_FILE = "samples.jsonl"
RESULTS_FILE = "results.json"
RUN_CONFIG_FILE = "run_config.json"
PACKAGES = ("tacos-temporal", "datasets", "evaluate", "huggingface_hub", "transformers", "torch", "torchcodec", "accelerate")


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_hash() -> str | None:
    """The commit of the source tree this package runs from, if it is a git checkout."""
    try:
        root = Path(__file__).resolve().parents[2]
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


#: lm-eval's "higher_is_better" of every metric we report (None: neither, an interval bound).
HIGHER_IS_BETTER = {"acc": True, "acc_macro": True, "acc_ci_low": None, "acc_ci_high": None, "parse_failure_rate": False}
#: What lm-eval writes for a standard error it cannot compute (``lm_eval/evaluator_utils.py``).
NO_STDERR = "N/A"


def acc_stderr(acc: float, n: int) -> float | str:
    """lm-eval's ``mean_stderr`` of a 0/1 metric (sample standard deviation / sqrt(n)); ``"N/A"`` for n < 2."""
    return math.sqrt(acc * (1 - acc) / (n - 1)) if n > 1 else NO_STDERR


def _metric_entry(alias: str, scores: dict, suffix: str, n: int) -> dict:
    acc = scores[f"accuracy{suffix}"]
    return {
        "alias": alias,
        "acc,none": acc,
        "acc_stderr,none": acc_stderr(acc, n),
        "acc_ci_low,none": scores[f"accuracy{suffix}_ci_low"],
        "acc_ci_high,none": scores[f"accuracy{suffix}_ci_high"],
        "parse_failure_rate,none": scores[f"parse_failure_rate{suffix}"],
    }


def build_results(
    *,
    run_config: dict,
    model: dict,
    scores: dict,
    records: list[dict],
    data_source: str,
    timings: dict,
    extra: dict,
    n_original: dict[str, int] | None = None,
    data: dict | None = None,
) -> dict:
    """The ``results.json`` document of a finished run.

    ``n_original``: items per task in the view before ``--limit`` (default: those run);
    ``data``: where the items came from (:func:`tacos_temporal.harness.runner.data_provenance`).
    """
    view, mode = run_config["view"], run_config["mode"]
    group = _metric_entry(BENCHMARK_NAME, scores, "", scores["n"])
    group["acc_macro,none"] = scores["accuracy_macro"]
    results = {BENCHMARK_NAME: group}
    n_samples = {}
    configs = {}
    for task in TASKS:
        if f"n_{task}" not in scores:
            continue
        name = f"{BENCHMARK_NAME}_{task}"
        n = scores[f"n_{task}"]
        results[name] = _metric_entry(task, scores, f"_{task}", n)
        n_samples[name] = {"original": (n_original or {}).get(task, n), "effective": n}
        configs[name] = {
            "task": name,
            "tag": [BENCHMARK_NAME],
            "dataset_path": data_source,
            "dataset_name": view,
            "test_split": "test",
            "output_type": "generate_until" if mode == "generate" else "multiple_choice",
            "num_fewshot": 0,
            "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
            "metadata": {"version": BENCHMARK_VERSION},
        }
        if mode == "generate":
            configs[name]["filter_list"] = [{"name": "parse_choice", "filter": [{"function": "tacos_temporal.scoring.parsing.parse_choice"}]}]
    names = sorted(configs)
    return {
        "results": results,
        "groups": {BENCHMARK_NAME: dict(group)},
        "group_subtasks": {BENCHMARK_NAME: names},
        "configs": configs,
        "versions": {name: BENCHMARK_VERSION for name in [BENCHMARK_NAME, *names]},
        "n-shot": {name: 0 for name in [BENCHMARK_NAME, *names]},
        "higher_is_better": {name: dict(HIGHER_IS_BETTER) for name in [BENCHMARK_NAME, *names]},
        "n-samples": n_samples,
        "config": {
            "model": model.get("class"),
            "model_args": f"pretrained={model.get('model')},revision={model.get('revision')},dtype={model.get('dtype')}",
            "batch_size": run_config["batch_size"],
            "device": model.get("device"),
            "limit": run_config["limit"],
            "random_seed": run_config["seed"],
            "gen_kwargs": {"do_sample": False, "max_new_tokens": run_config["max_new_tokens"]} if mode == "generate" else None,
        },
        "model_name": model.get("model"),
        "model_name_sanitized": re.sub(r"[\"<>:/|\\?*\[\]]+", "__", str(model.get("model"))),
        "model_revision": model.get("revision"),
        "model_dtype": model.get("dtype"),
        "date": time.time(),
        "git_hash": git_hash(),
        "transformers_version": package_versions().get("transformers"),
        "total_evaluation_time_seconds": timings.get("total_seconds"),
        BENCHMARK_NAME: {
            "benchmark_version": BENCHMARK_VERSION,
            "run_config": run_config,
            "model": model,
            "view": view,
            "mode": mode,
            "has_audio": view in VIEWS_WITH_AUDIO,
            "samples": SAMPLES_FILE,
            "n_items": len(records),
            "audio_truncated": sum(1 for r in records if r.get("audio_truncated")),
            "package_versions": package_versions(),
            "timings": timings,
            "scores": dict(scores),
            "data": data,
            **extra,
        },
    }
