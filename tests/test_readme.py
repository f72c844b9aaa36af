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


def test_readme_shows_the_papers_accuracy_table_from_paper_py():
    from tacos_temporal.harness.paper import ACCURACY, accuracy_markdown

    table = accuracy_markdown()
    assert table in (REPO / "README.md").read_text(encoding="utf-8")
    assert "| Qwen2-Audio | 30.9 / 28.1 / 32.5 | 63.6 / 46.5 / 58.9 |" in table
    assert len(table.splitlines()) == 2 + len(ACCURACY)


def test_nothing_in_the_repository_needs_a_folder_beside_the_clone():
    """A user's clone has nothing next to it: no test, bench, README, Makefile or code reads a sibling folder."""
    sibling = "../" + "shared"
    import subprocess

    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    offenders = [name for name in files if not name.endswith(".csv") and (REPO / name).is_file()
                 and sibling in (REPO / name).read_text(encoding="utf-8", errors="replace")]
    assert offenders == []
