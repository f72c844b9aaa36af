"""File-name rules: which clip names and archive members are safe to read and write.

A TACOS clip is ``<freesound id>.mp3``, a bare file name.  Names come from CSV files and zip
archives that the user downloads, so they are untrusted: anything that is a path (``../x.mp3``,
``/etc/passwd``, ``a/b.mp3``, ``C:x``) or hidden is refused before it touches the file system.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from ..errors import UnsafePathError

_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._ -]{0,254}")


def check_clip_filename(name: str) -> str | None:
    """Return ``None`` if ``name`` is a safe bare file name, else why it is not.

    >>> check_clip_filename("100388.mp3") is None
    True
    >>> check_clip_filename("../x.mp3")
    'a path, not a file name'
    """
    if any(sep in name for sep in ("/", "\\")) or name in (".", ".."):
        return "a path, not a file name"
    if ".." in name:
        return "contains '..'"
    if not _SAFE_NAME.fullmatch(name):
        return "only letters, digits, '_', '-', '.', and spaces are allowed, not first '.' or '-'"
    return None


def safe_join(root: str | Path, name: str) -> Path:
    """``root / name`` for a bare clip file name, or :class:`UnsafePathError`."""
    problem = check_clip_filename(name)
    if problem is not None:
        raise UnsafePathError(f"refusing clip file name {name!r}: {problem}")
    return Path(root) / name


def safe_member_path(root: str | Path, member: str) -> Path:
    """Where an archive member may be extracted under ``root``, or :class:`UnsafePathError`.

    Members may have folders (``audio/123.mp3``) but never leave ``root``: absolute names, drive
    letters, ``..`` components and backslash tricks are refused.
    """
    if "\x00" in member or "\\" in member:
        raise UnsafePathError(f"refusing archive member {member!r}: contains a NUL byte or a backslash")
    pure = PurePosixPath(member)
    if pure.is_absolute() or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
        raise UnsafePathError(f"refusing archive member {member!r}: it would be written outside {root}")
    root = Path(root).resolve()
    target = (root / pure).resolve()
    if target != root and root not in target.parents:
        raise UnsafePathError(f"refusing archive member {member!r}: it resolves outside {root}")
    return target
