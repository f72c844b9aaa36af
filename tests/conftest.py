"""Test-suite set-up: every cache in a temporary folder, nothing reaches the network.

huggingface_hub, datasets and evaluate read HF_HOME / HF_ENDPOINT / offline flags when they are
first imported, so this runs before any test module imports them (as datasets' own
tests/conftest.py does).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_HF_HOME = Path(tempfile.mkdtemp(prefix="tacos-temporal-hf-home-"))
os.environ["HF_HOME"] = str(_HF_HOME)
os.environ.pop("HF_DATASETS_CACHE", None)
os.environ.pop("HF_MODULES_CACHE", None)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Real TACOS event tables, read in place from ../shared (never copied into the repository).
SHARED_EVENTS = REPO_ROOT.parent / "shared" / "data" / "tacos_events"


@pytest.fixture(scope="session")
def hf_home() -> Path:
    return _HF_HOME


@pytest.fixture(scope="session")
def events_test_csv() -> Path:
    path = SHARED_EVENTS / "events_test.csv"
    if not path.is_file():
        pytest.fail(f"the real TACOS event table is missing: {path} (CI lays ../shared beside the clone)")
    return path
