"""The run folder as lm-evaluation-harness writes it, so that lm-eval's own tooling reads it.

lm-eval 0.4.13 (``lm_eval/loggers/evaluation_tracker.py``) writes, per run::

    results_<date_id>.json              the aggregated results (``lm_eval/result_schema.py``)
    samples_<task>_<date_id>.jsonl      one line per document and filter

where ``<date_id>`` is ``datetime.now().isoformat().replace(":", "-")`` and its readers find them by
name (``lm_eval.utils.get_results_filenames``: ``"/results_" in f``; ``get_sample_results_filenames``:
``"/samples_" in f``; ``get_file_task_name``: between the first and the last ``_``;
``get_file_datetime``: after the last ``_``).  A tacos_temporal run folder holds both layouts:

    results.json, samples.jsonl         ours (read by ``tacos-temporal score RUN``, resume, push-results)
    results_<date_id>.json              byte-identical to results.json
    samples_tacos_temporal_<task>_<date_id>.jsonl
                                        lm-eval's sample fields (below), our record's fields beside them

A sample line, as lm-eval's ``save_results_samples`` leaves it (arguments as ``gen_args_<i>`` /
``arg_<j>``, responses as strings)::

    doc_id          the item's row in the view's ``test`` split (the true index, also under --limit)
    doc             the item's fields as the dataset has them (no audio bytes)
    target          the correct letter
    arguments       generate: {"gen_args_0": {"arg_0": prompt, "arg_1": generation kwargs}}
                    logprob:  {"gen_args_<i>": {"arg_0": prompt, "arg_1": letter}} for A-D
    resps           generate: [[output]]; logprob: [[[log-probability, "None"]]] per letter
                    (is-greedy is not known: only A-D are scored)
    filtered_resps  generate: [letter or "[invalid]"]; logprob: [[log-probability, "None"]] per letter
    filter          "parse_choice" (generate) or "none" (logprob)
    metrics         ["acc"]
    acc             1.0 or 0.0
    doc_hash, prompt_hash, target_hash   sha256 as ``lm_eval.utils.hash_string``
    id, task, view, ..., correct         every field of our record (``harness/results.py``)

Only the standard library is used here; lm-eval itself is a test dependency (tests/harness/test_lm_eval_files.py
calls its readers on real run folders).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timezone
from pathlib import Path

from ..files import atomic_write_text
from ..names import BENCHMARK_NAME, LETTERS

#: What lm-eval writes for a filtered response without an answer (``lm_eval/filters/extraction.py``).
INVALID = "[invalid]"
#: The filter name of generate-mode samples (the letter is read with ``parse_choice``).
PARSE_FILTER = "parse_choice"
_RESULTS = re.compile(r"^results_\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d(\.\d+)?\.json$")
_SAMPLES = re.compile(rf"^samples_{BENCHMARK_NAME}_\w+_\d{{4}}-\d\d-\d\dT\d\d-\d\d-\d\d(\.\d+)?\.jsonl$")


def task_name(task: str) -> str:
    """The lm-eval task name of one of our tasks: ``tacos_temporal_earliest_onset``."""
    return f"{BENCHMARK_NAME}_{task}"


def date_id(timestamp: float) -> str:
    """lm-eval's ``date_id`` of a UNIX time (UTC): ``2026-11-30T20-55-01.123456``."""
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds").replace(":", "-")


def results_filename(timestamp: float) -> str:
    return f"results_{date_id(timestamp)}.json"


def samples_filename(task: str, timestamp: float) -> str:
    return f"samples_{task_name(task)}_{date_id(timestamp)}.jsonl"


def lm_eval_files(run_dir: str | Path) -> list[Path]:
    """The lm-eval-named files of a run folder (results and samples), sorted."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    return sorted(path for path in run_dir.iterdir() if _RESULTS.match(path.name) or _SAMPLES.match(path.name))


def hash_string(text: str) -> str:
    """``lm_eval.utils.hash_string``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sample_line(record: dict, *, doc_id: int, doc: dict, max_new_tokens: int | None) -> dict:
    """One line of ``samples_<task>_<date_id>.jsonl`` for one of our records."""
    prompt, target = record["prompt"], record["answer"]
    if record["mode"] == "logprob":
        logprobs = record.get("logprobs") or {}
        arguments = {f"gen_args_{i}": {"arg_0": prompt, "arg_1": letter} for i, letter in enumerate(LETTERS)}
        pairs = [[str(logprobs.get(letter)), "None"] for letter in LETTERS]
        resps, filtered, filter_name = [[pair] for pair in pairs], pairs, "none"
    else:
        gen_kwargs = {"until": [], "do_sample": False, "max_new_tokens": max_new_tokens}
        arguments = {"gen_args_0": {"arg_0": prompt, "arg_1": gen_kwargs}}
        resps, filtered, filter_name = [[str(record.get("output"))]], [record["letter"] or INVALID], PARSE_FILTER
    line = {
        "doc_id": doc_id,
        "doc": doc,
        "target": target,
        "arguments": arguments,
        "resps": resps,
        "filtered_resps": filtered,
        "filter": filter_name,
        "metrics": ["acc"],
        "acc": 1.0 if record["correct"] else 0.0,
        "doc_hash": hash_string(json.dumps(doc, indent=2, ensure_ascii=False, default=str)),
        "prompt_hash": hash_string(prompt),
        "target_hash": hash_string(str(target)),
    }
    clashes = set(line) & set(record)
    if clashes:  # our record never uses lm-eval's names; a clash would silently drop a field
        raise ValueError(f"record fields {sorted(clashes)} collide with lm-eval's sample fields")
    return {**line, **record}


def write_lm_eval_files(run_dir: Path, results_text: str, samples_by_task: dict[str, list[dict]], timestamp: float) -> list[Path]:
    """Replace the run folder's lm-eval-named files with those of this run (atomically, one by one:
    the new files are written first, then older ones removed)."""
    old = set(lm_eval_files(run_dir))
    written = [atomic_write_text(run_dir / results_filename(timestamp), results_text)]
    for task, lines in samples_by_task.items():
        text = "".join(json.dumps(line, ensure_ascii=False, default=str) + "\n" for line in lines)
        written.append(atomic_write_text(run_dir / samples_filename(task, timestamp), text))
    for path in old - set(written):
        path.unlink(missing_ok=True)
    return written
