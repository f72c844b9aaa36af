"""Publish the ``evaluate`` metric (``metrics/tacos_temporal/``) as a Hub Space.

``publish_metric("ORG/NAME")`` pushes the module folder (``tacos_temporal.py``, the card
``README.md`` whose YAML header says ``sdk: gradio`` / ``app_file: app.py``, ``app.py``,
``requirements.txt``) to a Space created with the Gradio SDK, in one commit.  A second identical
push changes nothing.

How ``evaluate.load("ORG/NAME")`` finds the module (evaluate 0.4.6, ``loading.py``): an id with one
``/`` that is not a local path goes to ``HubEvaluationModuleFactory``, which downloads
``{HF_ENDPOINT}/spaces/ORG/NAME/resolve/{revision}/NAME.py``, where the revision is the tag
``v<evaluate version>`` and then ``main``.  The file name is therefore always the **repo name** plus
``.py``; the module is then imported as ``evaluate_modules.metrics.ORG--NAME.<hash>.NAME``.  So:

* when the repo is named ``tacos_temporal``, the module file is pushed as it is;
* under any other name (``ORG/tacos-temporal-metric``), the same file is pushed a second time as
  ``<name>.py`` (``app.py`` keeps loading ``tacos_temporal.py``), so both work;
* a repo name with a ``.`` is refused: it would split the import path.

The Space's ``requirements.txt`` installs ``tacos-temporal``, which the module imports.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..names import METRIC_NAME
from .connection import PushOutcome, check_repo_id, ensure_repo, hub_api, hub_errors, push_files

SPACE_SDK = "gradio"
REQUIRED_FILES = (f"{METRIC_NAME}.py", "README.md", "app.py", "requirements.txt")


def default_metric_dir() -> Path:
    """``metrics/tacos_temporal`` of the source tree this package runs from."""
    return Path(__file__).resolve().parents[2] / "metrics" / METRIC_NAME


def metric_files(repo_id: str, metric_dir: str | Path | None = None) -> dict[str, Path]:
    """The files of the Space (path in the repo -> local file), with ``<repo name>.py`` added when
    the repo name is not the module's name."""
    check_repo_id(repo_id)
    name = repo_id.split("/", 1)[1]
    if "." in name:
        raise ConfigError(
            f"the Space name {name!r} contains '.': evaluate.load imports the module as '<name>.py', and a "
            f"dot would split that import path; choose a name such as {name.replace('.', '-')!r}"
        )
    folder = Path(metric_dir) if metric_dir is not None else default_metric_dir()
    missing = [f for f in REQUIRED_FILES if not (folder / f).is_file()]
    if missing:
        raise ConfigError(
            f"{folder} is not the evaluate module folder (missing: {', '.join(missing)}); pass --metric-dir "
            f"pointing at metrics/{METRIC_NAME} of a clone of the repository"
        )
    files = {
        path.relative_to(folder).as_posix(): path
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    }
    if name != METRIC_NAME:
        files[f"{name}.py"] = folder / f"{METRIC_NAME}.py"
    return files


def publish_metric(
    repo_id: str,
    *,
    metric_dir: str | Path | None = None,
    token: str | None = None,
    create: bool = False,
    private: bool = False,
    command: str | None = None,
) -> PushOutcome:
    """Push the evaluate module to the Space ``repo_id`` (Gradio SDK, ``app.py``), one commit to main.

    Args:
        repo_id (`str`): ``ORG/NAME`` of the Space; ``evaluate.load("ORG/NAME")`` then loads it.
        metric_dir (`str` or `Path`, *optional*): the module folder (default: ``metrics/tacos_temporal``
            beside this package in a source checkout).
        token (`str`, *optional*): a Hub token; default: ``HF_TOKEN`` or the one stored by ``hf auth login``.
        create (`bool`, defaults to `False`): create the Space if it does not exist.
        private (`bool`, defaults to `False`): create it private.
        command (`str`, *optional*): the command line to show in error messages.
    """
    files = metric_files(repo_id, metric_dir)
    api = hub_api(token)
    card = files["README.md"]
    with hub_errors("pushing the metric to", repo_id, "space", command=command, token=token, card_hint=f"fix the YAML header of {card}"):
        ensure_repo(api, repo_id, "space", create=create, private=private, space_sdk=SPACE_SDK)
        return push_files(
            api,
            repo_id,
            "space",
            files,
            title=f"Publish the {METRIC_NAME} evaluate metric",
            description="Pushed with `tacos-temporal publish-metric`.",
        )
