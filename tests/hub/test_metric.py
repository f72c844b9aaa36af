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


def test_metric_files_are_the_module_folder_with_the_generated_module_and_bundle():
    files = metric_files(f"{ORG}/tacos_temporal")
    assert set(files) == {"tacos_temporal.py", "tacos_temporal_bundle.py", "README.md", "app.py", "requirements.txt"}
    assert all(files[name].is_relative_to(default_metric_dir()) for name in ("README.md", "app.py", "requirements.txt"))
    module = files["tacos_temporal.py"].decode()
    assert "from .tacos_temporal_bundle import judge, score" in module
    assert not [line for line in module.splitlines() if line.startswith("from tacos_temporal")]
    original = (default_metric_dir() / "tacos_temporal.py").read_text()
    assert module.replace("from .tacos_temporal_bundle import", "from tacos_temporal.X import") == __import__("re").sub(
        r"^from tacos_temporal(\.\w+)+ import", "from tacos_temporal.X import", original, flags=__import__("re").M
    )


def test_a_folder_that_is_not_the_module_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="missing: tacos_temporal.py"):
        metric_files(f"{ORG}/tacos_temporal", tmp_path)


# --- the Space works where only evaluate is installed ---------------------------------------------

ISOLATED = r"""
import importlib.util, json, sys
assert importlib.util.find_spec("tacos_temporal") is None, "tacos_temporal must not be importable here"
import evaluate
metric = evaluate.load(sys.argv[1])
predictions = json.loads(sys.argv[2])
result = metric.compute(**predictions)
with_options = evaluate.load(sys.argv[1], config_name="with_options")
with_options.add_batch(predictions=["Rain"], references=["D"], tasks=["longest_duration"], options=[["Dog barking", "Car horn", "Speech", "Rain"]])
print(json.dumps({"scores": result, "with_options": with_options.compute(), "citation": metric.citation,
                  "tacos_modules": sorted(m for m in sys.modules if m.startswith("tacos_temporal"))}))
"""


def _site_packages() -> list[str]:
    import site
    import sysconfig

    return [sysconfig.get_paths()["purelib"], *site.getsitepackages()]


def run_isolated(tmp_path, *args: str) -> dict:
    """Run ISOLATED in a fresh interpreter that sees the environment's installed packages but not
    tacos_temporal: ``-S`` skips site (and with it the editable install's .pth finder), PYTHONPATH is
    cleared, the working directory is empty, and only the site-packages folders are put on sys.path.
    (A venv with only evaluate installed is the slow, networked variant: test_metric_space_venv.py.)"""
    import json
    import os
    import subprocess
    import sys

    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    env["HF_HOME"] = str(tmp_path / "hf_home")  # a fresh cache: everything comes from the Space
    env.pop("HF_MODULES_CACHE", None)
    prelude = f"import sys; sys.path[:0] = {sorted(set(_site_packages()))!r}\n"
    out = subprocess.run([sys.executable, "-S", "-c", prelude + ISOLATED, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_evaluate_load_of_the_space_needs_no_tacos_temporal_install(hub, tmp_path):
    import json

    from tacos_temporal.names import CITATION
    from tacos_temporal.scoring.metrics import judge, score

    repo = f"{ORG}/tacos_temporal"
    publish_metric(repo, create=True)
    files = hub.repo(repo, "space").files()
    assert b"tacos-temporal" not in b"".join(line for line in files["requirements.txt"].splitlines() if not line.startswith(b"#"))
    result = run_isolated(tmp_path, repo, json.dumps(PREDICTIONS))
    assert result["tacos_modules"] == []
    assert result["scores"] == score(judge(PREDICTIONS["predictions"], PREDICTIONS["references"], PREDICTIONS["tasks"]))
    assert (result["scores"]["n"], result["scores"]["accuracy"], result["scores"]["parse_failure_rate"]) == (4, 0.5, 0.25)
    assert result["with_options"]["accuracy"] == 1.0  # "Rain" names option D
    assert result["citation"] == CITATION
    assert hub.seen("GET", r"^/spaces/tacos-org/tacos_temporal/resolve/[^/]+/tacos_temporal_bundle\.py$")


def test_the_bundle_is_the_packages_own_sources_with_only_their_imports_renamed():
    import ast

    from tacos_temporal.hub.metric import BUNDLE_PACKAGE, bundled_modules, scoring_bundle

    source = (default_metric_dir() / "tacos_temporal.py").read_text()
    modules = bundled_modules(source)
    assert modules.index("tacos_temporal.names") < modules.index("tacos_temporal.scoring.metrics")
    assert modules.index("tacos_temporal.scoring.parsing") < modules.index("tacos_temporal.scoring.metrics")
    tree = ast.parse(scoring_bundle(source))
    sources = next(ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign) and node.targets[0].id == "_SOURCES")
    root = default_metric_dir().parents[1] / "tacos_temporal"
    for name, text in sources.items():
        original = (root / (name.replace(".", "/") + ".py")).read_text()
        assert text.replace(f"from {BUNDLE_PACKAGE}.", "from tacos_temporal.") == original, name


def test_republishing_unchanged_code_changes_nothing_and_a_code_change_updates_the_bundle(hub, tmp_path):
    import shutil

    repo = f"{ORG}/tacos_temporal"
    publish_metric(repo, create=True)
    assert publish_metric(repo).status == "unchanged"
    copy = shutil.copytree(default_metric_dir(), tmp_path / "metric")
    text = (copy / "tacos_temporal.py").read_text().replace("from tacos_temporal.names import CITATION\n", "")
    (copy / "tacos_temporal.py").write_text(text.replace("_CITATION = CITATION", '_CITATION = ""'))
    assert publish_metric(repo, metric_dir=copy).status == "committed"
    bundle = hub.repo(repo, "space").files()["tacos_temporal_bundle.py"].decode()
    assert "'CITATION'" not in bundle.split("_EXPORTS = ", 1)[1]
