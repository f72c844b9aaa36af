"""Downloads of pinned source files: verified, resumable, never a bad file under the final name.

Every download goes to a real HTTP server on 127.0.0.1 (tests/fixtures/http_server.py) that can cut
the connection, ignore ``Range`` or answer with an error; nothing else is replaced.
"""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

import pytest

from tacos_temporal.data.sources import (
    EVENT_TABLES,
    TACOS_FILES,
    RemoteFile,
    cache_root,
    download,
    fetch_event_table,
    fetch_tacos,
)
from tacos_temporal.errors import ChecksumError, ConfigError, SourceError, UnsafePathError

#: The TACOS test event table's published sha256 (tacos_temporal/data/tacos_events/README.md).
EVENTS_TEST_SHA256 = "07948a1aa26c3d2b2f38fe130cadd8c7900952244ee67309f5222374c3c65bf2"
#: benchmark.md section 5: the Zenodo files, their sizes and MD5s.
PUBLISHED = {
    "audio.zip": (1_629_958_981, "a1b11ed7a88d6b95109decb577c128fd"),
    "annotations_strong.csv": (4_109_451, "882d5a5a28f59441f4c7b4ed17ebab05"),
    "annotations_weak.csv": (1_318_097, "1445727f4d470273a7395ddcb9e34b93"),
    "metadata.csv": (8_134_917, "17e8df44f2d217dc7cf4b75767ee5ab3"),
    "development_split.csv": (112_843, "bee28197d13e859dbc36021c2a928f07"),
    "test_split.csv": (21_794, "16f5b5eab84753a571e9944739508854"),
}

PATH = "/records/1/files/clip.bin"


@pytest.fixture(scope="module")
def payload() -> bytes:
    """300 kB of fixed pseudo-random bytes (several 1 MiB-chunk-free reads, no compressible runs)."""
    return random.Random(0).randbytes(300_000)


def remote_for(server, data: bytes, *, name: str = "clip.bin", path: str = PATH, **overrides) -> RemoteFile:
    """A RemoteFile for ``data`` served at ``path``, with its true size, md5 and sha256 unless overridden."""
    fields = {
        "size": len(data),
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
        **overrides,
    }
    return RemoteFile(name, server.url(path), **fields)


# --- a plain download --------------------------------------------------------------------------------


def test_download_fetches_the_file_with_the_right_md5_sha256_and_size(file_server, payload, tmp_path):
    file_server.files[PATH] = payload
    path = download(remote_for(file_server, payload), tmp_path / "dl", progress=False)
    assert path == tmp_path / "dl" / "clip.bin"
    assert path.read_bytes() == payload
    assert sorted(p.name for p in path.parent.iterdir()) == ["clip.bin"], "no .incomplete left behind"
    assert [(r.range, r.status) for r in file_server.seen(PATH)] == [(None, 200)]


def test_remote_file_without_any_checksum_is_downloaded_as_served(file_server, payload, tmp_path):
    file_server.files[PATH] = payload
    path = download(RemoteFile("clip.bin", file_server.url(PATH)), tmp_path, progress=False)
    assert path.read_bytes() == payload


# --- interrupted downloads and resuming --------------------------------------------------------------


def test_connection_dropped_midway_raises_source_error_and_keeps_the_incomplete_file(file_server, payload, tmp_path):
    file_server.files[PATH] = payload
    file_server.behave(PATH, drop_after=120_000)
    with pytest.raises(SourceError, match="Run the same command again") as info:
        download(remote_for(file_server, payload), tmp_path, progress=False)
    assert not isinstance(info.value, ChecksumError), "an interrupted download is not a bad download"
    assert "clip.bin" in str(info.value)
    partial = tmp_path / "clip.bin.incomplete"
    assert partial.read_bytes() == payload[:120_000]
    assert not (tmp_path / "clip.bin").exists()


def test_second_call_resumes_with_a_range_request_and_completes_the_file(file_server, payload, tmp_path):
    file_server.files[PATH] = payload
    file_server.behave(PATH, drop_after=120_000)
    remote = remote_for(file_server, payload)
    with pytest.raises(SourceError):
        download(remote, tmp_path, progress=False)
    path = download(remote, tmp_path, progress=False)
    assert path.read_bytes() == payload
    first, second = file_server.seen(PATH)
    assert first.range is None and first.body_bytes == 120_000
    assert second.range == "bytes=120000-" and second.status == 206
    assert second.body_bytes == len(payload) - 120_000, "only the missing tail was transferred"
    assert not (tmp_path / "clip.bin.incomplete").exists()


def test_resume_works_for_a_file_of_unknown_size_checked_by_sha256_only(file_server, payload, tmp_path):
    # The event tables are pinned by sha256 alone, without a size.
    file_server.files[PATH] = payload
    file_server.behave(PATH, drop_after=50_000)
    remote = remote_for(file_server, payload, size=None, md5=None)
    with pytest.raises(SourceError):
        download(remote, tmp_path, progress=False)
    assert download(remote, tmp_path, progress=False).read_bytes() == payload
    assert file_server.seen(PATH)[-1].range == "bytes=50000-"


def test_server_ignoring_range_restarts_from_zero_and_still_gives_the_right_file(file_server, payload, tmp_path):
    file_server.files[PATH] = payload
    file_server.behave(PATH, ignore_range=True)
    # A partial file whose bytes are not even the file's: appending to it would corrupt the result.
    (tmp_path / "clip.bin.incomplete").write_bytes(b"\xff" * 70_000)
    path = download(remote_for(file_server, payload), tmp_path, progress=False)
    assert path.read_bytes() == payload
    (request,) = file_server.seen(PATH)
    assert request.range == "bytes=70000-" and request.status == 200


def test_complete_partial_file_of_unknown_size_is_finished_by_a_416_answer(file_server, payload, tmp_path):
    file_server.files[PATH] = payload
    (tmp_path / "clip.bin.incomplete").write_bytes(payload)
    path = download(remote_for(file_server, payload, size=None), tmp_path, progress=False)
    assert path.read_bytes() == payload
    assert [(r.range, r.status) for r in file_server.seen(PATH)] == [(f"bytes={len(payload)}-", 416)]


def test_partial_file_longer_than_the_published_size_is_discarded_and_fetched_whole(file_server, payload, tmp_path):
    file_server.files[PATH] = payload
    (tmp_path / "clip.bin.incomplete").write_bytes(payload + b"extra")
    path = download(remote_for(file_server, payload), tmp_path, progress=False)
    assert path.read_bytes() == payload
    assert [r.range for r in file_server.seen(PATH)] == [None]


# --- verification -------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["md5", "sha256"])
def test_checksum_mismatch_names_the_file_and_both_hashes_and_removes_the_partial(file_server, payload, tmp_path, algorithm):
    served = payload[:-1] + bytes([payload[-1] ^ 1])  # one flipped bit, same size
    file_server.files[PATH] = served
    other = "sha256" if algorithm == "md5" else "md5"
    remote = remote_for(file_server, payload, **{other: None})
    with pytest.raises(ChecksumError) as info:
        download(remote, tmp_path, progress=False)
    message = str(info.value)
    assert "clip.bin" in message
    assert getattr(remote, algorithm) in message, "the expected hash"
    assert hashlib.new(algorithm, served).hexdigest() in message, "the hash of what was received"
    assert "Run the same command again" in message
    assert list(tmp_path.iterdir()) == [], "neither the partial nor a final file is kept"


def test_size_mismatch_raises_checksum_error_and_keeps_nothing(file_server, payload, tmp_path):
    file_server.files[PATH] = payload[:-10]
    remote = remote_for(file_server, payload)
    with pytest.raises(ChecksumError, match=r"clip\.bin: expected 300,000 bytes, found 299,990"):
        download(remote, tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_existing_verified_file_is_reused_without_any_request(file_server, payload, tmp_path):
    (tmp_path / "clip.bin").write_bytes(payload)
    before = (tmp_path / "clip.bin").stat().st_mtime_ns
    path = download(remote_for(file_server, payload), tmp_path, progress=False)
    assert path.read_bytes() == payload
    assert path.stat().st_mtime_ns == before
    assert file_server.requests == []


def test_stale_final_file_with_the_wrong_hash_is_downloaded_again(file_server, payload, tmp_path):
    file_server.files[PATH] = payload
    (tmp_path / "clip.bin").write_bytes(b"\x00" * len(payload))  # right size, wrong bytes
    path = download(remote_for(file_server, payload), tmp_path, progress=False)
    assert path.read_bytes() == payload
    assert [r.range for r in file_server.seen(PATH)] == [None]


# --- server and network errors ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 500])
def test_http_error_raises_source_error_with_the_status(file_server, payload, tmp_path, status):
    file_server.files[PATH] = payload
    file_server.behave(PATH, status=status)
    with pytest.raises(SourceError, match=f"HTTP {status}") as info:
        download(remote_for(file_server, payload), tmp_path, progress=False)
    assert not isinstance(info.value, ChecksumError)
    assert "clip.bin" in str(info.value) and file_server.url(PATH) in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_unreachable_server_raises_source_error_that_says_to_run_again(file_server, payload, tmp_path):
    remote = remote_for(file_server, payload)
    file_server.stop()  # nothing listens on the port any more
    with pytest.raises(SourceError, match="run the same command again"):
        download(remote, tmp_path, progress=False)


def test_remote_file_name_that_is_a_path_is_refused_before_any_request(file_server, payload, tmp_path):
    file_server.files[PATH] = payload
    with pytest.raises(UnsafePathError):
        download(remote_for(file_server, payload, name="../escape.bin"), tmp_path / "dl", progress=False)
    assert file_server.requests == []
    assert not (tmp_path / "escape.bin").exists()


# --- the pinned event tables ---------------------------------------------------------------------------


def test_event_table_of_the_test_split_is_pinned_to_the_published_sha256():
    assert EVENT_TABLES["test"].sha256 == EVENTS_TEST_SHA256
    assert EVENT_TABLES["test"].name == "events_test.csv"


def test_fetch_event_table_accepts_the_real_table_served_from_a_mirror(file_server, events_test_csv, tmp_path):
    file_server.files["/events_test.csv"] = events_test_csv.read_bytes()
    path = fetch_event_table("test", url=file_server.url("/events_test.csv"), dest_dir=tmp_path, progress=False)
    assert path == tmp_path / "events_test.csv"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == EVENTS_TEST_SHA256


def test_fetch_event_table_rejects_altered_bytes_naming_both_sha256(file_server, events_test_csv, tmp_path):
    altered = events_test_csv.read_bytes().replace(b"0.93-1.40", b"0.92-1.40", 1)
    file_server.files["/events_test.csv"] = altered
    with pytest.raises(ChecksumError) as info:
        fetch_event_table("test", url=file_server.url("/events_test.csv"), dest_dir=tmp_path, progress=False)
    message = str(info.value)
    assert "events_test.csv" in message
    assert EVENTS_TEST_SHA256 in message and hashlib.sha256(altered).hexdigest() in message
    assert list(tmp_path.iterdir()) == []


def test_fetch_event_table_of_an_unknown_split_suggests_the_close_one():
    with pytest.raises(ConfigError, match="Did you mean: test"):
        fetch_event_table("tset")


# --- the TACOS release files and mirrors ----------------------------------------------------------------


def test_tacos_files_pin_the_published_zenodo_sizes_and_md5s():
    assert {name: (f.size, f.md5) for name, f in TACOS_FILES.items()} == PUBLISHED
    for name, remote in TACOS_FILES.items():
        assert remote.url == f"https://zenodo.org/api/records/15379789/files/{name}/content"


def test_with_base_url_serves_the_same_file_from_a_mirror_and_keeps_its_checksums():
    original = TACOS_FILES["metadata.csv"]
    for base in ("http://127.0.0.1:8000/tacos", "http://127.0.0.1:8000/tacos/"):
        mirrored = original.with_base_url(base)
        assert mirrored.url == "http://127.0.0.1:8000/tacos/metadata.csv"
        assert (mirrored.name, mirrored.size, mirrored.md5, mirrored.sha256) == (
            original.name,
            original.size,
            original.md5,
            original.sha256,
        )


def test_demo_release_files_download_from_a_mirror_with_their_own_checksums(file_server, demo_release, tmp_path):
    expected = {}
    for name in TACOS_FILES:
        data = (demo_release / name).read_bytes()
        file_server.files[f"/mirror/{name}"] = data
        expected[name] = data
        remote = RemoteFile(name, "https://example.invalid/unused", len(data), hashlib.md5(data).hexdigest())
        path = download(remote.with_base_url(file_server.url("/mirror")), tmp_path, progress=False)
        assert path.read_bytes() == data
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == expected


def test_fetch_tacos_asks_the_mirror_and_refuses_files_that_are_not_the_published_ones(
    file_server, demo_release, tmp_path, monkeypatch
):
    # The demo files are served under the real names: the published MD5s cannot match them.
    monkeypatch.setenv("TACOS_TEMPORAL_CACHE", str(tmp_path / "cache"))
    file_server.files["/tacos/test_split.csv"] = (demo_release / "test_split.csv").read_bytes()
    with pytest.raises(ChecksumError, match="test_split.csv: expected 21,794 bytes"):
        fetch_tacos(names=("test_split.csv",), base_url=file_server.url("/tacos/"), progress=False)
    assert [r.path for r in file_server.requests] == ["/tacos/test_split.csv"]
    assert list((tmp_path / "cache" / "tacos").iterdir()) == [], "nothing half-checked is kept in the cache"


# --- the cache ------------------------------------------------------------------------------------------


def test_cache_root_honours_tacos_temporal_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("TACOS_TEMPORAL_CACHE", str(tmp_path / "mine"))
    assert cache_root() == tmp_path / "mine"


def test_cache_root_lies_under_hf_home_by_default(monkeypatch, hf_home):
    monkeypatch.delenv("TACOS_TEMPORAL_CACHE", raising=False)
    root = cache_root()
    assert root.parent == hf_home and root.name == "tacos_temporal"
    assert Path(os.environ["HF_HOME"]) == hf_home
