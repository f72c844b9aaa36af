"""Files: writes that a crash never leaves half done (temporary name in the same folder, then
``os.replace``; permissions follow the umask), and the one JSON Lines reader."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

#: This package's own folder: its shipped data (the event table, presets) is an input of every
#: command, so no output folder may replace or contain it.
PACKAGE_DIR = Path(__file__).resolve().parent


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


def _resolved(path: str | Path) -> Path:
    return Path(path).expanduser().resolve()


def check_apart(out: str | Path, inputs: Mapping[str, str | Path | None], what: str = "output folder") -> None:
    """Refuse an output folder that equals, contains or lies inside one of ``inputs``.

    ``inputs`` maps a name the user knows (``"--tacos-dir"``, ``"--data"``, ``"the download
    folder"``) to a path; ``None`` entries are ignored.  This package's own folder is always an
    input.  Paths are compared after resolving symbolic links, so a link to an input is that
    input.  The rule holds with or without ``--overwrite``: writing (or replacing) such a folder
    would delete or mix with what the command reads.

    Raises:
        :class:`~tacos_temporal.errors.ConfigError` naming both paths.
    """
    from .errors import ConfigError

    target = _resolved(out)
    for name, path in {**inputs, "this package's own files": PACKAGE_DIR}.items():
        if path is None:
            continue
        source = _resolved(path)
        if target == source:
            relation = "is"
        elif source.is_relative_to(target):
            relation = "contains"
        elif target.is_relative_to(source):
            relation = "lies inside"
        else:
            continue
        raise ConfigError(
            f"{what} {out} {relation} {name} {path}: writing there would delete or mix with what is read. "
            "Choose an output folder apart from every input."
        )


def check_output_file(path: str | Path, what: str = "output file") -> Path:
    """Refuse an output file path that names a folder or lies in a folder that does not exist."""
    from .errors import ConfigError

    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{what} {path} is a folder: name a file, e.g. {path / 'comparison.json'}")
    if not path.parent.is_dir():
        raise ConfigError(f"{what} {path}: folder {path.parent} does not exist; create it first or choose another path")
    return path


class _HeldLock:
    def __init__(self, handle: IO[str]):
        self.handle = handle
        self.depth = 1


_HELD_LOCKS: dict[Path, _HeldLock] = {}


def lock_path(folder: str | Path) -> Path:
    """The lock file of ``folder``: ``.NAME.lock`` beside it (a folder that is replaced as a whole
    cannot hold its own lock)."""
    folder = _resolved(folder)
    return folder.parent / f".{folder.name or 'root'}.lock"


@contextmanager
def folder_lock(folder: str | Path, what: str = "output folder") -> Iterator[Path]:
    """Hold an exclusive lock on ``folder`` (an ``fcntl.flock`` on :func:`lock_path`) while the
    block runs.

    A second process asking for the same folder fails at once with an error naming the process
    that holds it (pid, host, start time, command).  The operating system releases the lock when
    the holder exits, however it ends (``kill -9`` included), so a stale lock never blocks a
    restart (its lock file may stay behind; it means nothing unlocked).  Within one process the
    lock is re-entrant.  A lock released normally removes its file.

    Raises:
        :class:`~tacos_temporal.errors.ConfigError`: another process holds the lock, or the lock
            file cannot be created (a read-only parent folder).
    """
    path = lock_path(folder)
    held = _HELD_LOCKS.get(path)
    if held is not None:
        held.depth += 1
        try:
            yield path
        finally:
            held.depth -= 1
        return
    handle = _acquire(path, folder, what)
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": " ".join(sys.argv),
        }) + "\n")
        handle.flush()
        _HELD_LOCKS[path] = _HeldLock(handle)
        try:
            yield path
        finally:
            del _HELD_LOCKS[path]
            # Unlink while still locked: a process waiting on this inode sees it is gone and retries.
            path.unlink(missing_ok=True)
    finally:
        handle.close()  # closing the file releases the lock


def _acquire(path: Path, folder: str | Path, what: str) -> IO[str]:
    """Open and lock ``path``; retry when the file was unlinked by its previous holder meanwhile."""
    import fcntl

    from .errors import ConfigError

    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path, "a+", encoding="utf-8")
        except OSError as err:
            raise ConfigError(f"cannot write in {path.parent} ({err.strerror or err}): choose a writable {what}") from err
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = _describe_holder(handle.read())
            handle.close()
            raise ConfigError(
                f"{what} {folder} is in use by {holder}; wait for it to finish or choose another folder "
                f"(the lock {path} is released as soon as that process ends)"
            ) from None
        try:
            same = os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return handle
        handle.close()


def _describe_holder(text: str) -> str:
    try:
        info = json.loads(text)
        return f"process {info['pid']} on {info['host']} (started {info['started']}: {info['command']})"
    except (ValueError, KeyError, TypeError):
        return "another process (it has not written its details yet)"


@contextmanager
def staged_output(
    final: str | Path, *, overwrite: bool, what: str = "output folder", inputs: Mapping[str, str | Path | None] | None = None
) -> Iterator[Path]:
    """Write a folder all at once: yield a staging folder, then swap it into ``final``.

    On any error (or Ctrl-C) the staging folder is removed and ``final`` is left as it was.
    ``final`` may not equal, contain or lie inside one of ``inputs`` (:func:`check_apart`), and it
    is locked against other processes until it is in place (:func:`folder_lock`).

    ```py
    with staged_output(out, overwrite=False) as tmp:
        (tmp / "items.jsonl").write_text(...)
    ```
    """
    final = Path(final)
    check_apart(final, inputs or {}, what)
    with folder_lock(final, what):
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
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise error(number, f"not UTF-8 text (byte {err.start + 1} of the line): save the file as UTF-8") from err
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
