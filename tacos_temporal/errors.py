"""Exceptions of tacos_temporal: one base class, one subclass per kind of failure.

Each message says what happened, to what, and what to do about it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class TacosTemporalError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(TacosTemporalError, ValueError):
    """An argument, option or name is invalid (unknown view, bad seed, ...)."""


class SourceError(TacosTemporalError):
    """A TACOS file or event table is missing, unreadable or has the wrong columns."""


class ChecksumError(SourceError):
    """A downloaded or local file does not match its published checksum."""


class UnsafePathError(SourceError):
    """A file name or archive member would escape its folder (``../x.mp3``, ``/etc/passwd``)."""


class AnnotationError(SourceError):
    """Malformed annotation rows were found and ``strict`` was requested."""


class MissingAudioError(SourceError):
    """Selected items refer to audio that is missing or cannot be decoded."""


class BuildError(TacosTemporalError):
    """The benchmark could not be built (empty selection, output folder exists, ...)."""


class ScoringError(TacosTemporalError, ValueError):
    """Predictions, references or options cannot be scored as given."""


class ModelError(TacosTemporalError):
    """A model cannot be loaded or cannot serve the requested view."""


class HubError(TacosTemporalError):
    """A push to (or a read from) the Hugging Face Hub failed: authentication, a missing repository,
    a server error or a rejected card.  The message names the repository, what failed and the
    command to run again; local files are never changed by a failed push."""


def unknown_name(kind: str, name: object, available: Iterable[str]) -> ConfigError:
    """``Unknown view 'audio'. Did you mean: audio_only? Available: ...`` as a :class:`ConfigError`."""
    available = list(available)
    close = difflib.get_close_matches(str(name), available, n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return ConfigError(f"Unknown {kind} {name!r}.{hint} Available: {', '.join(available)}")


def check_name(kind: str, name: str, available: Iterable[str]) -> str:
    """Return ``name`` if it is one of ``available``, else raise :func:`unknown_name`'s error."""
    available = tuple(available)
    if name not in available:
        raise unknown_name(kind, name, available)
    return name
