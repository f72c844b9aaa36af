"""The metric Space in a brand-new virtual environment with only ``evaluate`` installed (from PyPI).

tests/hub/test_metric.py checks the same in a fresh interpreter that cannot import tacos_temporal
(fast, offline).  This variant builds a real venv (``python -m venv`` + ``pip install evaluate``,
reusing pip's wheel cache), so it needs PyPI: opt in with TACOS_TEMPORAL_NETWORK_TESTS=1.

    TACOS_TEMPORAL_NETWORK_TESTS=1 python -m pytest tests/hub/test_metric_space_venv.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata

import pytest

from tacos_temporal.hub.metric import publish_metric
from tacos_temporal.scoring.metrics import judge, score
from tests.hub.conftest import ORG
from tests.hub.test_metric import ISOLATED, PREDICTIONS

pytestmark = [
    pytest.mark.network,
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("TACOS_TEMPORAL_NETWORK_TESTS") != "1", reason="installs evaluate from PyPI; set TACOS_TEMPORAL_NETWORK_TESTS=1"),
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]


def test_evaluate_load_in_a_venv_with_only_evaluate(hub, tmp_path):
    repo = f"{ORG}/tacos_temporal"
    publish_metric(repo, create=True)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    # The same evaluate as here; numpy and pyarrow pinned to ours so pip takes wheels it already has.
    pins = [f"evaluate=={metadata.version('evaluate')}", f"numpy=={metadata.version('numpy')}", f"pyarrow=={metadata.version('pyarrow')}"]
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *pins], check=True, timeout=900)
    installed = subprocess.run([str(python), "-m", "pip", "list", "--format=json"], check=True, capture_output=True, text=True).stdout
    assert "tacos" not in installed.lower() and '"torch"' not in installed
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "HF_MODULES_CACHE")}
    env["HF_HOME"] = str(tmp_path / "hf_home")
    out = subprocess.run([str(python), "-c", ISOLATED, repo, json.dumps(PREDICTIONS)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["scores"] == score(judge(PREDICTIONS["predictions"], PREDICTIONS["references"], PREDICTIONS["tasks"]))
