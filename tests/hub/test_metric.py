"""publish-metric: the evaluate module goes to a Gradio Space and evaluate.load finds it there."""

from __future__ import annotations

import pytest

from tacos_temporal import cli
from tacos_temporal.errors import ConfigError
from tacos_temporal.hub.metric import default_metric_dir, metric_files, publish_metric
from tests.hub.conftest import ORG

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")  # inside huggingface_hub's LFS upload

PREDICTIONS = {
    "predictions": ["A", "The answer is (C).", "B", "I cannot tell."],
    "references": ["A", "C", "D", "B"],
    "tasks": ["earliest_onset", "earliest_onset", "latest_offset", "longest_duration"],
}


def test_publish_metric_then_evaluate_load_computes(hub, capsys):
    import evaluate

    repo = f"{ORG}/tacos_temporal"
    assert cli.main(["publish-metric", "--repo", repo, "--create"]) == 0
    assert "Space tacos-org/tacos_temporal: committed to main" in capsys.readouterr().out
    space = hub.repo(repo, "space")
    assert space.sdk == "gradio"
    assert {"tacos_temporal.py", "README.md", "app.py", "requirements.txt"} <= set(space.files())
    assert b"sdk: gradio" in space.files()["README.md"] and b"app_file: app.py" in space.files()["README.md"]

    metric = evaluate.load(repo)
    scores = metric.compute(**PREDICTIONS)
    assert (scores["n"], scores["accuracy"], scores["parse_failure_rate"]) == (4, 0.5, 0.25)
    assert hub.seen("GET", r"^/spaces/tacos-org/tacos_temporal/resolve/[^/]+/tacos_temporal\.py$")

    assert publish_metric(repo).status == "unchanged"


def test_a_space_with_another_name_also_gets_the_module_as_name_py(hub):
    import evaluate

    repo = f"{ORG}/tacos-temporal-metric"
    publish_metric(repo, create=True)
    files = hub.repo(repo, "space").files()
    assert files["tacos-temporal-metric.py"] == files["tacos_temporal.py"]
    assert evaluate.load(repo).compute(**PREDICTIONS)["accuracy"] == 0.5


def test_space_name_with_a_dot_is_refused_before_any_request(hub):
    with pytest.raises(ConfigError, match="contains '.'"):
        publish_metric(f"{ORG}/tacos.temporal", create=True)
    assert hub.requests == []


def test_metric_files_are_the_module_folder():
    files = metric_files(f"{ORG}/tacos_temporal")
    assert set(files) >= {"tacos_temporal.py", "README.md", "app.py", "requirements.txt"}
    assert all(path.is_relative_to(default_metric_dir()) for path in files.values())
    assert not any("__pycache__" in name for name in files)


def test_a_folder_that_is_not_the_module_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="missing: tacos_temporal.py"):
        metric_files(f"{ORG}/tacos_temporal", tmp_path)
