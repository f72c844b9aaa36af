"""The main job on the built-in demo corpus, end to end and offline (``tacos-temporal demo``)."""

from __future__ import annotations

from pathlib import Path

from .errors import BuildError
from .names import DEFAULT_SEED, SPLIT, TASKS, VIEWS


def run_demo(out_dir: str | Path, *, seed: int = DEFAULT_SEED, overwrite: bool = False, progress: bool = True) -> dict:
    """Synthesise the demo release, build the views, load them, score the baselines, write a report.

    Returns a summary dict (``text`` is what the CLI prints).  Layout of ``out_dir``::

        release/   the synthetic TACOS-format release (tacos-temporal demo-data)
        dataset/   the built benchmark (tacos-temporal build)
        report/    report.md and plots of the seeded random baseline
    """
    from datasets import load_dataset
    from datasets.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    from .data.build import build
    from .data.demo import make_demo_release
    from .scoring.baselines import BASELINES, run_baseline
    from .scoring.metrics import score
    from .scoring.report import write_report

    out = Path(out_dir)
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise BuildError(f"{out} is not empty; pass --overwrite to replace the demo run")
    release = make_demo_release(out / "release", seed=seed, overwrite=True)
    result = build(out / "dataset", tacos_dir=release, seed=seed, overwrite=True, progress=progress)
    lines = [f"demo release: {release}", f"dataset: {result.out_dir} ({len(result.items)} items: "
             + ", ".join(f"{task} {result.counts().get(task, 0)}" for task in TASKS) + ")"]
    loaded = {}
    bars_were_on = not are_progress_bars_disabled()
    if not progress:
        disable_progress_bars()
    try:
        datasets_by_view = {view: load_dataset(str(result.out_dir), view, split=SPLIT) for view in VIEWS}
    finally:
        if bars_were_on:
            enable_progress_bars()
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
    files = write_report(baseline_scores["random"], out / "report", title="Demo: seeded random baseline")
    lines.append("report: " + ", ".join(str(path) for path in files.values()))
    return {"text": "\n".join(lines), "counts": result.counts(), "rows": loaded, "baselines": baseline_scores, "report": files}
