"""The evaluation loop: one model, one view, every item, resumable, with a record per item.

``evaluate(cfg, out_dir)`` loads the view, checks it can serve the run, renders every prompt,
computes every cache key, reuses records of an earlier (killed) run whose key matches, answers the
rest in batches sorted by audio length, appends each batch's records to ``samples.jsonl`` as soon
as it is done (flushed and fsynced), halves the batch on out-of-memory, and finally rewrites
``samples.jsonl`` in benchmark order and writes ``results.json``, both atomically.

Data parallel: started under ``accelerate launch`` or ``torchrun`` (``WORLD_SIZE`` > 1), rank ``r``
answers every ``WORLD_SIZE``-th item into ``samples.rank<r>.jsonl``; rank 0 merges them into one
run folder.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import logging
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..data.items import ITEM_FIELDS
from ..data.prompts import render_prompt
from ..data.views import CLIP_DURATION, dataset_view, view_columns
from ..errors import ConfigError, SourceError
from ..files import atomic_write_text, check_apart, folder_lock
from ..names import BENCHMARK_NAME as RESULTS_KEY
from ..names import AUDIO_COLUMN, AUDIO_ONLY, BENCHMARK_VERSION, NUM_OPTIONS, SILENCE, TASKS, TIME_REVERSED, VIEWS_WITH_AUDIO, VIEWS_WITH_CAPTION
from ..scoring.controls import caption_order_letter, control_scores, rotate_row, temporal_consistency
from ..scoring.metrics import judged_from_records, score
from ..scoring.parsing import parse_choice
from .audio import ClipCache, decode_clip
from .config import RunConfig
from .models import ModelError, ModelRunner, load_runner
from .results import RESULTS_FILE, RUN_CONFIG_FILE, SAMPLES_FILE, build_results

logger = logging.getLogger(__name__)

#: Run settings that do not change any answer: a run may resume with other values.
RESUMABLE_CHANGES = frozenset({"batch_size", "device", "reuse"})
#: Settings added after runs were made, with the value a folder without them was run with.
ADDED_SETTINGS = {"circular": False}


@dataclass
class RunResult:
    out_dir: Path
    scores: dict
    results: dict
    records: list[dict]
    reused: int
    answered: int


# --- data --------------------------------------------------------------------------------------


def load_view(view: str, *, data: str | Path | None = None, demo: bool = False, seed: int = 0, progress: bool = True, revision: str | None = None):
    """The dataset serving ``view`` (audio left undecoded) and a description of where it came from
    (``revision``: the commit of a Hub dataset to load, see :func:`hub_revision`)."""
    from datasets import Audio

    from ..data.load import ensure_build, load_view_dataset

    if data is not None and demo:
        raise ConfigError("pass either --data or --demo, not both")
    if data is None:
        path = ensure_build(demo=demo, download=not demo, seed=seed, progress=progress)
        source = "demo" if demo else "tacos (downloaded)"
    else:
        path, source = data, str(data)
    config = dataset_view(view)
    try:
        dataset = load_view_dataset(path, config, progress=progress, revision=revision)
    except (ValueError, FileNotFoundError) as err:
        hint = (
            f"; the time-reversal control is written by: tacos-temporal build --views audio_only caption_only audio_caption {TIME_REVERSED}"
            if config == TIME_REVERSED else ""
        )
        raise SourceError(f"cannot load view {config!r} from {path}: {err}{hint}") from err
    except ConnectionError as err:  # datasets: "Couldn't reach 'ORG/NAME' on the Hub" (offline, or no network)
        from ..data.locate import offline_hint

        raise SourceError(f"cannot load view {config!r} from {path}: {str(err).splitlines()[0]}; {offline_hint()}") from err
    needed = [c for c in view_columns(config) if c in (*ITEM_FIELDS, AUDIO_COLUMN, "caption")]
    missing = [c for c in needed if c not in dataset.column_names]
    if missing:
        raise SourceError(
            f"{path} ({config}) lacks column(s) {', '.join(missing)} that view {view!r} needs; "
            "rebuild it with: tacos-temporal build"
        )
    if AUDIO_COLUMN in dataset.column_names:
        dataset = dataset.cast_column(AUDIO_COLUMN, Audio(decode=False))
    return dataset, source


def data_kind(data: str | Path | None, demo: bool) -> str:
    """Where a run's items come from: ``hub`` (a Hub dataset id), ``local`` (a built folder), ``demo``
    (the synthetic demo corpus) or ``download`` (built here from the downloaded TACOS release)."""
    if data is None:
        return "demo" if demo else "download"
    return "local" if Path(str(data)).exists() else "hub"


def hub_revision(repo_id: str) -> str | None:
    """The current commit of the Hub dataset ``repo_id``; the run loads exactly this one and records it
    (``None`` offline, where push-results then has no revision to record)."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    try:
        return HfApi().dataset_info(repo_id).sha
    except OfflineModeIsEnabled:
        return None  # HF_HUB_OFFLINE=1: datasets loads its cached copy; the run records no revision
    except HfHubHTTPError as err:
        raise SourceError(f"cannot read the Hub dataset {repo_id!r} ({err}); check the id (ORG/NAME), HF_ENDPOINT and your token") from err


def data_provenance(*, data: str | Path | None, demo: bool, source: str, revision: str | None, rows: Sequence[dict], selected: Sequence[int]) -> dict:
    """What ``results.json`` records about the items (``tacos_temporal.data`` of the results file):

    kind (:func:`data_kind`), source (Hub id, folder or build), revision (the Hub commit; for a local
    folder its file fingerprint), benchmark_versions (of the items run), items_in_view and
    item_set_sha256 (every item of the view), run_item_set_sha256 and items_run (the items run:
    equal to the former unless ``--limit``).  push-results compares these with the published benchmark.
    """
    from ..data.items import item_set_sha256
    from ..data.load import folder_fingerprint

    kind = data_kind(data, demo)
    if kind == "local" and revision is None and Path(str(data)).is_dir():
        revision = f"folder:{folder_fingerprint(Path(str(data)))}"
    chosen = [rows[i] for i in selected]
    return {
        "kind": kind,
        "source": source,
        "revision": revision,
        "benchmark_versions": sorted({str(row.get("benchmark_version")) for row in chosen}),
        "items_in_view": len(rows),
        "item_set_sha256": item_set_sha256(rows),
        "items_run": len(chosen),
        "run_item_set_sha256": item_set_sha256(chosen),
    }


def stratified_sample(tasks: Sequence[str], limit: int, seed: int) -> list[int]:
    """Indices of a seeded sample of ``limit`` items, spread over tasks in proportion (largest remainder)."""
    if limit >= len(tasks):
        return list(range(len(tasks)))
    by_task = {task: [i for i, t in enumerate(tasks) if t == task] for task in TASKS}
    exact = {task: limit * len(idx) / len(tasks) for task, idx in by_task.items()}
    quota = {task: int(v) for task, v in exact.items()}
    for task in sorted(exact, key=lambda t: (quota[t] - exact[t], TASKS.index(t)))[: limit - sum(quota.values())]:
        quota[task] += 1
    chosen: list[int] = []
    for task, indices in by_task.items():
        chosen += random.Random(f"{seed}:limit:{task}").sample(indices, quota[task])
    return sorted(chosen)


# --- records -----------------------------------------------------------------------------------


def cache_key(*, item_id: str, audio_sha256: str | None, prompt: str, model: dict, cfg: RunConfig) -> str:
    """What an answer depends on; a resumed run reuses a record only when this matches."""
    payload = {
        "item": item_id,
        "audio": audio_sha256,
        "prompt": prompt,
        "model": model.get("model"),
        "revision": model.get("revision"),
        "dtype": model.get("dtype"),
        "view": cfg.view,
        "mode": cfg.mode,
        "max_new_tokens": cfg.max_new_tokens if cfg.mode == "generate" else None,
        "max_audio_seconds": model.get("max_audio_seconds"),
        "benchmark_version": BENCHMARK_VERSION,
        "intervention": cfg.steering.to_dict(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def read_records(path: Path) -> dict[str, dict]:
    """Records by cache key from a samples file.

    Only a torn last line (a final line without its newline: the run was killed mid-write) is cut
    off; it is answered again.  Any other line that is not a record (not UTF-8, not JSON, not an
    object with a string ``cache_key``), blank lines aside, stops with a :class:`SourceError`
    naming the file and line, and the file is left as it is: nothing after a bad line is lost.
    """
    if not path.is_file():
        return {}
    records: dict[str, dict] = {}
    good_bytes = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.endswith(b"\n"):
                break  # the torn last line
            good_bytes += len(line)
            if not line.strip():
                continue
            found = _record_problem(line)
            if isinstance(found, str):
                raise SourceError(
                    f"{path}:{number} is {found}; the run stops so that no record is lost. Delete or repair "
                    "that line (the records around it are kept and reused), then run the same command again"
                )
            records[found["cache_key"]] = found
    if good_bytes != path.stat().st_size:
        with path.open("r+b") as handle:
            handle.truncate(good_bytes)
    return records


def _record_problem(line: bytes) -> dict | str:
    """The record on ``line``, or what is wrong with it."""
    try:
        record = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        return "not UTF-8 text"
    except json.JSONDecodeError as err:
        return f"not JSON ({err.msg})"
    if not isinstance(record, dict):
        return f"a JSON {type(record).__name__}, not a record"
    if not isinstance(record.get("cache_key"), str):
        return "a JSON object without a cache_key, not a record of this harness"
    return record


def _append(handle, records: list[dict]) -> None:
    for record in records:
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    handle.flush()
    os.fsync(handle.fileno())


def _oom_errors() -> tuple[type[BaseException], ...]:
    try:
        import torch

        return (torch.OutOfMemoryError,)
    except (ImportError, AttributeError):  # pragma: no cover - torch < 2.5
        return ()


# --- the loop ----------------------------------------------------------------------------------


def _check_run_folder(out_dir: Path, identity: dict, overwrite: bool) -> None:
    try:
        _write_run_config(out_dir, identity, overwrite)
    except OSError as err:
        raise ConfigError(f"cannot write the run folder {out_dir} ({err.strerror or err}): choose a writable --out") from err


def _write_run_config(out_dir: Path, identity: dict, overwrite: bool) -> None:
    path = out_dir / RUN_CONFIG_FILE
    if overwrite and out_dir.is_dir():
        for name in (SAMPLES_FILE, RESULTS_FILE, RUN_CONFIG_FILE):
            (out_dir / name).unlink(missing_ok=True)
        for shard in out_dir.glob("samples.rank*.jsonl"):
            shard.unlink()
        from .lm_eval_layout import lm_eval_files

        for lm_eval_file in lm_eval_files(out_dir):
            lm_eval_file.unlink()
    if path.is_file():
        old = json.loads(path.read_text(encoding="utf-8"))
        differs = sorted(k for k in set(old) | set(identity) if k not in RESUMABLE_CHANGES and old.get(k, ADDED_SETTINGS.get(k)) != identity.get(k))
        if differs:
            raise ConfigError(
                f"{out_dir} holds a run with another configuration (differs in: {', '.join(differs)}). "
                "Use another --out, or --overwrite to start this one afresh."
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(identity, indent=2, sort_keys=True) + "\n")


def _distributed() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")))
    if world > 1:
        import torch.distributed as dist

        if not dist.is_initialized():
            # Only barriers cross processes (no tensors), so gloo serves CPU and GPU runs alike.
            dist.init_process_group(backend="gloo")
    return rank, world


def _barrier(world: int) -> None:
    if world > 1:
        import torch.distributed as dist

        dist.barrier()


@dataclass
class _Track:
    """One view of a run being evaluated: its plan, its run folder and what it has done."""

    cfg: RunConfig
    out_dir: Path
    dataset: object
    source: str
    plan: list
    todo: list
    done: dict
    audio_sha: dict
    model: dict
    samples_path: Path
    decode_audio: bool
    reused: int
    reuse: bool = False
    reuse_reason: str | None = None
    answered: int = 0
    infer_seconds: float = 0.0
    shared_with: tuple[str, ...] = ()
    provenance: dict | None = None
    n_original: dict | None = None


def evaluate(
    cfg: RunConfig,
    out_dir: str | Path,
    *,
    data: str | Path | None = None,
    demo: bool = False,
    runner: ModelRunner | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> RunResult | None:
    """Evaluate ``cfg.model`` on ``cfg.view`` into ``out_dir`` (see the module docstring).

    Args:
        cfg (`RunConfig`): the run.
        out_dir (`str` or `Path`): run folder; an existing one of the same configuration is resumed.
        data (`str` or `Path`, *optional*): a built dataset folder or Hub dataset id.
        demo (`bool`, defaults to `False`): use the built-in demo benchmark.
            With neither, the benchmark is built from the downloaded TACOS release (cached).
        runner (`ModelRunner`, *optional*): a ready model (adapters for models outside transformers);
            default: loaded from ``cfg.model``.
        overwrite (`bool`, defaults to `False`): discard an existing run in ``out_dir``.

    Returns:
        `RunResult` on rank 0 (``None`` on the other ranks of a data-parallel run).
    """
    return evaluate_views([(cfg, out_dir)], data=data, demo=demo, runner=runner, overwrite=overwrite, progress=progress)[0]


def run_inputs(*, model: str | None, data: str | Path | None, demo: bool) -> dict[str, Path | None]:
    """What a run reads from disk, by the option that names it (for :func:`check_apart`)."""
    from ..data.sources import cache_root

    return {
        "--data": Path(data) if data is not None and Path(data).exists() else None,
        "the demo build cache": cache_root() / "builds" if demo else None,
        "the TACOS cache": cache_root() if data is None and not demo else None,
        "--model": Path(model) if model and Path(model).is_dir() else None,
    }


@contextmanager
def run_folder(out_dir: str | Path, *, model: str | None, data: str | Path | None, demo: bool, what: str = "run folder") -> Iterator[Path]:
    """Check ``out_dir`` can hold a run and lock it for the block's duration.

    It must not be a file or a dangling link, nor equal, contain or lie inside what the run reads
    (``--data``, the cache a demo or downloaded build lives in, a local ``--model`` folder).  Only
    rank 0 of a data-parallel run locks (the other ranks write into the folder rank 0 holds).
    """
    out = Path(out_dir)
    if out.is_symlink() and not out.exists():
        raise ConfigError(f"{what} {out} is a link to {os.readlink(out)}, which does not exist: remove the link or choose another --out")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{what} {out} exists and is not a folder: choose another --out")
    check_apart(out, run_inputs(model=model, data=data, demo=demo), what)
    if int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0"))) != 0:
        yield out
        return
    with folder_lock(out, what):
        yield out


def holds_run_folder(func: Callable) -> Callable:
    """Decorate a function taking ``out_dir`` (and ``cfg``/``model``/``recipe``, ``data``, ``demo``)
    so that it runs inside :func:`run_folder`."""
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        arguments = signature.bind(*args, **kwargs)
        arguments.apply_defaults()
        a = arguments.arguments
        cfg = a.get("cfg")
        model = cfg.model if cfg is not None else (a.get("model") or getattr(a.get("recipe"), "model", None))
        with run_folder(a["out_dir"], model=model, data=a.get("data"), demo=bool(a.get("demo"))):
            return func(*args, **kwargs)

    return wrapper


def evaluate_views(
    runs: Sequence[tuple[RunConfig, str | Path]],
    *,
    data: str | Path | None = None,
    demo: bool = False,
    runner: ModelRunner | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> list[RunResult | None]:
    """Evaluate several views of one model, each into its own run folder, with the model loaded once.

    Each run folder is checked and locked for the whole run (:func:`run_folder`): a second process
    on the same folder stops at once, naming the process that holds it.
    """
    with ExitStack() as stack:
        for cfg, out_dir in runs:
            stack.enter_context(run_folder(out_dir, model=cfg.model, data=data, demo=demo))
        return _evaluate_views(runs, data=data, demo=demo, runner=runner, overwrite=overwrite, progress=progress)


def _evaluate_views(
    runs: Sequence[tuple[RunConfig, str | Path]],
    *,
    data: str | Path | None = None,
    demo: bool = False,
    runner: ModelRunner | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> list[RunResult | None]:
    """Evaluate several views of one model, each into its own run folder, with the model loaded once.

    Views whose prompts share the audio prefix are answered together, clip by clip: ``audio_only``
    and ``audio_caption`` feed the same audio before their text (the caption comes after it), so
    each clip is decoded, encoded and pre-filled once for all its questions **across both views**;
    the silence control joins the same batches with its own (silent) prefix.  ``results.json`` lists
    the views a run was answered jointly with.  Every run folder is the same as from
    :func:`evaluate` alone (tested).
    """
    started = time.perf_counter()
    rank, world = _distributed()
    load_started = time.perf_counter()
    if runner is None:
        from ..progress import library_progress

        with library_progress(progress):  # transformers' "Loading weights" bar follows --quiet
            runner = load_runner(runs[0][0])
    load_seconds = time.perf_counter() - load_started
    clips = ClipCache()
    tracks = [_prepare_track(cfg, Path(out_dir), runner, data=data, demo=demo, overwrite=overwrite, progress=progress, rank=rank, world=world) for cfg, out_dir in runs]
    for track in tracks:
        track.reuse_reason = _reuse_blocker(track.cfg, runner, track.decode_audio)
        if track.reuse_reason is None and track.todo:
            index, row, _, _ = track.todo[0]
            track.reuse_reason = runner.check_prefix_split([prompt for _, _, prompt, _ in track.plan], _clip_audio(track, clips, runner, index, row).samples)
        track.reuse = track.reuse_reason is None
        if track.cfg.reuse and track.reuse_reason is not None and track.decode_audio:
            logger.warning("%s: each item is encoded whole (no shared audio prefix): %s", track.cfg.view, track.reuse_reason)
    # Tracks that reuse prefixes and ask the model the same way run jointly, if their prompts share
    # one prefix; every other track runs on its own.
    groups: list[list[_Track]] = []
    joint: dict[tuple, list[_Track]] = {}
    for track in tracks:
        if track.reuse and track.todo:
            key = (track.cfg.mode, track.cfg.max_new_tokens, track.cfg.intervention, track.cfg.batch_size)
            joint.setdefault(key, []).append(track)
        else:
            groups.append([track])
    for members in joint.values():
        if len(members) > 1:
            index, row, _, _ = members[0].todo[0]
            prompts = [prompt for track in members for _, _, prompt, _ in track.plan]
            if runner.check_prefix_split(prompts, _clip_audio(members[0], clips, runner, index, row).samples) is None:
                for track in members:
                    track.shared_with = tuple(t.cfg.view for t in members if t is not track)
                groups.append(members)
                continue
        groups += [[track] for track in members]
    for members in groups:
        _answer(members, runner, clips, progress=progress, rank=rank)
    _barrier(world)
    if rank != 0:
        return [None] * len(tracks)
    finished = [_finish_track(track, clips, load_seconds, time.perf_counter() - started, world) for track in tracks]
    add_temporal_consistency(finished)
    return finished


def add_temporal_consistency(results: Sequence[RunResult]) -> dict | None:
    """When the runs hold both ``audio_only`` and ``time_reversed``, pair them
    (:func:`~tacos_temporal.scoring.controls.temporal_consistency`) and add the numbers to the
    reversed run's scores and ``results.json`` (``tacos_temporal.temporal_consistency``)."""
    by_view = {r.results[RESULTS_KEY]["view"]: r for r in results if r is not None}
    original, backwards = by_view.get(AUDIO_ONLY), by_view.get(TIME_REVERSED)
    if original is None or backwards is None:
        return None
    consistency = temporal_consistency(original.records, backwards.records)
    backwards.scores.update(consistency)
    backwards.results[RESULTS_KEY]["scores"].update(consistency)
    backwards.results[RESULTS_KEY]["temporal_consistency"] = {"original_view": AUDIO_ONLY, "original_run": os.path.relpath(original.out_dir, backwards.out_dir), **consistency}
    atomic_write_text(backwards.out_dir / RESULTS_FILE, json.dumps(backwards.results, indent=2, ensure_ascii=False, default=str) + "\n")
    return consistency


def _prepare_track(cfg: RunConfig, out_dir: Path, runner: ModelRunner, *, data, demo, overwrite, progress, rank, world) -> _Track:
    """Load the view, check the model can serve it, render every prompt and cache key, open the run
    folder and find what an earlier run already answered."""
    revision = hub_revision(str(data)) if data_kind(data, demo) == "hub" else None
    dataset, source = load_view(cfg.view, data=data, demo=demo, seed=cfg.seed, progress=progress and rank == 0, revision=revision)
    meta = dataset.select_columns([c for c in dataset.column_names if c != AUDIO_COLUMN]).to_list()
    selected = stratified_sample([row["task"] for row in meta], cfg.limit, cfg.seed) if cfg.limit else list(range(len(meta)))
    provenance = data_provenance(data=data, demo=demo, source=source, revision=revision, rows=meta, selected=selected)
    n_original = {task: sum(1 for row in meta if row["task"] == task) for task in TASKS}
    source_row = lambda index: index  # noqa: E731 - the dataset row that serves meta[index]'s audio
    if cfg.circular:
        # Every item under its four cyclic option rotations: new rows on the same clip (same audio).
        meta = [rotate_row(row, k) for row in meta for k in range(NUM_OPTIONS)]
        selected = [NUM_OPTIONS * index + k for index in selected for k in range(NUM_OPTIONS)]
        source_row = lambda index: index // NUM_OPTIONS  # noqa: E731
    with_audio = cfg.view in VIEWS_WITH_AUDIO
    decode_audio = with_audio and runner.uses_audio
    if decode_audio and runner.sampling_rate is None:
        raise ModelError(f"{cfg.model} takes no audio, so it cannot run view {cfg.view!r}; use --view caption_only")
    if decode_audio and getattr(runner, "supports_audio", True) is False:
        raise ModelError(f"{cfg.model} has an audio processor but no audio token in its config; it cannot run view {cfg.view!r}")
    if cfg.steering.active:
        check = getattr(runner, "check_intervention", None)
        if check is None:
            raise ModelError(f"{type(runner).__name__} cannot steer attention; run without --intervention")
        check(cfg.steering)
    model = runner.describe()

    # Prompts, audio hashes and cache keys of every selected item, before any inference.
    audio_sha: dict[str, str] = {}
    if with_audio:
        first_row = {}
        for index in selected:
            first_row.setdefault(meta[index]["filename"], source_row(index))
        for filename, index in first_row.items():
            audio = dataset[index][AUDIO_COLUMN]
            if not audio or not audio.get("bytes"):
                raise SourceError(f"item {dataset[index]['id']}: the audio of {filename} is missing from the dataset")
            audio_sha[filename] = hashlib.sha256(audio["bytes"]).hexdigest()
    if hasattr(runner, "bind_rows"):  # baselines that answer from the row (presence-oracle, caption-order)
        runner.bind_rows([meta[index] for index in selected])
    plan = []
    for index in selected:
        row = meta[index]
        prompt = runner.render(render_prompt(row, cfg.view, template=cfg.prompt_template), with_audio=with_audio)
        sha = audio_sha.get(row["filename"]) if with_audio else None
        plan.append((source_row(index), row, prompt, cache_key(item_id=row["id"], audio_sha256=sha, prompt=prompt, model=model, cfg=cfg)))

    identity = {**cfg.to_dict(), "model_revision": model.get("revision"), "model_dtype": model.get("dtype"), "data": source}
    if rank == 0:
        _check_run_folder(out_dir, identity, overwrite)
    _barrier(world)
    samples_path = out_dir / (SAMPLES_FILE if world == 1 else f"samples.rank{rank}.jsonl")
    done = read_records(out_dir / SAMPLES_FILE)
    if world > 1:
        done.update(read_records(samples_path))
    keys = {key for *_, key in plan}
    reused = sum(1 for key in keys if key in done)
    todo = [entry for entry in plan if entry[3] not in done]
    # Data parallel: whole clips go to one rank, so each clip is still encoded once.
    clip_rank = {name: n % world for n, name in enumerate(sorted({e[1]["filename"] for e in todo}))}
    todo = [entry for entry in todo if clip_rank[entry[1]["filename"]] == rank]
    return _Track(
        cfg, out_dir, dataset, source, plan, todo, done, audio_sha, model, samples_path, decode_audio, reused,
        provenance=provenance, n_original=n_original,
    )


def _clip_audio(track: _Track, clips: ClipCache, runner: ModelRunner, index: int, row: dict):
    """The decoded clip of ``row`` (once per clip and audio variant, whatever the view)."""
    silence = track.cfg.view == SILENCE
    return clips.get(
        f"{row['filename']}|{_audio_variant(track.cfg.view)}",
        lambda: decode_clip(
            track.dataset[index][AUDIO_COLUMN]["bytes"],
            runner.sampling_rate,
            max_seconds=runner.max_audio_seconds,
            silence=silence,
        ),
    )


def _answer(members: list[_Track], runner: ModelRunner, clips: ClipCache, *, progress: bool, rank: int) -> None:
    """Answer the open items of ``members`` (one track, or tracks sharing audio prefixes) in batches,
    appending each batch's records to its track's samples file as soon as it is done."""
    from ..progress import progress_bar

    first = members[0]
    cfg, reuse, decode_audio = first.cfg, first.reuse, first.decode_audio
    steering = cfg.steering if cfg.steering.active else None
    # Longest audio first; items of one clip side by side (decoded once, padding kept small).
    entries = sorted(
        ((track, *entry) for track in members for entry in track.todo),
        key=lambda e: (-(e[2].get(CLIP_DURATION) or 0.0), e[2]["filename"], _audio_variant(e[0].cfg.view), e[2]["id"], e[0].cfg.view),
    )
    if not entries:
        return
    handles = {id(track): track.samples_path.open("a", encoding="utf-8") for track in members}
    views = "+".join(track.cfg.view for track in members)
    try:
        with progress_bar(progress=progress, total=len(entries), desc=f"{views} {cfg.mode}", unit="item", position=rank) as bar:
            size, queue = cfg.batch_size, list(entries)
            while queue:
                batch = _take(queue, size, by_clip=reuse)
                audios = None
                clip_info = {}
                if decode_audio:
                    audios = []
                    for track, index, row, _, _ in batch:
                        clip = _clip_audio(track, clips, runner, index, row)
                        audios.append(clip.samples)
                        clip_info[(id(track), row["id"])] = clip
                prompts = [prompt for *_, prompt, _ in batch]
                tasks = [row["task"] for _, _, row, _, _ in batch]
                tick = time.perf_counter()
                try:
                    if reuse:
                        outputs = runner.answer_shared(
                            _groups(batch, audios, prompts), mode=cfg.mode, max_new_tokens=cfg.max_new_tokens, tasks=tasks, intervention=steering
                        )
                    else:
                        outputs = runner.answer(
                            prompts, audios, mode=cfg.mode, max_new_tokens=cfg.max_new_tokens,
                            item_ids=[row["id"] for _, _, row, _, _ in batch], tasks=tasks, intervention=steering,
                        )
                except _oom_errors():
                    if size == 1:
                        raise
                    size = max(1, size // 2)
                    _free_memory()
                    continue
                seconds = time.perf_counter() - tick
                written: dict[int, list[dict]] = {}
                for (track, _, row, prompt, key), output in zip(batch, outputs):
                    record = _record(row, prompt, key, output, clip_info.get((id(track), row["id"])), track.audio_sha.get(row["filename"]), track.cfg)
                    written.setdefault(id(track), []).append(record)
                    track.answered += 1
                for track in members:
                    if id(track) in written:
                        _append(handles[id(track)], written[id(track)])
                        track.infer_seconds += seconds * len(written[id(track)]) / len(batch)
                bar.update(len(batch))
                queue = queue[len(batch) :]
    finally:
        for handle in handles.values():
            handle.close()


def _finish_track(track: _Track, clips: ClipCache, load_seconds: float, total: float, world: int) -> RunResult:
    """Merge the records of every rank, rewrite samples.jsonl in benchmark order, score, write results.json."""
    cfg, out_dir, done = track.cfg, track.out_dir, track.done
    for shard in sorted(out_dir.glob("samples.rank*.jsonl")):
        done.update(read_records(shard))
    done.update(read_records(track.samples_path))
    missing = [row["id"] for _, row, _, key in track.plan if key not in done]
    if missing:
        raise SourceError(f"{len(missing)} item(s) have no record after the run (first: {missing[:5]}); run the same command again to resume")
    records = [done[key] for *_, key in track.plan]
    atomic_write_text(out_dir / SAMPLES_FILE, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    for shard in out_dir.glob("samples.rank*.jsonl"):
        shard.unlink()
    scores = score(judged_from_records(records))
    scores.update(control_scores(records))
    timings = {
        "total_seconds": round(total, 3),
        "model_load_seconds": round(load_seconds, 3),
        "inference_seconds": round(track.infer_seconds, 3),
        "items_answered": track.answered,
        "items_reused": track.reused,
        "items_per_second": round(track.answered / track.infer_seconds, 3) if track.infer_seconds > 0 else None,
        "clips_decoded": clips.decoded,
        "processes": world,
    }
    results = build_results(
        run_config=cfg.to_dict(),
        model=track.model,
        scores=scores,
        records=records,
        data_source=track.source,
        timings=timings,
        extra={
            "intervention": cfg.steering.to_dict() if cfg.steering.active else None,
            "intervention_description": cfg.steering.describe() if cfg.steering.active else None,
            "oracle": bool(cfg.steering.oracle) or bool(track.model.get("oracle")),
            "circular": cfg.circular,
            "reuse": track.reuse,
            "reuse_reason": track.reuse_reason,
            "answered_jointly_with_views": list(track.shared_with),
        },
        n_original=track.n_original,
        data=track.provenance,
    )
    if track.provenance and track.provenance.get("kind") == "hub":
        for config in results["configs"].values():
            config["dataset_kwargs"] = {"revision": track.provenance["revision"]}
    text = json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n"
    atomic_write_text(out_dir / RESULTS_FILE, text)
    _write_lm_eval_files(track, records, text, results["date"])
    return RunResult(out_dir, scores, results, records, track.reused, track.answered)


def _write_lm_eval_files(track: _Track, records: list[dict], results_text: str, date: float) -> None:
    """``results_<date_id>.json`` (the same bytes as results.json) and one lm-eval samples file per
    task (``harness/lm_eval_layout.py``), replacing those of an earlier finish of this folder."""
    from .lm_eval_layout import sample_line, write_lm_eval_files

    by_task: dict[str, list[dict]] = {task: [] for task in TASKS if any(r["task"] == task for r in records)}
    for (index, row, _, _), record in zip(track.plan, records):
        doc = {key: value for key, value in row.items() if key != AUDIO_COLUMN}
        by_task[record["task"]].append(sample_line(record, doc_id=index, doc=doc, max_new_tokens=track.cfg.max_new_tokens))
    write_lm_eval_files(track.out_dir, results_text, by_task, date)


def _reuse_blocker(cfg: RunConfig, runner: ModelRunner, decode_audio: bool) -> str | None:
    """Why the shared audio prefix cannot be reused in this run, or ``None`` if it can."""
    if not cfg.reuse:
        return "switched off (--no-reuse)"
    if not decode_audio:
        return "the run feeds no audio"
    if not hasattr(runner, "answer_shared"):
        return f"{type(runner).__name__} does not implement answer_shared"
    if cfg.steering.active and cfg.steering.queries == "all":
        return "the intervention steers query rows inside the shared prefix (queries=all)"
    return None


def _audio_variant(view: str) -> str:
    """Which audio a view feeds for a clip: the clip itself, silence, or the clip played backwards
    (the time-reversed view stores its own audio)."""
    return view if view in (SILENCE, TIME_REVERSED) else "audio"


def _clip_key(entry) -> tuple[str, str]:
    """The audio an entry ``(track, index, row, prompt, key)`` feeds: its clip and audio variant."""
    return entry[2]["filename"], _audio_variant(entry[0].cfg.view)


def _take(queue: list, size: int, *, by_clip: bool) -> list:
    """The next batch: ``size`` items, or with ``by_clip`` whole clips up to ``size`` items (a clip
    with more items than ``size`` is split)."""
    if not by_clip:
        return queue[:size]
    batch = queue[:size]
    if len(batch) < len(queue):
        last = _clip_key(batch[-1])
        if _clip_key(queue[len(batch)]) == last:
            whole = [entry for entry in batch if _clip_key(entry) != last]
            batch = whole or batch  # never empty: a clip larger than the batch is split
    return batch


def _groups(batch: list, audios: list, prompts: list[str]) -> list[tuple[object, list[str]]]:
    """``[(audio, [prompt, ...]), ...]`` for runs of consecutive items that feed the same audio."""
    groups: list[tuple[object, list[str]]] = []
    last = None
    for entry, audio, prompt in zip(batch, audios, prompts):
        if _clip_key(entry) != last:
            groups.append((audio, []))
            last = _clip_key(entry)
        groups[-1][1].append(prompt)
    return groups


def _free_memory() -> None:
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover
        pass


def _record(row: dict, prompt: str, key: str, output, clip, audio_sha256: str | None, cfg: RunConfig) -> dict:
    options = list(row["options"])
    if cfg.mode == "logprob" and output.logprobs:
        letter, rule = max(output.logprobs, key=output.logprobs.get), "logprob"
    else:
        letter, rule = parse_choice(output.text, options)
    if cfg.is_baseline:
        rule = f"baseline:{cfg.model}"
    return {
        "id": row["id"],
        "task": row["task"],
        "view": cfg.view,
        "filename": row["filename"],
        "answer": row["answer"],
        "options": options,
        "mode": cfg.mode,
        "prompt": prompt,
        "prompt_sha256": hashlib.sha256(prompt.encode()).hexdigest(),
        "audio_sha256": audio_sha256,
        "audio_seconds": clip.seconds if clip else (row.get(CLIP_DURATION) if audio_sha256 else None),
        "audio_truncated": bool(clip.truncated) if clip else False,
        "output": output.text,
        "letter": letter,
        "rule": rule,
        "logprobs": output.logprobs,
        "correct": letter == row["answer"],
        "cache_key": key,
        **_control_fields(row, cfg),
    }


def _control_fields(row: dict, cfg: RunConfig) -> dict:
    """What the controls need from the row, kept in the record so ``score RUN`` can report them:
    which options occur in the clip (presence-only ceiling), the caption-order shortcut's letter
    (caption views) and, in a circular run, the original id and the rotation."""
    out: dict = {}
    if row.get("events") is not None:
        out["options_in_clip"] = [bool(ev["in_clip"]) for ev in row["events"]]
    if cfg.view in VIEWS_WITH_CAPTION:
        out["caption_order_letter"] = caption_order_letter(row.get("caption"), list(row["options"]), row["task"])
    if "rotation" in row:
        out["item_id"], out["rotation"] = row["item_id"], row["rotation"]
    return out
