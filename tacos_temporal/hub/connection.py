"""The connection to the Hub that every push shares: the API client, the token, one commit helper
that never duplicates a pull request, and the translation of the Hub's failures into one
:class:`~tacos_temporal.errors.HubError` that says what failed and how to retry.

Tokens come only from huggingface_hub's usual sources (``--token`` passed through to ``HfApi``, the
``HF_TOKEN`` variable, the token stored by ``hf auth login``).  This module never prints, logs or
writes one, and scrubs any token-shaped string from the messages it builds.

A push is one commit, so a failure leaves the repository as it was: huggingface_hub uploads large
files first (LFS blobs, invisible until a commit names them) and commits all files at once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, HubError

#: ``--repo`` values: a namespace and a name (the Hub's own rule, without length limits).
REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TOKEN_SHAPE = re.compile(r"\bhf_[A-Za-z0-9]{6,}\b")
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}

#: What is pushed: a path in the repo -> bytes, or a local file (read when it is committed).
Files = Mapping[str, "bytes | Path"]


def check_repo_id(repo_id: str, what: str = "--repo") -> str:
    if not isinstance(repo_id, str) or not REPO_ID.match(repo_id):
        raise ConfigError(f"{what} must be a Hub id ORG/NAME (letters, digits, '-', '_', '.'), got {repo_id!r}")
    return repo_id


def hub_api(token: str | None = None):
    """An ``HfApi`` at ``HF_ENDPOINT``; ``token=None`` lets huggingface_hub find the usual one."""
    from huggingface_hub import HfApi

    return HfApi(token=token)


def repo_url(api, repo_id: str, repo_type: str) -> str:
    return f"{api.endpoint}/{URL_PREFIX[repo_type]}{repo_id}"


def redact(text: str, token: str | None = None) -> str:
    """``text`` with ``token`` and anything shaped like a Hugging Face token replaced by ``hf_***``."""
    if token:
        text = text.replace(token, "hf_***")
    return _TOKEN_SHAPE.sub("hf_***", text)


def _known_token(token: str | None) -> str | None:
    if token:
        return token
    try:
        from huggingface_hub import get_token

        return get_token()
    except Exception:  # noqa: BLE001 - only used to scrub messages
        return None


# --- errors ------------------------------------------------------------------------------------


def _rerun(command: str | None) -> str:
    return f"then rerun: {command}" if command else "then run the same command again"


def describe_failure(
    err: BaseException, *, action: str, repo_id: str, repo_type: str, command: str | None, missing_hint: str, card_hint: str
) -> str | None:
    """One sentence: what failed (with the HTTP status), on which repository, and what to do; ``None``
    for an exception that is not a failure of the Hub or of the connection (a bug: it propagates)."""
    from huggingface_hub.errors import (
        HfHubHTTPError,
        LocalTokenNotFoundError,
        OfflineModeIsEnabled,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"{action} {repo_type} repo {repo_id}"
    rerun = _rerun(command)
    login = "log in with `hf auth login` or set HF_TOKEN (or pass --token)"
    if isinstance(err, OfflineModeIsEnabled):
        return f"HF_HUB_OFFLINE=1 blocks every Hub call ({where}): unset it, {rerun}"
    if isinstance(err, LocalTokenNotFoundError):
        return f"no Hugging Face token found ({where}): {login}, {rerun}"
    if isinstance(err, ValueError) and "Invalid metadata in README.md" in str(err):
        details = "; ".join(line.lstrip("- ").strip() for line in str(err).splitlines()[1:] if line.strip())
        return (
            f"the Hub rejected the card metadata of README.md (validation error: {details or 'no details'}) {where}: "
            f"nothing was uploaded; {card_hint}, {rerun}"
        )
    if isinstance(err, HfHubHTTPError):
        status = err.response.status_code if err.response is not None else None
        server = (err.server_message or "").strip().rstrip(".")
        said = f": {server}" if server else ""
        if status == 401:
            hint = f"; if the token is valid, check that {repo_id} exists and that you can access it" if isinstance(err, RepositoryNotFoundError) else ""
            return f"authentication failed (HTTP 401{said}) {where}: {login}{hint}, {rerun}"
        if status == 403:
            return (
                f"permission denied (HTTP 403{said}) {where}: use a token with write access to the "
                f"'{repo_id.split('/')[0]}' namespace, {rerun}"
            )
        if isinstance(err, RevisionNotFoundError):
            return f"revision not found (HTTP 404{said}) {where}: check the branch or pull request, {rerun}"
        if isinstance(err, RemoteEntryNotFoundError):
            return f"a file is missing on the Hub (HTTP 404{said}) {where}: it may have been deleted meanwhile, {rerun}"
        if isinstance(err, RepositoryNotFoundError):
            return f"repository not found (HTTP 404) {where}: check the id, {missing_hint}, {rerun}"
        if status == 404:
            # A 404 without the Hub's RepoNotFound code: the repository was found, something else was not.
            endpoint = _request_line(err)
            what = _NOT_FOUND_WHAT.get(endpoint.rsplit("/", 1)[-1].split("?")[0], "the endpoint")
            return (
                f"{what} not found (HTTP 404{said}: {endpoint}) {where}: the repository exists, but the Hub at "
                f"{_endpoint_of(err)} does not serve this; check HF_ENDPOINT and the huggingface_hub version, {rerun}"
            )
        if status is not None and status >= 500:
            return (
                f"the Hub failed (HTTP {status}{said}) {where}: no commit was made, so the repository is "
                f"unchanged (files already uploaded are not sent again); {rerun}"
            )
        return f"the Hub refused the request (HTTP {status}{said}) {where}: {rerun}"
    if _is_network_error(err):
        return f"cannot reach the Hub at {_endpoint_of(err)} ({type(err).__name__}: {err}) {where}: check the network or HF_ENDPOINT, {rerun}"
    return None


#: What a 404 names, by the last part of the request path (everything else: "the endpoint").
_NOT_FOUND_WHAT = {"discussions": "the discussions (pull requests) endpoint", "leaderboard": "the leaderboard endpoint", "paths-info": "the paths-info endpoint"}


def _request_line(err: BaseException) -> str:
    """``GET /api/models/ORG/NAME/discussions``: the request that failed (no query, no host)."""
    try:
        request = err.response.request  # httpx: the response knows its request
        path = request.url.path
        return f"{request.method} {path.decode() if isinstance(path, bytes) else path}"
    except Exception:  # noqa: BLE001 - no request attached
        return "an unknown request"


def _endpoint_of(err: BaseException) -> str:
    try:
        url = err.request.url  # httpx2 / requests errors carry the request
        return f"{url.scheme}://{url.netloc.decode() if isinstance(url.netloc, bytes) else url.netloc}"
    except Exception:  # noqa: BLE001 - no request attached
        from huggingface_hub import constants

        return constants.ENDPOINT


def _is_network_error(err: BaseException) -> bool:
    # huggingface_hub 2.x talks HTTP through httpx2 (its errors: RequestError -> TransportError ->
    # ConnectError, ...); evaluate still uses requests (ConnectionError).  Match by class name so that
    # neither client has to be imported here.
    names = {cls.__name__ for cls in type(err).__mro__}
    return isinstance(err, ConnectionError | TimeoutError) or bool(names & {"TransportError", "RequestError", "TimeoutException"})


@contextmanager
def hub_errors(
    action: str,
    repo_id: str,
    repo_type: str,
    *,
    command: str | None = None,
    token: str | None = None,
    missing_hint: str = "or pass --create to create it",
    card_hint: str = "fix the YAML header of the card",
) -> Iterator[None]:
    """Turn any failure of the Hub client inside the block into a :class:`HubError` (``missing_hint``:
    what to do about a missing repository; ``card_hint``: about a README.md the Hub rejects)."""
    try:
        yield
    except (HubError, ConfigError):
        raise
    except Exception as err:  # noqa: BLE001 - every failure of the Hub becomes one clear message
        message = describe_failure(
            err, action=action, repo_id=repo_id, repo_type=repo_type, command=command, missing_hint=missing_hint, card_hint=card_hint
        )
        if message is None:
            raise
        raise HubError(redact(message, _known_token(token))) from err


# --- pushing -----------------------------------------------------------------------------------


@dataclass
class PushOutcome:
    """What a push did to one repository."""

    repo_id: str
    repo_type: str
    #: ``committed`` (to main), ``opened`` (a new pull request), ``updated`` (our open pull request),
    #: or ``unchanged`` (the same files are already on main or in our open pull request: a no-op).
    status: str
    url: str
    files: list[str] = field(default_factory=list)
    pull_request: int | None = None

    def describe(self) -> str:
        kind = {"model": "model", "dataset": "dataset", "space": "Space"}[self.repo_type]
        what = {
            "committed": "committed to main",
            "opened": f"opened pull request #{self.pull_request}",
            "updated": f"updated pull request #{self.pull_request}",
            "unchanged": "unchanged (already up to date" + (f" in pull request #{self.pull_request})" if self.pull_request else " on main)"),
        }[self.status]
        return f"{kind} {self.repo_id}: {what}, {len(self.files)} file(s) -> {self.url}"


def ensure_repo(api, repo_id: str, repo_type: str, *, create: bool, private: bool = False, space_sdk: str | None = None) -> None:
    """Create the repository when ``create``; otherwise check that it exists (404 -> HubError)."""
    if create:
        api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True, space_sdk=space_sdk)
    else:
        api.repo_info(repo_id, repo_type=repo_type)


def _sha256(data: bytes | Path) -> str:
    if isinstance(data, Path):
        digest = hashlib.sha256()
        with data.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    return hashlib.sha256(data).hexdigest()


def _git_oid(data: bytes | Path) -> str:
    from huggingface_hub.utils.sha import git_hash

    return git_hash(data.read_bytes() if isinstance(data, Path) else data)


def same_on_hub(api, repo_id: str, repo_type: str, revision: str, files: Files) -> bool:
    """Whether every file of ``files`` is on ``revision`` with the same content (by hash, no download)."""
    from huggingface_hub.hf_api import RepoFile

    if not files:
        return True
    remote = {
        item.path: item
        for item in api.get_paths_info(repo_id, list(files), revision=revision, repo_type=repo_type)
        if isinstance(item, RepoFile)
    }
    for path, data in files.items():
        item = remote.get(path)
        if item is None:
            return False
        if item.lfs is not None:
            if item.lfs.sha256 != _sha256(data):
                return False
        elif item.blob_id != _git_oid(data):
            return False
    return True


def read_remote_file(api, repo_id: str, repo_type: str, path: str, revision: str) -> bytes | None:
    """A file of the repository at ``revision``, or ``None`` when it has no such file."""
    from huggingface_hub.errors import EntryNotFoundError

    try:
        local = api.hf_hub_download(repo_id, path, repo_type=repo_type, revision=revision)
    except EntryNotFoundError:
        return None
    return Path(local).read_bytes()


def push_files(
    api,
    repo_id: str,
    repo_type: str,
    files: Files,
    *,
    title: str,
    description: str | None = None,
    derived: Mapping[str, Callable[[bytes | None], bytes]] | None = None,
    delete: tuple[str, ...] = (),
    create_pr: bool = False,
) -> PushOutcome:
    """Commit ``files`` (plus ``derived`` files, computed from the remote file at the target revision)
    as one commit titled ``title``, unless they are already there.

    With ``create_pr`` the commit goes to a pull request: if one of ours, still open and with the
    same title, already holds the same files, nothing happens; if it holds other content, it is
    updated in place; otherwise a new pull request is opened.  Without it the commit goes to
    ``main``.  Repeating a push therefore never duplicates anything.
    """
    derived = dict(derived or {})

    def contents(revision: str) -> dict[str, bytes | Path]:
        out = dict(files)
        for path, make in derived.items():
            out[path] = make(read_remote_file(api, repo_id, repo_type, path, revision))
        return out

    def commit(revision: str, content: Mapping[str, bytes | Path], *, new_pr: bool):
        from huggingface_hub import CommitOperationAdd, CommitOperationDelete

        operations = [CommitOperationAdd(path_in_repo=path, path_or_fileobj=data if isinstance(data, bytes) else str(data)) for path, data in content.items()]
        operations += [CommitOperationDelete(path_in_repo=path) for path in delete]
        return api.create_commit(
            repo_id, operations, commit_message=title, commit_description=description, repo_type=repo_type, revision=revision, create_pr=new_pr
        )

    base_url = repo_url(api, repo_id, repo_type)
    paths = sorted(set(files) | set(derived))
    on_main = contents("main")
    if not delete and same_on_hub(api, repo_id, repo_type, "main", on_main):
        return PushOutcome(repo_id, repo_type, "unchanged", base_url, paths)
    if not create_pr:
        info = commit("main", on_main, new_pr=False)
        return PushOutcome(repo_id, repo_type, "committed", info.commit_url, paths)
    user = api.whoami()["name"]
    for discussion in api.get_repo_discussions(repo_id, author=user, discussion_type="pull_request", discussion_status="open", repo_type=repo_type):
        if discussion.title != title:
            continue
        ref = discussion.git_reference
        in_pr = contents(ref)
        if not delete and same_on_hub(api, repo_id, repo_type, ref, in_pr):
            return PushOutcome(repo_id, repo_type, "unchanged", discussion.url, paths, discussion.num)
        commit(ref, in_pr, new_pr=False)
        return PushOutcome(repo_id, repo_type, "updated", discussion.url, paths, discussion.num)
    info = commit("main", on_main, new_pr=True)
    return PushOutcome(repo_id, repo_type, "opened", info.pr_url or info.commit_url, paths, info.pr_num)


def command_line(name: str, positional: list[str], options: Mapping[str, object]) -> str:
    """``tacos-temporal NAME POS --opt value --flag`` for error messages: ``None``/``False`` options are
    left out, ``True`` ones are flags, and ``--token`` shows only a placeholder."""
    import shlex

    words = ["tacos-temporal", name, *(shlex.quote(str(p)) for p in positional)]
    for option, value in options.items():
        if value is None or value is False:
            continue
        if option == "--token":
            words.append("--token TOKEN")
        elif value is True:
            words.append(option)
        else:
            words += [option, shlex.quote(str(value))]
    return " ".join(words)
