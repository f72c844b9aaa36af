"""A TACOS release folder: clip metadata, weak captions, splits and the audio.

The folder holds the Zenodo files (benchmark.md section 5): ``metadata.csv``,
``annotations_weak.csv``, ``annotations_strong.csv``, ``development_split.csv``, ``test_split.csv``
and the audio, either as ``audio.zip`` (read in place, never extracted to disk unless asked) or as an
extracted ``audio/`` folder.  The built-in demo corpus (:mod:`.demo`) has the same layout.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath

from ..errors import MissingAudioError, SourceError, UnsafePathError, check_name
from .naming import check_clip_filename, safe_join, safe_member_path
from .sources import TACOS_FILES, verify_file
from .tables import read_csv_columns

SPLIT_FILES: dict[str, str] = {"test": "test_split.csv", "development": "development_split.csv"}
METADATA_REQUIRED: tuple[str, ...] = ("filename", "license")
#: Columns joined into a clip's attribution when present (the demo has them; the real release's
#: other columns are not known here, so each one is optional).
ATTRIBUTION_COLUMNS: tuple[str, ...] = ("title", "username")


@dataclass(frozen=True)
class ClipInfo:
    """Licence and attribution of one clip (a published dataset must carry both)."""

    filename: str
    license: str
    attribution: str
    source_url: str


def freesound_url(filename: str) -> str:
    """``"100388.mp3"`` -> ``"https://freesound.org/s/100388/"``."""
    return f"https://freesound.org/s/{PurePosixPath(filename).stem}/"


class AudioStore:
    """Read clip bytes from ``audio.zip`` in place or from an extracted folder, by bare file name."""

    def __init__(self, root: Path):
        zip_path, folder = root / "audio.zip", root / "audio"
        self._zip: zipfile.ZipFile | None = None
        self._members: dict[str, str] = {}
        if folder.is_dir():
            self.location = folder
            self._members = {p.name: p.name for p in folder.iterdir() if p.is_file() and check_clip_filename(p.name) is None}
        elif zip_path.is_file():
            self.location = zip_path
            try:
                self._zip = zipfile.ZipFile(zip_path)
            except zipfile.BadZipFile as err:
                raise SourceError(f"{zip_path} is not a zip archive: {err}. Download it again.") from err
            for info in self._zip.infolist():
                if info.is_dir():
                    continue
                safe_member_path(root / "audio", info.filename)  # refuses members that escape
                name = PurePosixPath(info.filename).name
                if check_clip_filename(name) is None:
                    self._members[name] = info.filename
        else:
            raise SourceError(
                f"no audio in {root}: expected audio.zip or an audio/ folder. "
                "Download the release with: tacos-temporal build --download --out OUT"
            )

    def __contains__(self, filename: str) -> bool:
        return filename in self._members

    def names(self) -> list[str]:
        return sorted(self._members)

    def read_bytes(self, filename: str) -> bytes:
        """The clip's file bytes, unchanged."""
        if filename not in self._members:
            raise MissingAudioError(f"audio {filename!r} is not in {self.location}")
        if self._zip is not None:
            return self._zip.read(self._members[filename])
        return safe_join(self.location, filename).read_bytes()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def extract_audio(zip_path: str | Path, target: str | Path) -> Path:
    """Extract ``audio.zip`` into ``target`` safely: every member is checked before anything is written.

    Raises :class:`UnsafePathError` if any member would land outside ``target`` (``../x``,
    absolute names, drive letters) or is a symbolic link.
    """
    zip_path, target = Path(zip_path), Path(target)
    try:
        archive = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as err:
        raise SourceError(f"{zip_path} is not a zip archive: {err}. Download it again.") from err
    with archive:
        plan = []
        for info in archive.infolist():
            if info.is_dir():
                continue
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise UnsafePathError(f"refusing archive member {info.filename!r}: it is a symbolic link")
            plan.append((info, safe_member_path(target, info.filename)))
        # Created only once every member passed: a refused archive leaves no trace.
        target.mkdir(parents=True, exist_ok=True)
        for info, destination in plan:
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, open(destination, "wb") as out:
                while block := source.read(1 << 20):
                    out.write(block)
    return target


class TacosRelease:
    """A local TACOS release folder.

    Args:
        root (`str` or `Path`): the folder with the release files.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.is_dir():
            raise SourceError(f"TACOS folder not found: {self.root}")
        missing = [name for name in ("metadata.csv", "annotations_weak.csv", *SPLIT_FILES.values()) if not (self.root / name).is_file()]
        if missing:
            raise SourceError(
                f"{self.root} is not a TACOS release: missing {', '.join(missing)}. "
                "Download it with: tacos-temporal build --download --out OUT"
            )

    def path(self, name: str) -> Path:
        return safe_join(self.root, name)

    def verify(self) -> dict[str, str]:
        """Check every present release file against its published size and MD5; return ``{name: md5}``."""
        checked = {}
        for name, remote in TACOS_FILES.items():
            path = self.root / name
            if path.is_file():
                verify_file(path, remote, retry_hint="Download the release again with: tacos-temporal build --download")
                checked[name] = remote.md5
        return checked

    @cached_property
    def metadata(self) -> dict[str, ClipInfo]:
        table = read_csv_columns(
            self.path("metadata.csv"), METADATA_REQUIRED, "TACOS metadata", optional=ATTRIBUTION_COLUMNS
        )
        out = {}
        for index, filename in enumerate(table["filename"]):
            filename = filename.strip()
            if check_clip_filename(filename) is not None:
                continue  # such a row can never match an (equally checked) annotation row
            title, user = (table.get(c, [""] * (index + 1))[index].strip() for c in ATTRIBUTION_COLUMNS)
            parts = [f'"{title}"' if title else "", f"by {user}" if user else ""]
            url = freesound_url(filename)
            attribution = " ".join(p for p in parts if p) or f"Freesound clip {PurePosixPath(filename).stem}"
            out[filename] = ClipInfo(filename, table["license"][index].strip(), f"{attribution} ({url})", url)
        return out

    def clips(self) -> frozenset[str]:
        return frozenset(self.metadata)

    def split(self, name: str) -> list[str]:
        check_name("split", name, tuple(SPLIT_FILES))
        return [f.strip() for f in read_csv_columns(self.path(SPLIT_FILES[name]), ("filename",), f"TACOS {name} split")["filename"]]

    @cached_property
    def captions(self) -> dict[str, str]:
        """The weak (clip-level) caption of each clip; the first one when a clip has several."""
        table = read_csv_columns(self.path("annotations_weak.csv"), ("filename", "text"), "TACOS weak captions")
        out: dict[str, str] = {}
        for filename, text in zip(table["filename"], table["text"]):
            out.setdefault(filename.strip(), " ".join(text.split()))
        return out

    @cached_property
    def audio(self) -> AudioStore:
        return AudioStore(self.root)

    def event_table(self, split: str = "test") -> Path | None:
        """An event table shipped inside the folder (the demo has ``events_test.csv``), if any."""
        path = self.root / f"events_{split}.csv"
        return path if path.is_file() else None
