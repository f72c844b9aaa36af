"""Fixtures of the data-layer tests: a scratch copy of the demo release to damage, and a local HTTP
server for downloads (the demo release and its build are session fixtures in tests/conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fixtures.http_server import FileServer


@pytest.fixture
def release_copy(demo_release, tmp_path) -> Path:
    """A private copy of the demo release that a test may damage."""
    return Path(shutil.copytree(demo_release, tmp_path / "release"))


@pytest.fixture
def file_server():
    """A local HTTP file server on 127.0.0.1 (tests/fixtures/http_server.py)."""
    with FileServer() as server:
        yield server
