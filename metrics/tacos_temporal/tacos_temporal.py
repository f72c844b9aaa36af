# Copyright 2026 The tacos_temporal developers.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""tacos_temporal: accuracy of four-option temporal questions about sound events.

A thin shell around the library: parsing is ``tacos_temporal.scoring.parsing.parse_choice`` and
every number comes from ``tacos_temporal.scoring.metrics.judge`` + ``score``.  Projects that do
not use ``evaluate`` call those two functions directly and get the same dict.

In a clone of the repository this file imports the installed package.  The Hub Space gets it from
``tacos-temporal publish-metric`` with its ``from tacos_temporal... import`` lines pointing at
``tacos_temporal_bundle.py``, generated beside it from the package's own scoring sources, so that
``evaluate.load("ORG/tacos_temporal")`` needs nothing but ``evaluate`` (tacos_temporal/hub/metric.py).
"""

import datasets

import evaluate
from tacos_temporal.errors import unknown_name
from tacos_temporal.names import CITATION
from tacos_temporal.scoring.metrics import judge, score


_DESCRIPTION = """\
Scores answers to the tacos_temporal benchmark: 1,657 four-option (A-D) questions about which sound
event of a clip starts earliest (earliest_onset), ends latest (latest_offset) or lasts longest
(longest_duration), asked of large audio-language models on audio, caption or audio+caption input.

Each prediction may be the model's free text or a bare letter. The letter is read with fixed rules
that never guess (with the options given, an answer that repeats an option's text is matched too);
an answer with no readable letter counts as wrong and is reported as a parse failure. The result is
accuracy overall (micro) and averaged over tasks (macro), per task, with 95 % Wilson score intervals
(MOVER-Wilson for the macro mean), the parse-failure rate, the distribution of predicted letters,
accuracy by answer position and the chance level (25 %).
"""


_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `str`): the model's output for each question, free text or a letter.
    references (`list` of `str`): the correct letter of each question, one of "A", "B", "C", "D".
    tasks (`list` of `str`): each question's task: "earliest_onset", "latest_offset" or
        "longest_duration".
    options (`list` of `list` of `str`, *optional*): the four option labels of each question in A-D
        order. Lets the parser also match an answer that names an option ("The dog barking starts
        first."). Pass it to `compute()` in the default configuration; load the module with
        `config_name="with_options"` to also stream it through `add_batch()` / `add()`.
    confidence (`float`, *optional*, defaults to 0.95): coverage of the confidence intervals.

Returns:
    A flat `dict` of numbers; the main keys are
    n (`int`): number of questions.
    accuracy (`float`): share answered correctly (micro), with accuracy_ci_low / accuracy_ci_high.
    accuracy_macro (`float`): mean of the per-task accuracies, with _ci_low / _ci_high.
    accuracy_<task>, n_<task>, parse_failure_rate_<task>: per task present in the input.
    parse_failures (`int`), parse_failure_rate (`float`): answers with no readable letter.
    pred_rate_A .. pred_rate_D, pred_rate_none (`float`): distribution of predicted letters.
    n_answer_A .. n_answer_D, accuracy_answer_<letter>: accuracy by the position of the answer.
    chance (`float`): 0.25. confidence (`float`): the coverage used.
    The model card lists every key.

Examples:

    Example 1-Free text and letters (run from the repository root; on the Hub load
    "<namespace>/tacos_temporal"):
        >>> import evaluate
        >>> tacos_metric = evaluate.load("metrics/tacos_temporal")
        >>> results = tacos_metric.compute(
        ...     predictions=["A", "The answer is (C).", "B", "I cannot tell."],
        ...     references=["A", "C", "D", "B"],
        ...     tasks=["earliest_onset", "earliest_onset", "latest_offset", "longest_duration"],
        ... )
        >>> results["n"], results["accuracy"], results["parse_failure_rate"]
        (4, 0.5, 0.25)
        >>> results["accuracy_earliest_onset"], results["n_latest_offset"]
        (1.0, 1)
        >>> [round(results[k], 3) for k in ("accuracy_ci_low", "accuracy_ci_high")]
        [0.15, 0.85]

    Example 2-With the options, in batches:
        >>> tacos_metric = evaluate.load("metrics/tacos_temporal", config_name="with_options")
        >>> labels = ["Dog barking", "Car horn", "Speech", "Rain"]
        >>> tacos_metric.add_batch(predictions=["B"], references=["B"], tasks=["latest_offset"],
        ...                        options=[labels])
        >>> tacos_metric.add_batch(predictions=["Rain", "C"], references=["D", "A"],
        ...                        tasks=["longest_duration", "longest_duration"], options=[labels, labels])
        >>> results = tacos_metric.compute()
        >>> results["accuracy"], results["accuracy_longest_duration"], results["pred_rate_C"]
        (0.6666666666666666, 0.5, 0.3333333333333333)

    Example 3-Without evaluate, the same numbers from the library:
        >>> from tacos_temporal.scoring.metrics import judge, score
        >>> score(judge(["A", "B"], ["A", "C"], ["latest_offset", "latest_offset"]))["accuracy"]
        0.5
"""


#: The package's one copy of the BibTeX (tacos_temporal.names.CITATION).
_CITATION = CITATION

#: Configuration whose features include ``options``.  evaluate 0.4.6 takes the input names from
#: the first entry of a list of Features (``EvaluationModule._feature_names``), so a second entry
#: cannot add an optional column; a configuration can (as evaluate's own ``accuracy`` does with
#: ``"multilabel"``).
WITH_OPTIONS = "with_options"
_CONFIGS = ("default", WITH_OPTIONS)


def _features(with_options: bool) -> datasets.Features:
    columns = {
        "predictions": datasets.Value("string"),
        "references": datasets.Value("string"),
        "tasks": datasets.Value("string"),
    }
    if with_options:
        # Any length: judge() rejects a list that is not four strings with a message naming its index.
        columns["options"] = datasets.Sequence(datasets.Value("string"))
    return datasets.Features(columns)


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class TacosTemporal(evaluate.Metric):
    """Accuracy, intervals and parse failures of tacos_temporal answers."""

    def _info(self):
        if self.config_name not in _CONFIGS:
            raise unknown_name("configuration", self.config_name, _CONFIGS)
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=_features(self.config_name == WITH_OPTIONS),
            homepage="https://arxiv.org/abs/2606.17417",
            reference_urls=["https://arxiv.org/abs/2606.17417", "https://arxiv.org/abs/2505.07609"],
        )

    def _compute(self, predictions, references, tasks, options=None, confidence=0.95):
        return score(judge(predictions, references, tasks, options=options), confidence=confidence)
