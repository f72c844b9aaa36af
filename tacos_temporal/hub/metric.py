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

The Space carries what the module needs: ``tacos-temporal`` is on no package index, so instead of
installing it, :func:`space_module` rewrites the module's ``from tacos_temporal.<m> import ...``
lines to ``from .tacos_temporal_bundle import ...`` and :func:`scoring_bundle` generates
``tacos_temporal_bundle.py`` from this package's own source files (the modules the metric imports
and theirs, found with ``ast``), with their ``tacos_temporal.`` imports pointed at a private package
that the bundle builds in memory.  evaluate downloads a relative import of the module beside it
(``loading.get_imports``: "internal" imports), so ``evaluate.load("ORG/NAME")`` works in an
environment with only ``evaluate``; the package keeps the one copy of the scoring code, and a
second publish of unchanged code changes nothing.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from ..errors import ConfigError
from ..names import BENCHMARK_NAME, METRIC_NAME
from .connection import PushOutcome, check_repo_id, ensure_repo, hub_api, hub_errors, push_files

SPACE_SDK = "gradio"
REQUIRED_FILES = (f"{METRIC_NAME}.py", "README.md", "app.py", "requirements.txt")
#: The generated module of the Space that holds the package's scoring code.
BUNDLE = f"{BENCHMARK_NAME}_bundle"
#: The private package name the bundle loads the sources under (never clashes with an installed package).
BUNDLE_PACKAGE = f"_{BENCHMARK_NAME}_bundled"
_PACKAGE_IMPORT = re.compile(rf"^(\s*)from {BENCHMARK_NAME}((?:\.\w+)+) import (.+)$", re.M)
_PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def _module_path(module: str) -> Path:
    """``tacos_temporal.scoring.metrics`` -> the file of this package that defines it."""
    parts = module.split(".")[1:]
    path = _PACKAGE_ROOT.joinpath(*parts)
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _package_imports(source: str, module: str) -> list[str]:
    """The ``tacos_temporal`` modules that ``source`` (of ``module``) imports, absolute or relative."""
    found = []
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith(f"{BENCHMARK_NAME}."):
                found.append(target)
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith(f"{BENCHMARK_NAME}.")]
    return found


def bundled_modules(metric_source: str) -> list[str]:
    """The package modules the metric needs, dependencies first (``tacos_temporal.names``, ...)."""
    order: list[str] = []

    def visit(module: str, trail: tuple[str, ...]) -> None:
        if module in order:
            return
        if module in trail:
            raise ConfigError(f"circular import between {' -> '.join(trail + (module,))}; the metric bundle cannot order them")
        for needed in _package_imports(_module_path(module).read_text(encoding="utf-8"), module):
            visit(needed, trail + (module,))
        order.append(module)

    for module in _package_imports(metric_source, METRIC_NAME):
        visit(module, ())
    return order


def _bundled_source(source: str) -> str:
    """A package module's source with its ``tacos_temporal.`` imports pointed at the private package."""
    # Relative imports (``from ..names import``) need no change: the private package keeps the layout.
    return re.sub(rf"^(\s*)from {BENCHMARK_NAME}\.", rf"\1from {BUNDLE_PACKAGE}.", source, flags=re.M)


def scoring_bundle(metric_source: str) -> str:
    """The text of ``tacos_temporal_bundle.py``: every package module the metric imports (and theirs),
    executed under a private package name, and the names the metric imports from them."""
    from .. import __version__

    modules = bundled_modules(metric_source)
    exports = {}
    for match in _PACKAGE_IMPORT.finditer(metric_source):
        for name in (part.strip() for part in match.group(3).split(",")):
            exports[name] = match.group(2).lstrip(".")
    sources = {module.split(".", 1)[1]: _bundled_source(_module_path(module).read_text(encoding="utf-8")) for module in modules}
    lines = [
        f'"""Generated by `tacos-temporal publish-metric` from tacos-temporal {__version__}: do not edit.',
        "",
        "The scoring code of the tacos-temporal package (its files " + ", ".join(f"{m.replace('.', '/')}.py" for m in modules) + "),",
        "carried by this Space so that evaluate.load works where only evaluate is installed.  The sources are",
        f"executed unchanged, except that their `{BENCHMARK_NAME}.` imports name the private package {BUNDLE_PACKAGE!r}.",
        '"""',
        "",
        "import sys",
        "import types",
        "",
        f"_PACKAGE = {BUNDLE_PACKAGE!r}",
        "#: module (relative to the package) -> source, dependencies first",
        "_SOURCES = {",
        *(f"    {name!r}: {text!r}," for name, text in sources.items()),
        "}",
        "#: the names the metric module imports -> their module",
        f"_EXPORTS = {exports!r}",
        "",
        "",
        "def _package(name):",
        "    module = sys.modules.get(name)",
        "    if module is None:",
        "        module = types.ModuleType(name)",
        "        module.__path__ = []",
        "        sys.modules[name] = module",
        "    return module",
        "",
        "",
        "def _load():",
        "    _package(_PACKAGE)",
        "    for name, source in _SOURCES.items():",
        "        full = _PACKAGE + '.' + name",
        "        if full in sys.modules:",
        "            continue",
        "        parent = full.rsplit('.', 1)[0]",
        "        for depth in range(1, parent.count('.') + 1):",
        "            _package('.'.join(parent.split('.')[: depth + 1]))",
        "        module = types.ModuleType(full)",
        "        module.__package__ = parent",
        "        module.__file__ = '<' + full.replace('.', '/') + '.py>'",
        "        sys.modules[full] = module",
        "        try:",
        "            exec(compile(source, module.__file__, 'exec'), module.__dict__)",
        "        except BaseException:",
        "            del sys.modules[full]",
        "            raise",
        "    return {name: getattr(sys.modules[_PACKAGE + '.' + module], name) for name, module in _EXPORTS.items()}",
        "",
        "",
        "globals().update(_load())",
        "",
    ]
    return "\n".join(lines)


def space_module(metric_source: str) -> str:
    """The metric module as the Space serves it: its package imports come from the bundle beside it."""
    return _PACKAGE_IMPORT.sub(lambda m: f"{m.group(1)}from .{BUNDLE} import {m.group(3)}", metric_source)


def default_metric_dir() -> Path:
    """``metrics/tacos_temporal`` of the source tree this package runs from."""
    return Path(__file__).resolve().parents[2] / "metrics" / METRIC_NAME


def metric_files(repo_id: str, metric_dir: str | Path | None = None) -> dict[str, bytes | Path]:
    """The files of the Space (path in the repo -> local file or generated bytes): the module folder,
    with the module rewritten by :func:`space_module`, ``tacos_temporal_bundle.py`` from
    :func:`scoring_bundle`, and ``<repo name>.py`` added when the repo name is not the module's name."""
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
    files: dict[str, bytes | Path] = {
        path.relative_to(folder).as_posix(): path
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    }
    source = (folder / f"{METRIC_NAME}.py").read_text(encoding="utf-8")
    module = space_module(source).encode("utf-8")
    files[f"{METRIC_NAME}.py"] = module
    files[f"{BUNDLE}.py"] = scoring_bundle(source).encode("utf-8")
    if name != METRIC_NAME:
        files[f"{name}.py"] = module
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
