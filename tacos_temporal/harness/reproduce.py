"""The paper's whole grid for one model, from a recipe file and one command.

``tacos-temporal reproduce --recipe audio-flamingo-3 --data DIR --out OUT`` runs, with the model
loaded once:

1. every view of the recipe (the three views and the silence control);
2. each all-layer intervention on the audio-only view, paired with the audio-only baseline;
3. the single-layer sweep (:func:`tacos_temporal.harness.analysis.sweep`);

and writes ``OUT/report.md`` with every number beside the paper's
(:mod:`tacos_temporal.harness.paper`).  Recipes are TOML files (``eval_harness/recipes/``).
"""

from __future__ import annotations

import dataclasses
import tomllib
from importlib import resources
from pathlib import Path

from ..errors import ConfigError, unknown_name
from ..files import atomic_write_text
from ..names import AUDIO_CAPTION, AUDIO_ONLY, CAPTION_ONLY, TASK_TITLES, TASKS, TIME_REVERSED, VIEW_TITLES
from ..scoring.metrics import compare, judged_from_records, view_effects
from . import paper
from .analysis import SweepSpec, sweep
from .config import RunConfig
from .models import ModelRunner, load_runner
from .preflight import check_run_inputs
from .runner import add_temporal_consistency, evaluate, holds_run_folder


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A reproduction recipe (the keys of a recipe TOML file).

    Args:
        paper_model (`str`): the model's name in the paper's tables (``paper.ACCURACY``).
        model (`str`): Hub id, local folder or preset name.
        mode (`str`, defaults to ``"generate"``), dtype (`str`, defaults to ``"auto"``): as in RunConfig.
        views (`tuple[str, ...]`): views to run.
        all_layers (`tuple[str, ...]`): intervention specs applied at every layer (audio-only view).
        sweep (`dict`, *optional*): ``SweepSpec`` keys for the single-layer sweep.
        circular (`bool`, defaults to `False`): also run the audio-only view circularly (every item
            under its four option rotations; the controls section reports it).

    Add ``"time_reversed"`` to ``views`` (data built with that config) for the time-reversal control.
    """

    paper_model: str
    model: str
    mode: str = "generate"
    dtype: str = "auto"
    views: tuple[str, ...] = (AUDIO_ONLY, CAPTION_ONLY, AUDIO_CAPTION, "silence")
    all_layers: tuple[str, ...] = ()
    sweep: dict | None = None
    circular: bool = False

    def __post_init__(self) -> None:
        if self.paper_model not in paper.ACCURACY:
            raise unknown_name("paper model", self.paper_model, paper.ACCURACY)
        if AUDIO_ONLY not in self.views and (self.all_layers or self.sweep):
            raise ConfigError("interventions are compared on the audio_only view: add it to views")


def recipe_names() -> list[str]:
    folder = resources.files("tacos_temporal.harness").joinpath("recipes")
    return sorted(entry.name[: -len(".toml")] for entry in folder.iterdir() if entry.name.endswith(".toml"))


def load_recipe(name_or_path: str | Path) -> Recipe:
    """A shipped recipe by name (``audio-flamingo-3``) or a TOML file."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.is_file():
        text = path.read_text(encoding="utf-8")
        source = str(path)
    else:
        if str(name_or_path) not in recipe_names():
            raise unknown_name("recipe", name_or_path, recipe_names())
        text = resources.files("tacos_temporal.harness").joinpath("recipes", f"{name_or_path}.toml").read_text(encoding="utf-8")
        source = f"recipe {name_or_path}"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{source}: {err}") from err
    known = {f.name for f in dataclasses.fields(Recipe)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(known))}")
    data["views"] = tuple(data.get("views", Recipe.views))
    data["all_layers"] = tuple(data.get("all_layers", ()))
    return Recipe(**data)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


@holds_run_folder
def reproduce(
    recipe: Recipe,
    out_dir: str | Path,
    *,
    data: str | Path | None = None,
    demo: bool = False,
    model: str | None = None,
    limit: int | None = None,
    batch_size: int = 8,
    runner: ModelRunner | None = None,
    progress: bool = True,
) -> dict:
    """Run the recipe's grid into ``out_dir`` and write ``report.md``; return the numbers."""
    out_dir = Path(out_dir)
    base = RunConfig(model=model or recipe.model, mode=recipe.mode, dtype=recipe.dtype, limit=limit, batch_size=batch_size)
    if runner is None:
        check_run_inputs([base.replace(view=view) for view in recipe.views], data=data, demo=demo, outs=[out_dir])
    runner = runner if runner is not None else load_runner(base)
    views = {}
    for view in recipe.views:
        views[view] = evaluate(base.replace(view=view), out_dir / "views" / view, data=data, demo=demo, runner=runner, progress=progress)
    if AUDIO_ONLY in views and TIME_REVERSED in views:
        add_temporal_consistency([views[AUDIO_ONLY], views[TIME_REVERSED]])
    circular = None
    if recipe.circular:
        circular = evaluate(base.replace(view=AUDIO_ONLY, circular=True), out_dir / "circular" / AUDIO_ONLY, data=data, demo=demo, runner=runner, progress=progress)
    baseline = views.get(AUDIO_ONLY)
    all_layers = {}
    for spec in recipe.all_layers:
        cfg = base.replace(view=AUDIO_ONLY, intervention=spec)
        run = evaluate(cfg, out_dir / "all_layers" / cfg.steering.kind, data=data, demo=demo, runner=runner, progress=progress)
        all_layers[cfg.intervention] = (run, compare(judged_from_records(baseline.records), judged_from_records(run.records)))
    swept = None
    if recipe.sweep:
        swept = sweep(base.replace(view=AUDIO_ONLY), SweepSpec(**{**recipe.sweep, "alphas": tuple(recipe.sweep["alphas"])}), out_dir / "sweep", data=data, demo=demo, runner=runner, progress=progress)
    text = _report(recipe, runner.describe(), views, all_layers, swept, limit)
    text += _controls_report(views, circular)
    atomic_write_text(out_dir / "report.md", text)
    return {"views": {v: r.scores for v, r in views.items()}, "circular": circular.scores if circular else None, "all_layers": {k: c for k, (_, c) in all_layers.items()}, "sweep": swept, "report": out_dir / "report.md"}


def _generated_tokens_note(mode: str, specs: list[str]) -> str:
    """Which tokens the interventions steered: ScalingVis (and so, presumably, the paper) edits the
    pre-fill only; ``prefill_only=false`` (the default) also steers each generated token's row."""
    from .interventions import parse_intervention

    if mode != "generate":
        return f"Steered tokens: answer mode `{mode}` reads the pre-fill only, so no generated token is ever steered (as ScalingVis)."
    parts = []
    for spec in specs:
        cfg = parse_intervention(spec)
        if not cfg.steers_decoding:
            how = "pre-fill only, generated tokens unsteered (as ScalingVis)"
        else:
            how = "pre-fill **and every generated token** (ScalingVis edits the pre-fill only; add `prefill_only=true` to match it)"
        parts.append(f"`{spec}`: {how}")
    return "Steered tokens: " + "; ".join(parts) + "."


def _report(recipe: Recipe, model: dict, views: dict, all_layers: dict, swept: dict | None, limit: int | None) -> str:
    name = recipe.paper_model
    ours_label = f"`{model['model']}`"
    lines = [
        f"# Reproduction: {name}",
        "",
        f"Model run: {ours_label} (revision `{model.get('revision')}`, dtype {model.get('dtype')}), "
        f"answer mode `{recipe.mode}`." + (f" **Only {limit} items per view** (`--limit`)." if limit else ""),
        "Paper: Kulkarni et al., Interspeech 2026 (arXiv 2606.17417). The paper's prompt wording was not "
        "published, so a few points of difference are expected. Accuracy in %, ours with its 95 % interval.",
        "",
        "## Views",
        "",
        "| task | " + " | ".join(f"{VIEW_TITLES[v]} ours | paper" for v in views) + " |",
        "|---|" + "---:|---:|" * len(views),
    ]
    for task in TASKS:
        cells = []
        for view, run in views.items():
            s = run.scores
            ours = f"{_pct(s.get(f'accuracy_{task}'))} [{_pct(s.get(f'accuracy_{task}_ci_low'))}, {_pct(s.get(f'accuracy_{task}_ci_high'))}]" if f"accuracy_{task}" in s else "-"
            theirs = paper.ACCURACY[name].get(view, {}).get(task)
            cells += [ours, "-" if theirs is None else f"{theirs:.1f}"]
        lines.append(f"| {TASK_TITLES[task]} | " + " | ".join(cells) + " |")
    if {AUDIO_ONLY, CAPTION_ONLY, AUDIO_CAPTION} <= set(views):
        effects = view_effects({v: judged_from_records(views[v].records) for v in (AUDIO_ONLY, CAPTION_ONLY, AUDIO_CAPTION)})
        reference = paper.ACCURACY[name]
        mean = lambda view: sum(reference[view].values()) / len(TASKS)  # noqa: E731
        lines += [
            "",
            f"Caption reliance (CQA - AQA): ours {100 * effects['caption_reliance']:+.1f}, paper {mean(CAPTION_ONLY) - mean(AUDIO_ONLY):+.1f} points. "
            f"Audio gain given the caption (ACQA - CQA): ours {100 * effects['audio_gain_given_caption']:+.1f}, paper {mean(AUDIO_CAPTION) - mean(CAPTION_ONLY):+.1f} points.",
        ]
    if all_layers:
        lines += ["", "## All layers at once (audio-only)", "", "| intervention | " + " | ".join(TASK_TITLES[t] for t in TASKS) + " | fix rate | break rate | McNemar p |", "|---|" + "---:|" * (len(TASKS) + 3)]
        for spec, (run, paired) in all_layers.items():
            cells = [_pct(run.scores.get(f"accuracy_{t}")) for t in TASKS]
            lines.append(f"| `{spec}` | " + " | ".join(cells) + f" | {_pct(paired['fix_rate'])} | {_pct(paired['break_rate'])} | {paired['mcnemar_p']:.3g} |")
        if name in paper.ALL_LAYER_SCALING:
            scaling = paper.ALL_LAYER_SCALING[name]
            fix = paper.ALL_LAYER_FIX_RATE[name]
            lines.append(f"| paper: scaling, all layers | " + " | ".join(f"{scaling[t]:.1f}" for t in TASKS) + f" | {fix['scale']:.1f} | - | - |")
            lines.append(f"| paper: upweighting, all layers | - | - | - | {fix['upweight']:.1f} | - | - |")
        lines += ["", _generated_tokens_note(recipe.mode, list(all_layers))]
    if swept:
        best, held = swept["best"], swept["best_on_report_items"]
        lines += [
            "",
            "## One layer at a time",
            "",
            f"Best: layer {best['layer']}, alpha {best['alpha']:g}: {100 * held['net_change']:+.1f} points "
            f"(fix {_pct(held['fix_rate'])} %, break {_pct(held['break_rate'])} %, McNemar p {held['mcnemar_p']:.3g}), "
            + ("chosen and measured on the same items (post hoc, as in the paper)." if swept["post_hoc"] else f"chosen on {swept['choose_on']} items and measured on {swept['report_on']} held-out items."),
        ]
        if name in paper.BEST_LAYER:
            ref = paper.BEST_LAYER[name]
            lines.append(f"Paper: layer {ref['layer']:.0f}, alpha {ref['alpha']:g}, {ref['gain']:+.1f} points (post hoc).")
        lines += ["", "![change per layer](sweep/sweep.png)"]
    lines.append("")
    return "\n".join(lines)


def _controls_report(views: dict, circular) -> str:
    """The controls beside the accuracies: presence-only ceiling, caption-order shortcut, circular
    (strict) and the time-reversal consistency, as far as the recipe ran them."""
    from ..scoring.report import format_consistency

    benchmark = {v: r for v, r in views.items() if v != TIME_REVERSED}
    if not benchmark:
        return ""
    first = next(iter(benchmark.values())).scores
    caption = next((r.scores for v, r in benchmark.items() if "caption_order_accuracy" in r.scores), None)
    header = ["task", "presence-only ceiling (oracle)"] + (["caption-order shortcut"] if caption else []) + [f"{VIEW_TITLES[v]} ours" for v in benchmark]
    header += ["circular (strict), audio-only"] if circular else []
    lines = [
        "",
        "## Controls (not the benchmark's score)",
        "",
        "A model at or below the presence-only ceiling (an oracle that knows which options occur in the clip, not "
        "when) shows no use of timing; the caption-order shortcut answers from the caption's word order alone. "
        "Accuracy in %.",
        "",
        "| " + " | ".join(header) + " |",
        "|---|" + "---:|" * (len(header) - 1),
    ]
    for task, suffix in [*((TASK_TITLES[t], f"_{t}") for t in TASKS), ("All items", "")]:
        cells = [_pct(first.get(f"presence_ceiling{suffix}"))]
        if caption:
            cells.append(_pct(caption.get(f"caption_order_accuracy{suffix}")))
        cells += [_pct(r.scores.get(f"accuracy{suffix}")) for r in benchmark.values()]
        if circular:
            cells.append(_pct(circular.scores.get(f"circular_accuracy{suffix}")))
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    if circular:
        s = circular.scores
        lines += [
            "",
            f"Circular evaluation (audio-only, every item under its four option rotations): the same label under all "
            f"four on {_pct(s.get('circular_label_consistency'))} % of items; letter-position bias "
            f"{_pct(s.get('circular_position_bias'))} % (distance of the predicted letters from uniform; 0 = none); "
            + ", ".join(f"rotation {k} {_pct(s.get(f'accuracy_rotation_{k}'))}" for k in range(4)) + ".",
        ]
    if TIME_REVERSED in views and "reversal_consistency" in views[TIME_REVERSED].scores:
        lines += ["", "```", format_consistency(views[TIME_REVERSED].scores), "```"]
    elif TIME_REVERSED not in views:
        lines += ["", "Time-reversal control not run: add \"time_reversed\" to the recipe's views (data built with "
                  "`--views audio_only caption_only audio_caption time_reversed`)."]
    lines.append("")
    return "\n".join(lines)
