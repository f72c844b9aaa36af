"""pyproject.toml: the installed setuptools reads it without a deprecation banner, and the licences
(the code's and the shipped event table's) travel with the package."""

from __future__ import annotations

import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_setuptools_reads_the_project_table_without_warnings(monkeypatch):
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    monkeypatch.chdir(REPO)  # license-files are relative to the project root
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dist = apply_configuration(Distribution(), REPO / "pyproject.toml")
    assert [str(w.message).splitlines()[0] for w in caught] == []
    assert dist.metadata.license_expression == "Apache-2.0 AND CC-BY-4.0"
    assert sorted(dist.metadata.license_files) == ["LICENSE", "tacos_temporal/data/tacos_events/README.md"]
    assert (REPO / "LICENSE").read_text(encoding="utf-8").lstrip().startswith("Apache License")
