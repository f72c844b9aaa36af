"""Reading the CSV tables of TACOS and of the event source: columns by name, clear errors."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from ..errors import SourceError


def read_csv_columns(
    path: str | Path, required: Iterable[str], what: str, *, optional: Iterable[str] = ()
) -> dict[str, list[str]]:
    """The named columns of a CSV file as lists of strings (stdlib reader: fast, no pandas import).

    Args:
        path (`str` or `Path`): the CSV file (UTF-8, a BOM is accepted).
        required (`Iterable[str]`): columns that must exist; a missing one raises :class:`SourceError`
            naming it and the columns found.
        what (`str`): what the file is, for messages (``"event table"``).
        optional (`Iterable[str]`): columns returned only when present.
    """
    required = tuple(required)
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{what} not found: {path}")
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise SourceError(f"{what} {path} is empty")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise SourceError(f"cannot read {what} {path}: {err}") from err
    header = [name.strip() for name in header]
    missing = [column for column in required if column not in header]
    if missing:
        raise SourceError(
            f"{what} {path} lacks the column(s) {', '.join(missing)}; found {', '.join(header)}. "
            f"Expected at least: {', '.join(required)}."
        )
    columns = {}
    for column in (*required, *(c for c in optional if c in header and c not in required)):
        index = header.index(column)
        columns[column] = [row[index] if index < len(row) else "" for row in rows]
    return columns
