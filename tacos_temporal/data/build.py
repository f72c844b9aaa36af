"""Build the benchmark: event source + TACOS release -> ``items.jsonl`` and three Parquet views.

``build(out_dir, ...)`` writes::

    OUT/
      README.md                 dataset card (YAML configs: audio_only, caption_only, audio_caption)
      items.jsonl               the items, one JSON object per line (also written by --items-only)
      build_report.json         sources and checksums, skipped rows by reason, counts, seed, versions
      data/<view>/test-00000-of-00001.parquet
      items_time_reversed.jsonl the time-reversal control's items (always; see :mod:`.reversal`)

The time-reversal control's Parquet config (``data/time_reversed/``, clips played backwards as FLAC)
is written when ``views`` names it (``names.STORED_VIEWS``); the default is the three input views.

Nothing is ever half-written: everything goes to a temporary sibling folder that replaces ``OUT`` in
one ``os.replace`` at the end.  A selected item whose audio, caption or licence is missing fails the
build with the full list of clips (the benchmark never silently shrinks).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..errors import BuildError, MissingAudioError, SourceError, check_name
from ..names import (
    AUDIO_COLUMN,
    BENCHMARK_VERSION,
    CAPTION_COLUMN,
    DEFAULT_SEED,
    SPLIT,
    STORED_VIEWS,
    TASKS,
    TIME_REVERSED,
    VIEWS,
    VIEWS_WITH_AUDIO,
    VIEWS_WITH_CAPTION,
)
from .card import render_card
from .events import Annotations, read_event_table, read_strong_annotations
from ..files import atomic_write_text, check_apart, staged_output
from ..progress import progress_bar
from .items import Item, write_items_jsonl
from .presence import presence_ceiling
from .reversal import REVERSED_ITEMS_FILE, reverse_audio, select_reversed_items, write_reversed_items
from .selection import select_items
from .sources import default_event_table, fetch_event_table_url, fetch_tacos, file_digest, is_url
from .tacos import TacosRelease
from .views import CLIP_DURATION, view_columns, view_features

#: ``--events strong``: use TACOS annotations_strong.csv (label = normalised caption).
STRONG = "strong"
#: Event-table split -> TACOS split whose clips it covers.
TACOS_SPLIT = {"test": "test", "val": "development", "train": "development"}
ROW_GROUP_SIZE = 64  # small row groups: rows carry whole audio files (Hub viewer guidance)


@dataclass
class BuildResult:
    """What :func:`build` made."""

    out_dir: Path
    items: list[Item]
    report: dict
    files: list[Path] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return dict(Counter(item.task for item in self.items))


def load_events(
    events: str | Path | None,
    *,
    release: TacosRelease | None,
    split: str,
    strict: bool,
    progress: bool = True,
) -> tuple[Annotations, dict]:
    """The annotations to select from and a description of their source (path, sha256)."""
    known = release.clips() if release is not None else None
    if events == STRONG:
        if release is None:
            raise BuildError("--events strong reads annotations_strong.csv: pass --tacos-dir or --download")
        path = release.path("annotations_strong.csv")
        annotations = read_strong_annotations(path, clips=release.split(TACOS_SPLIT[split]), known_clips=known, strict=strict)
        kind = "tacos_strong_annotations"
    else:
        if events is None:
            shipped = release.event_table(split) if release is not None else None
            path = shipped if shipped is not None else default_event_table(split, progress=progress)
        elif is_url(events):
            path = fetch_event_table_url(str(events), progress=progress)
        else:
            path = Path(events)
            if not path.is_file():
                raise SourceError(f"--events {events}: no such file; pass an event table CSV, a URL, or 'strong'")
        annotations = read_event_table(path, known_clips=known, strict=strict)
        kind = "event_table"
    source = {"kind": kind, "path": Path(path).name, "sha256": file_digest(path, "sha256")}
    return annotations, source | {"local_path": Path(path)}


def _inputs(*, tacos_dir, events, download: bool) -> dict[str, Path | None]:
    """What a build reads, by the option that names it (for :func:`~tacos_temporal.files.check_apart`)."""
    from .sources import cache_root

    return {
        "--tacos-dir": Path(tacos_dir) if tacos_dir is not None else None,
        "--events": Path(events) if events is not None and events != STRONG else None,
        "the download folder": cache_root() / "tacos" if download else None,
    }


def _clip_problems(items: Sequence[Item], release: TacosRelease, views: Sequence[str], progress: bool) -> tuple[dict, dict]:
    """Decode every selected clip once; return durations and the clips with missing pieces by kind."""
    problems: dict[str, list[str]] = {"missing_audio": [], "undecodable_audio": [], "missing_caption": [], "missing_metadata": []}
    durations: dict[str, float] = {}
    clips = sorted({item.filename for item in items})
    needs_audio = any(view in VIEWS_WITH_AUDIO for view in views)
    needs_caption = any(view in VIEWS_WITH_CAPTION for view in views)
    for filename in progress_bar(clips, progress=progress, desc="checking clips", unit="clip", leave=False):
        if filename not in release.metadata:
            problems["missing_metadata"].append(filename)
        if needs_caption and not release.captions.get(filename):
            problems["missing_caption"].append(filename)
        if filename not in release.audio:
            problems["missing_audio"].append(filename)
            continue
        try:
            durations[filename] = decoded_duration(release.audio.read_bytes(filename))
        except Exception as err:  # noqa: BLE001 - any decoder failure means the clip is unusable
            problems["undecodable_audio"].append(f"{filename} ({type(err).__name__}: {str(err)[:120]})")
    if not needs_audio:
        problems.pop("missing_audio")
        problems.pop("undecodable_audio")
    return durations, {kind: names for kind, names in problems.items() if names}


def decoded_duration(data: bytes) -> float:
    """Decode an audio file completely (proving it decodes) and return its length in seconds."""
    from torchcodec.decoders import AudioDecoder

    samples = AudioDecoder(data).get_all_samples()
    if samples.data.numel() == 0:
        raise ValueError("no audio samples")
    return round(samples.data.shape[-1] / samples.sample_rate, 6)


def _write_view(tmp: Path, view: str, items: Sequence[Item], release: TacosRelease, durations: dict, audio=None) -> Path:
    """One Parquet config; ``audio(filename) -> (bytes, path)`` replaces the clip's file (the
    time-reversed control), default: the clip's bytes unchanged."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    features = view_features(view)
    columns = view_columns(view)
    path = tmp / "data" / view / f"{SPLIT}-00000-of-00001.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, features.arrow_schema) as writer:
        for start in range(0, len(items), ROW_GROUP_SIZE):
            rows = []
            for item in items[start : start + ROW_GROUP_SIZE]:
                clip = release.metadata[item.filename]
                row = item.to_dict()
                row.update(
                    license=clip.license,
                    attribution=clip.attribution,
                    source_url=clip.source_url,
                    **{CLIP_DURATION: durations.get(item.filename)},
                )
                if CAPTION_COLUMN in columns:
                    row[CAPTION_COLUMN] = release.captions[item.filename]
                if AUDIO_COLUMN in columns:
                    if audio is not None:
                        data, name = audio(item.filename)
                        row[AUDIO_COLUMN] = {"bytes": data, "path": name}
                    else:
                        # The clip's file bytes, unchanged: no re-encoding.
                        row[AUDIO_COLUMN] = {"bytes": release.audio.read_bytes(item.filename), "path": item.filename}
                rows.append({name: row[name] for name in columns})
            batch = features.encode_batch({name: [r[name] for r in rows] for name in columns})
            writer.write_table(pa.Table.from_pydict(batch, schema=features.arrow_schema), row_group_size=ROW_GROUP_SIZE)
    return path


def build(
    out_dir: str | Path,
    *,
    events: str | Path | None = None,
    tacos_dir: str | Path | None = None,
    download: bool = False,
    mirror: str | None = None,
    split: str = "test",
    seed: int = DEFAULT_SEED,
    items_only: bool = False,
    views: Sequence[str] = VIEWS,
    strict: bool = False,
    verify: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> BuildResult:
    """Build the benchmark into ``out_dir``.

    Args:
        out_dir (`str` or `Path`): output folder; must be empty or absent unless ``overwrite``.
        events (`str` or `Path`, *optional*): event table path or ``http(s)://`` URL, or ``"strong"``
            for TACOS ``annotations_strong.csv``.  Default: the table shipped in ``tacos_dir``
            (``events_<split>.csv``) if any, else the authors' pinned table: for ``test`` the copy
            shipped inside this package (offline), for ``val``/``train`` downloaded (sha256 checked).
        tacos_dir (`str` or `Path`, *optional*): a local TACOS release folder.
        download (`bool`, defaults to `False`): download the release from Zenodo into the cache
            (MD5 checked, resumable) instead of ``tacos_dir``.
        mirror (`str`, *optional*): base URL of a mirror of the release files.
        split (`str`, defaults to ``"test"``): event-table split (``test``, ``val``, ``train``).
        seed (`int`, defaults to 0): seed of the option rule.
        items_only (`bool`, defaults to `False`): write ``items.jsonl`` and the report only; no audio needed.
        views (`Sequence[str]`, defaults to the three input views): dataset views to write, any of
            ``names.STORED_VIEWS`` (add ``"time_reversed"`` for the time-reversal control's config).
        strict (`bool`, defaults to `False`): fail on any malformed annotation row.
        verify (`bool`, defaults to `False`): check a local release's files against their MD5 first.
        overwrite (`bool`, defaults to `False`): replace a non-empty ``out_dir``.
        progress (`bool`, defaults to `True`): show progress bars.
    """
    out_dir = Path(out_dir)
    check_name("split", split, tuple(TACOS_SPLIT))
    for view in views:
        check_name("view", view, STORED_VIEWS)
    if download and tacos_dir is not None:
        raise BuildError("pass either --download or --tacos-dir, not both")
    inputs = _inputs(tacos_dir=tacos_dir, events=events, download=download)
    check_apart(out_dir, inputs)  # before any download: never replace what is read
    if download:
        tacos_dir = fetch_tacos(base_url=mirror, progress=progress)
    release = TacosRelease(tacos_dir) if tacos_dir is not None else None
    if release is None and not items_only:
        raise BuildError(
            "building the dataset views needs the audio: pass --tacos-dir DIR or --download "
            "(or --items-only to write items.jsonl from the event table alone)"
        )
    checked = release.verify() if (release is not None and verify) else {}
    annotations, event_source = load_events(events, release=release, split=split, strict=strict, progress=progress)
    event_path = event_source.pop("local_path")
    split_clips = release.split(TACOS_SPLIT[split]) if release is not None else None
    items = select_items(annotations, seed=seed, clips=split_clips)
    if not items:
        raise BuildError(
            f"no item qualifies in {event_source['path']} ({len(annotations.clips)} clips read, "
            f"{annotations.report.rows_skipped} rows skipped): check the event source and --split"
        )
    report = {
        "benchmark_version": BENCHMARK_VERSION,
        "package_version": __version__,
        "seed": seed,
        "split": split,
        "sources": {"events": event_source, "tacos_md5_verified": checked},
        "annotations": annotations.report.to_dict(),
        "clips_read": len(annotations.clips),
        "counts": {task: sum(item.task == task for item in items) for task in TASKS},
        "total": len(items),
        "clips_with_items": len({item.filename for item in items}),
        "views": [] if items_only else [v for v in STORED_VIEWS if v in views],
        "controls": {"presence_ceiling": presence_ceiling(items)},
    }
    files: list[Path] = []
    inputs = {**inputs, "the event table": event_path, "the TACOS release": release.root if release is not None else None}
    with staged_output(out_dir, overwrite=overwrite, inputs=inputs) as tmp:
        files.append(write_items_jsonl(items, tmp / "items.jsonl"))
        durations: dict = {}
        if not items_only:
            durations, problems = _clip_problems(items, release, views, progress)
            if problems:
                affected = sorted({name.split(" ")[0] for names in problems.values() for name in names})
                lines = "; ".join(f"{kind}: {', '.join(names[:20])}{' ...' if len(names) > 20 else ''}" for kind, names in problems.items())
                error = MissingAudioError if any("audio" in kind for kind in problems) else SourceError
                raise error(
                    f"{len(affected)} clip(s) of selected items cannot be served ({lines}). The benchmark is never "
                    f"built with fewer items: restore these files in {release.root} (or download the release "
                    "again with --download) and rebuild."
                )
        reversed_entries = select_reversed_items(annotations, durations=durations, seed=seed, clips=split_clips)
        files.append(write_reversed_items(reversed_entries, tmp / REVERSED_ITEMS_FILE))
        report["controls"][TIME_REVERSED] = {
            "items_file": REVERSED_ITEMS_FILE,
            "counts": {task: sum(item.task == task for item, _ in reversed_entries) for task in TASKS},
            "total": len(reversed_entries),
            "mirrored": sum(extra["mirrors"] is not None for _, extra in reversed_entries),
            "duration_source": dict(sorted(Counter(extra["duration_source"] for _, extra in reversed_entries).items())),
        }
        if not items_only:
            reversed_items = [item for item, _ in reversed_entries]
            reversed_durations = {item.filename: extra["clip_duration_s"] for item, extra in reversed_entries}
            for view in progress_bar(report["views"], progress=progress, desc="writing views", unit="view", leave=False):
                if view == TIME_REVERSED:
                    files.append(_write_view(tmp, view, reversed_items, release, reversed_durations, audio=_reversed_audio(release)))
                else:
                    files.append(_write_view(tmp, view, items, release, durations))
            report["licenses"] = dict(sorted(Counter(release.metadata[f].license for f in {i.filename for i in items}).items()))
            atomic_write_text(tmp / "README.md", render_card(report))
        atomic_write_text(tmp / "build_report.json", json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    files = [out_dir / path.relative_to(tmp) for path in files]
    return BuildResult(out_dir, items, report, files)


def _reversed_audio(release: TacosRelease):
    """``filename -> (FLAC bytes of the clip played backwards, path)`` for the time-reversed view."""

    def audio(filename: str) -> tuple[bytes, str]:
        return reverse_audio(release.audio.read_bytes(filename)), f"{Path(filename).stem}-reversed.flac"

    return audio
