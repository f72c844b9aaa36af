"""Test-suite set-up: every cache in a temporary folder, nothing reaches the network.

huggingface_hub, datasets and evaluate read HF_HOME / HF_ENDPOINT / offline flags when they are
first imported, so this runs before any test module imports them (as datasets' own
tests/conftest.py does).

The Hub is a local test server (tests/fixtures/hub_server.py): its port is reserved here, before
anything reads HF_ENDPOINT, and the server starts listening on first use of the ``hub_server``
fixture.  Offline mode is off so that the Hub tests can talk to it; nothing else is reachable (a
stray Hub call goes to 127.0.0.1 and fails fast with "connection refused" until the server runs).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.fixtures.hub_server import HubServer, reserve_port

_HF_HOME = Path(tempfile.mkdtemp(prefix="tacos-temporal-hf-home-"))
os.environ["HF_HOME"] = str(_HF_HOME)
os.environ.pop("HF_DATASETS_CACHE", None)
os.environ.pop("HF_MODULES_CACHE", None)
_HUB_SOCKET = reserve_port()
os.environ["HF_ENDPOINT"] = "http://127.0.0.1:%d" % _HUB_SOCKET.getsockname()[1]
os.environ["HF_HUB_OFFLINE"] = "0"
os.environ["HF_DATASETS_OFFLINE"] = "0"
os.environ["HF_UPDATE_DOWNLOAD_COUNTS"] = "0"  # evaluate would HEAD a real S3 bucket on each load
for _name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH"):  # never a real token
    os.environ.pop(_name, None)
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def hf_home() -> Path:
    return _HF_HOME


@pytest.fixture(scope="session")
def hub_server():
    """The local Hub test server at HF_ENDPOINT, started on first use (reset it between tests)."""
    server = HubServer(_HUB_SOCKET).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def events_test_csv() -> Path:
    """The real TACOS test event table shipped in the package (sha256 checked)."""
    from tacos_temporal.data.sources import bundled_event_table

    return bundled_event_table()


@pytest.fixture(scope="session")
def demo_release(tmp_path_factory) -> Path:
    """The demo release (seed 0, 24 clips), read-only: copy it with ``release_copy`` to damage it."""
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


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """Tiny random-weight checkpoints of every supported architecture, built once (offline)."""
    from tacos_temporal.harness.tiny import TINY_ARCHS, make_tiny_model

    root = tmp_path_factory.mktemp("tiny_models")
    return {arch: make_tiny_model(arch, root / arch) for arch in TINY_ARCHS}


@pytest.fixture(scope="session")
def tiny_kimi_audio(tmp_path_factory) -> Path:
    """The tiny Kimi-Audio port checkpoint (tiny release in the Hub layout, converted by convert-kimi), built once."""
    from tacos_temporal.harness.tiny_kimi import make_tiny_kimi

    return make_tiny_kimi(tmp_path_factory.mktemp("tiny_kimi_audio") / "tiny-kimi-audio")
