"""The main job on the built-in demo corpus, end to end and offline (``tacos-temporal demo``)."""

from __future__ import annotations

from pathlib import Path

from .errors import BuildError
from .files import check_apart, folder_lock
from .names import DEFAULT_SEED, STORED_VIEWS, TASKS, TIME_REVERSED, VIEWS

UNTRAINED = "UNTRAINED random weights"
#: Items of the demo's generate-mode sample (the paper's protocol), and examples shown from it.
GENERATE_SAMPLE = 8
EXAMPLES = 4


def run_demo(out_dir: str | Path, *, seed: int = DEFAULT_SEED, overwrite: bool = False, progress: bool = True) -> dict:
    """Synthesise the demo release, build the views, load them, evaluate a model and the baselines.

    The model is a tiny Qwen2-Audio with **untrained random weights** (``make-tiny-model``): it shows
    the whole path (loading, prompts, audio, answering, scoring), not a real score.  Every view runs
    in ``logprob`` mode (a letter for every item, so the numbers are chance-level letters rather than
    parse failures); a few audio-only items also run in ``generate`` mode, the paper's protocol, to
    show what the untrained model writes and that it does not parse.
    Returns a summary dict (``text`` is what the CLI prints).  Layout of ``out_dir``::

        release/                 the synthetic TACOS-format release (tacos-temporal demo-data)
        dataset/                 the built benchmark (tacos-temporal build)
        tiny_qwen2_audio/        the untrained model
        runs/<view>/             its run folders (samples.jsonl, results.json), logprob mode
        runs/audio_only_generate/  a few items in generate mode
        report/                  report.md (views x tasks, baselines, view effects, letters,
                                 unparsed examples, the paper's numbers), its plots, scores.json
    """

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise BuildError(f"{out} is a file; pass a folder for the demo run (--out)")
    check_apart(out, {}, "demo folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise BuildError(f"{out} is not empty; pass --overwrite to replace the demo run")
    with folder_lock(out, "demo folder"):
        return _run_demo(out, seed=seed, progress=progress)


def _run_demo(out: Path, *, seed: int, progress: bool) -> dict:
    """The body of :func:`run_demo`, with ``out`` checked and locked."""
    from .data.build import build
    from .data.demo import make_demo_release
    from .data.load import load_view_dataset
    from .harness.config import RunConfig
    from .harness.models import load_runner
    from .harness.runner import evaluate_views
    from .harness.tiny import make_tiny_model
    from .names import ALL_VIEWS
    from .scoring.baselines import BASELINES, run_baseline
    from .scoring.metrics import judged_from_records, score, view_effects
    from .harness import paper
    from .names import AUDIO_ONLY
    from .progress import library_progress
    from .scoring.report import ViewsReport, write_views_report

    release = make_demo_release(out / "release", seed=seed, overwrite=True)
    result = build(out / "dataset", tacos_dir=release, seed=seed, views=STORED_VIEWS, overwrite=True, progress=progress)
    lines = [f"demo release: {release}", f"dataset: {result.out_dir} ({len(result.items)} items: "
             + ", ".join(f"{task} {result.counts().get(task, 0)}" for task in TASKS) + ")"]
    loaded = {}
    datasets_by_view = {view: load_view_dataset(result.out_dir, view, progress=progress) for view in VIEWS}
    for view, dataset in datasets_by_view.items():
        loaded[view] = len(dataset)
        extra = ""
        if "audio" in dataset.column_names:
            audio = dataset[0]["audio"]
            samples = audio.get_all_samples()
            extra = f", first clip decodes: {samples.data.shape[-1] / samples.sample_rate:.2f} s at {samples.sample_rate} Hz"
        lines.append(f"load_dataset(..., {view!r}): {len(dataset)} rows, columns {len(dataset.column_names)}{extra}")
    baseline_scores = {name: score(run_baseline(name, result.items, seed=seed)) for name in BASELINES}
    lines.append("baselines (accuracy, 95% CI):")
    for name, scores in baseline_scores.items():
        lines.append(f"  {name:<11} {scores['accuracy']:.3f} [{scores['accuracy_ci_low']:.3f}, {scores['accuracy_ci_high']:.3f}]")
    model_dir = make_tiny_model("qwen2_audio", out / "tiny_qwen2_audio", seed=seed, overwrite=True)
    # logprob: the untrained model's next-token letter preferences give a letter for every item
    # (chance-level numbers that mean something); its free text is bytes no parser can read.
    base = RunConfig(model=str(model_dir), mode="logprob")
    with library_progress(progress):
        runner = load_runner(base)
    lines.append(f"tiny Qwen2-Audio, {UNTRAINED} (shows the pipeline, not a real score), answer mode logprob:")
    finished = evaluate_views(
        [(base.replace(view=view), out / "runs" / view) for view in ALL_VIEWS],
        data=result.out_dir, runner=runner, overwrite=True, progress=progress,
    )
    runs = dict(zip(ALL_VIEWS, finished))
    for view, run in runs.items():
        lines.append(
            f"  {view:<14} accuracy {run.scores['accuracy']:.3f} [{run.scores['accuracy_ci_low']:.3f}, {run.scores['accuracy_ci_high']:.3f}], "
            f"parse failures {run.scores['parse_failure_rate']:.3f}, audio prefix reused: {run.results['tacos_temporal']['reuse']}"
        )
    # The time-reversed control asks its own items: it pairs with audio_only by clip (its results.json
    # holds the temporal consistency), not by item id.
    effects = view_effects({view: judged_from_records(run.records) for view, run in runs.items() if view != TIME_REVERSED})
    lines.append(f"  caption reliance {effects['caption_reliance']:+.3f}, audio gain given caption {effects['audio_gain_given_caption']:+.3f}")
    # The paper's protocol (greedy text, parsed) on a few items: what the untrained model writes.
    generated = evaluate_views(
        [(base.replace(view=AUDIO_ONLY, mode="generate", limit=GENERATE_SAMPLE), out / "runs" / f"{AUDIO_ONLY}_generate")],
        data=result.out_dir, runner=runner, overwrite=True, progress=progress,
    )[0]
    failed = [r for r in generated.records if r.get("letter") is None]
    lines.append(f"  generate mode on {len(generated.records)} audio_only items: {len(failed)} answers failed to parse")
    report = ViewsReport(
        title="Demo: tiny untrained Qwen2-Audio on the synthetic demo benchmark",
        scores={view: run.scores for view, run in runs.items()},
        effects=effects,
        baselines=baseline_scores,
        notes=[f"The model has {UNTRAINED}: these numbers show that the pipeline works end to end, "
               "not how well any model understands time. Expect chance level (25 %)."],
        examples=[{**r, "view": AUDIO_ONLY} for r in failed[:EXAMPLES]],
        examples_note=(f"The paper's protocol (greedy text, parsed) on {len(generated.records)} audio-only items: "
                       f"{len(failed)} of {len(generated.records)} answers gave no letter. The first {min(EXAMPLES, len(failed))}, "
                       "as the model wrote them (an untrained model emits arbitrary tokens):"),
        paper=paper.ACCURACY,
        mode="logprob",
    )
    files = write_views_report(report, out / "report")
    lines.append("report: " + ", ".join(str(path) for path in files.values()))
    return {
        "text": "\n".join(lines),
        "counts": result.counts(),
        "rows": loaded,
        "baselines": baseline_scores,
        "runs": {view: run.out_dir for view, run in runs.items()},
        "report": files,
    }
