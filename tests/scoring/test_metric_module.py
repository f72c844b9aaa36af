"""The evaluate module in metrics/tacos_temporal: a thin shell over judge() + score().

Loaded from the repository folder with ``evaluate.load``, which copies it into HF_MODULES_CACHE
under the temporary HF_HOME of tests/conftest.py.  The Hub is unreachable, so the second module
for ``evaluate.combine`` is a tiny accuracy module written into ``tmp_path``.
"""

from __future__ import annotations

import doctest
import importlib
import re
import sys
import textwrap
from pathlib import Path

import pytest

import evaluate  # noqa: E402  (required: a missing one must fail, not skip)
import yaml  # noqa: E402

from tacos_temporal.errors import ScoringError  # noqa: E402
from tacos_temporal.names import EARLIEST_ONSET, LATEST_OFFSET, LONGEST_DURATION, METRIC_NAME  # noqa: E402
from tacos_temporal.scoring.metrics import judge, score  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
MODULE_DIR = REPO / "metrics" / METRIC_NAME
EO, LO, LD = EARLIEST_ONSET, LATEST_OFFSET, LONGEST_DURATION

PREDICTIONS = ["A", "B", "I cannot tell.", "D", "C", "A"]
REFERENCES = ["A", "C", "B", "D", "C", "B"]
TASKS = [EO, EO, LO, LO, LD, LD]
LABELS = ["Dog barking", "Car horn", "Speech", "Rain"]
OPTIONS = [LABELS] * len(PREDICTIONS)

TINY_ACCURACY = '''
import datasets

import evaluate


class LetterAccuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="share of exact matches",
            citation="",
            inputs_description="predictions, references: strings",
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
        )

    def _compute(self, predictions, references):
        return {"accuracy": sum(p == r for p, r in zip(predictions, references)) / len(references)}
'''


def load(**kwargs):
    return evaluate.load(str(MODULE_DIR), **kwargs)


@pytest.fixture
def tiny_accuracy(tmp_path):
    folder = tmp_path / "letter_accuracy"
    folder.mkdir()
    (folder / "letter_accuracy.py").write_text(TINY_ACCURACY)
    return evaluate.load(str(folder))


def test_module_folder_follows_the_evaluate_layout():
    assert (MODULE_DIR / f"{METRIC_NAME}.py").is_file()  # folder name == file name
    for name in ("README.md", "app.py", "requirements.txt"):
        assert (MODULE_DIR / name).is_file(), name


def test_compute_equals_the_library_exactly():
    metric = load()
    assert metric.compute(predictions=PREDICTIONS, references=REFERENCES, tasks=TASKS) == score(
        judge(PREDICTIONS, REFERENCES, TASKS)
    )


def test_compute_passes_options_and_confidence_through():
    metric = load()
    got = metric.compute(predictions=PREDICTIONS, references=REFERENCES, tasks=TASKS, options=OPTIONS,
                         confidence=0.9)
    assert got == score(judge(PREDICTIONS, REFERENCES, TASKS, options=OPTIONS), confidence=0.9)
    assert got["confidence"] == 0.9


def test_add_batch_twice_then_compute_equals_one_call():
    metric = load()
    metric.add_batch(predictions=PREDICTIONS[:2], references=REFERENCES[:2], tasks=TASKS[:2])
    metric.add_batch(predictions=PREDICTIONS[2:], references=REFERENCES[2:], tasks=TASKS[2:])
    assert metric.compute() == score(judge(PREDICTIONS, REFERENCES, TASKS))


def test_with_options_configuration_streams_options_through_add_batch():
    metric = load(config_name="with_options")
    assert "options" in metric.features
    metric.add_batch(predictions=["Rain"], references=["D"], tasks=[LD], options=[LABELS])
    metric.add(prediction="B", reference="C", tasks=LO, options=LABELS)
    got = metric.compute()
    assert got == score(judge(["Rain", "B"], ["D", "C"], [LD, LO], options=[LABELS, LABELS]))
    assert got["accuracy"] == 0.5


def test_default_configuration_cannot_stream_options_through_add_batch():
    # evaluate 0.4.6 takes the input names from the declared features; `options` is a compute()
    # argument in the default configuration (use config_name="with_options" to stream it).
    metric = load()
    assert set(metric.features) == {"predictions", "references", "tasks"}
    with pytest.raises(ValueError, match="Bad inputs"):
        metric.add_batch(predictions=["A"], references=["A"], tasks=[EO], options=[LABELS])


def test_unknown_configuration_is_refused_with_suggestions():
    with pytest.raises(ValueError, match="Did you mean: with_options"):
        load(config_name="with_option")


def test_bad_input_raises_the_library_error_naming_the_index():
    metric = load()
    with pytest.raises(ScoringError, match=r"references\[1\] is 'E'"):
        metric.compute(predictions=["A", "B"], references=["A", "E"], tasks=[EO, EO])
    metric = load(config_name="with_options")
    with pytest.raises(ScoringError, match=r"options\[0\] is "):
        metric.compute(predictions=["A"], references=["A"], tasks=[EO], options=[LABELS[:3]])


def test_combine_with_an_accuracy_module_through_add_batch(tiny_accuracy):
    combined = evaluate.combine([load(), tiny_accuracy])
    # combine.add_batch gives each module only the inputs it declares, so `tasks` reaches ours only.
    combined.add_batch(predictions=PREDICTIONS[:3], references=REFERENCES[:3], tasks=TASKS[:3])
    combined.add_batch(predictions=PREDICTIONS[3:], references=REFERENCES[3:], tasks=TASKS[3:])
    got = combined.compute()
    ours = score(judge(PREDICTIONS, REFERENCES, TASKS))
    # Both modules return "accuracy": combine prefixes the clashing key with each module's name.
    assert got[f"{METRIC_NAME}_accuracy"] == ours["accuracy"]
    assert got["letter_accuracy_accuracy"] == 3 / 6  # exact string match: A, D, C
    assert got["accuracy_macro"] == ours["accuracy_macro"]
    assert "accuracy" not in got


def test_combine_compute_passes_every_keyword_to_every_module(tiny_accuracy):
    # evaluate 0.4.6: CombinedEvaluations.compute forwards `tasks` to a module that does not declare
    # it, which then reaches its _compute as an unexpected keyword.  Use add_batch + compute().
    combined = evaluate.combine([load(), tiny_accuracy])
    with pytest.raises(TypeError, match="tasks"):
        combined.compute(predictions=PREDICTIONS, references=REFERENCES, tasks=TASKS)


def _loaded_source_module(metric):
    return sys.modules.get(type(metric).__module__) or importlib.import_module(type(metric).__module__)


def test_kwargs_description_examples_run_as_doctests(monkeypatch):
    metric = load()
    source = _loaded_source_module(metric)
    assert metric.inputs_description == source._KWARGS_DESCRIPTION
    monkeypatch.chdir(REPO)  # the examples load "metrics/tacos_temporal" from the repository root
    test = doctest.DocTestParser().get_doctest(
        source._KWARGS_DESCRIPTION, {"evaluate": evaluate, "tacos_metric": metric}, "_KWARGS_DESCRIPTION",
        str(MODULE_DIR / f"{METRIC_NAME}.py"), 0,
    )
    assert len(test.examples) >= 8
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    result = runner.run(test, out=report.append)
    assert result.failed == 0, "".join(report)


def test_compute_has_explicit_parameters():
    import inspect

    source = _loaded_source_module(load())
    params = inspect.signature(source.TacosTemporal._compute).parameters
    assert list(params) == ["self", "predictions", "references", "tasks", "options", "confidence"]
    assert not any(p.kind is p.VAR_KEYWORD for p in params.values())


# --- the metric card ---------------------------------------------------------------------------


def _card():
    text = (MODULE_DIR / "README.md").read_text(encoding="utf-8")
    match = re.match(r"^---\n(.*?)\n---\n", text, flags=re.DOTALL)
    assert match, "the card must start with a YAML header between --- lines"
    return yaml.safe_load(match.group(1)), text[match.end():]


def test_card_yaml_header_has_the_space_fields():
    header, _ = _card()
    for key in ("title", "emoji", "colorFrom", "colorTo", "sdk", "app_file", "tags", "description"):
        assert key in header, key
    assert header["sdk"] == "gradio"
    assert header["app_file"] == "app.py"
    assert {"evaluate", "metric"} <= set(header["tags"])


@pytest.mark.parametrize(
    "section",
    ["Metric Description", "How to Use", "Inputs", "Output Values", "Examples", "Limitations and Bias", "Citation"],
)
def test_card_has_the_evaluate_sections(section):
    _, body = _card()
    assert re.search(rf"^#{{2,4}} {re.escape(section)}\s*$", body, flags=re.MULTILINE), section


def test_card_citation_is_the_module_citation():
    _, body = _card()
    source = _loaded_source_module(load())
    bibtex = re.search(r"## Citation\n\n```bibtex\n(.*?)```", body, flags=re.DOTALL).group(1)
    assert bibtex.strip() == source._CITATION.strip()
    assert "2606.17417" in bibtex and "2505.07609" in bibtex


def test_card_python_examples_run(monkeypatch):
    _, body = _card()
    blocks = re.findall(r"```python\n(.*?)```", body, flags=re.DOTALL)
    assert len(blocks) >= 3
    monkeypatch.chdir(REPO)
    for block in blocks:
        exec(compile(textwrap.dedent(block), str(MODULE_DIR / "README.md"), "exec"), {})


def test_requirements_name_no_package_that_no_index_has():
    # The Space carries the scoring code (tacos_temporal_bundle.py, generated by publish-metric);
    # tacos-temporal is on no package index, so naming it would make the Space fail to install.
    import tomllib

    dist = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["name"]
    lines = [ln.split("#")[0].strip() for ln in (MODULE_DIR / "requirements.txt").read_text().splitlines()]
    assert not any(re.match(rf"^{re.escape(dist)}\b", ln) for ln in lines)
    assert any(ln.startswith("evaluate") for ln in lines)


def test_app_loads_the_script_beside_it():
    source = (MODULE_DIR / "app.py").read_text()
    compile(source, "app.py", "exec")
    assert "launch_gradio_widget(module)" in source
    assert f'with_name("{METRIC_NAME}.py")' in source
