"""A finished run folder (``harness/results.py``) as the Hub layer reads it: never written to.

Everything pushed about a run is derived from ``results.json`` and ``samples.jsonl`` in memory; the
run folder stays byte-identical whatever happens on the Hub.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..errors import ConfigError
from ..files import read_jsonl_objects
from ..harness.results import RESULTS_FILE, SAMPLES_FILE
from ..names import BENCHMARK_NAME, TASKS

#: Split names of the details dataset: the run's date in UTC, as lm-evaluation-harness names them.
TIMESTAMP_FORMAT = "%Y_%m_%dT%H_%M_%S"


@dataclass(frozen=True)
class RunSummary:
    """What the Hub layer needs from a run folder."""

    run_dir: Path
    results: dict
    model: str | None
    view: str
    mode: str
    intervention: dict | str | None
    date: float
    data_source: str | None
    #: task -> (accuracy as a fraction, number of items), for the tasks the run has.
    accuracy: dict[str, tuple[float, int]]
    #: ``--limit`` of the run (``None``: every item).
    limit: int | None = None
    #: where the items came from (``tacos_temporal.data`` of results.json; ``None`` in older runs).
    data: dict | None = None
    #: task -> items of the task in the view before ``--limit``.
    n_original: dict[str, int] | None = None

    @property
    def timestamp(self) -> str:
        """``2026_11_26T06_30_00``: the run's date (UTC), usable as a split name."""
        return datetime.fromtimestamp(self.date, tz=timezone.utc).strftime(TIMESTAMP_FORMAT)

    @property
    def iso_date(self) -> str:
        return datetime.fromtimestamp(self.date, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def intervention_label(self) -> str:
        """``none``, or the intervention's settings in one line (``kind=scale, alpha=2.0, layers=[20]``)."""
        value = self.intervention
        if value in (None, "", {}):
            return "none"
        if isinstance(value, dict):
            keys = sorted(value, key=lambda key: (key != "kind", key))
            return ", ".join(f"{key}={json.dumps(value[key], sort_keys=True)}".replace('"', "") for key in keys)
        return str(value)

    @property
    def intervention_slug(self) -> str:
        """A short file-name-safe id of the intervention: ``none`` or ``<kind>-<8 hex digits>``."""
        if self.intervention_label == "none":
            return "none"
        kind = self.intervention.get("kind", "custom") if isinstance(self.intervention, dict) else "custom"
        digest = hashlib.sha256(json.dumps(self.intervention, sort_keys=True, default=str).encode()).hexdigest()[:8]
        return f"{re.sub(r'[^A-Za-z0-9]+', '-', str(kind)).strip('-') or 'custom'}-{digest}"

    @property
    def notes(self) -> str:
        return f"view={self.view}; answer mode={self.mode}; intervention={self.intervention_label}"

    @property
    def data_revision(self) -> str | None:
        """The Hub commit of the benchmark dataset the run loaded (``None`` for other sources)."""
        data = self.data or {}
        return data.get("revision") if data.get("kind") == "hub" else None

    @property
    def data_label(self) -> str:
        """``ORG/NAME@<commit>``, ``local folder PATH``, ``demo``...: where the items came from."""
        data = self.data or {}
        kind, source = data.get("kind"), data.get("source") or self.data_source
        if kind == "hub":
            return f"{source}@{data.get('revision')}"
        if kind == "local":
            return f"local folder {source}"
        return str(kind or source or "unknown")

    def samples(self) -> list[dict]:
        path = self.run_dir / SAMPLES_FILE
        error = lambda number, problem: ConfigError(f"{path} line {number} is {problem}; rerun `tacos-temporal eval` to finish the run")  # noqa: E731
        return [record for _, record in read_jsonl_objects(path, error)]


def read_run(run_dir: str | Path) -> RunSummary:
    """Read a finished run folder; a folder without ``results.json`` or ``samples.jsonl`` is refused."""
    run_dir = Path(run_dir)
    results_path = run_dir / RESULTS_FILE
    if not results_path.is_file() or not (run_dir / SAMPLES_FILE).is_file():
        raise ConfigError(
            f"{run_dir} is not a finished run folder (needs {RESULTS_FILE} and {SAMPLES_FILE}); "
            "run `tacos-temporal eval --out RUN ...` to the end first"
        )
    try:
        results = json.loads(results_path.read_text(encoding="utf-8"))
        ours = results[BENCHMARK_NAME]
        accuracy = {
            task: (float(results["results"][f"{BENCHMARK_NAME}_{task}"]["acc,none"]), int(results["n-samples"][f"{BENCHMARK_NAME}_{task}"]["effective"]))
            for task in TASKS
            if f"{BENCHMARK_NAME}_{task}" in results["results"]
        }
        configs = results.get("configs") or {}
        data_source = next((c.get("dataset_path") for c in configs.values() if c.get("dataset_path")), None)
        summary = RunSummary(
            run_dir=run_dir,
            results=results,
            model=results.get("model_name"),
            view=ours["view"],
            mode=ours["mode"],
            intervention=ours.get("intervention"),
            date=float(results["date"]),
            data_source=data_source,
            accuracy=accuracy,
            limit=(results.get("config") or {}).get("limit"),
            data=ours.get("data"),
            n_original={task: int(results["n-samples"][f"{BENCHMARK_NAME}_{task}"]["original"]) for task in accuracy},
        )
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise ConfigError(f"{results_path} is not a tacos_temporal results file ({type(err).__name__}: {err}); rerun `tacos-temporal eval`") from err
    if not accuracy:
        raise ConfigError(f"{results_path} has no per-task scores; rerun `tacos-temporal eval`")
    return summary
