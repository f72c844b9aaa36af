"""Files: writes that a crash never leaves half done (temporary name in the same folder, then
``os.replace``; permissions follow the umask), and the one JSON Lines reader."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(handle)`` on a temporary file beside ``path``, then rename it into place.

    ``path`` is either untouched or completely replaced, whatever happens inside ``write``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    return atomic_write(path, lambda handle: handle.write(data))


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically and return the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def check_output_dir(final: Path, overwrite: bool, what: str = "output folder") -> None:
    """Refuse a path that is a file, or a non-empty folder unless ``overwrite``."""
    from .errors import BuildError

    if final.exists() and not final.is_dir():
        raise BuildError(f"{what} {final} exists and is not a folder; choose another path")
    if final.is_dir() and any(final.iterdir()) and not overwrite:
        raise BuildError(f"{what} {final} is not empty; pass --overwrite (overwrite=True) to replace it, or choose another folder")


def staging_dir(final: Path) -> Path:
    """A fresh temporary folder beside ``final`` (same file system, so it can be renamed into place)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    return tmp


def replace_dir(staged: Path, final: Path) -> None:
    """Move a finished ``staged`` folder to ``final``.

    An old ``final`` is moved aside first and removed only once the new one is in place; if the
    move fails, the old folder is put back.
    """
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{staged.name.rsplit('-', 1)[-1]}")
        os.replace(final, old)
    try:
        os.replace(staged, final)
    except BaseException:
        if old is not None:
            os.replace(old, final)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def staged_output(final: str | Path, *, overwrite: bool, what: str = "output folder") -> Iterator[Path]:
    """Write a folder all at once: yield a staging folder, then swap it into ``final``.

    On any error (or Ctrl-C) the staging folder is removed and ``final`` is left as it was.

    ```py
    with staged_output(out, overwrite=False) as tmp:
        (tmp / "items.jsonl").write_text(...)
    ```
    """
    final = Path(final)
    check_output_dir(final, overwrite, what)
    tmp = staging_dir(final)
    try:
        yield tmp
        replace_dir(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_jsonl_objects(path: str | Path, error: Callable[[int, str], Exception]) -> list[tuple[int, dict]]:
    """``(line number, object)`` for every non-blank line of a JSON Lines file.

    A line that is not JSON, or not a JSON object, raises ``error(line_number, problem)``, where
    ``problem`` reads "not JSON: ..." or "a list, not a JSON object": each caller words its own error.
    """
    path = Path(path)
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as err:
                raise error(number, f"not JSON: {err.msg}") from err
            if not isinstance(value, dict):
                raise error(number, f"a {type(value).__name__}, not a JSON object")
            rows.append((number, value))
    return rows
