"""Pinned source files: where they live, what they must hash to, and how to fetch them safely.

Downloads go into the Hugging Face cache (``$HF_HOME/tacos_temporal/downloads``, or
``$TACOS_TEMPORAL_CACHE``), are **resumable** (an interrupted download continues from its
``.incomplete`` file with an HTTP ``Range`` request) and are **verified** before they get their
final name: a checksum mismatch deletes the partial file and raises :class:`ChecksumError`, so a
bad download never looks like a good one.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..errors import ChecksumError, SourceError, check_name
from ..progress import progress_bar
from ..names import TACOS_RECORD
from .naming import safe_join

CHUNK = 1 << 20
ZENODO_URL = f"https://zenodo.org/api/records/{TACOS_RECORD}/files/{{name}}/content"
EVENTS_COMMIT = "c80cbf04baaa914edfec9c22e0bf16fc7a0f6857"
EVENTS_URL = (
    "https://raw.githubusercontent.com/kaousheik-26/temporal-interp/"
    f"{EVENTS_COMMIT}/datasets/absolute_finetuning/audio_grounding_{{split}}_clean_rephrased.csv"
)


@dataclass(frozen=True)
class RemoteFile:
    """A published file and its checksums.

    Args:
        name (`str`): local file name.
        url (`str`): where to download it.
        size (`int`, *optional*): size in bytes, checked when known.
        md5 (`str`, *optional*): published MD5 (Zenodo publishes MD5).
        sha256 (`str`, *optional*): SHA-256.
    """

    name: str
    url: str
    size: int | None = None
    md5: str | None = None
    sha256: str | None = None

    def with_base_url(self, base_url: str) -> RemoteFile:
        """The same file served from a mirror: ``{base_url}/{name}``."""
        return RemoteFile(self.name, f"{base_url.rstrip('/')}/{self.name}", self.size, self.md5, self.sha256)


def _zenodo(name: str, size: int, md5: str) -> RemoteFile:
    return RemoteFile(name, ZENODO_URL.format(name=name), size, md5)


#: The TACOS release, Zenodo record 15379789 (benchmark.md section 5).
TACOS_FILES: dict[str, RemoteFile] = {
    f.name: f
    for f in (
        _zenodo("audio.zip", 1_629_958_981, "a1b11ed7a88d6b95109decb577c128fd"),
        _zenodo("annotations_strong.csv", 4_109_451, "882d5a5a28f59441f4c7b4ed17ebab05"),
        _zenodo("annotations_weak.csv", 1_318_097, "1445727f4d470273a7395ddcb9e34b93"),
        _zenodo("metadata.csv", 8_134_917, "17e8df44f2d217dc7cf4b75767ee5ab3"),
        _zenodo("development_split.csv", 112_843, "bee28197d13e859dbc36021c2a928f07"),
        _zenodo("test_split.csv", 21_794, "16f5b5eab84753a571e9944739508854"),
    )
}

#: The benchmark authors' event tables, pinned to a commit (data/tacos_events/README.md).
EVENT_TABLES: dict[str, RemoteFile] = {
    split: RemoteFile(f"events_{split}.csv", EVENTS_URL.format(split=split), None, None, sha256)
    for split, sha256 in (
        ("test", "07948a1aa26c3d2b2f38fe130cadd8c7900952244ee67309f5222374c3c65bf2"),
        ("val", "0af7f1d50a29aa9217b2ec299d76d0ba790f451fa75f0ff84fbf1caaee92d6bd"),
        ("train", "1fe6cf59eddac497d8841a25138378653aaf48cb97bfbb06e40aeea72ba5264d"),
    )
}


#: The test table shipped inside the package (data/tacos_events/README.md: source, licence, sha256).
BUNDLED_EVENT_TABLE = Path(__file__).resolve().parent / "tacos_events" / "events_test.csv"


def bundled_event_table() -> Path:
    """The shipped copy of the authors' test event table, checked against its pinned sha256."""
    path = BUNDLED_EVENT_TABLE
    if not path.is_file():
        raise SourceError(f"the shipped event table is missing: {path}; reinstall tacos-temporal")
    digest = file_digest(path, "sha256")
    if digest != EVENT_TABLES["test"].sha256:
        raise SourceError(f"the shipped event table {path} has sha256 {digest}, not the pinned "
                          f"{EVENT_TABLES['test'].sha256}; reinstall tacos-temporal")
    return path


def cache_root() -> Path:
    """``$TACOS_TEMPORAL_CACHE``, else ``$HF_HOME/tacos_temporal`` (``~/.cache/huggingface/tacos_temporal``)."""
    override = os.environ.get("TACOS_TEMPORAL_CACHE")
    if override:
        return Path(override).expanduser()
    from huggingface_hub import constants

    return Path(constants.HF_HOME).expanduser() / "tacos_temporal"


def file_digest(path: str | Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: str | Path, remote: RemoteFile, *, retry_hint: str = "") -> None:
    """Raise :class:`ChecksumError` unless ``path`` has ``remote``'s size and checksums."""
    path = Path(path)
    hint = f" {retry_hint}" if retry_hint else ""
    if remote.size is not None and path.stat().st_size != remote.size:
        raise ChecksumError(
            f"{remote.name}: expected {remote.size:,} bytes, found {path.stat().st_size:,} at {path}.{hint}"
        )
    for algorithm in ("md5", "sha256"):
        expected = getattr(remote, algorithm)
        if expected is None:
            continue
        actual = file_digest(path, algorithm)
        if actual != expected.lower():
            raise ChecksumError(
                f"{remote.name}: {algorithm} mismatch at {path}: expected {expected}, got {actual}.{hint}"
            )


def download(remote: RemoteFile, dest_dir: str | Path, *, progress: bool = True, timeout: float = 60.0) -> Path:
    """Download ``remote`` into ``dest_dir`` (resumable, verified) and return its path.

    An existing verified file is reused.  A partial ``<name>.incomplete`` is continued with an HTTP
    ``Range`` request (restarted from zero if the server ignores it).  On a checksum mismatch the
    partial file is removed and :class:`ChecksumError` raised; on a network error it is kept, so the
    same call resumes.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = safe_join(dest_dir, remote.name)
    retry = f"Run the same command again to download {remote.name} afresh from {remote.url}."
    if final.is_file():
        try:
            verify_file(final, remote)
            return final
        except ChecksumError:
            final.unlink()  # a stale or tampered copy: fetch it again
    partial = final.with_name(final.name + ".incomplete")
    have = partial.stat().st_size if partial.is_file() else 0
    if remote.size is not None and have > remote.size:
        partial.unlink()
        have = 0
    if remote.size is None or have < remote.size:
        request = urllib.request.Request(remote.url, headers={"User-Agent": "tacos-temporal"})
        if have:
            request.add_header("Range", f"bytes={have}-")
        try:
            response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - http(s) URLs only
        except urllib.error.HTTPError as err:
            if err.code == 416 and have:  # asked past the end: the partial file is complete
                response = None
            else:
                raise SourceError(f"downloading {remote.name} from {remote.url} failed: HTTP {err.code} {err.reason}") from err
        except (urllib.error.URLError, OSError) as err:
            raise SourceError(
                f"downloading {remote.name} from {remote.url} failed: {err}. Check the network (or pass a local "
                f"copy, e.g. --tacos-dir / --events) and run the same command again: it resumes."
            ) from err
        if response is not None:
            with response:
                mode = "ab" if have and response.status == 206 else "wb"
                if mode == "wb":
                    have = 0
                length = response.headers.get("Content-Length")
                total = (int(length) + have) if length is not None else remote.size
                with open(partial, mode) as out, progress_bar(
                    progress=progress, total=total, initial=have, unit="B", unit_scale=True, desc=remote.name, leave=False
                ) as bar:
                    try:
                        shutil.copyfileobj(_Tee(response, bar), out, CHUNK)
                    except (OSError, http.client.HTTPException) as err:
                        raise SourceError(
                            f"downloading {remote.name} was interrupted after {out.tell():,} bytes: {err}. "
                            "Run the same command again: it resumes."
                        ) from err
                    # http.client ends a body cut short by a closed connection without an error: compare
                    # with Content-Length, so an interrupted download is kept for resuming rather than
                    # failing the checksum and being deleted.
                    if length is not None and out.tell() < total:
                        raise SourceError(
                            f"downloading {remote.name} was interrupted after {out.tell():,} of {total:,} bytes: "
                            "the connection closed early. Run the same command again: it resumes."
                        )
    try:
        verify_file(partial, remote, retry_hint=retry + " The partial download was removed.")
    except ChecksumError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, final)
    return final


class _Tee:
    """A readable that updates a progress bar."""

    def __init__(self, raw, bar):
        self._raw, self._bar = raw, bar

    def read(self, size: int = -1) -> bytes:
        block = self._raw.read(size)
        self._bar.update(len(block))
        return block


def fetch_tacos(
    dest_dir: str | Path | None = None,
    *,
    names: tuple[str, ...] = tuple(TACOS_FILES),
    base_url: str | None = None,
    progress: bool = True,
) -> Path:
    """Download (or reuse) the TACOS release files into ``dest_dir`` (default: the cache) and return it.

    Args:
        dest_dir (`str` or `Path`, *optional*): defaults to ``cache_root() / "tacos"``.
        names (`tuple[str, ...]`): which release files (default: all six, 1.6 GB).
        base_url (`str`, *optional*): a mirror serving the files as ``{base_url}/{name}``.
    """
    dest = Path(dest_dir) if dest_dir is not None else cache_root() / "tacos"
    for name in names:
        remote = TACOS_FILES[name]
        download(remote.with_base_url(base_url) if base_url else remote, dest, progress=progress)
    return dest


def fetch_event_table(split: str = "test", *, dest_dir: str | Path | None = None, url: str | None = None, progress: bool = True) -> Path:
    """Download (or reuse) the authors' pinned event table of ``split`` (sha256 checked)."""
    check_name("event-table split", split, tuple(EVENT_TABLES))
    remote = EVENT_TABLES[split]
    if url is not None:
        remote = RemoteFile(remote.name, url, remote.size, remote.md5, remote.sha256)
    return download(remote, Path(dest_dir) if dest_dir is not None else cache_root() / "events", progress=progress)


def is_url(value: str | Path) -> bool:
    """Whether ``value`` is an ``http(s)://`` URL (rather than a local path)."""
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def default_event_table(split: str = "test", *, progress: bool = True) -> Path:
    """The event table of ``split`` when none is given: the shipped copy for ``test`` (offline), else
    the authors' pinned table downloaded into the cache (``val``, ``train``; sha256 checked)."""
    check_name("event-table split", split, tuple(EVENT_TABLES))
    if split == "test":
        return bundled_event_table()
    return fetch_event_table(split, progress=progress)


def fetch_event_table_url(url: str, *, dest_dir: str | Path | None = None, progress: bool = True) -> Path:
    """Download an event table from ``url`` (``build --events URL``).

    A pinned table's URL is checked against its sha256; any other URL has no published checksum, so it
    is downloaded afresh on every call into a cache folder named after the URL (its sha256 is recorded
    in ``build_report.json`` by the builder).
    """
    for remote in EVENT_TABLES.values():
        if remote.url == url:
            return download(remote, Path(dest_dir) if dest_dir is not None else cache_root() / "events", progress=progress)
    key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    dest = Path(dest_dir) if dest_dir is not None else cache_root() / "events" / f"url-{key}"
    (dest / "events.csv").unlink(missing_ok=True)
    return download(RemoteFile("events.csv", url), dest, progress=progress)
