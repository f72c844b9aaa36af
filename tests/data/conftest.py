"""Fixtures of the data-layer tests: the demo TACOS release and its build, made once per session
through the real code paths, a scratch copy to damage, and a local HTTP server for downloads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fixtures.http_server import FileServer


@pytest.fixture(scope="session")
def demo_release(tmp_path_factory) -> Path:
    """The demo release (seed 0, 24 clips), read-only: copy it with ``release_copy`` to damage it."""
    pytest.importorskip("torchcodec", reason="encoding the demo MP3s needs torchcodec")
    from tacos_temporal.data.demo import make_demo_release

    return make_demo_release(tmp_path_factory.mktemp("demo") / "release", seed=0)


@pytest.fixture(scope="session")
def demo_plan():
    """The demo corpus as plain data: what each clip holds and which tasks it yields by construction."""
    from tacos_temporal.data.demo import plan_demo_clips

    return plan_demo_clips(seed=0)


@pytest.fixture(scope="session")
def demo_build(demo_release, tmp_path_factory):
    """The benchmark built from the demo release (all three views), read-only."""
    from tacos_temporal.data.build import build

    return build(tmp_path_factory.mktemp("built") / "dataset", tacos_dir=demo_release, progress=False)


@pytest.fixture
def release_copy(demo_release, tmp_path) -> Path:
    """A private copy of the demo release that a test may damage."""
    return Path(shutil.copytree(demo_release, tmp_path / "release"))


@pytest.fixture
def file_server():
    """A local HTTP file server on 127.0.0.1 (tests/fixtures/http_server.py)."""
    with FileServer() as server:
        yield server
