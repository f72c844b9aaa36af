"""A run's scores in the Hub's Eval Results format, pushed to the model repo; the leaderboard read back.

``push_results(RUN, "ORG/MODEL", dataset_repo="ORG/tacos_temporal")`` writes one file,
``.eval_results/tacos_temporal_<view>_<mode>_<intervention>[_partial].yaml``, with one entry per task,
built with huggingface_hub's ``EvalResultEntry`` and ``eval_result_entries_to_yaml``::

    - dataset:
        id: ORG/tacos_temporal        # the benchmark dataset (its eval.yaml declares the tasks)
        task_id: audio_only_earliest_onset   # <view>_<task>[_logprob]: a task id of that eval.yaml
        revision: 5503434d...         # the dataset commit the run loaded its items from
      value: 63.64                    # accuracy in percent, two decimals
      date: '2026-11-26T06:30:00Z'    # the run's date
      source:                         # --source-url, default: the details dataset
        url: https://huggingface.co/datasets/ORG/details
        name: tacos_temporal details
      notes: n=528 of 528; data=ORG/tacos_temporal@5503434d...; benchmark version=1.0.0;
        view=audio_only; answer mode=generate; intervention=none

Only a run of the whole published benchmark is ranked (``hub.standing``): every item, loaded from
``dataset_repo`` itself, the same item set and benchmark version.  Anything else is refused unless
``allow_partial=True`` (``--allow-partial``); then the notes start with ``PARTIAL (<reasons>)``, the
task ids end in ``_partial`` and the file name too, so a partial run never replaces a complete one
and no leaderboard ranks it.  A run with an attention intervention is not the model as published:
its task ids end in ``_intervention`` (unranked; the intervention is in the notes and the file name).

By default the file goes to the model repo in a **pull request** (the Hub shows the scores as
community results while it is open); ``direct=True`` commits to main (needs write access).  The
file name is fixed by the run's view, answer mode and intervention, so a second push of the same
run finds its file on main, or in our open pull request, and does nothing; a changed run updates
that pull request in place instead of opening another.

``model_index=True`` also writes the legacy ``model-index`` block of the model card (README.md),
with ``ModelCardData`` / ``EvalResult``, merged into the existing card as ``metadata_update`` does
(an entry with the same task, dataset, config, split and metric is replaced).  ``details_repo``
first pushes the per-item samples (``hub.details``).

``read_leaderboard("ORG/tacos_temporal")`` returns ``HfApi().get_dataset_leaderboard`` (the Hub
endpoint ``GET /api/datasets/ORG/NAME/leaderboard``), which ranks the models whose eval results
name the dataset; it answers only for a benchmark on the allow-list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..names import BENCHMARK_NAME, SPLIT, TASK_TITLES
from .connection import PushOutcome, check_repo_id, hub_api, hub_errors, push_files, repo_url
from .dataset import BENCHMARK_TITLE, leaderboard_task_id
from .run import RunSummary, read_run
from .standing import partial_reasons, published_benchmark

RESULTS_FOLDER = ".eval_results"
#: The Hub pipeline tag of the models this benchmark evaluates (model-index ``task.type``).
TASK_TYPE = "audio-text-to-text"
DETAILS_SOURCE_NAME = f"{BENCHMARK_NAME} details"


def eval_results_path(run: RunSummary, *, partial: bool = False) -> str:
    """``.eval_results/tacos_temporal_<view>_<mode>_<intervention>[_partial].yaml``: one file per setting."""
    suffix = "_partial" if partial else ""
    return f"{RESULTS_FOLDER}/{BENCHMARK_NAME}_{run.view}_{run.mode}_{run.intervention_slug}{suffix}.yaml"


def percent(accuracy: float) -> float:
    return round(100.0 * accuracy, 2)


def entry_notes(run: RunSummary, task: str, reasons: list[str] | tuple[str, ...] = ()) -> str:
    """What an entry records: n (of the task's items in the view), data source and revision,
    benchmark version, view, answer mode, intervention; ``PARTIAL (...)`` first for a partial run."""
    n = run.accuracy[task][1]
    original = (run.n_original or {}).get(task, n)
    versions = ", ".join((run.data or {}).get("benchmark_versions") or []) or "unknown"
    notes = f"n={n} of {original}; data={run.data_label}; benchmark version={versions}; {run.notes}"
    return f"PARTIAL ({'; '.join(reasons)}); {notes}" if reasons else notes


def _has_intervention(run: RunSummary) -> bool:
    return run.intervention_label != "none"


def eval_result_entries(
    run: RunSummary, *, dataset_id: str, source_url: str | None = None, source_name: str | None = None, partial: list[str] | tuple[str, ...] = ()
):
    """One ``EvalResultEntry`` per task of the run (accuracy in percent); ``partial``: the reasons
    the run is not the whole published benchmark (see the module docstring)."""
    from huggingface_hub import EvalResultEntry

    return [
        EvalResultEntry(
            dataset_id=dataset_id,
            task_id=leaderboard_task_id(run.view, task, run.mode, intervention=_has_intervention(run), partial=bool(partial)),
            value=percent(accuracy),
            dataset_revision=run.data_revision,
            date=run.iso_date,
            source_url=source_url,
            source_name=source_name if source_url else None,
            notes=entry_notes(run, task, partial),
        )
        for task, (accuracy, _) in run.accuracy.items()
    ]


def eval_results_yaml(entries) -> str:
    import yaml
    from huggingface_hub import eval_result_entries_to_yaml

    return yaml.safe_dump(eval_result_entries_to_yaml(entries), sort_keys=False, allow_unicode=True, width=100)


def model_index_results(run: RunSummary, *, dataset_id: str, source_url: str | None = None, partial: bool = False):
    """The legacy ``model-index`` results (``EvalResult``), one per task."""
    from huggingface_hub import EvalResult

    return [
        EvalResult(
            task_type=TASK_TYPE,
            # One task name for the three: model-index groups results by task type and dataset and
            # keeps the first name; the metric name tells the tasks apart.
            task_name=f"Temporal reasoning ({run.view})",
            dataset_type=dataset_id,
            dataset_name=BENCHMARK_TITLE,
            dataset_config=run.view,
            dataset_split=SPLIT,
            metric_type="accuracy",
            metric_name=f"{TASK_TITLES[task]} accuracy (%; {run.mode}, intervention {run.intervention_label}{', PARTIAL' if partial else ''})",
            metric_value=percent(accuracy),
            source_url=source_url,
            source_name=DETAILS_SOURCE_NAME if source_url else None,
        )
        for task, (accuracy, _) in run.accuracy.items()
    ]


def merge_model_index(readme: bytes | None, results, *, model_name: str) -> bytes:
    """The model card ``readme`` with ``results`` merged into its ``model-index`` (as
    ``huggingface_hub.metadata_update(..., overwrite=True)`` merges: same result except the value ->
    replaced; new -> appended).  A repo without a card gets a minimal one whose metadata block is the
    model-index alone (an empty ``---`` block first would leave the metadata behind a second one, where
    huggingface_hub no longer finds it)."""
    from huggingface_hub import ModelCard, ModelCardData

    if readme is None:
        data = ModelCardData(model_name=model_name, eval_results=list(results))
        return f"---\n{data.to_yaml()}\n---\n\n# {model_name}\n".encode("utf-8")
    card = ModelCard(readme.decode("utf-8"))
    existing = list(card.data.eval_results or [])
    kept = [old for old in existing if not any(old.is_equal_except_value(new) for new in results)]
    card.data.eval_results = kept + list(results)
    if not card.data.model_name:
        card.data.model_name = model_name
    return str(card).encode("utf-8")


def default_dataset_repo(run: RunSummary) -> str:
    """The benchmark dataset named in ``results.json`` when it is a Hub id (the run loaded it from the Hub)."""
    if run.data and run.data.get("kind") == "hub":
        return run.data["source"]
    source = run.data_source
    if source and re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", source) and not Path(source).exists():
        return source
    raise ConfigError(
        f"results.json names the dataset {source!r}, not a Hub dataset id: pass --dataset-repo ORG/NAME "
        "(the benchmark dataset on the Hub, published with `tacos-temporal publish-dataset`)"
    )


@dataclass
class PushResultsOutcome:
    """What ``push_results`` did: the details dataset (if any) and the model repo."""

    model: PushOutcome
    details: PushOutcome | None = None
    entries: list = field(default_factory=list)

    def describe(self) -> str:
        lines = [self.details.describe()] if self.details else []
        lines.append(self.model.describe())
        return "\n".join(lines)


def push_results(
    run_dir: str | Path,
    model_repo: str,
    *,
    dataset_repo: str | None = None,
    details_repo: str | None = None,
    source_url: str | None = None,
    direct: bool = False,
    model_index: bool = False,
    create: bool = False,
    private: bool = False,
    token: str | None = None,
    command: str | None = None,
    allow_partial: bool = False,
) -> PushResultsOutcome:
    """Push a finished run's scores to ``model_repo`` (and its samples to ``details_repo``).

    Args:
        run_dir (`str` or `Path`): a run folder of ``tacos-temporal eval`` (read only, never changed).
        model_repo (`str`): ``ORG/MODEL``, the model the scores belong to; it must exist.
        dataset_repo (`str`, *optional*): the benchmark dataset ``ORG/NAME``; default: the Hub id in
            ``results.json`` (when the run loaded the benchmark from the Hub).
        details_repo (`str`, *optional*): a dataset repo for the per-item details (see ``hub.details``).
        source_url (`str`, *optional*): the entries' source link; default: the details repo's URL.
        direct (`bool`, defaults to `False`): commit to main instead of opening a pull request.
        model_index (`bool`, defaults to `False`): also write the card's legacy ``model-index``.
        create (`bool`, defaults to `False`): create ``details_repo`` if it does not exist.
        private (`bool`, defaults to `False`): create it private.
        token (`str`, *optional*): a Hub token; default: ``HF_TOKEN`` or the one stored by ``hf auth login``.
        command (`str`, *optional*): the command line to show in error messages.
        allow_partial (`bool`, defaults to `False`): push a run that is not the whole published
            benchmark (``hub.standing``), marked partial and unranked; without it such a run is refused
            before anything is pushed.

    Raises:
        `ConfigError`: the run is partial and ``allow_partial`` is not set (the message lists why).
    """
    check_repo_id(model_repo, "--model-repo")
    run = read_run(run_dir)
    dataset_id = check_repo_id(dataset_repo, "--dataset-repo") if dataset_repo else default_dataset_repo(run)
    if details_repo:
        check_repo_id(details_repo, "--details-repo")
    api = hub_api(token)
    with hub_errors("reading the published item set of", dataset_id, "dataset", command=command, token=token, missing_hint="publish the benchmark with `tacos-temporal publish-dataset` first"):
        reasons = partial_reasons(run, published_benchmark(api, dataset_id))
    if reasons and not allow_partial:
        raise ConfigError(
            f"{run.run_dir} is not a complete run of the benchmark published at {dataset_id}: {'; '.join(reasons)}. "
            f"Rerun `tacos-temporal eval --data {dataset_id}` without --limit to rank it, or pass --allow-partial "
            "to push it marked partial (on the model page, in no ranking)"
        )
    details = None
    if details_repo:
        generated = "the details card is generated by tacos-temporal: please report this message as a bug"
        with hub_errors("pushing the details to", details_repo, "dataset", command=command, token=token, card_hint=generated):
            from .details import push_details

            details = push_details(api, run, details_repo, model_id=model_repo, create=create, private=private)
    if source_url is None and details_repo:
        source_url = repo_url(api, details_repo, "dataset")
    entries = eval_result_entries(
        run, dataset_id=dataset_id, source_url=source_url, source_name=DETAILS_SOURCE_NAME if details_repo else None, partial=reasons
    )
    files = {eval_results_path(run, partial=bool(reasons)): eval_results_yaml(entries).encode("utf-8")}
    derived = {}
    if model_index:
        results = model_index_results(run, dataset_id=dataset_id, source_url=source_url, partial=bool(reasons))
        name = model_repo.split("/", 1)[1]
        derived["README.md"] = lambda current: merge_model_index(current, results, model_name=name)
    done = f"; the details are already on {details_repo} (pushing them again changes nothing)" if details else ""
    with hub_errors(
        "pushing the results to",
        model_repo,
        "model",
        command=command,
        token=token,
        missing_hint="create the model repo first (push-results never creates it)" + done,
        card_hint=f"the model card (README.md of {model_repo}) gets the model-index: fix its YAML header on the Hub, or drop --model-index",
    ):
        api.repo_info(model_repo)
        partial_title = ", PARTIAL" if reasons else ""
        title = f"Add {BENCHMARK_TITLE} results ({run.view}, {run.mode}, intervention {run.intervention_slug}{partial_title})"
        description = (
            f"Scores of `{run.model}` on [{dataset_id}]({repo_url(api, dataset_id, 'dataset')}): accuracy in percent per task; "
            f"{entry_notes(run, next(iter(run.accuracy)), reasons)}. Pushed with `tacos-temporal push-results`."
        )
        outcome = push_files(api, model_repo, "model", files, title=title, description=description, derived=derived, create_pr=not direct)
    return PushResultsOutcome(model=outcome, details=details, entries=entries)


def read_leaderboard(dataset_repo: str, *, token: str | None = None, command: str | None = None) -> list:
    """The Hub's leaderboard of a benchmark dataset (``HfApi.get_dataset_leaderboard``)."""
    check_repo_id(dataset_repo, "--dataset-repo")
    api = hub_api(token)
    with hub_errors("reading the leaderboard of", dataset_repo, "dataset", command=command, token=token, missing_hint="check that it is a benchmark on the allow-list"):
        return api.get_dataset_leaderboard(dataset_repo, base_model_only=False)
