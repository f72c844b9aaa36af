"""The dependency direction data -> scoring -> harness -> hub -> cli holds, and importing is cheap."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tacos_temporal"
#: Rank of each part of the package; a module may import only parts of equal or lower rank.
RANKS = {
    "names": 0,
    "errors": 0,
    "files": 0,
    "progress": 0,
    "data": 1,
    "scoring": 2,
    "ports": 3,
    "harness": 4,
    "hub": 5,
    "pipeline": 6,
    "cli": 6,
    "__init__": 6,
}


def _part(module: str) -> str:
    """``tacos_temporal.data.events`` -> ``data``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1 and parts[-2] != "tacos_temporal":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> list[str]:
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append(target)
            # `from . import names` imports a submodule by name
            found += [f"{target}.{alias.name}" for alias in node.names if target.count(".") == 0]
    return [name for name in found if name.startswith("tacos_temporal.")]


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_part_of_the_package_has_a_rank():
    parts = {_part(_module_name(path)) for path in MODULES}
    assert parts <= set(RANKS), f"give these parts a rank in RANKS: {sorted(parts - set(RANKS))}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_its_own_or_earlier_layers(path):
    own = RANKS[_part(_module_name(path))]
    for target in _imports(path):
        part = _part(target)
        if part not in RANKS:  # e.g. `from tacos_temporal import __version__` resolves to a name
            continue
        assert RANKS[part] <= own, f"{path.relative_to(PACKAGE)} imports {target} from a later layer"


def test_layer_walker_sees_relative_imports():
    imports = _imports(PACKAGE / "scoring" / "predictions.py")
    assert "tacos_temporal.data.items" in imports and "tacos_temporal.scoring.metrics" in imports


def test_importing_the_package_loads_no_heavy_library():
    code = (
        "import sys, tacos_temporal; "
        "tacos_temporal.TASKS; "
        "heavy = [m for m in ('torch', 'datasets', 'transformers', 'matplotlib', 'pyarrow', 'evaluate') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_parse_choice_is_reachable_from_the_top_level_without_torch():
    code = "import sys, tacos_temporal; tacos_temporal.parse_choice('B', None); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_public_names_resolve():
    import tacos_temporal

    for name in tacos_temporal.__all__:
        assert getattr(tacos_temporal, name) is not None, name
