"""``tacos-temporal``: the command line.  Thin: each command parses its options and calls the library.

Heavy modules (datasets, torch, matplotlib) are imported inside the commands, so ``--help`` is fast.
Known errors print one line (``error: ...``, exit status 1); set ``TACOS_TEMPORAL_DEBUG=1`` for the traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

from . import __version__
from .errors import ConfigError, TacosTemporalError
from .names import DEFAULT_SEED, STORED_VIEWS, TASKS, TIME_REVERSED, VIEWS

EXAMPLES: dict[str, list[str]] = {
    "convert-desta": ["tacos-temporal convert-desta --out models/desta2.5-audio"],
    "verify-desta": ["tacos-temporal verify-desta --model models/desta2.5-audio --reference desta_reference.pt"],
    "convert-kimi": ["tacos-temporal convert-kimi --out models/kimi-audio-7b-instruct"],
    "verify-kimi": ["tacos-temporal verify-kimi --model models/kimi-audio-7b-instruct --reference kimi_reference --dtype bfloat16"],
    "build": [
        "tacos-temporal build --items-only --out items_out",
        "tacos-temporal build --items-only --split val --out items_val",
        "tacos-temporal build --tacos-dir ~/data/TACOS --out tacos_temporal_dataset",
        "tacos-temporal build --download --out tacos_temporal_dataset",
        "tacos-temporal build --tacos-dir demo_release --events strong --out my_variant --strict",
    ],
    "demo-data": ["tacos-temporal demo-data --out demo_release", "tacos-temporal demo-data --out demo_release --seed 3 --num-clips 48"],
    "demo": ["tacos-temporal demo --out demo_run", "tacos-temporal demo --out demo_run --overwrite"],
    "score": [
        "tacos-temporal score runs/qwen2-audio/audio_only",
        "tacos-temporal score predictions.jsonl --items tacos_temporal_dataset --out report",
    ],
    "compare": [
        "tacos-temporal compare runs/baseline runs/scale-layer20",
        "tacos-temporal compare base.jsonl steered.jsonl --items tacos_temporal_dataset/items.jsonl",
        "tacos-temporal compare runs/tiny-reversal/audio_only runs/tiny-reversal/time_reversed",
    ],
    "eval": [
        "tacos-temporal eval --model Qwen/Qwen2-Audio-7B-Instruct --view audio_only --data tacos_temporal_dataset --out runs/qwen2-audio",
        "tacos-temporal eval --model nvidia/audio-flamingo-3-hf --view audio_only caption_only audio_caption --mode logprob --dtype bfloat16 --out runs/af3",
        "tacos-temporal eval --model tiny_qwen2_audio --demo --view audio_only silence --out runs/tiny --limit 8",
        "tacos-temporal eval --model random --demo --view caption_only --out runs/random",
        "tacos-temporal eval --model presence-oracle --demo --view audio_only --out runs/presence-oracle",
        "tacos-temporal eval --model caption-order --demo --view caption_only audio_caption --out runs/caption-order",
        "tacos-temporal eval --model tiny_qwen2_audio --demo --view audio_only time_reversed --out runs/tiny-reversal",
        "tacos-temporal eval --model tiny_qwen2_audio --demo --circular --mode logprob --batch-size 32 --out runs/tiny-circular",
        "tacos-temporal eval --model nvidia/audio-flamingo-3-hf --data tacos_temporal_dataset --intervention scale:alpha=2.0,layers=20,queries=keyword+last --out runs/af3-scale-l20",
    ],
    "attention": [
        "tacos-temporal attention --model nvidia/audio-flamingo-3-hf --view audio_only --data tacos_temporal_dataset --out analysis/af3",
        "tacos-temporal attention --model tiny_qwen2_audio --demo --intervention upweight:alpha=4,layers=all,queries=last --out analysis/tiny-upweight",
    ],
    "sweep": [
        "tacos-temporal sweep --model nvidia/audio-flamingo-3-hf --data tacos_temporal_dataset --kind scale --alphas 0.5 2.0 --out sweeps/af3-scale",
        "tacos-temporal sweep --model tiny_qwen2_audio --demo --kind redistribute --alphas 0.2 5 --layers 0 1 --holdout 0.5 --out sweeps/tiny",
    ],
    "reproduce": [
        "tacos-temporal reproduce --recipe audio-flamingo-3 --data tacos_temporal_dataset --out repro/af3",
        "tacos-temporal reproduce --recipe audio-flamingo-3 --model tiny_af3 --demo --limit 8 --out repro/tiny",
    ],
    "make-tiny-model": [
        "tacos-temporal make-tiny-model --arch qwen2_audio --out tiny_qwen2_audio",
        "tacos-temporal make-tiny-model --arch kimi_audio --out tiny_kimi_audio",
        "tacos-temporal make-tiny-model --arch audioflamingo3 --out tiny_af3 --seed 1",
        "tacos-temporal make-tiny-model --arch qwen2_audio --tokenizer real --out tiny_qwen2_audio_real",
    ],
    "publish-dataset": [
        "tacos-temporal publish-dataset tacos_temporal_dataset --repo my-org/tacos_temporal --create",
        "tacos-temporal publish-dataset tacos_temporal_dataset --repo my-org/tacos_temporal --evaluation-framework inspect-ai",
    ],
    "publish-metric": [
        "tacos-temporal publish-metric --repo my-org/tacos_temporal --create",
        "tacos-temporal publish-metric --repo my-org/tacos-temporal-metric --metric-dir metrics/tacos_temporal --create --private",
    ],
    "push-results": [
        "tacos-temporal push-results runs/qwen2-audio --model-repo Qwen/Qwen2-Audio-7B-Instruct --dataset-repo my-org/tacos_temporal",
        "tacos-temporal push-results runs/qwen2-audio --model-repo Qwen/Qwen2-Audio-7B-Instruct --dataset-repo my-org/tacos_temporal --details-repo my-org/tacos_temporal-details --create",
        "tacos-temporal push-results runs/my-model/audio_only --model-repo my-org/my-audio-lm --dataset-repo my-org/tacos_temporal --direct --model-index",
        "tacos-temporal push-results runs/smoke --model-repo my-org/my-audio-lm --dataset-repo my-org/tacos_temporal --allow-partial",
    ],
    "controls": [
        "tacos-temporal controls items_out",
        "tacos-temporal controls tacos_temporal_dataset --out controls_report",
    ],
    "env": ["tacos-temporal env"],
}


def _epilog(command: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[command])


# --- commands ----------------------------------------------------------------------------------


def cmd_build(args: argparse.Namespace) -> int:
    from .data.build import build

    result = build(
        args.out,
        events=args.events,
        tacos_dir=args.tacos_dir,
        download=args.download,
        mirror=args.mirror,
        split=args.split,
        seed=args.seed,
        items_only=args.items_only,
        views=args.views,
        strict=args.strict,
        verify=args.verify,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    _print_build(result.report, result.out_dir)
    return 0


def _print_build(report: dict, out_dir: Path) -> None:
    counts = report["counts"]
    print(f"built {report['total']} items in {out_dir}: " + ", ".join(f"{task} {counts[task]}" for task in TASKS))
    skipped = report["annotations"]["skipped"]
    if skipped:
        print("skipped annotation rows: " + ", ".join(f"{reason} {n}" for reason, n in skipped.items()) + " (see build_report.json)")
    if report["views"]:
        print("views: " + ", ".join(report["views"]) + f"  -> load_dataset({str(out_dir)!r}, 'audio_only', split='test')")
    _print_build_controls(report)


def _print_build_controls(report: dict) -> None:
    """The controls of a build: presence-only ceiling per task and the time-reversed items."""
    controls = report.get("controls") or {}
    ceiling = controls.get("presence_ceiling")
    if ceiling:
        print("presence-only ceiling (uniform among the options present in the clip): "
              + ", ".join(f"{task} {100 * ceiling[f'presence_ceiling_{task}']:.1f} %" for task in TASKS if f"presence_ceiling_{task}" in ceiling)
              + f", all {100 * ceiling['presence_ceiling']:.1f} %")
    backwards = controls.get("time_reversed")
    if backwards:
        print(f"time-reversed control: {backwards['total']} items in {backwards['items_file']} ("
              + ", ".join(f"{task} {backwards['counts'][task]}" for task in TASKS) + f"; {backwards['mirrored']} mirror an item of the benchmark)")


def cmd_demo_data(args: argparse.Namespace) -> int:
    from .data.demo import make_demo_release

    path = make_demo_release(args.out, seed=args.seed, num_clips=args.num_clips, overwrite=args.overwrite)
    print(f"demo TACOS release written to {path} (synthetic audio, {args.num_clips} clips, seed {args.seed})")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .pipeline import run_demo

    summary = run_demo(args.out, seed=args.seed, overwrite=args.overwrite, progress=not args.quiet)
    print(summary["text"])
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from .scoring.metrics import score
    from .scoring.predictions import load_judged
    from .scoring.report import format_table, write_report

    judged = load_judged(args.predictions, items=args.items, reparse=args.reparse)
    scores = score(judged, confidence=args.confidence)
    scores.update(_control_scores(args.predictions, args.items, args.confidence))
    print(format_table(scores))
    if not args.no_report:
        out = Path(args.out) if args.out else _default_report_dir(Path(args.predictions))
        files = write_report(scores, out, title=args.title or Path(args.predictions).name)
        (out / "scores.json").write_text(json.dumps(scores, indent=2) + "\n", encoding="utf-8")
        print("report: " + ", ".join(str(p) for p in files.values()))
    return 0


def _control_scores(predictions: str, items: str | None, confidence: float) -> dict:
    """The controls the saved records support (presence ceiling, caption order, circular), and the
    temporal consistency a time-reversed run's results.json holds."""
    from .scoring.controls import control_scores
    from .scoring.predictions import predictions_file, read_jsonl, resolve_items

    records = read_jsonl(predictions_file(predictions))
    out = control_scores(records, items=resolve_items(items) if items else None, confidence=confidence)
    results = Path(predictions) / "results.json"
    if results.is_file():
        saved = json.loads(results.read_text(encoding="utf-8")).get("tacos_temporal", {}).get("temporal_consistency")
        if saved:
            out.update({k: v for k, v in saved.items() if k.startswith("reversal_")})
    return out


def _default_report_dir(predictions: Path) -> Path:
    return predictions / "report" if predictions.is_dir() else predictions.with_name(predictions.stem + "_report")


def cmd_compare(args: argparse.Namespace) -> int:
    from .scoring.metrics import compare
    from .scoring.predictions import load_judged
    from .scoring.report import format_comparison

    from .files import atomic_write_text, check_output_file

    if args.json:
        check_output_file(args.json, "--json")  # before any work

    from .scoring.controls import temporal_consistency
    from .scoring.predictions import predictions_file, read_jsonl
    from .scoring.report import format_consistency

    views = [{row.get("view") for row in read_jsonl(predictions_file(path))} for path in (args.baseline, args.other)]
    if any("time_reversed" in v for v in views):
        # A reversed run has its own items: pair clips by mirrored task instead of items by id.
        if not ("time_reversed" in views[1] and "time_reversed" not in views[0]):
            raise ConfigError("pass the original run first and the time_reversed run second: compare RUN/audio_only RUN/time_reversed")
        result = temporal_consistency(read_jsonl(predictions_file(args.baseline)), read_jsonl(predictions_file(args.other)))
        print(format_consistency(result))
        if args.json:
            atomic_write_text(args.json, json.dumps(result, indent=2) + "\n")
        return 0
    baseline = load_judged(args.baseline, items=args.items)
    other = load_judged(args.other, items=args.items)
    result = compare(baseline, other)
    print(format_comparison(result))
    controls = _control_scores(args.baseline, args.items, 0.95)
    if "presence_ceiling" in controls:
        # The same items in both runs: one ceiling for both.
        print("presence-only ceiling on these items (an oracle; a run at or below it shows no use of timing): "
              + ", ".join(f"{task} {100 * controls[f'presence_ceiling_{task}']:.1f} %" for task in TASKS if f"presence_ceiling_{task}" in controls)
              + f", all {100 * controls['presence_ceiling']:.1f} %")
        result = {**result, **{k: v for k, v in controls.items() if k.startswith("presence_ceiling")}}
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2) + "\n")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .harness.models import load_runner
    from .harness.preflight import check_run_inputs
    from .harness.runner import evaluate_views
    from .scoring.metrics import judged_from_records, view_effects
    from .scoring.report import format_table

    views = args.view
    base = _run_config(args)
    out = Path(args.out)
    runs = [(base.replace(view=view), out / view if len(views) > 1 else out) for view in views]
    check_run_inputs([cfg for cfg, _ in runs], data=args.data, demo=args.demo, outs=[out])  # before the model loads
    # One model load for every view; views that feed the same audio share its prefix.
    results = evaluate_views(runs, data=args.data, demo=args.demo, runner=load_runner(base), overwrite=args.overwrite, progress=not args.quiet)
    judged = {}
    for (cfg, run_dir), result in zip(runs, results):
        if result is None:  # a non-zero rank of a data-parallel run
            continue
        print(f"== {cfg.model} / {cfg.view} / {cfg.mode}: {result.answered} answered, {result.reused} reused -> {run_dir}")
        print(format_table(result.scores))
        if cfg.view != TIME_REVERSED:  # its own items: paired by clip in temporal_consistency, not by id
            judged[cfg.view] = judged_from_records(result.records)
    if len(judged) > 1 and not base.circular:
        effects = view_effects(judged)
        overall = {k: v for k, v in effects.items() if isinstance(v, float) and not k.endswith(TASKS) and not k.startswith("accuracy_")}
        print("view effects (all tasks): " + ", ".join(f"{k} {v:+.3f}" for k, v in overall.items()))
    return 0


def _run_config(args: argparse.Namespace, **fixed) -> "RunConfig":
    """A RunConfig from the options shared by eval, attention and sweep."""
    from .harness.config import RunConfig

    template = getattr(args, "prompt_template", None)
    if template is not None and Path(template).is_file():
        template = Path(template).read_text(encoding="utf-8")
    elif template is not None and "{" not in template:
        raise ConfigError(f"--prompt-template {template}: no such file, and as a template it has no field; pass a "
                          "template file or a string with {question} and {options} (see tacos_temporal/data/prompts.py)")
    options = {
        "model": args.model,
        "view": args.view[0] if isinstance(args.view, list) else args.view,
        "mode": getattr(args, "mode", None),
        "revision": args.revision,
        "dtype": args.dtype,
        "device": args.device,
        "batch_size": args.batch_size,
        "max_new_tokens": getattr(args, "max_new_tokens", None),
        "prompt_template": template,
        "system_prompt": getattr(args, "system_prompt", None),
        "limit": args.limit,
        "seed": args.seed,
        "trust_remote_code": args.trust_remote_code or None,
        "max_audio_seconds": getattr(args, "max_audio_seconds", None),
        "auto_class": getattr(args, "auto_class", None),
        "reuse": False if getattr(args, "no_reuse", False) else None,
        "circular": True if getattr(args, "circular", False) else None,
        "intervention": getattr(args, "intervention", None),
        **fixed,
    }
    if getattr(args, "preset", None):
        return RunConfig.from_file(args.preset, **options)
    if not options["model"]:
        raise ConfigError("pass --model (a Hub id, local folder, preset name, random or constant:A) or --preset FILE")
    return RunConfig(**{k: v for k, v in options.items() if v is not None})


def cmd_attention(args: argparse.Namespace) -> int:
    from .harness.analysis import analyse_attention

    cfg = _run_config(args)
    result = analyse_attention(cfg, args.out, data=args.data, demo=args.demo, per_head=args.per_head, progress=not args.quiet)
    means = [r for r in result["rows"] if r["head"] == "mean"]
    print(f"{'layer':>5} {'audio':>7} {'text':>7} {'special':>8} {'audio entropy':>14}")
    for row in means:
        print(f"{row['layer']:>5} {row['audio_share']:7.3f} {row['text_share']:7.3f} {row['special_share']:8.3f} {row['audio_entropy']:14.3f}")
    print("written: " + ", ".join(str(p) for p in result["files"].values()))
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from .harness.analysis import SweepSpec, sweep

    cfg = _run_config(args)
    spec = SweepSpec(kind=args.kind, alphas=tuple(args.alphas), layers=tuple(args.layers) if args.layers else None, queries=args.queries, holdout=args.holdout)
    result = sweep(cfg, spec, args.out, data=args.data, demo=args.demo, progress=not args.quiet)
    print(f"{'layer':>5} {'alpha':>6} {'accuracy':>9} {'change':>8} {'fix':>6} {'break':>6} {'McNemar p':>10}")
    for row in result["rows"]:
        print(f"{row['layer']:>5} {row['alpha']:6g} {row['accuracy']:9.3f} {100 * row['delta']:+7.1f}p {row['fix_rate']:6.3f} {row['break_rate']:6.3f} {row['mcnemar_p']:10.3g}")
    best, held = result["best"], result["best_on_report_items"]
    where = "on the same items (post hoc)" if result["post_hoc"] else f"chosen on {result['choose_on']} items, reported on {result['report_on']} held-out items"
    print(f"best: layer {best['layer']}, alpha {best['alpha']:g} -> {100 * held['net_change']:+.1f} points, McNemar p {held['mcnemar_p']:.3g} ({where})")
    print(f"written: {Path(args.out) / 'sweep.csv'}, {Path(args.out) / 'sweep.png'}, {Path(args.out) / 'sweep.json'}")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from .harness.reproduce import load_recipe, reproduce

    recipe = load_recipe(args.recipe)
    result = reproduce(
        recipe, args.out, data=args.data, demo=args.demo, model=args.model, limit=args.limit,
        batch_size=args.batch_size or 8, progress=not args.quiet,
    )
    print(result["report"].read_text(encoding="utf-8"))
    print(f"report: {result['report']}")
    return 0


def cmd_make_tiny_model(args: argparse.Namespace) -> int:
    from .harness.tiny import make_tiny_model
    from .harness.tiny_omni import OMNI_ARCHS, make_tiny_omni

    if args.arch == "kimi_audio":  # a native port: the tiny release in the Hub layout, run through convert-kimi
        from .harness.tiny_kimi import make_tiny_kimi

        path = make_tiny_kimi(args.out, seed=args.seed, overwrite=args.overwrite)
    elif args.arch in OMNI_ARCHS:  # the full Hub layout (thinker.*), always with the real Qwen2 vocabulary
        path = make_tiny_omni(args.arch, args.out, seed=args.seed, overwrite=args.overwrite)
    else:
        path = make_tiny_model(args.arch, args.out, seed=args.seed, overwrite=args.overwrite, tokenizer=args.tokenizer)
    print(f"tiny {args.arch} checkpoint (untrained random weights, for tests and demos only) written to {path}")
    return 0


def cmd_publish_dataset(args: argparse.Namespace) -> int:
    from .hub.connection import command_line
    from .hub.dataset import EVALUATION_FRAMEWORK, publish_dataset

    command = command_line(
        "publish-dataset",
        [args.out],
        {"--repo": args.repo, "--create": args.create, "--private": args.private, "--evaluation-framework": args.evaluation_framework, "--token": args.token},
    )
    outcome = publish_dataset(
        args.out,
        args.repo,
        token=args.token,
        create=args.create,
        private=args.private,
        evaluation_framework=args.evaluation_framework or EVALUATION_FRAMEWORK,
        command=command,
    )
    print(outcome.describe())
    print(f"load it with: load_dataset({args.repo!r}, 'audio_only', split='test')")
    return 0


def cmd_publish_metric(args: argparse.Namespace) -> int:
    from .hub.connection import command_line
    from .hub.metric import publish_metric

    command = command_line(
        "publish-metric",
        [],
        {"--repo": args.repo, "--metric-dir": args.metric_dir, "--create": args.create, "--private": args.private, "--token": args.token},
    )
    outcome = publish_metric(args.repo, metric_dir=args.metric_dir, token=args.token, create=args.create, private=args.private, command=command)
    print(outcome.describe())
    print(f"load it with: evaluate.load({args.repo!r})")
    return 0


def cmd_push_results(args: argparse.Namespace) -> int:
    from .hub.connection import command_line
    from .hub.leaderboard import push_results

    command = command_line(
        "push-results",
        [args.run],
        {
            "--model-repo": args.model_repo,
            "--dataset-repo": args.dataset_repo,
            "--details-repo": args.details_repo,
            "--source-url": args.source_url,
            "--direct": args.direct,
            "--model-index": args.model_index,
            "--create": args.create,
            "--private": args.private,
            "--token": args.token,
            "--allow-partial": args.allow_partial,
        },
    )
    outcome = push_results(
        args.run,
        args.model_repo,
        dataset_repo=args.dataset_repo,
        details_repo=args.details_repo,
        source_url=args.source_url,
        direct=args.direct,
        model_index=args.model_index,
        create=args.create,
        private=args.private,
        token=args.token,
        command=command,
        allow_partial=args.allow_partial,
    )
    print(outcome.describe())
    print("scores (%): " + ", ".join(f"{entry.task_id} {entry.value}" for entry in outcome.entries) + f"  [{outcome.entries[0].notes}]")
    return 0


def cmd_convert_desta(args: argparse.Namespace) -> int:
    from .data.locate import check_hub_repo
    from .ports.desta25.loading import check_convert_output, convert

    check_convert_output(args.out, args.repo)  # local checks first
    check_hub_repo(args.repo, repo_type="model", flag="--repo")  # one line at once when the Hub is unreachable
    print(f"wrote {convert(args.out, args.repo)}")
    return 0


def cmd_verify_desta(args: argparse.Namespace) -> int:
    import json

    from .ports.desta25.verify import verify

    if not (Path(args.model) / "config.json").is_file():
        raise ConfigError(f"--model {args.model} is not a converted DeSTA2.5 folder (no config.json); make one with: tacos-temporal convert-desta --out {args.model}")
    if not Path(args.reference).is_file():
        raise ConfigError(f"--reference {args.reference}: no such file; save it from the original package with the script tacos_temporal/ports/desta25/save_reference.py")
    print(json.dumps(verify(args.model, args.reference, device=args.device, dtype=args.dtype), indent=2))
    return 0


def cmd_convert_kimi(args: argparse.Namespace) -> int:
    from .ports.desta25.loading import check_convert_output
    from .ports.kimi_audio.loading import convert

    check_convert_output(args.out, args.repo, args.glm_repo)  # before any download

    print(f"wrote {convert(args.out, args.repo, args.glm_repo)}")
    return 0


def cmd_verify_kimi(args: argparse.Namespace) -> int:
    import json

    from .harness.tiny_kimi_release import reference_waveforms
    from .ports.kimi_audio.verify import verify

    print(json.dumps(verify(args.model, args.reference, reference_waveforms(), dtype=args.dtype, device=args.device), indent=2))
    return 0


def cmd_controls(args: argparse.Namespace) -> int:
    from .files import atomic_write_text
    from .scoring.control_summary import format_controls_summary, summarize_controls

    summary = summarize_controls(args.path, seed=args.seed)
    text = format_controls_summary(summary)
    print(text)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "controls.md", text + "\n")
        atomic_write_text(out / "controls.json", json.dumps(summary, indent=2) + "\n")
        print(f"written: {out / 'controls.md'}, {out / 'controls.json'}")
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    import platform
    from importlib import metadata

    print(f"tacos-temporal {__version__}")
    print(f"python {platform.python_version()} on {platform.platform()}")
    for package in ("datasets", "evaluate", "huggingface_hub", "transformers", "torch", "torchcodec", "pyarrow", "numpy"):
        try:
            print(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            print(f"{package} (not installed)")
    return 0


# --- parser ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tacos-temporal",
        description="TACOS-Temporal: build, load and score the temporal-reasoning benchmark for audio-language models.",
    )
    parser.add_argument("--version", action="version", version=f"tacos-temporal {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, func: Callable, help: str, description: str) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            help=help,
            description=textwrap.dedent(description).strip(),
            epilog=_epilog(name),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(func=func)
        return p

    p = command(
        "build",
        cmd_build,
        "build items.jsonl and the three dataset views",
        """
        Select the benchmark's items from an event table and write them as items.jsonl, and (unless
        --items-only) as Parquet dataset views with a dataset card, loadable with
        datasets.load_dataset(OUT, VIEW, split="test").
        """,
    )
    p.add_argument("--out", required=True, help="output folder (must be empty unless --overwrite)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--tacos-dir", help="local TACOS release folder (audio.zip or audio/, metadata.csv, ...)")
    source.add_argument("--download", action="store_true", help="download the TACOS release from Zenodo (1.6 GB, MD5-checked, resumable)")
    p.add_argument("--events", help="event table CSV or URL, or 'strong' for TACOS annotations_strong.csv (default: the table in --tacos-dir, "
                   "else the authors' pinned table: the test table ships with the package, val and train are downloaded)")
    p.add_argument("--mirror", help="base URL of a mirror of the TACOS files (with --download)")
    p.add_argument("--split", default="test", choices=("test", "val", "train"), help="event-table split (default: test)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"seed of the option rule (default: {DEFAULT_SEED})")
    p.add_argument("--items-only", action="store_true", help="write items.jsonl and build_report.json only (no audio needed)")
    p.add_argument("--views", nargs="+", default=list(VIEWS), choices=STORED_VIEWS, metavar="VIEW", help=f"views to write: {', '.join(STORED_VIEWS)} (default: the three input views; add {TIME_REVERSED} for the time-reversal control)")
    p.add_argument("--strict", action="store_true", help="fail on any malformed annotation row instead of skipping it")
    p.add_argument("--verify", action="store_true", help="check the --tacos-dir files against their published MD5 first")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder")
    p.add_argument("--quiet", action="store_true", help="no progress bars")

    p = command(
        "demo-data",
        cmd_demo_data,
        "write the synthetic demo corpus (a small TACOS-format release)",
        """
        Synthesise a small release in exactly the TACOS format: audio.zip with MP3 clips whose tones,
        noise bursts, chirps and clicks sit at known times, strong and weak captions, metadata,
        splits and an event table. Deterministic from --seed.
        """,
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"seed (default: {DEFAULT_SEED})")
    p.add_argument("--num-clips", type=int, default=24, help="number of clips (default: 24)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder")

    p = command(
        "demo",
        cmd_demo,
        "run the main job on the built-in demo corpus",
        """
        End to end, offline: synthesise the demo corpus, build the three views, load each with
        datasets.load_dataset, score the trivial baselines, evaluate a tiny UNTRAINED Qwen2-Audio on
        every view (logprob mode; a few items in generate mode) and write OUT/report/report.md: views x
        tasks with intervals, the baselines beside it, view effects, unparsed examples, plots.
        """,
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"seed (default: {DEFAULT_SEED})")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder")
    p.add_argument("--quiet", action="store_true", help="no progress bars")

    p = command(
        "score",
        cmd_score,
        "score saved predictions: table, Markdown report and plots",
        """
        Score a run folder (its samples.jsonl) or a JSON Lines file of predictions without running a
        model. Each line: "id" and "prediction" (free text or a letter), or parsed "letter" and "rule";
        "task"/"answer" come from --items when absent. With --items every item is scored: one without
        a prediction counts as a failure.
        """,
    )
    p.add_argument("predictions", help="run folder or predictions .jsonl")
    p.add_argument("--items", help="items.jsonl or a built dataset folder (needed when predictions lack task/answer)")
    p.add_argument("--out", help="report folder (default: RUN/report or PREDICTIONS_report)")
    p.add_argument("--title", help="report title")
    p.add_argument("--confidence", type=float, default=0.95, help="confidence level of the intervals (default: 0.95)")
    p.add_argument("--reparse", action="store_true", help="parse raw outputs again even where a letter was saved")
    p.add_argument("--no-report", action="store_true", help="print the table only")

    p = command(
        "compare",
        cmd_compare,
        "paired comparison of two runs on the same items",
        """
        Fix rate (baseline wrong -> other right), break rate (right -> wrong), net change and an exact
        McNemar test, overall and per task.
        """,
    )
    p.add_argument("baseline", help="baseline run folder or predictions .jsonl")
    p.add_argument("other", help="other run folder or predictions .jsonl")
    p.add_argument("--items", help="items.jsonl or a built dataset folder")
    p.add_argument("--json", help="also write the statistics to this JSON file")

    from .harness.config import DTYPES, MODES
    from .names import ALL_VIEWS

    p = command(
        "eval",
        cmd_eval,
        "evaluate an audio-language model (or a baseline) on one or more views",
        """
        Run a Hub audio-LM (any transformers Auto class with a chat template), a local folder, a preset
        name (see eval_harness/presets) or a baseline (random, constant:A..D) on the benchmark. Writes
        RUN/samples.jsonl (one record per item, appended as it goes: a killed run restarted with the same
        command continues) and RUN/results.json. With several views, each goes to RUN/<view>.
        Data: --data (a built folder or Hub dataset id), --demo, or neither (build from the TACOS
        download, cached).
        """,
    )
    from .harness.config import preset_help

    p.description += "\n\n" + preset_help()
    p.add_argument("--model", help="Hub id, local folder, preset name, random or constant:A..D")
    p.add_argument("--view", nargs="+", default=["audio_only"], choices=ALL_VIEWS, metavar="VIEW", help=f"views: {', '.join(ALL_VIEWS)} (default: audio_only)")
    p.add_argument("--mode", choices=MODES, help="generate (greedy, parsed; the paper's protocol; default) or logprob (letter log-probabilities)")
    p.add_argument("--out", required=True, help="run folder")
    data = p.add_mutually_exclusive_group()
    data.add_argument("--data", help="built dataset folder or Hub dataset id")
    data.add_argument("--demo", action="store_true", help="the built-in demo benchmark")
    p.add_argument("--preset", help="a run preset TOML (RunConfig keys); command-line options override it")
    p.add_argument("--revision", help="model revision (branch, tag or commit)")
    p.add_argument("--dtype", choices=DTYPES, help="model dtype (default: auto)")
    p.add_argument("--device", help="auto (default), cpu, cuda, cuda:1 ...")
    p.add_argument("--batch-size", type=int, help="items per forward pass (default: 8; halved on out-of-memory)")
    p.add_argument("--max-new-tokens", type=int, help="generation budget (default: 10)")
    p.add_argument("--prompt-template", help="a template string or file (fields: {question} {options} {A}..{D} {caption} {context} {task})")
    p.add_argument("--system-prompt", help="a system turn (default: the chat template's own)")
    p.add_argument("--limit", type=int, help="a seeded sample of N items, stratified by task")
    p.add_argument("--seed", type=int, help="seed of --limit and of the random baseline (default: 0)")
    p.add_argument("--trust-remote-code", action="store_true", help="allow the model's own code from the Hub (off unless given)")
    p.add_argument("--max-audio-seconds", type=float, help="cut longer clips (default: the preset's limit)")
    p.add_argument("--auto-class", help="force a transformers Auto class")
    p.add_argument(
        "--intervention",
        help="attention intervention, e.g. scale:alpha=2.0,layers=20,queries=keyword+last "
        "(kinds: upweight, scale, redistribute; layers: 20, 10-15, 1;3;5, all; queries: last, keyword, keyword+last, all)",
    )
    p.add_argument("--no-reuse", action="store_true", help="encode the audio and pre-fill the prompt for every item (default: once per clip where exact)")
    p.add_argument("--circular", action="store_true", help="ask every item under its four cyclic option rotations; scored strictly (right under all four), per rotation, with the letter-position bias. "
                   "Rotations share the clip's audio prefix; give 4x your usual --batch-size (rows), so that a batch holds as many clips as without rotations")
    p.add_argument("--overwrite", action="store_true", help="discard an existing run in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bars")

    def model_options(p: argparse.ArgumentParser, *, views_many: bool = False) -> None:
        p.add_argument("--model", help="Hub id, local folder or preset name")
        if views_many:
            p.add_argument("--view", nargs="+", default=["audio_only"], choices=ALL_VIEWS, metavar="VIEW")
        else:
            p.add_argument("--view", default="audio_only", choices=ALL_VIEWS, help="view (default: audio_only)")
        p.add_argument("--out", required=True, help="output folder")
        group = p.add_mutually_exclusive_group()
        group.add_argument("--data", help="built dataset folder or Hub dataset id")
        group.add_argument("--demo", action="store_true", help="the built-in demo benchmark")
        p.add_argument("--revision", help="model revision")
        p.add_argument("--dtype", choices=DTYPES, help="model dtype (default: auto)")
        p.add_argument("--device", help="auto (default), cpu, cuda ...")
        p.add_argument("--batch-size", type=int, help="items per forward pass (default: 8)")
        p.add_argument("--limit", type=int, help="a seeded sample of N items, stratified by task")
        p.add_argument("--seed", type=int, help="seed of --limit (default: 0)")
        p.add_argument("--trust-remote-code", action="store_true", help="allow the model's own code (off unless given)")
        p.add_argument("--quiet", action="store_true", help="no progress bars")

    p = command(
        "attention",
        cmd_attention,
        "per-layer attention of the last prompt token on audio, text and special tokens",
        """
        For every item, the final prompt token's attention in each language-model layer, split into
        audio, text and special tokens, and the entropy within the audio span, averaged over items
        with 95 % intervals (no full attention matrices are stored). Writes attention.csv,
        attention.png (the paper's per-layer modality figure) and attention.json. With
        --intervention the analysis runs with it active, so its effect on the attention shows.
        """,
    )
    model_options(p)
    p.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    p.add_argument("--intervention", help="an intervention to apply during the analysis (see eval --help)")
    p.add_argument("--per-head", action="store_true", help="also write one row per head")

    p = command(
        "sweep",
        cmd_sweep,
        "one intervention at each layer in turn, over a grid of alphas, paired with the baseline",
        """
        Runs the baseline, then KIND at each layer (or --layers) for each alpha, and pairs every run with
        the baseline on the same items: accuracy change overall and per task, fix rate (baseline
        wrong -> right), break rate (right -> wrong), exact McNemar p. Writes sweep.csv, sweep.png
        (change per layer) and sweep.json. --holdout 0.5 chooses the best layer and alpha on half of
        the items and reports it on the other half; without it the choice is post hoc, as in the paper.
        """,
    )
    model_options(p)
    p.add_argument("--mode", choices=MODES, help="generate (default) or logprob")
    p.add_argument("--kind", required=True, choices=("upweight", "scale", "redistribute"), help="the intervention")
    p.add_argument("--alphas", required=True, nargs="+", type=float, help="alphas (tau for redistribute)")
    p.add_argument("--layers", nargs="+", type=int, help="layers to try (default: every layer)")
    p.add_argument("--queries", default="keyword+last", choices=("last", "keyword", "keyword+last", "all"), help="query positions (default: keyword+last)")
    p.add_argument("--holdout", type=float, default=0.0, help="share of items held out for reporting (default: 0, post hoc)")

    from .harness.reproduce import recipe_names

    p = command(
        "reproduce",
        cmd_reproduce,
        "run the paper's grid for a model from a recipe and report it beside the paper",
        f"""
        One command for the paper's whole grid: the three views and the silence control, all-layer
        upweighting vs scaling, and the single-layer sweep, with the model loaded once; writes
        OUT/report.md with every number beside the paper's. Recipes: {', '.join(recipe_names())}
        (eval_harness/recipes/), or a TOML file of your own.
        """,
    )
    p.add_argument("--recipe", required=True, help="recipe name or TOML file")
    p.add_argument("--model", help="run another model than the recipe's (e.g. a local copy)")
    p.add_argument("--out", required=True, help="output folder")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--data", help="built dataset folder or Hub dataset id")
    group.add_argument("--demo", action="store_true", help="the built-in demo benchmark")
    p.add_argument("--limit", type=int, help="a seeded sample of N items per view, stratified by task")
    p.add_argument("--batch-size", type=int, help="items per forward pass (default: 8)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")

    from .harness.tiny import TINY_ARCHS
    from .harness.tiny_omni import OMNI_ARCHS

    p = command(
        "make-tiny-model",
        cmd_make_tiny_model,
        "build a tiny random-weight audio-LM checkpoint for offline tests and demos",
        """
        A tiny, untrained checkpoint of a real architecture (real config, processor and feature
        extractor; a locally trained tokenizer), loadable with the transformers Auto classes offline.
        """,
    )
    p.add_argument("--arch", required=True, choices=(*TINY_ARCHS, *OMNI_ARCHS, "kimi_audio"),
                   help="architecture (qwen2_5_omni / qwen3_omni_moe: the thinker in the full Hub layout, real Qwen2 vocabulary, "
                        "about 40 MB; kimi_audio: the native port, made through convert-kimi)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0, help="weight seed (default: 0)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder")
    p.add_argument("--tokenizer", choices=("bpe", "real"), default="bpe",
                   help="bpe: a small locally trained vocabulary (default); real: the real Qwen2 vocabulary at the real size (about 80 MB)")

    p = command(
        "publish-dataset",
        cmd_publish_dataset,
        "push a built dataset folder (three views, card, eval.yaml) to the Hub",
        """
        Push what `tacos-temporal build` wrote (README.md card with licences and the configs of the
        three views, items.jsonl, build_report.json, data/<view>/test-*.parquet) and a generated
        eval.yaml (the Hub's benchmark declaration: one task per temporal question, beta and
        allow-listed) to a dataset repo, in one commit. Afterwards
        load_dataset("ORG/NAME", "audio_only", split="test") works. Pushing the same folder again
        changes nothing. The token comes from --token, HF_TOKEN or `hf auth login`.
        """,
    )
    p.add_argument("out", help="built dataset folder (tacos-temporal build --out OUT)")
    p.add_argument("--repo", required=True, metavar="ORG/NAME", help="dataset repo")
    p.add_argument("--create", action="store_true", help="create the repo if it does not exist (default: a missing repo is an error)")
    p.add_argument("--private", action="store_true", help="create the repo private (with --create)")
    p.add_argument("--evaluation-framework", metavar="ID", help="eval.yaml evaluation_framework identifier (default: tacos-temporal; the Hub accepts only listed ones)")
    p.add_argument("--token", metavar="TOKEN", help="Hub token (default: HF_TOKEN, then the token of `hf auth login`)")

    p = command(
        "publish-metric",
        cmd_publish_metric,
        "push the evaluate metric to the Hub as a Gradio Space",
        """
        Push metrics/tacos_temporal/ (the module, its card, app.py, requirements.txt) to a Space with
        the Gradio SDK, in one commit. Afterwards evaluate.load("ORG/NAME") works; evaluate fetches
        <NAME>.py from the Space, so under another name than tacos_temporal the module is also pushed
        as <NAME>.py.
        """,
    )
    p.add_argument("--repo", required=True, metavar="ORG/NAME", help="Space (no '.' in NAME)")
    p.add_argument("--metric-dir", metavar="DIR", help="the evaluate module folder (default: metrics/tacos_temporal of this checkout)")
    p.add_argument("--create", action="store_true", help="create the Space if it does not exist")
    p.add_argument("--private", action="store_true", help="create the Space private (with --create)")
    p.add_argument("--token", metavar="TOKEN", help="Hub token (default: HF_TOKEN, then the token of `hf auth login`)")

    p = command(
        "push-results",
        cmd_push_results,
        "push a run's scores to a model repo (.eval_results, pull request by default)",
        """
        Write the run's accuracy per task (percent) as .eval_results/tacos_temporal_<view>_<mode>_<intervention>.yaml
        in the model repo, in the Hub's Eval Results format (one entry per task, with a source link and
        notes giving n, the data revision, the benchmark version, the view, answer mode and intervention),
        as a pull request unless --direct. Only a complete run of the benchmark published at --dataset-repo
        (every item, loaded from that repo) is ranked; anything else is refused unless --allow-partial,
        which marks it PARTIAL and keeps it out of every ranking.
        --details-repo also pushes the per-item samples as Parquet to a details dataset (one config per
        model and view, one split per run plus `latest`); --model-index also writes the card's legacy
        model-index. The run folder is never modified; pushing the same run again changes nothing.
        """,
    )
    p.add_argument("run", help="run folder (tacos-temporal eval --out RUN)")
    p.add_argument("--model-repo", required=True, metavar="ORG/MODEL", help="model repo the scores belong to (must exist)")
    p.add_argument("--dataset-repo", metavar="ORG/NAME", help="benchmark dataset (default: the Hub id in results.json)")
    p.add_argument("--details-repo", metavar="ORG/NAME", help="dataset repo for the per-item details")
    p.add_argument("--source-url", metavar="URL", help="source link of the entries (default: the details repo, if given)")
    p.add_argument("--direct", action="store_true", help="commit to main instead of opening a pull request")
    p.add_argument("--model-index", action="store_true", help="also write the legacy model-index block of the model card")
    p.add_argument("--create", action="store_true", help="create --details-repo if it does not exist")
    p.add_argument("--private", action="store_true", help="create --details-repo private (with --create)")
    p.add_argument("--token", metavar="TOKEN", help="Hub token (default: HF_TOKEN, then the token of `hf auth login`)")
    p.add_argument(
        "--allow-partial",
        action="store_true",
        help="push a run that is not the whole published benchmark (--limit, demo or local data, another item set or "
        "benchmark version), marked PARTIAL and on no leaderboard; without it such a run is refused",
    )

    p = command("convert-desta", cmd_convert_desta, "assemble DeSTA2.5-Audio into one folder",
                "Download the DeSTA2.5 connector, its Llama-3.1-8B (bf16) and Whisper-large-v3 (fp32) and write one self-contained folder.")
    p.add_argument("--out", required=True, help="folder to write")
    p.add_argument("--repo", default="DeSTA-ntu/DeSTA2.5-Audio-Llama-3.1-8B", help="the DeSTA2.5 Hub repo")
    p = command("verify-desta", cmd_verify_desta, "compare the DeSTA2.5 port with the original",
                "Compare a converted DeSTA2.5 folder with tensors saved from the original package by "
                "tacos_temporal/ports/desta25/save_reference.py (run with the original's own Python, transformers 4.x).")
    p.add_argument("--model", required=True, help="folder written by convert-desta")
    p.add_argument("--reference", required=True, help="tensors saved from the original package (.pt)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda...")
    p.add_argument("--dtype", default="auto", choices=("auto", "float32"), help="auto: as converted (Llama bf16); float32 for a reference made in fp32")

    p = command("convert-kimi", cmd_convert_kimi, "convert Kimi-Audio-7B-Instruct into one folder for the native port",
                "Read the text-path tensors of the Kimi-Audio release (trunk, lm_head, VQ adaptor and Whisper-large-v3 in bf16) and the "
                "GLM-4-Voice tokenizer (fp32), check every key, and write one folder that the harness loads offline. The MIMO audio-output "
                "branch, the detokenizer and the vocoder are left out. --repo and --glm-repo take Hub ids or local copies.")
    p.add_argument("--out", required=True, help="folder to write")
    p.add_argument("--repo", default="moonshotai/Kimi-Audio-7B-Instruct", help="the Kimi-Audio Hub repo or a local copy")
    p.add_argument("--glm-repo", default="THUDM/glm-4-voice-tokenizer", help="the GLM-4-Voice tokenizer Hub repo or a local copy")
    p = command("verify-kimi", cmd_verify_kimi, "compare the Kimi-Audio port with the original",
                "Compare a converted Kimi-Audio folder with tensors saved from the original kimia_infer code by "
                "scripts/kimi_audio_original_reference.py (see tacos_temporal/ports/kimi_audio/verify.py).")
    p.add_argument("--model", required=True, help="folder written by convert-kimi")
    p.add_argument("--reference", required=True, help="folder with reference_<dtype>.safetensors and meta_<dtype>.json")
    p.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"), help="which reference to compare (default: float32)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda...")

    p = command(
        "controls",
        cmd_controls,
        "the controls of a build without a model: presence-only ceiling, reversal, circular floors",
        """
        From a build folder (an --items-only build of the event table is enough) or an items.jsonl:
        the presence-only ceiling per task (a model that knows which options occur in the clip but not
        when), the presence-oracle and random baselines, their strict circular scores, the
        time-reversed control's items and the consistency of a timeline-following and a time-blind
        answerer, and the caption-order shortcut when the folder has the caption_only config.
        """,
    )
    p.add_argument("path", help="build folder (tacos-temporal build --out) or items.jsonl")
    p.add_argument("--out", help="also write controls.md and controls.json here")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"seed of the seeded baselines (default: {DEFAULT_SEED})")
    command("env", cmd_env, "print versions for bug reports", "Print the versions of this package and the Hugging Face stack.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .progress import library_progress

    try:
        # The libraries' own bars (transformers' "Loading weights", datasets', uploads) follow --quiet
        # too, and no bar is written into a log file.
        with library_progress(not getattr(args, "quiet", False)):
            return args.func(args)
    except TacosTemporalError as err:
        if os.environ.get("TACOS_TEMPORAL_DEBUG"):
            raise
        # One line, whatever the message holds (a library's wrapped error may span several).
        print("error: " + " ".join(line.strip() for line in str(err).splitlines() if line.strip()), file=sys.stderr)
        return 1
    except OSError as err:  # a file or folder the user named: missing, a file, not writable, disk full ...
        if os.environ.get("TACOS_TEMPORAL_DEBUG"):
            raise
        where = f": {err.filename}" if getattr(err, "filename", None) else ""
        print(f"error: {err.strerror or err}{where} ({type(err).__name__}); check the path and its permissions", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
