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
from ..names import AUDIO_CAPTION, AUDIO_ONLY, CAPTION_ONLY, TASK_TITLES, TASKS, VIEW_TITLES
from ..scoring.metrics import compare, judged_from_records, view_effects
from . import paper
from .analysis import SweepSpec, sweep
from .config import RunConfig
from .models import ModelRunner, load_runner
from .runner import evaluate, holds_run_folder


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
    """

    paper_model: str
    model: str
    mode: str = "generate"
    dtype: str = "auto"
    views: tuple[str, ...] = (AUDIO_ONLY, CAPTION_ONLY, AUDIO_CAPTION, "silence")
    all_layers: tuple[str, ...] = ()
    sweep: dict | None = None

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
    runner = runner if runner is not None else load_runner(base)
    views = {}
    for view in recipe.views:
        views[view] = evaluate(base.replace(view=view), out_dir / "views" / view, data=data, demo=demo, runner=runner, progress=progress)
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
    atomic_write_text(out_dir / "report.md", text)
    return {"views": {v: r.scores for v, r in views.items()}, "all_layers": {k: c for k, (_, c) in all_layers.items()}, "sweep": swept, "report": out_dir / "report.md"}


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
