"""A local TACOS release folder: its tables, its audio read in place or extracted, and unsafe archives.

Expected values come from the demo release's own files, read back with the csv and zipfile modules.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from tacos_temporal.data.sources import TACOS_FILES, verify_file
from tacos_temporal.data.tacos import TacosRelease, extract_audio
from tacos_temporal.errors import ChecksumError, ConfigError, MissingAudioError, SourceError, UnsafePathError
from tests.fixtures.tacos_files import read_csv, rewrite_zip, tree, write_zip, zip_members

# --- tables -----------------------------------------------------------------------------------------


def test_release_reads_licence_attribution_and_source_url_of_every_clip(demo_release):
    release = TacosRelease(demo_release)
    rows = {row["filename"]: row for row in read_csv(demo_release / "metadata.csv")[1]}
    assert set(release.metadata) == set(rows) == release.clips()
    for filename, row in rows.items():
        clip = release.metadata[filename]
        assert clip.filename == filename
        assert clip.license == row["license"]
        assert clip.source_url == row["source_url"] == f"https://freesound.org/s/{row['freesound_id']}/"
        # Attribution names the work, its author and where it lives (CC BY needs all three).
        for part in (row["title"], row["username"], row["source_url"]):
            assert part in clip.attribution


def test_release_reads_the_weak_caption_of_every_clip(demo_release, demo_plan):
    release = TacosRelease(demo_release)
    assert release.captions == {clip.filename: clip.caption for clip in demo_plan}
    assert all(caption.endswith(".") and ":" not in caption for caption in release.captions.values())


def test_release_reads_the_splits_in_file_order(demo_release, demo_plan):
    release = TacosRelease(demo_release)
    for split in ("test", "development"):
        in_file = [row["filename"] for row in read_csv(demo_release / f"{split}_split.csv")[1]]
        assert release.split(split) == in_file
        assert set(in_file) == {clip.filename for clip in demo_plan if clip.split == split}
    assert not set(release.split("test")) & set(release.split("development"))


def test_unknown_split_name_suggests_the_close_one(demo_release):
    with pytest.raises(ConfigError, match="Did you mean: development"):
        TacosRelease(demo_release).split("developement")


def test_missing_release_files_raise_source_error_naming_each_of_them(release_copy):
    (release_copy / "metadata.csv").unlink()
    (release_copy / "test_split.csv").unlink()
    with pytest.raises(SourceError, match="missing metadata.csv, test_split.csv") as info:
        TacosRelease(release_copy)
    assert "annotations_weak.csv" not in str(info.value)
    assert "--download" in str(info.value), "the message says how to get the files"


def test_folder_that_does_not_exist_raises_source_error(tmp_path):
    with pytest.raises(SourceError, match="not found"):
        TacosRelease(tmp_path / "nowhere")


def test_release_without_any_audio_raises_source_error(release_copy):
    (release_copy / "audio.zip").unlink()
    with pytest.raises(SourceError, match="expected audio.zip or an audio/ folder"):
        TacosRelease(release_copy).audio  # noqa: B018 - the property opens the store


# --- audio read in place ------------------------------------------------------------------------------


def test_audio_is_read_in_place_from_the_zip_byte_for_byte(demo_release, demo_plan):
    before = tree(demo_release)
    release = TacosRelease(demo_release)
    members = zip_members(demo_release / "audio.zip")
    assert release.audio.names() == sorted(members) == sorted(clip.filename for clip in demo_plan)
    for name, data in members.items():
        assert name in release.audio
        assert release.audio.read_bytes(name) == data
    assert tree(demo_release) == before, "nothing is extracted to disk"


def test_clip_that_is_not_in_the_archive_raises_missing_audio_error(demo_release):
    with pytest.raises(MissingAudioError, match="999999.mp3"):
        TacosRelease(demo_release).audio.read_bytes("999999.mp3")


def test_extracted_audio_folder_serves_the_same_bytes_as_the_zip(release_copy):
    members = zip_members(release_copy / "audio.zip")
    extract_audio(release_copy / "audio.zip", release_copy / "audio")
    (release_copy / "audio.zip").unlink()
    release = TacosRelease(release_copy)
    assert release.audio.location == release_copy / "audio"
    assert release.audio.names() == sorted(members)
    for name, data in members.items():
        assert release.audio.read_bytes(name) == data


def test_audio_zip_that_is_not_a_zip_raises_source_error(release_copy):
    (release_copy / "audio.zip").write_bytes(b"<html>502 Bad Gateway</html>")
    with pytest.raises(SourceError, match="audio.zip is not a zip archive"):
        TacosRelease(release_copy).audio  # noqa: B018


def test_in_place_reading_refuses_a_zip_with_an_escaping_member(release_copy):
    rewrite_zip(release_copy / "audio.zip", add=[("../evil.mp3", b"ID3 not really")])
    with pytest.raises(UnsafePathError, match=r"\.\./evil\.mp3"):
        TacosRelease(release_copy).audio  # noqa: B018


# --- extracting ---------------------------------------------------------------------------------------


def test_extract_audio_extracts_a_clean_zip(tmp_path):
    members = {"100.mp3": b"first clip", "200.mp3": b"second clip", "sub/300.mp3": b"third"}
    zip_path = write_zip(tmp_path / "audio.zip", members.items())
    target = extract_audio(zip_path, tmp_path / "out" / "audio")
    assert target == tmp_path / "out" / "audio"
    assert {str(p.relative_to(target)): p.read_bytes() for p in target.rglob("*") if p.is_file()} == members


UNSAFE_MEMBERS = {
    "parent": dict(members=[("../evil.mp3", b"evil")]),
    "absolute": dict(members=[("/abs.mp3", b"evil")]),
    "dotdot_inside": dict(members=[("a/../../x", b"evil")]),
    "symlink": dict(members=[], symlinks={"link.mp3": "../../../etc/passwd"}),
}


@pytest.mark.parametrize("target_exists", [True, False], ids=["existing_target", "new_target"])
@pytest.mark.parametrize("case", sorted(UNSAFE_MEMBERS))
def test_extract_audio_refuses_unsafe_members_and_writes_nothing(tmp_path, case, target_exists):
    spec = UNSAFE_MEMBERS[case]
    (tmp_path / "zips").mkdir()
    # A clean member comes first: it must not be written either (every member is checked first).
    zip_path = write_zip(
        tmp_path / "zips" / "audio.zip",
        [("100.mp3", b"clean clip"), *spec["members"]],
        symlinks=spec.get("symlinks", {}),
    )
    target = tmp_path / "work" / "extract" / "audio"
    if target_exists:
        target.mkdir(parents=True)
    before = tree(tmp_path)
    assert not Path("/abs.mp3").exists()
    with pytest.raises(UnsafePathError):
        extract_audio(zip_path, target)
    if target_exists:
        assert list(target.iterdir()) == [], "the target folder stays empty"
    assert tree(tmp_path) == before, "nothing appeared in, beside or above the target"
    assert not Path("/abs.mp3").exists()


def test_extract_audio_of_a_file_that_is_not_a_zip_raises_source_error(tmp_path):
    (tmp_path / "audio.zip").write_bytes(b"<html>502 Bad Gateway</html>")
    with pytest.raises(SourceError, match="is not a zip archive"):
        extract_audio(tmp_path / "audio.zip", tmp_path / "audio")
    assert not (tmp_path / "audio").exists()


def test_symlink_member_is_detected_from_its_unix_mode(tmp_path):
    zip_path = write_zip(tmp_path / "a.zip", [], symlinks={"link.mp3": "target"})
    with zipfile.ZipFile(zip_path) as archive:
        (info,) = archive.infolist()
    assert (info.external_attr >> 16) & 0o170000 == 0o120000, "the fixture writes a real symlink entry"


# --- checksums ----------------------------------------------------------------------------------------


def fake_split_of_the_published_size(path: Path) -> Path:
    """A plausible test_split.csv of exactly the published size: the size check passes, the MD5 decides."""
    size = TACOS_FILES["test_split.csv"].size
    text = "filename\n" + "".join(f"{100000 + i}.mp3\n" for i in range(1900))
    path.write_text(text + "#" * (size - len(text.encode()) - 1) + "\n")
    assert path.stat().st_size == size
    return path


def test_verify_rejects_a_file_whose_md5_differs_from_the_published_one(release_copy):
    release = TacosRelease(release_copy)
    # Keep only the split file, so verify() reaches it (it checks the release files that are present).
    for name in TACOS_FILES:
        if name != "test_split.csv":
            (release_copy / name).unlink()
    fake = fake_split_of_the_published_size(release_copy / "test_split.csv")
    with pytest.raises(ChecksumError) as info:
        release.verify()
    message = str(info.value)
    assert "test_split.csv" in message and "md5 mismatch" in message
    assert TACOS_FILES["test_split.csv"].md5 in message
    assert hashlib.md5(fake.read_bytes()).hexdigest() in message
    assert "tacos-temporal build --download" in message, "the message says how to get a good copy"


def test_verify_file_checks_the_md5_when_the_size_matches(tmp_path):
    fake = fake_split_of_the_published_size(tmp_path / "test_split.csv")
    with pytest.raises(ChecksumError, match="md5 mismatch"):
        verify_file(fake, TACOS_FILES["test_split.csv"])


def test_verify_of_the_demo_release_fails_because_its_files_are_not_the_published_ones(demo_release):
    with pytest.raises(ChecksumError, match="audio.zip: expected 1,629,958,981 bytes"):
        TacosRelease(demo_release).verify()


def test_verify_checks_only_the_release_files_present(release_copy):
    # With only the demo tables, verify still reaches (and rejects) a file it knows.
    (release_copy / "audio.zip").unlink()
    with pytest.raises(ChecksumError, match="annotations_strong.csv"):
        TacosRelease(release_copy).verify()
