"""``load_benchmark(view)``: the benchmark as a ``datasets.Dataset``, built into the cache if needed."""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

from ..errors import ConfigError, check_name
from ..names import ALL_VIEWS, BENCHMARK_VERSION, DEFAULT_SEED, SILENCE, SPLIT, STORED_VIEWS
from .views import dataset_view, to_silence


def folder_fingerprint(folder: Path) -> str:
    """A hash of a built folder's files (names, sizes, modification times)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def datasets_progress(enabled: bool):
    """Show or hide datasets' own progress bars ("Generating test split") inside the block (and off
    when stderr is not a terminal: :func:`tacos_temporal.progress.library_progress`)."""
    from ..progress import library_progress

    with library_progress(enabled):
        yield


def load_view_dataset(source: str | Path, config: str, *, progress: bool = True, revision: str | None = None):
    """``datasets.load_dataset(source, config, split="test")``, safe for local folders
    (``revision``: a commit of a Hub dataset, to load exactly that one).

    datasets 5.2 names the cache of a local folder after the folder's name and its ``configs:``
    only, not after the files' contents: two builds in folders of the same name, or a rebuild in
    place, silently load the first one's cached rows.  A local folder therefore gets a cache
    directory of its own, keyed by :func:`folder_fingerprint`.  Hub ids keep the default cache
    (keyed by the repository's revision).
    """
    from datasets import config as datasets_config
    from datasets import load_dataset

    path = Path(str(source))
    with datasets_progress(progress):
        if path.is_dir():
            cache_dir = Path(datasets_config.HF_DATASETS_CACHE) / "tacos_temporal_local" / folder_fingerprint(path)
            return load_dataset(str(path), config, split=SPLIT, cache_dir=str(cache_dir))
        return load_dataset(str(source), config, split=SPLIT, revision=revision)


def _build_key(source: dict) -> str:
    blob = json.dumps({**source, "benchmark_version": BENCHMARK_VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load_benchmark(
    view: str = "audio_only",
    *,
    data_dir: str | Path | None = None,
    tacos_dir: str | Path | None = None,
    download: bool = False,
    demo: bool = False,
    seed: int = DEFAULT_SEED,
    cache_dir: str | Path | None = None,
    progress: bool = True,
):
    """Return one view of the benchmark as a ``datasets.Dataset`` (the ``test`` split).

    Exactly one source is used, in this order:

    * ``data_dir``: a built folder (``tacos-temporal build --out``) or a Hub dataset id
      (``"ORG/tacos_temporal"``), loaded with ``datasets.load_dataset(data_dir, view)``;
    * ``tacos_dir``: a local TACOS release, built once into the cache;
    * ``download=True``: the release downloaded from Zenodo (1.6 GB, checked), built once into the cache;
    * ``demo=True``: the built-in synthetic demo corpus, built once into the cache.

    Args:
        view (`str`, defaults to ``"audio_only"``): ``audio_only``, ``caption_only``,
            ``audio_caption``, ``silence`` (the audio-only view with silent audio) or
            ``time_reversed`` (the time-reversal control: clips played backwards, its own items).
        seed (`int`, defaults to 0): option seed of a build (ignored with ``data_dir``).
        cache_dir (`str` or `Path`, *optional*): where builds are kept; defaults to
            ``$HF_HOME/tacos_temporal/builds``.

    Example:

    ```py
    >>> import tacos_temporal
    >>> ds = tacos_temporal.load_benchmark("caption_only", demo=True, progress=False)
    >>> ds.column_names[:3]
    ['id', 'task', 'filename']
    ```
    """
    check_name("view", view, ALL_VIEWS)
    chosen = [name for name, value in (("data_dir", data_dir), ("tacos_dir", tacos_dir), ("download", download), ("demo", demo)) if value]
    if len(chosen) != 1:
        raise ConfigError(
            "load_benchmark needs exactly one source: data_dir=<built folder or Hub id>, tacos_dir=<TACOS folder>, "
            f"download=True or demo=True; got {', '.join(chosen) or 'none'}"
        )
    if data_dir is None:
        data_dir = ensure_build(tacos_dir=tacos_dir, download=download, demo=demo, seed=seed, cache_dir=cache_dir, progress=progress)
    dataset = load_view_dataset(data_dir, dataset_view(view), progress=progress)
    return to_silence(dataset) if view == SILENCE else dataset


def ensure_build(
    *,
    tacos_dir: str | Path | None = None,
    download: bool = False,
    demo: bool = False,
    seed: int = DEFAULT_SEED,
    cache_dir: str | Path | None = None,
    progress: bool = True,
) -> Path:
    """Path of a cached build for this source and seed, building it first if it is not there."""
    from .build import build
    from .sources import cache_root

    root = Path(cache_dir) if cache_dir is not None else cache_root() / "builds"
    if demo:
        source = {"kind": "demo", "seed": seed}
    elif tacos_dir is not None:
        source = {"kind": "tacos_dir", "path": str(Path(tacos_dir).resolve()), "seed": seed}
    else:
        source = {"kind": "download", "seed": seed}
    # Cached builds hold every stored config, the time-reversal control included, so any view of
    # names.ALL_VIEWS can be served from them.
    source["views"] = list(STORED_VIEWS)
    out = root / f"{source['kind']}-{_build_key(source)}"
    if (out / "build_report.json").is_file():
        return out
    if demo:
        from .demo import make_demo_release

        tacos_dir = make_demo_release(root / f"demo-release-{seed}", seed=seed, overwrite=True)
    build(out, tacos_dir=tacos_dir, download=download, seed=seed, views=STORED_VIEWS, overwrite=True, progress=progress)
    return out
