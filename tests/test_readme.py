"""Every ```python block of the README runs, in order, in one namespace, in a fresh folder."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def readme_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_python_examples():
    assert len(readme_blocks()) >= 4


def test_readme_python_blocks_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "metrics").symlink_to(REPO / "metrics")  # the README runs from the repository root
    namespace: dict = {"__name__": "__readme__"}
    for number, block in enumerate(readme_blocks(), start=1):
        try:
            exec(compile(block, f"README.md python block {number}", "exec"), namespace)
        except Exception as err:  # pragma: no cover - the message is the point
            raise AssertionError(f"README python block {number} failed: {err!r}\n{block}") from err
    out = capsys.readouterr().out
    # the parser examples print what the README says they do
    assert out.count("Parsed(letter='B'") == 2
    assert "Parsed(letter=None" in out
