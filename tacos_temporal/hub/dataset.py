"""Publish a built dataset folder on the Hub, with the ``eval.yaml`` that makes it a benchmark.

``publish_dataset(OUT, "ORG/NAME")`` pushes, in one commit, what ``tacos_temporal.data.build.build``
wrote: ``README.md`` (the dataset card: licences, attribution, the ``configs:`` block that declares
the three views ``audio_only``, ``caption_only``, ``audio_caption`` with one ``test`` split each),
``items.jsonl``, ``build_report.json``, ``data/<view>/test-*.parquet`` (audio bytes embedded), and
a generated ``eval.yaml`` at the root.  Data files of an earlier push that the new build no longer
has are deleted in the same commit.  Afterwards ``datasets.load_dataset("ORG/NAME", view,
split="test")`` works and the audio decodes.  A second identical push changes nothing.

``eval.yaml``: the Hub's benchmark declaration
==============================================

The format is the Hub's "Registering a Benchmark" specification (huggingface/hub-docs,
``docs/hub/eval-results.md``, section "Eval.yaml specification"); huggingface_hub 2.4 itself has no
code for it (it reads and writes only the model side, ``.eval_results/*.yaml``, through
``EvalResultEntry``)::

    name: TACOS-Temporal                  # display name
    description: >-                       # what the benchmark measures
      ...
    evaluation_framework: tacos-temporal  # one identifier from the Hub's list (see below)
    tasks:                                # one leaderboard per task
    - id: earliest_onset                  # required; the task_id of .eval_results entries
      config: audio_only                  # optional; dataset config (default: the default config)
      split: test                         # optional; default "test"

Status (2026): **beta**.  The Hub validates the file when it is pushed, but a dataset becomes a
benchmark (a "Benchmark" tag and a leaderboard built from the models' ``.eval_results``) only
after Hugging Face adds it to an **allow-list**, on request.  ``evaluation_framework`` must be one
of the identifiers in huggingface.js ``packages/tasks/src/eval.ts`` (``EVALUATION_FRAMEWORKS``:
``inspect-ai``, ``harbor``, ``mteb``, ``nemo-evaluator``, ...); an unlisted value is flagged as
invalid on the dataset page until a pull request to that file adds it.  We write
``tacos-temporal`` (this package is the harness that produces the scores); pass
``evaluation_framework=`` (``--evaluation-framework``) to use another identifier.

One leaderboard task per view (the three input views and the silence control), answer mode and
temporal question, so that no ranking mixes text-only, audio or control scores, or generated answers
with log-probability choices: ``<view>_<task>`` for generated answers (``audio_only_earliest_onset``,
the paper's headline setting), ``<view>_<task>_logprob`` for the log-probability mode.  The silence
control reads the ``audio_only`` config (its clips are replaced by silence at run time).  Scores are
accuracy in percent.  Runs with an attention intervention, and partial runs pushed with
``--allow-partial``, get task ids that this file does not declare (``..._intervention``,
``..._partial``): they stay on the model page and out of every ranking (see ``hub.leaderboard``).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..data.views import dataset_view
from ..errors import ConfigError
from ..harness.config import MODES
from ..names import ALL_VIEWS, AUDIO_ONLY, CONTROL_VIEWS, SPLIT, TASK_TITLES, TASKS, VIEW_TITLES, VIEWS
from .connection import PushOutcome, check_repo_id, ensure_repo, hub_api, hub_errors, push_files

EVAL_FILE = "eval.yaml"
BENCHMARK_TITLE = "TACOS-Temporal"
#: Our identifier of the harness; must be registered in huggingface.js eval.ts before the Hub accepts it.
EVALUATION_FRAMEWORK = "tacos-temporal"
#: The view of the paper's headline setting (first in eval.yaml).
LEADERBOARD_VIEW = AUDIO_ONLY
#: Suffixes of task ids that eval.yaml never declares: such entries are on no leaderboard.
UNRANKED_SUFFIXES = ("_intervention", "_partial")
CARD_FILES = ("README.md", "items.jsonl", "build_report.json")
_CONFIGS = re.compile(r"^---\s*\n.*?^configs:\s*$.*?^---\s*$", re.S | re.M)

DESCRIPTION = (
    "Temporal reasoning of large audio-language models on real recordings (TACOS, Freesound clips "
    "with labelled onsets and offsets): four-option questions about which sound event starts earliest "
    "(earliest_onset), ends latest (latest_offset) or lasts longest (longest_duration). Scores are "
    "accuracy in percent (0-100) of complete runs of the published item set; the answer letter is read with "
    "fixed rules that never guess, and an answer without a readable letter counts as wrong. Chance is 25. "
    "Each task id names the input view (audio_only, caption_only, audio_caption, or the silence control), "
    "the question and, for log-probability scoring, '_logprob'; each entry's notes give n, the data revision, "
    "the benchmark version, the answer mode and the intervention."
)


def leaderboard_task_id(view: str, task: str, mode: str = MODES[0], *, intervention: bool = False, partial: bool = False) -> str:
    """The ``task_id`` of an entry: ``<view>_<task>`` (generate mode) or ``<view>_<task>_<mode>``,
    plus ``_intervention`` / ``_partial`` for entries that no leaderboard ranks."""
    if view not in ALL_VIEWS or task not in TASKS or mode not in MODES:
        raise ConfigError(f"no leaderboard task for view {view!r}, task {task!r}, mode {mode!r}")
    base = f"{view}_{task}" + ("" if mode == MODES[0] else f"_{mode}")
    return base + ("_intervention" if intervention else "") + ("_partial" if partial else "")


#: The views a leaderboard ranks: the benchmark's views and the silence control.  The control views
#: (time_reversed) are never ranked: reversed sounds are unnatural, so their accuracy is no score.
RANKED_VIEWS: tuple[str, ...] = tuple(view for view in ALL_VIEWS if view not in CONTROL_VIEWS)


def leaderboard_tasks(first_view: str = LEADERBOARD_VIEW) -> list[dict]:
    """Every ranked task of ``eval.yaml``: each ranked view (``first_view`` first) x answer mode x question."""
    views = [first_view] + [view for view in RANKED_VIEWS if view != first_view]
    return [
        {"id": leaderboard_task_id(view, task, mode), "config": dataset_view(view), "split": SPLIT}
        for view in views
        for mode in MODES
        for task in TASKS
    ]


def eval_yaml(*, evaluation_framework: str = EVALUATION_FRAMEWORK, view: str = LEADERBOARD_VIEW) -> str:
    """The ``eval.yaml`` of the benchmark: one task per view, answer mode and question (``view`` first)."""
    import yaml

    if view not in VIEWS:
        raise ConfigError(f"the leaderboard view must be one of {', '.join(VIEWS)}, got {view!r}")
    if not re.match(r"^[a-z0-9][a-z0-9._-]*$", evaluation_framework):
        raise ConfigError(f"evaluation_framework must be a lower-case identifier such as 'inspect-ai', got {evaluation_framework!r}")
    document = {
        "name": BENCHMARK_TITLE,
        "description": DESCRIPTION,
        "evaluation_framework": evaluation_framework,
        "tasks": leaderboard_tasks(view),
    }
    header = (
        "# Registers this dataset as a Hub benchmark (beta, allow-listed): one leaderboard per task.\n"
        "# Written by `tacos-temporal publish-dataset`. Task ids: <view>_<task>[_logprob]; views: "
        + ", ".join(f"{v} ({VIEW_TITLES[v]})" for v in RANKED_VIEWS)
        + "; tasks: "
        + ", ".join(f"{task} ({TASK_TITLES[task]})" for task in TASKS)
        + ".\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, width=100, allow_unicode=True)


def dataset_files(out_dir: str | Path) -> dict[str, Path]:
    """The files of a built dataset folder to publish (path in the repo -> local file)."""
    out_dir = Path(out_dir)
    rebuild = f"build it with `tacos-temporal build --tacos-dir ... --out {out_dir}` (all three views)"
    if not out_dir.is_dir():
        raise ConfigError(f"{out_dir} is not a folder: {rebuild}")
    missing = [name for name in CARD_FILES if not (out_dir / name).is_file()]
    views = {view: sorted((out_dir / "data" / view).glob(f"{SPLIT}-*.parquet")) for view in VIEWS}
    missing += [f"data/{view}/{SPLIT}-*.parquet" for view, found in views.items() if not found]
    if missing:
        raise ConfigError(f"{out_dir} is not a complete built dataset (missing: {', '.join(missing)}): {rebuild}")
    card = (out_dir / "README.md").read_text(encoding="utf-8")
    if not _CONFIGS.search(card):
        raise ConfigError(f"{out_dir / 'README.md'} has no `configs:` block in its YAML header; {rebuild}")
    files = {name: out_dir / name for name in CARD_FILES}
    for view, paths in views.items():
        files.update({f"data/{view}/{path.name}": path for path in paths})
    return files


def publish_dataset(
    out_dir: str | Path,
    repo_id: str,
    *,
    token: str | None = None,
    create: bool = False,
    private: bool = False,
    evaluation_framework: str = EVALUATION_FRAMEWORK,
    command: str | None = None,
) -> PushOutcome:
    """Push the built dataset in ``out_dir`` to the dataset repo ``repo_id`` (one commit to main).

    Args:
        out_dir (`str` or `Path`): a folder written by ``tacos-temporal build`` (all three views).
        repo_id (`str`): ``ORG/NAME`` of the dataset repo.
        token (`str`, *optional*): a Hub token; default: ``HF_TOKEN`` or the one stored by ``hf auth login``.
        create (`bool`, defaults to `False`): create the repo if it does not exist (else a missing
            repo is an error, so a typo never creates a repository).
        private (`bool`, defaults to `False`): create it private.
        evaluation_framework (`str`, defaults to ``"tacos-temporal"``): the ``eval.yaml`` identifier.
        command (`str`, *optional*): the command line to show in error messages.

    Returns:
        `PushOutcome`: ``committed`` or ``unchanged``, with the files and the commit URL.

    Raises:
        `ConfigError`: ``out_dir`` is not a complete build.  `HubError`: the push failed (nothing
        was committed; the local folder is never modified).
    """
    check_repo_id(repo_id)
    files: dict[str, bytes | Path] = dict(dataset_files(out_dir))
    files[EVAL_FILE] = eval_yaml(evaluation_framework=evaluation_framework).encode("utf-8")
    api = hub_api(token)
    card = Path(out_dir) / "README.md"
    with hub_errors("pushing the dataset to", repo_id, "dataset", command=command, token=token, card_hint=f"fix the YAML header of {card}"):
        ensure_repo(api, repo_id, "dataset", create=create, private=private)
        stale = tuple(
            path for path in api.list_repo_files(repo_id, repo_type="dataset") if path.startswith("data/") and path not in files
        )
        return push_files(
            api,
            repo_id,
            "dataset",
            files,
            title=f"Publish {BENCHMARK_TITLE} ({len(VIEWS)} views, eval.yaml)",
            description="Pushed with `tacos-temporal publish-dataset`.",
            delete=stale,
        )
