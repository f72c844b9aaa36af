"""What a run is: :class:`RunConfig` (one model on one view) and :class:`ModelPreset` (what differs
per model).  Both are frozen dataclasses that validate themselves; presets are TOML files whose keys
are the field names (an unknown key is an error)."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path

from ..data.prompts import DEFAULT_TEMPLATE, check_template
from ..errors import ConfigError, check_name, unknown_name
from ..names import ALL_VIEWS, AUDIO_ONLY, DEFAULT_SEED, VIEWS_WITH_CAPTION
from ..scoring.baselines import BASELINES, CAPTION_ORDER, ROW_BASELINES

MODES: tuple[str, ...] = ("generate", "logprob")
DTYPES: tuple[str, ...] = ("auto", "float32", "bfloat16", "float16")
AUTO_CLASSES: tuple[str, ...] = ("AutoModelForMultimodalLM", "AutoModelForSeq2SeqLM", "AutoModelForCausalLM")
#: Baselines run like models (no weights): ``--model random`` / ``--model constant:B``, and the
#: controls ``--model presence-oracle`` (an oracle) / ``--model caption-order`` (caption views).
BASELINE_MODELS: tuple[str, ...] = BASELINES + ROW_BASELINES


def _from_mapping(cls, data: dict, source: str):
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(names))}")
    return cls(**data)


@dataclass(frozen=True)
class ModelPreset:
    """What differs per model family, kept as data (``tacos_temporal/harness/presets/*.toml``).

    Args:
        name (`str`): preset name (``qwen2-audio-7b-instruct``).
        hub_id (`str`): the Hub repository.
        auto_class (`str`, defaults to ``"AutoModelForMultimodalLM"``): the transformers Auto class.
        adapter (`str`, defaults to ``"default"``): the registered adapter (prompt and input quirks).
        audio_tokens_per_second (`float`, *optional*): audio tokens per second of audio in the LM.
        max_audio_seconds (`float`, *optional*): longest audio the model takes; longer clips are cut
            and the cut is recorded per item.
        supported (`bool`, defaults to `True`): `False` only for a model the harness cannot run on
            any machine (remote-code packages); ``notes`` says why and what to do.
        paper (`bool`, defaults to `False`): one of the paper's four models.
        notes (`str`): free text shown in errors and docs.
        requires (`dict[str, str]`): packages the model needs beyond the core install, as
            ``{import name: pip requirement}``; checked before any weights load
            (:func:`missing_requirement`), each a one-line ``ModelError`` that says what to install.
        verified (`str`): what this project's test suite proves for the preset, and what it cannot
            prove on the CPU test machine, with the exact reason (``eval --help`` and the README show it).
        revision (`str`, *optional*): the Hub revision the preset loads when the run names none
            (Phi-4-multimodal: the transformers-native weights live on ``refs/pr/70``).
    """

    name: str
    hub_id: str
    auto_class: str = "AutoModelForMultimodalLM"
    adapter: str = "default"
    audio_tokens_per_second: float | None = None
    max_audio_seconds: float | None = None
    supported: bool = True
    paper: bool = False
    notes: str = ""
    requires: dict[str, str] = field(default_factory=dict, hash=False)
    verified: str = ""
    revision: str | None = None

    def __post_init__(self) -> None:
        check_name("auto class", self.auto_class, AUTO_CLASSES)
        if not isinstance(self.requires, dict) or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in self.requires.items()):
            raise ConfigError(f"preset {self.name}: requires must map import names to pip requirements, e.g. {{torchaudio = \"torchaudio>=2.6\"}}")
        if self.max_audio_seconds is not None and self.max_audio_seconds <= 0:
            raise ConfigError(f"preset {self.name}: max_audio_seconds must be > 0, got {self.max_audio_seconds}")


def load_presets() -> dict[str, ModelPreset]:
    """Every model preset shipped with the package, by name."""
    out = {}
    folder = resources.files("tacos_temporal.harness").joinpath("presets")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            data = tomllib.loads(entry.read_text(encoding="utf-8"))
            preset = _from_mapping(ModelPreset, data, f"preset {entry.name}")
            out[preset.name] = preset
    return out


def missing_requirement(preset: ModelPreset) -> str | None:
    """Why ``preset`` cannot load in this environment (a package of its ``requires`` that does not
    import), as one line that says what to install; ``None`` when everything imports.

    The import is tried, not just looked up: a torchvision wheel built for another torch is
    installed yet fails to import, and that must count as missing.
    """
    import importlib

    from packaging.requirements import Requirement

    for module, requirement in preset.requires.items():
        try:
            importlib.import_module(module)
        except Exception as err:  # ImportError, or an incompatible build failing at import (OSError, RuntimeError)
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            return f"{preset.name} needs the package {Requirement(requirement).name} (pip install '{requirement}'); importing {module} failed: {reason}"
    return None


def find_preset(model: str) -> ModelPreset | None:
    """The preset whose name or Hub id is ``model`` (case-insensitive), if any."""
    key = model.strip().lower()
    for preset in load_presets().values():
        if key in (preset.name.lower(), preset.hub_id.lower()):
            return preset
    return None


def preset_help(width: int = 100) -> str:
    """The model presets as ``eval --help`` lists them: name and Hub id, whether the harness runs it,
    the packages it needs beyond the core install, what the test suite verified (``verified``), and,
    for a preset that cannot run, ``NOT SUPPORTED`` and the whole reason from its ``notes``."""
    import textwrap

    lines = [
        "Model presets (--model NAME or its Hub id; tacos_temporal/harness/presets/*.toml). An unsupported one",
        "refuses to load by its name or Hub id; a local folder of the same model runs without the preset, untested:",
    ]
    for preset in load_presets().values():
        tags = ", ".join(t for t in ("the paper's" if preset.paper else "", "supported" if preset.supported else "NOT SUPPORTED") if t)
        lines.append(f"  {preset.name} ({preset.hub_id}; {tags})")
        wrap = lambda text: textwrap.wrap(text, width=width, initial_indent="      ", subsequent_indent="        ")  # noqa: E731
        if preset.requires:
            lines += wrap("needs: " + ", ".join(f"pip install '{r}'" for r in preset.requires.values()))
        if preset.verified:
            lines += wrap("verified: " + preset.verified)
        if not preset.supported:
            lines += textwrap.wrap(preset.notes, width=width, initial_indent="      ", subsequent_indent="      ")
    return "\n".join(lines)


@dataclass(frozen=True)
class RunConfig:
    """One evaluation run: a model, a view and how to ask it.

    Args:
        model (`str`): Hub id, local folder, preset name, or a baseline (``random``, ``constant:A``).
        view (`str`, defaults to ``"audio_only"``): one of ``names.ALL_VIEWS``.
        mode (`str`, defaults to ``"generate"``): ``generate`` (greedy decoding, parsed with
            ``parse_choice``: the paper's protocol) or ``logprob`` (one forward pass; the letter with
            the highest next-token log-probability; no parsing, no failures).
        revision (`str`, *optional*): Hub revision (branch, tag or commit).
        dtype (`str`, defaults to ``"auto"``): ``auto``, ``float32``, ``bfloat16`` or ``float16``.
        device (`str`, defaults to ``"auto"``): ``auto`` (CUDA if available), ``cpu``, ``cuda``, ``cuda:1``...
        batch_size (`int`, defaults to 8): items per forward pass (halved on out-of-memory).
        max_new_tokens (`int`, defaults to 10): generation budget in ``generate`` mode.
        prompt_template (`str`): see :mod:`tacos_temporal.data.prompts`.
        system_prompt (`str`, *optional*): a system turn; default: the chat template's own.
        limit (`int`, *optional*): evaluate a seeded sample of this many items, stratified by task.
        seed (`int`, defaults to 0): seed of ``limit`` and of the ``random`` baseline.
        trust_remote_code (`bool`, defaults to `False`): only on explicit request.
        max_audio_seconds (`float`, *optional*): override the preset's audio limit.
        auto_class (`str`, *optional*): override the Auto class.
        intervention (`str`, *optional*): a training-free attention intervention, e.g.
            ``"scale:alpha=2.0,layers=20,queries=keyword+last"`` (see
            :mod:`tacos_temporal.harness.interventions`); stored in its canonical form.
        reuse (`bool`, defaults to `True`): encode each clip once and pre-fill its audio prefix once for
            all its questions, where that is exact (audio before text in the template); `False` is
            ``--no-reuse``.
        circular (`bool`, defaults to `False`): ask every item under each of its four cyclic option
            rotations (``--circular``; scored strictly and per rotation, see
            :mod:`tacos_temporal.scoring.controls`).
    """

    model: str
    view: str = AUDIO_ONLY
    mode: str = "generate"
    revision: str | None = None
    dtype: str = "auto"
    device: str = "auto"
    batch_size: int = 8
    max_new_tokens: int = 10
    prompt_template: str = DEFAULT_TEMPLATE
    system_prompt: str | None = None
    limit: int | None = None
    seed: int = DEFAULT_SEED
    trust_remote_code: bool = False
    max_audio_seconds: float | None = None
    auto_class: str | None = None
    intervention: str | None = None
    reuse: bool = True
    circular: bool = False
    extra: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        if not self.model or not str(self.model).strip():
            raise ConfigError("model must be a Hub id, a local folder, a preset name or a baseline (random, constant:A)")
        check_name("view", self.view, ALL_VIEWS)
        check_name("mode", self.mode, MODES)
        check_name("dtype", self.dtype, DTYPES)
        if self.auto_class is not None:
            check_name("auto class", self.auto_class, AUTO_CLASSES)
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        if not isinstance(self.max_new_tokens, int) or self.max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens must be a positive integer, got {self.max_new_tokens!r}")
        if self.limit is not None and (not isinstance(self.limit, int) or self.limit < 1):
            raise ConfigError(f"limit must be a positive integer, got {self.limit!r}; leave it out to run every item")
        if self.max_audio_seconds is not None and self.max_audio_seconds <= 0:
            raise ConfigError(f"max_audio_seconds must be > 0, got {self.max_audio_seconds}")
        if self.model.startswith("constant:") and self.model not in BASELINE_MODELS:
            raise unknown_name("baseline", self.model, BASELINE_MODELS)
        check_template(self.prompt_template)
        if self.model == CAPTION_ORDER and self.view not in VIEWS_WITH_CAPTION:
            raise ConfigError(
                f"the {CAPTION_ORDER} baseline reads the caption; view {self.view!r} has none: "
                f"use --view {' '.join(sorted(VIEWS_WITH_CAPTION))}"
            )
        if self.intervention is not None:
            from .interventions import parse_intervention

            canonical = parse_intervention(self.intervention)
            object.__setattr__(self, "intervention", canonical.spec() if canonical.active else None)
            if canonical.active and self.is_baseline:
                raise ConfigError(f"baseline {self.model!r} has no attention to steer; drop --intervention")

    @property
    def steering(self):
        """The :class:`~tacos_temporal.harness.interventions.InterventionConfig` of the run."""
        from .interventions import parse_intervention

        return parse_intervention(self.intervention)

    @property
    def is_baseline(self) -> bool:
        return self.model in BASELINE_MODELS

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}

    def replace(self, **changes) -> RunConfig:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, data: dict, *, source: str = "run config") -> RunConfig:
        return _from_mapping(cls, dict(data), source)

    @classmethod
    def from_file(cls, path: str | Path, **overrides) -> RunConfig:
        """A run preset (TOML with RunConfig keys), with command-line ``overrides`` on top."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise ConfigError(f"cannot read run preset {path}: {err}") from err
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_dict(data, source=f"run preset {path}")
