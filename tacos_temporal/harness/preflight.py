"""Checks of a run's inputs that answer in under a second, made **before** a model is loaded.

``eval``, ``attention``, ``sweep`` and ``reproduce`` call :func:`check_run_inputs` first, so a typo
in ``--data``, ``--model``, ``--revision`` or ``--out`` is one clear error at once, never after
minutes of loading weights (or of Hub retries).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..data.locate import check_data, check_hub_repo, hub_offline, is_repo_id
from ..errors import ConfigError, ModelError
from . import adapter_desta25  # noqa: F401  (registers its adapter, whose resolve() converts on first use)
from .adapters import get_adapter
from .config import RunConfig, find_preset


def check_model(cfg: RunConfig) -> None:
    """``--model``: a baseline, a preset name, a local model folder or a reachable Hub model."""
    if cfg.is_baseline:
        return
    model = cfg.model
    preset = find_preset(model)
    model_id = preset.hub_id if (preset is not None and model == preset.name) else model
    path = Path(model_id).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelError(f"--model {model_id} is a file; pass a model folder (with config.json), a Hub id or a preset name")
        if not (path / "config.json").is_file():
            raise ModelError(f"--model {model_id} has no config.json, so it is not a transformers model folder; "
                             "pass the folder save_pretrained wrote (or make one: tacos-temporal make-tiny-model)")
        return
    if not is_repo_id(model_id):
        raise ModelError(f"--model {model_id}: no such folder; pass a model folder, a Hub id (ORG/NAME), a preset name "
                         "(see eval_harness/presets) or a baseline (random, constant:A)")
    if preset is not None and getattr(get_adapter(preset.adapter), "resolve", None) is not None:
        return  # converted on first use from its own Hub repos (DeSTA2.5), which the conversion checks
    if hub_offline():
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(model_id, "config.json", revision=cfg.revision), str):
            raise ModelError(f"--model {model_id}: HF_HUB_OFFLINE is set and the model is not in the Hugging Face cache; "
                             "unset HF_HUB_OFFLINE (with network access) to download it once, or pass a local folder")
        return
    check_hub_repo(model_id, repo_type="model", flag="--model", revision=cfg.revision,
                   local_hint="a preset name must be one of eval_harness/presets")


def check_out(out: str | Path, flag: str = "--out") -> None:
    """An output folder: not an existing file."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{flag} {out} is a file; pass a folder")


def check_run_inputs(cfgs: Iterable[RunConfig], *, data: str | Path | None, demo: bool, outs: Iterable[str | Path] = ()) -> None:
    """Everything about a run that can be checked without the model: the data (for every view), the
    model source and the output folders.  Data first: it is the likeliest typo."""
    cfgs = list(cfgs)
    if data is not None and demo:
        raise ConfigError("pass either --data or --demo, not both")
    if data is not None:
        check_data(data, [cfg.view for cfg in cfgs])
    for out in outs:
        check_out(out)
    seen = set()
    for cfg in cfgs:
        if (cfg.model, cfg.revision) not in seen:
            seen.add((cfg.model, cfg.revision))
            check_model(cfg)
