"""Where a ``--data`` or ``--model`` value points, checked before anything heavy runs.

A value is either a **local path** or a **Hub repository id** (``NAME`` or ``ORG/NAME``).  The checks
here answer in well under a second, so that a typo never costs a model load or minutes of Hub
retries:

* a value that exists locally must be a folder of the expected kind;
* a value that cannot be a repository id (``./x``, ``/abs/x``, ``~/x``, ``a/b/c``, ``x/``) and does
  not exist is a local error;
* a repository id is looked up once on the Hub (one request, short timeout): a missing, gated or
  unreachable repository is one clear error.  With ``HF_HUB_OFFLINE=1`` the Hub is not asked; the
  loader then fails fast on its own cache, and :func:`offline_hint` words that failure.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import ConfigError, SourceError
from .views import dataset_view

#: A Hub repository id: ``NAME`` or ``ORG/NAME`` (huggingface_hub's rules: letters, digits, ``-_.``,
#: not starting or ending with ``-`` or ``.``, at most 96 characters per part).
_PART = r"[A-Za-z0-9_](?:[\w.-]{0,94}[A-Za-z0-9_])?"
REPO_ID = re.compile(rf"^(?:{_PART}/)?{_PART}$")
#: Seconds to wait for the Hub's answer to the one look-up.
HUB_TIMEOUT_S = 10.0


def is_repo_id(value: str) -> bool:
    """Whether ``value`` could name a Hub repository (it may also name a local folder)."""
    return bool(REPO_ID.match(value)) and ".." not in value and not value.endswith(".")


def hub_offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def offline_hint() -> str:
    """What to say after a loader failed on a Hub id: offline mode found no cached copy."""
    return ("HF_HUB_OFFLINE is set and no cached copy was found; unset it (with network access) to download, "
            "or pass a local folder") if hub_offline() else "check the name and the network"


def check_hub_repo(repo_id: str, *, repo_type: str, flag: str, revision: str | None = None, local_hint: str = "") -> None:
    """Raise one clear error unless the Hub answers that ``repo_id`` exists and can be read.

    Skipped with ``HF_HUB_OFFLINE`` (the loaders then use their caches).  ``local_hint`` completes the
    message for a repository that does not exist (e.g. how to build a local folder).
    """
    if hub_offline():
        return
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError

    endpoint = constants.ENDPOINT
    kind = repo_type
    try:
        HfApi().repo_info(repo_id, repo_type=repo_type, revision=revision, timeout=HUB_TIMEOUT_S)
    except GatedRepoError as err:
        raise SourceError(f"{flag} {repo_id}: the {kind} is gated on the Hub; accept its terms on "
                          f"{endpoint}/{'datasets/' if repo_type == 'dataset' else ''}{repo_id} and log in (hf auth login)") from err
    except RevisionNotFoundError as err:
        raise ConfigError(f"{flag} {repo_id}: the Hub has no revision {revision!r} of it; check --revision") from err
    except RepositoryNotFoundError as err:
        hint = f"; {local_hint}" if local_hint else ""
        raise ConfigError(f"{flag} {repo_id}: no such local folder, and no {kind} {repo_id!r} on the Hub ({endpoint}) "
                          f"(a private one needs a token: hf auth login){hint}") from err
    except HfHubHTTPError as err:
        status = getattr(getattr(err, "response", None), "status_code", "?")
        raise SourceError(f"{flag} {repo_id}: the Hub ({endpoint}) answered HTTP {status}; try again later, "
                          "or pass a local folder") from err
    except Exception as err:  # noqa: BLE001 - any transport failure (DNS, refused, timeout) means "unreachable"
        raise SourceError(f"{flag} {repo_id}: cannot reach the Hub ({endpoint}): {type(err).__name__}: "
                          f"{str(err).splitlines()[0] if str(err) else 'no answer'}. Check the network, or set "
                          "HF_HUB_OFFLINE=1 to use a cached copy, or pass a local folder") from err


def check_data(data: str | Path, views: tuple[str, ...] | list[str] = ("audio_only",)) -> None:
    """Check ``--data`` before a model is loaded: a built folder that holds ``views``, or a Hub dataset.

    Raises :class:`SourceError` / :class:`ConfigError` with one line that says what to do.
    """
    value = str(data)
    path = Path(value).expanduser()
    build_hint = f"build one with: tacos-temporal build --tacos-dir TACOS_DIR --out {value} (or use --demo)"
    if path.exists():
        if not path.is_dir():
            raise SourceError(f"--data {value} is a file; pass a built dataset folder (tacos-temporal build --out DIR) or a Hub dataset id")
        configs = sorted({dataset_view(view) for view in views})
        data_dir = path / "data"
        if (path / "items.jsonl").is_file() and not data_dir.is_dir():
            raise SourceError(f"--data {value} holds items only (built with --items-only), no dataset views; "
                              f"build the views from the audio: tacos-temporal build --tacos-dir TACOS_DIR --out {value} --overwrite")
        if not (path / "README.md").is_file() and not data_dir.is_dir():
            raise SourceError(f"--data {value} is not a built dataset (no README.md, no data/); {build_hint}")
        missing = [c for c in configs if not _config_has_files(path, c)]
        if missing:
            raise SourceError(f"--data {value} has no {', '.join(missing)} view (no data files for it); "
                              f"rebuild it with: tacos-temporal build ... --out {value} --views {' '.join(configs)} --overwrite")
        return
    if not is_repo_id(value):
        raise SourceError(f"--data {value}: no such folder; {build_hint}")
    check_hub_repo(value, repo_type="dataset", flag="--data", local_hint=build_hint)


def _config_has_files(folder: Path, config: str) -> bool:
    """Whether ``config`` has data files: the paths its ``configs:`` entry in README.md declares, or
    ``data/<config>/*.parquet`` (the layout ``tacos-temporal build`` writes)."""
    card = folder / "README.md"
    if card.is_file():
        text = card.read_text(encoding="utf-8", errors="replace")
        block = re.search(rf"- config_name: {re.escape(config)}\n(.*?)(?=\n\s*- config_name:|\n---|\Z)", text, flags=re.S)
        patterns = re.findall(r"path: ['\"]?([^'\"\n]+)", block.group(1)) if block else []
        if patterns:
            return any(any(folder.glob(pattern.strip())) for pattern in patterns)
    return any((folder / "data" / config).glob("*.parquet"))
