"""Attention analysis over a view, and intervention sweeps paired with their baseline.

* :func:`analyse_attention` runs the final prompt token's attention through every layer for each
  item (optionally with an intervention active) and writes the per-layer modality shares:
  ``attention.csv``, ``attention.png`` and ``attention.json``.
* :func:`sweep` runs one intervention at each layer in turn, for a grid of alphas, pairs every run
  with the baseline (fix rate, break rate, change per task, McNemar p), writes ``sweep.csv`` and a
  per-layer delta plot, and, with ``holdout``, chooses layer and alpha on one half of the items and
  reports the choice on the other half, so that the reported gain is not chosen post hoc.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

from ..errors import ConfigError
from ..files import atomic_write, atomic_write_text
from ..names import TASKS, VIEWS_WITH_AUDIO
from ..scoring.metrics import compare, judged_from_records
from .config import RunConfig
from .models import ModelError, ModelRunner, last_position_head, load_runner, position_ids_from_mask
from .preflight import check_run_inputs
from .runner import evaluate, holds_run_folder, load_view, stratified_sample


@holds_run_folder
def analyse_attention(
    cfg: RunConfig,
    out_dir: str | Path,
    *,
    data: str | Path | None = None,
    demo: bool = False,
    runner: ModelRunner | None = None,
    per_head: bool = False,
    progress: bool = True,
) -> dict:
    """Per-layer share of the last prompt token's attention on audio, text and special tokens.

    Returns ``{"rows": [...], "files": {...}}``; ``rows`` are :func:`attention.summarise` rows.
    """
    import torch

    from ..data.prompts import render_prompt
    from ..progress import progress_bar
    from ..names import AUDIO_COLUMN, SILENCE
    from .attention import AttentionRecord, modality_masks, plot_layers, record_attention, summarise, write_csv
    from .audio import decode_clip

    out_dir = Path(out_dir)
    if runner is None:
        check_run_inputs([cfg], data=data, demo=demo, outs=[out_dir])
    dataset, source = load_view(cfg.view, data=data, demo=demo, seed=cfg.seed, progress=progress)
    runner = runner if runner is not None else load_runner(cfg)
    if not hasattr(runner, "model"):
        raise ModelError(f"{cfg.model} has no attention to analyse")
    runner.check_intervention(cfg.steering)
    with_audio = cfg.view in VIEWS_WITH_AUDIO
    if with_audio and not runner.supports_audio:
        raise ModelError(f"{cfg.model} takes no audio, so it cannot run view {cfg.view!r}")
    meta = dataset.select_columns([c for c in dataset.column_names if c != AUDIO_COLUMN]).to_list()
    selected = stratified_sample([row["task"] for row in meta], cfg.limit, cfg.seed) if cfg.limit else list(range(len(meta)))
    steering = cfg.steering if cfg.steering.active else None
    records = []
    for start in progress_bar(range(0, len(selected), cfg.batch_size), progress=progress, desc="attention", unit="batch"):
        batch = selected[start : start + cfg.batch_size]
        rows = [meta[i] for i in batch]
        texts = [runner.render(render_prompt(row, cfg.view, template=cfg.prompt_template), with_audio=with_audio) for row in rows]
        audios = None
        if with_audio:
            audios = [
                decode_clip(dataset[i][AUDIO_COLUMN]["bytes"], runner.sampling_rate, max_seconds=runner.max_audio_seconds, silence=cfg.view == SILENCE).samples
                for i in batch
            ]
        inputs = runner.encode(texts, audios)
        masks = modality_masks(runner.processor, inputs["input_ids"], inputs["attention_mask"], runner.audio_token_id)
        context = runner.steering_context(steering, inputs["input_ids"], inputs["attention_mask"], [row["task"] for row in rows])
        head = last_position_head(runner.model, list(runner.letter_ids.values()))  # no logits at every position
        with torch.inference_mode(), context, record_attention(runner.model, masks) as recorder, head:
            runner.model(**inputs, position_ids=position_ids_from_mask(inputs["attention_mask"]))  # as answer() numbers rows
        records.append(recorder.result())
    summary = summarise(AttentionRecord.concatenate(records), per_head=per_head)
    out_dir.mkdir(parents=True, exist_ok=True)
    title = f"{runner.describe()['model']} / {cfg.view}" + (f" / {cfg.steering.describe()}" if steering else "")
    files = {
        "csv": write_csv(summary, out_dir / "attention.csv"),
        "plot": plot_layers([r for r in summary if r["head"] == "mean"], out_dir / "attention.png", title=title),
        "json": atomic_write_text(
            out_dir / "attention.json",
            json.dumps(
                {"run_config": cfg.to_dict(), "model": runner.describe(), "data": source, "items": len(selected),
                 "intervention": cfg.steering.to_dict() if steering else None, "oracle": cfg.steering.oracle, "rows": summary},
                indent=2, default=str,
            ) + "\n",
        ),
    }
    return {"rows": summary, "files": files}


# --- sweeps -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A grid of single-layer interventions.

    Args:
        kind (`str`): ``upweight``, ``scale`` or ``redistribute``.
        alphas (`Sequence[float]`): the alphas (tau for redistribute) to try.
        layers (`Sequence[int]` or `None`): layers to try one at a time; `None` = every layer.
        queries (`str`, defaults to ``"keyword+last"``): the query positions (the paper's best).
        holdout (`float`, defaults to 0.0): share of items held out: layer and alpha are chosen on
            the rest and reported on these.  0 = the paper's post-hoc choice on all items.
    """

    kind: str
    alphas: tuple[float, ...]
    layers: tuple[int, ...] | None = None
    queries: str = "keyword+last"
    holdout: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.holdout < 1.0:
            raise ConfigError(f"holdout must be in [0, 1), got {self.holdout}")
        bad = [a for a in self.alphas if not a > 0]
        if bad:  # checked here, before any model is loaded
            raise ConfigError(f"--alphas must all be > 0 ({'tau' if self.kind == 'redistribute' else 'alpha'}), got {bad[0]:g}")
        if self.layers is not None and any(layer < 0 for layer in self.layers):
            raise ConfigError(f"--layers are 0-based layer indices (>= 0), got {min(self.layers)}")
        if not self.alphas:
            raise ConfigError("give at least one alpha")

    def spec(self, layer: int, alpha: float) -> str:
        key = "tau" if self.kind == "redistribute" else "alpha"
        return f"{self.kind}:{key}={alpha:g},layers={layer},queries={self.queries}"


def _split(records: list[dict], holdout: float, seed: int) -> tuple[set[str], set[str]]:
    """Item ids to choose on and to report on (stratified by task, seeded)."""
    if holdout <= 0:
        ids = {r["id"] for r in records}
        return ids, ids
    held = stratified_sample([r["task"] for r in records], max(1, round(holdout * len(records))), seed)
    report = {records[i]["id"] for i in held}
    return {r["id"] for r in records} - report, report


def _paired(baseline: list[dict], other: list[dict], ids: set[str]) -> dict:
    keep = lambda rows: judged_from_records([r for r in rows if r["id"] in ids])  # noqa: E731
    return compare(keep(baseline), keep(other))


@holds_run_folder
def sweep(
    cfg: RunConfig,
    spec: SweepSpec,
    out_dir: str | Path,
    *,
    data: str | Path | None = None,
    demo: bool = False,
    runner: ModelRunner | None = None,
    progress: bool = True,
) -> dict:
    """Run the baseline and every (layer, alpha) of ``spec``; write ``sweep.csv``, ``sweep.png``, ``sweep.json``."""
    from .interventions import model_sizes

    out_dir = Path(out_dir)
    if runner is None:
        check_run_inputs([cfg], data=data, demo=demo, outs=[out_dir])
    runner = runner if runner is not None else load_runner(cfg)
    if not hasattr(runner, "model"):
        raise ModelError(f"{cfg.model} has no attention to steer")
    n_layers, _ = model_sizes(runner.model)
    layers = tuple(range(n_layers)) if spec.layers is None else tuple(spec.layers)
    base_cfg = cfg.replace(intervention=None)
    baseline = evaluate(base_cfg, out_dir / "baseline", data=data, demo=demo, runner=runner, progress=progress)
    choose_ids, report_ids = _split(baseline.records, spec.holdout, cfg.seed)
    rows = []
    for layer in layers:
        for alpha in spec.alphas:
            run_cfg = cfg.replace(intervention=spec.spec(layer, alpha))
            run = evaluate(run_cfg, out_dir / "runs" / f"layer{layer:02d}_alpha{alpha:g}", data=data, demo=demo, runner=runner, progress=progress)
            paired = _paired(baseline.records, run.records, choose_ids)
            row = {
                "layer": layer,
                "alpha": alpha,
                "intervention": run_cfg.intervention,
                "accuracy": paired["accuracy_other"],
                "baseline_accuracy": paired["accuracy_baseline"],
                "delta": paired["net_change"],
                "fix_rate": paired["fix_rate"],
                "break_rate": paired["break_rate"],
                "mcnemar_p": paired["mcnemar_p"],
                "_records": run.records,
            }
            for task in TASKS:
                if f"net_change_{task}" in paired:
                    row[f"delta_{task}"] = paired[f"net_change_{task}"]
            rows.append(row)
    best = max(rows, key=lambda r: (r["delta"], -r["layer"]))
    held_out = _paired(baseline.records, best["_records"], report_ids)
    result = {
        "model": runner.describe(),
        "view": cfg.view,
        "mode": cfg.mode,
        "sweep": dataclasses.asdict(spec),
        "items": len(baseline.records),
        "choose_on": len(choose_ids),
        "report_on": len(report_ids),
        "post_hoc": spec.holdout <= 0,
        "best": {k: v for k, v in best.items() if not k.startswith("_")},
        "best_on_report_items": held_out,
        "rows": [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    columns = [k for k in result["rows"][0]]
    text = ",".join(columns) + "\n" + "".join(",".join(_cell(r.get(c)) for c in columns) + "\n" for r in result["rows"])
    atomic_write_text(out_dir / "sweep.csv", text)
    atomic_write_text(out_dir / "sweep.json", json.dumps(result, indent=2, default=str) + "\n")
    _plot_sweep(result, out_dir / "sweep.png")
    return result


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    text = "" if value is None else str(value)
    return f'"{text}"' if "," in text else text


def _plot_sweep(result: dict, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4.2), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    alphas = sorted({r["alpha"] for r in result["rows"]})
    for alpha in alphas:
        rows = sorted((r for r in result["rows"] if r["alpha"] == alpha), key=lambda r: r["layer"])
        axes.plot([r["layer"] for r in rows], [100 * r["delta"] for r in rows], marker="o", label=f"alpha {alpha:g}")
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.axhline(0.0, color="black", linewidth=0.8)
    axes.set_xlabel("layer (0-based)")
    axes.set_ylabel("accuracy change vs baseline (points)")
    kind = result["sweep"]["kind"]
    suffix = "post hoc: chosen and shown on the same items" if result["post_hoc"] else f"choice set: {result['choose_on']} items"
    axes.set_title(f"{kind} at one layer, queries={result['sweep']['queries']} ({suffix})", fontsize=10)
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    return atomic_write(path, lambda handle: figure.savefig(handle, format="png", bbox_inches="tight"))


__all__ = ["SweepSpec", "analyse_attention", "sweep"]
