"""Per-item details of runs in a Hub dataset, laid out as lm-evaluation-harness users know it.

One dataset repo (``--details-repo ORG/NAME``) holds the details of any number of runs::

    README.md                                         card whose `configs:` lists every config below
    <model>/samples_<view>_<timestamp>.parquet        the run's samples.jsonl as Parquet
    <model>/results_<view>_<timestamp>.parquet        the run's results: one row (see results_parquet)
    <model>/results_<view>_<timestamp>.json           the run's results.json, unchanged

``<model>`` is the model repo id with ``/`` (and anything but letters, digits, ``-``, ``_``, ``.``)
replaced by ``__`` (``Qwen__Qwen2-Audio-7B-Instruct``); ``<timestamp>`` is the run's date in UTC,
``2026_11_26T06_30_00``.  Each model and view is one config, ``<model>__<view>``; each run is one
split named by its timestamp, and ``latest`` is the newest one (lm-evaluation-harness:
``{model}__{task}`` configs with one split per run plus ``latest``).  As in lm-eval's details
datasets, each model also has a ``<model>__results`` config: one split per run (all views) and
``latest``, one row per run with its scores and the complete results document.  Only Parquet files
are declared as data (datasets 5 builds every config of a repo with one builder, so a JSON config
beside Parquet ones fails to load); the results.json files lie beside them, unchanged.

The card is regenerated from the repository's file list at every push, so configs pushed by
earlier runs (other models, other views) are kept.  The same run pushed again writes the same
file names and bytes: nothing changes.

```py
load_dataset("ORG/details", "Qwen__Qwen2-Audio-7B-Instruct__audio_only", split="latest")
```
"""

from __future__ import annotations

import io
import json
import re
from collections import defaultdict
from pathlib import Path

from ..names import BENCHMARK_NAME
from .connection import PushOutcome, ensure_repo, push_files
from .run import RunSummary

LATEST = "latest"
_SAMPLES = re.compile(r"^(?P<model>[^/]+)/samples_(?P<view>\w+?)_(?P<ts>\d{4}_\d\d_\d\dT\d\d_\d\d_\d\d)\.parquet$")
_RESULTS = re.compile(r"^(?P<model>[^/]+)/results_(?P<view>\w+?)_(?P<ts>\d{4}_\d\d_\d\dT\d\d_\d\d_\d\d)\.parquet$")
RESULTS_CONFIG = "results"


def model_dir(model_id: str) -> str:
    """The folder (and config-name prefix) of a model: ``Qwen/Qwen2-Audio`` -> ``Qwen__Qwen2-Audio``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "__", model_id).strip("_") or "model"


def config_name(model_id: str, view: str) -> str:
    return f"{model_dir(model_id)}__{view}"


def samples_path(model_id: str, run: RunSummary) -> str:
    return f"{model_dir(model_id)}/samples_{run.view}_{run.timestamp}.parquet"


def results_path(model_id: str, run: RunSummary) -> str:
    return f"{model_dir(model_id)}/results_{run.view}_{run.timestamp}.json"


def results_parquet_path(model_id: str, run: RunSummary) -> str:
    return f"{model_dir(model_id)}/results_{run.view}_{run.timestamp}.parquet"


def results_parquet(run: RunSummary) -> bytes:
    """One row: model, view, mode, intervention, date, data, ``acc`` / ``acc_stderr`` / ``n`` per task
    and for the group, and ``results`` (the complete results.json as JSON text)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    results = run.results
    row: dict = {
        "model": run.model,
        "view": run.view,
        "mode": run.mode,
        "intervention": run.intervention_label,
        "date": run.iso_date,
        "data": run.data_label,
        "benchmark_version": results.get(BENCHMARK_NAME, {}).get("benchmark_version"),
    }
    for name, scores in results["results"].items():
        stderr = scores.get("acc_stderr,none")
        row[f"{name}/acc"] = float(scores["acc,none"])
        row[f"{name}/acc_stderr"] = float(stderr) if isinstance(stderr, int | float) else None
        if name in results.get("n-samples", {}):
            row[f"{name}/n"] = int(results["n-samples"][name]["effective"])
    row["results"] = json.dumps(results, sort_keys=True, ensure_ascii=False)
    table = pa.Table.from_pylist([row])
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _samples_schema():
    import pyarrow as pa

    logprobs = pa.struct([(letter, pa.float64()) for letter in "ABCD"])
    return {
        "id": pa.string(), "task": pa.string(), "view": pa.string(), "filename": pa.string(), "answer": pa.string(),
        "options": pa.list_(pa.string()), "mode": pa.string(), "prompt": pa.string(), "prompt_sha256": pa.string(),
        "audio_sha256": pa.string(), "audio_seconds": pa.float64(), "audio_truncated": pa.bool_(), "output": pa.string(),
        "letter": pa.string(), "rule": pa.string(), "logprobs": logprobs, "correct": pa.bool_(), "cache_key": pa.string(),
    }  # fmt: skip


def samples_parquet(records: list[dict]) -> bytes:
    """The records of ``samples.jsonl`` as Parquet bytes (deterministic for the same records).

    Known fields get fixed types (so every run of a config has one schema); a field this package
    does not know is kept with the type pyarrow infers, or as JSON text when it cannot infer one.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    known = _samples_schema()
    names = list(known) + sorted({key for record in records for key in record} - set(known))
    columns, fields = [], []
    for name in names:
        values = [record.get(name) for record in records]
        if name == "logprobs":
            values = [{letter: (v or {}).get(letter) for letter in "ABCD"} if v else None for v in values]
        if name in known:
            array = pa.array(values, type=known[name])
        else:
            try:
                array = pa.array(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                array = pa.array([None if v is None else json.dumps(v, sort_keys=True) for v in values], type=pa.string())
        columns.append(array)
        fields.append(pa.field(name, array.type))
    table = pa.Table.from_arrays(columns, schema=pa.schema(fields))
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def details_card(paths: list[str], repo_id: str) -> str:
    """The details repo's ``README.md``: ``configs:`` for every samples file among ``paths``."""
    import yaml

    runs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    results: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(paths):
        match = _SAMPLES.match(path)
        if match:
            runs[f"{match['model']}__{match['view']}"].append((match["ts"], path))
        match = _RESULTS.match(path)
        if match:
            results[f"{match['model']}__{RESULTS_CONFIG}"][match["ts"]].append(path)
    configs = []
    for name in sorted(runs):
        splits = sorted(runs[name])
        data_files = [{"split": ts, "path": path} for ts, path in splits]
        data_files.append({"split": LATEST, "path": splits[-1][1]})
        configs.append({"config_name": name, "data_files": data_files})
    for name in sorted(results):
        by_ts = results[name]
        data_files = [{"split": ts, "path": sorted(by_ts[ts])} for ts in sorted(by_ts)]
        data_files.append({"split": LATEST, "path": sorted(by_ts[max(by_ts)])})
        configs.append({"config_name": name, "data_files": data_files})
    header = yaml.safe_dump(
        {"pretty_name": f"{BENCHMARK_NAME} evaluation details", "tags": ["evaluation", BENCHMARK_NAME], "configs": configs},
        sort_keys=False,
        width=120,
    )
    rows = "\n".join(f"| `{name}` | {len(runs[name])} | `{sorted(runs[name])[-1][0]}` |" for name in sorted(runs))
    example = sorted(runs)[0] if runs else "MODEL__VIEW"
    return (
        f"---\n{header}---\n\n# {BENCHMARK_NAME} evaluation details\n\n"
        "Per-item records of tacos_temporal runs, pushed with `tacos-temporal push-results --details-repo`.\n"
        "One config per model and view (`<model>__<view>`), one split per run (named by the run's UTC date)\n"
        "and `latest`. Each row is one question: the prompt, the model output, the letter read from it\n"
        "(and the parse rule), the correct letter and whether they match. `<model>__results` holds one row\n"
        "per run (split: the run's date; `latest`: the newest run of any view) with its scores and the\n"
        "complete results document; the `results_<view>_<date>.json` files beside them are the same documents.\n\n"
        "| config | runs | latest |\n|---|---:|---|\n"
        f"{rows}\n\n"
        "```python\nfrom datasets import load_dataset\n\n"
        f'details = load_dataset("{repo_id}", "{example}", split="latest")\n```\n'
    )


def push_details(api, run: RunSummary, repo_id: str, *, model_id: str, create: bool = False, private: bool = False) -> PushOutcome:
    """Push the run's samples (Parquet) and results to the details dataset ``repo_id`` (one commit
    to main; unchanged when already there).  Call inside :func:`connection.hub_errors`."""
    ensure_repo(api, repo_id, "dataset", create=create, private=private)
    files: dict[str, bytes | Path] = {
        samples_path(model_id, run): samples_parquet(run.samples()),
        results_path(model_id, run): (json.dumps(run.results, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"),
        results_parquet_path(model_id, run): results_parquet(run),
    }
    existing = api.list_repo_files(repo_id, repo_type="dataset")
    files["README.md"] = details_card(sorted(set(existing) | set(files)), repo_id).encode("utf-8")
    return push_files(
        api,
        repo_id,
        "dataset",
        files,
        title=f"Add details of {model_id} on {run.view} ({run.timestamp})",
        description=f"Pushed with `tacos-temporal push-results`: {run.notes}.",
    )
