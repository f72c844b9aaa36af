"""Training-free attention interventions on the language model of an audio LM.

The paper edits the **pre-softmax attention scores** ``z`` from chosen query positions to the
audio-token key positions, on chosen layers and heads, and lets the softmax renormalise; no weight
changes.  Three edits are implemented (``kind``), applied only to the entries
*(selected query row) x (audio key column)* of the selected heads and layers:

==================  ============================================  ==========================================
kind                edit of an audio score ``z``                  effect
==================  ============================================  ==========================================
``upweight``        ``z + log(alpha)``                            every audio weight times ``alpha`` before
                                                                  renormalising: audio mass ``m`` becomes
                                                                  ``alpha*m / (1 + (alpha-1)*m)``; the
                                                                  distribution *within* the audio is kept
``scale``           ``alpha * z``                                 ``alpha > 1`` sharpens the audio part,
                                                                  ``alpha < 1`` smooths it; the audio mass
                                                                  moves too (the paper's Attention Scaling)
``redistribute``    ``tau*z + LSE(z_audio) - LSE(tau*z_audio)``   mass-preserving control (not in the paper):
                                                                  sharpens (``tau > 1``) or smooths
                                                                  (``tau < 1``) within the audio while the
                                                                  audio mass stays exactly the same
``none``            nothing                                       the registered function delegates to sdpa
==================  ============================================  ==========================================

``alpha`` is the temperature ``tau`` for ``redistribute``.  Masked positions (causal, padding) stay
masked: edits touch only positions the row may attend to.

**Query rows** (``queries``): ``last`` (the final prompt token), ``keyword`` (the tokens of the task
word, ``names.TASK_KEYWORDS``: "earliest" / "latest" / "longest"), ``keyword+last`` (the paper's
best), ``all`` (every non-padding prompt token).

**Cached generation.** With the KV cache the prompt is processed once (prefill: every prompt row) and
each decoding step brings one new query row.  The choice made here: at prefill the selected prompt
rows are steered; at every decoding step the new token's row is steered when ``queries`` is
``last``, ``keyword+last`` or ``all`` (the newest token is then the "last" one) and is left alone for
``keyword``.  ``prefill_only=True`` leaves every generated token alone, as ScalingVis does (it edits
the prompt's pre-fill only); results record which of the two was used (``to_dict()["prefill_only"]``),
and it matters only in ``generate`` mode (``logprob`` mode reads the pre-fill alone).  Because a steered row also changes that token's keys and values in later layers, this
is exactly what a forward pass *without* cache gives when the rows ``>= prompt length`` count as
steered for those ``queries`` -- the tests check that cached and uncached greedy decoding agree.
The audio key mask is padded with ``False`` for generated tokens, so it stays aligned with the
growing cache.  Only the dynamic cache (``generate``'s default) is supported; a static cache, beam
search or ``num_return_sequences > 1`` raise :class:`InterventionError` at their first step.

**Oracle window** (``window=(start, end)`` seconds, with ``tokens_per_second``): the audio keys are
restricted to the audio tokens whose span ``[i/tps, (i+1)/tps)`` overlaps the window, computed in
exact rational arithmetic on the decimal values (18.72 s x 25 tokens/s is token 468 exactly, not
float32's 467.99998; :func:`window_token_range`).  Choosing the
window from the reference annotation uses the answer: this is an **oracle analysis**, never a
model's score; :meth:`InterventionConfig.describe` says so and ``to_dict()`` carries ``oracle: true``.

**How it is hooked** (transformers 5.x; checked on 5.24): one function,
:func:`steered_attention_forward`, is registered with ``transformers.AttentionInterface`` under
:data:`ATTENTION_NAME`, together with a mask function (:func:`steered_attention_mask`, which is
``sdpa_mask``: without a registered mask function the attention function receives
``attention_mask=None`` and padding is silently ignored).  :func:`steer` switches **only the language
model** to it (``model.set_attn_implementation({"text_config": ATTENTION_NAME})``; the audio encoder
keeps its implementation) and restores the previous implementation on exit.  Without an active
intervention on a layer the function calls transformers' own ``sdpa_attention_forward`` (identical
logits); on a steered layer it runs that same sdpa call and then recomputes only the selected query
rows explicitly (``q @ k^T * scaling + mask``, edit, softmax in float32, ``@ v``), writing back only the
selected (row, head) outputs.  The cost is ``O(rows * H * K)`` per steered layer.

The runner's side::

    masks = intervention_masks(processor, inputs["input_ids"], inputs["attention_mask"],
                               model.config.audio_token_id, task_per_row=tasks, queries=cfg.queries)
    with steer(model, cfg, audio_mask=masks.audio, query_mask=masks.queries):
        output = model.generate(**inputs, ...)      # or model(**inputs)

Strings for the command line: :func:`parse_intervention` (``"scale:alpha=2.0,layers=20,queries=keyword+last"``).
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from fractions import Fraction
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import ConfigError, TacosTemporalError, check_name, unknown_name
from ..names import QUESTIONS, TASK_KEYWORDS, TASKS

if TYPE_CHECKING:  # torch is imported lazily: parsing a spec must not load it
    import torch

#: The name under which the attention and mask functions are registered in transformers.
ATTENTION_NAME = "tacos_temporal_steer"
KINDS: tuple[str, ...] = ("none", "upweight", "scale", "redistribute")
QUERIES: tuple[str, ...] = ("last", "keyword", "keyword+last", "all")
#: Query selections whose decoding steps are steered too (the newest token is the "last" one).
QUERIES_STEERING_DECODING: frozenset[str] = frozenset({"last", "keyword+last", "all"})
#: Separator of list items in a spec (``layers=1;3;5``): the comma already separates keys.
LIST_SEPARATOR = ";"
SPEC_KEYS: tuple[str, ...] = ("alpha", "tau", "layers", "heads", "queries", "window", "tps", "tokens_per_second", "prefill_only")


class InterventionError(TacosTemporalError):
    """An intervention cannot be applied to this model or these inputs (layer out of range,
    attention not reachable, fewer layers reached than named, masks that do not fit the batch)."""


# --- configuration ------------------------------------------------------------------------------


def _indices(value: Any, what: str) -> tuple[int, ...] | str:
    if isinstance(value, str):
        return parse_indices(value, what)
    if isinstance(value, bool):
        raise ConfigError(f"{what} must be 'all' or non-negative integers, got {value!r}")
    if isinstance(value, int):
        value = (value,)
    try:
        items = list(value)
    except TypeError:
        raise ConfigError(f"{what} must be 'all' or non-negative integers, got {value!r}") from None
    if not items:
        raise ConfigError(f"{what} is empty; name at least one index or use 'all'")
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int) or item < 0:
            raise ConfigError(f"{what} must be non-negative integers (0-based), got {item!r}")
    return tuple(sorted(set(items)))


def parse_indices(text: str, what: str = "layers") -> tuple[int, ...] | str:
    """``"20"`` -> ``(20,)``, ``"10-15"`` -> ``(10, ..., 15)`` (inclusive), ``"1;3;5"`` and mixes such
    as ``"1;4-6"``; ``"all"`` -> ``"all"``.  Indices are 0-based."""
    text = text.strip()
    if text.lower() == "all":
        return "all"
    out: list[int] = []
    for part in text.split(LIST_SEPARATOR):
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise ConfigError(
                f"cannot read {what} {text!r}: use 'all', an index (20), a range (10-15) or a "
                f"'{LIST_SEPARATOR}'-separated list (1{LIST_SEPARATOR}3{LIST_SEPARATOR}5)"
            )
        start, end = int(match.group(1)), int(match.group(2) or match.group(1))
        if end < start:
            raise ConfigError(f"{what} range {part!r} runs backwards; write {end}-{start}")
        out.extend(range(start, end + 1))
    return _indices(out, what)


def _format_indices(value: tuple[int, ...] | str) -> str:
    if value == "all":
        return "all"
    parts, run = [], [value[0], value[0]]
    for index in value[1:]:
        if index == run[1] + 1:
            run[1] = index
        else:
            parts.append(run)
            run = [index, index]
    parts.append(run)
    return LIST_SEPARATOR.join(str(a) if a == b else f"{a}-{b}" for a, b in parts)


def _number(value: float) -> str:
    return repr(float(value))


@dataclass(frozen=True)
class InterventionConfig:
    """One attention intervention: what to edit, where, and from which query rows.

    Args:
        kind (`str`, defaults to ``"none"``): ``none``, ``upweight``, ``scale`` or ``redistribute``
            (see the module docstring for the formulas).
        alpha (`float`, defaults to 1.0): strength; ``> 0``.  For ``redistribute`` it is the
            temperature ``tau`` (``> 1`` sharpens, ``< 1`` smooths).
        layers (`tuple[int, ...]` or ``"all"``, defaults to ``"all"``): 0-based language-model layers.
        heads (`tuple[int, ...]`, *optional*): 0-based query heads; `None` means every head.
        queries (`str`, defaults to ``"last"``): ``last``, ``keyword``, ``keyword+last`` or ``all``.
        window (`tuple[float, float]`, *optional*): **oracle analysis only**: restrict the audio keys
            to the tokens overlapping ``[start, end)`` seconds.  Needs ``tokens_per_second``.
        tokens_per_second (`float`, *optional*): audio tokens per second of audio in the language
            model (25 for Qwen2-Audio and Audio Flamingo 3); used by ``window`` only.
        prefill_only (`bool`, defaults to `False`): steer the prompt's pre-fill only and never a
            generated token (ScalingVis); `False` also steers each generated token's row for
            ``last``, ``keyword+last`` and ``all``.  Changes ``generate`` mode only.

    ```py
    >>> cfg = InterventionConfig("scale", alpha=2.0, layers=(20,), queries="keyword+last")
    >>> cfg.spec()
    'scale:alpha=2.0,layers=20,queries=keyword+last'
    >>> parse_intervention(cfg.spec()) == cfg
    True

    ```
    """

    kind: str = "none"
    alpha: float = 1.0
    layers: tuple[int, ...] | str = "all"
    heads: tuple[int, ...] | None = None
    queries: str = "last"
    window: tuple[float, float] | None = None
    tokens_per_second: float | None = None
    prefill_only: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        check_name("intervention kind", self.kind, KINDS)
        check_name("query selection", self.queries, QUERIES)
        try:
            alpha = float(self.alpha)
        except (TypeError, ValueError):
            raise ConfigError(f"alpha must be a number, got {self.alpha!r}") from None
        if not math.isfinite(alpha):
            raise ConfigError(f"alpha must be finite, got {self.alpha!r}")
        if self.kind in ("upweight", "scale") and alpha <= 0:
            raise ConfigError(f"alpha must be > 0 for {self.kind}, got {alpha}; use kind='none' to run without intervention")
        if self.kind == "redistribute" and alpha <= 0:
            raise ConfigError(f"redistribute uses alpha as the temperature tau, which must be > 0; got {alpha}")
        set_(self, "alpha", alpha)
        layers = _indices(self.layers, "layers")
        set_(self, "layers", layers)
        heads = None if self.heads is None or self.heads == "all" else _indices(self.heads, "heads")
        set_(self, "heads", heads)
        if self.window is not None:
            try:
                start, end = (float(x) for x in self.window)
            except (TypeError, ValueError):
                raise ConfigError(f"window must be (start, end) in seconds, got {self.window!r}") from None
            if not (math.isfinite(start) and math.isfinite(end) and 0 <= start < end):
                raise ConfigError(f"window must satisfy 0 <= start < end (seconds), got {self.window!r}")
            set_(self, "window", (start, end))
        if self.tokens_per_second is not None:
            tps = float(self.tokens_per_second)
            if not (math.isfinite(tps) and tps > 0):
                raise ConfigError(f"tokens_per_second must be > 0, got {self.tokens_per_second!r}")
            set_(self, "tokens_per_second", tps)
        if not isinstance(self.prefill_only, bool):
            raise ConfigError(f"prefill_only must be true or false, got {self.prefill_only!r}")

    @property
    def active(self) -> bool:
        """Whether this config edits anything (``kind != "none"``)."""
        return self.kind != "none"

    @property
    def oracle(self) -> bool:
        """Whether the config uses the reference time window (an oracle analysis, not a score)."""
        return self.window is not None

    @property
    def steers_decoding(self) -> bool:
        """Whether each new token's query row is steered during cached decoding."""
        return self.queries in QUERIES_STEERING_DECODING and not self.prefill_only

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready and stable: goes into results and cache keys.  ``none`` is ``{"kind": "none"}``."""
        if not self.active:
            return {"kind": "none"}
        return {
            "kind": self.kind,
            "alpha": self.alpha,
            "layers": "all" if self.layers == "all" else list(self.layers),
            "heads": None if self.heads is None else list(self.heads),
            "queries": self.queries,
            "window": None if self.window is None else list(self.window),
            "tokens_per_second": self.tokens_per_second,
            "prefill_only": self.prefill_only,
            "oracle": self.oracle,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InterventionConfig:
        """The inverse of :meth:`to_dict` (also takes TOML tables; an unknown key is an error)."""
        data = dict(data)
        data.pop("oracle", None)
        names = [f.name for f in fields(cls)]
        for key in data:
            if key not in names:
                raise unknown_name("intervention key", key, names)
        if isinstance(data.get("window"), list):
            data["window"] = tuple(data["window"])
        return cls(**data)

    def spec(self) -> str:
        """The canonical command-line string; ``parse_intervention(cfg.spec()) == cfg``."""
        if not self.active:
            return "none"
        parts = [f"alpha={_number(self.alpha)}", f"layers={_format_indices(self.layers)}"]
        if self.heads is not None:
            parts.append(f"heads={_format_indices(self.heads)}")
        parts.append(f"queries={self.queries}")
        if self.window is not None:
            parts.append(f"window={_number(self.window[0])}-{_number(self.window[1])}")
        if self.tokens_per_second is not None:
            parts.append(f"tps={_number(self.tokens_per_second)}")
        if self.prefill_only:
            parts.append("prefill_only=true")
        return f"{self.kind}:" + ",".join(parts)

    def describe(self) -> str:
        """One line for logs, reports and plot titles."""
        if not self.active:
            return "no intervention"
        what = {
            "upweight": f"attention upweighting (z + log alpha, alpha={_number(self.alpha)})",
            "scale": f"attention scaling (alpha * z, alpha={_number(self.alpha)})",
            "redistribute": f"mass-preserving redistribution (tau={_number(self.alpha)})",
        }[self.kind]
        layers = "all layers" if self.layers == "all" else f"layer{'s' if len(self.layers) > 1 else ''} {_format_indices(self.layers)}"
        heads = "all heads" if self.heads is None else f"heads {_format_indices(self.heads)}"
        text = f"{what} on {layers}, {heads}, from the {self.queries} query rows to the audio keys"
        if self.queries in QUERIES_STEERING_DECODING:
            text += ", pre-fill only (generated tokens unsteered, as ScalingVis)" if self.prefill_only else ", also on generated tokens"
        if self.window is not None:
            tps = "?" if self.tokens_per_second is None else _number(self.tokens_per_second)
            text += (
                f" [ORACLE analysis: audio keys restricted to {_number(self.window[0])}-{_number(self.window[1])} s "
                f"at {tps} tokens/s, chosen from the reference annotation; not a model score]"
            )
        return text


def parse_intervention(spec: str | InterventionConfig | None) -> InterventionConfig:
    """Read ``KIND[:key=value,...]`` into an :class:`InterventionConfig`.

    Keys: ``alpha`` (``tau`` is the same key, natural for ``redistribute``), ``layers`` and ``heads``
    (``all``, ``20``, ``10-15`` inclusive, ``1;3;5``: list items are separated by ``;`` because ``,``
    separates keys), ``queries`` (``last``, ``keyword``, ``keyword+last``, ``all``), ``window``
    (``START-END`` seconds, oracle analysis) and ``tps`` / ``tokens_per_second``.

    ```py
    >>> parse_intervention("scale:alpha=2.0,layers=20,queries=keyword+last").layers
    (20,)
    >>> parse_intervention("upweight:alpha=3,layers=1;4-6,heads=0").layers
    (1, 4, 5, 6)
    >>> parse_intervention("none").active
    False

    ```
    """
    if spec is None:
        return InterventionConfig()
    if isinstance(spec, InterventionConfig):
        return spec
    text = str(spec).strip()
    kind, _, rest = text.partition(":")
    kind = kind.strip().lower()
    check_name("intervention kind", kind, KINDS)
    values: dict[str, Any] = {"kind": kind}
    if rest.strip():
        for part in rest.split(","):
            key, sep, value = part.partition("=")
            key, value = key.strip().lower(), value.strip()
            if not sep or not value:
                raise ConfigError(f"cannot read {part.strip()!r} in intervention {text!r}: write key=value (e.g. alpha=2.0)")
            if key not in SPEC_KEYS:
                raise unknown_name("intervention key", key, SPEC_KEYS)
            field = {"tau": "alpha", "tps": "tokens_per_second"}.get(key, key)
            if field in values:
                raise ConfigError(f"intervention {text!r} sets {field} twice")
            if field in ("alpha", "tokens_per_second"):
                try:
                    values[field] = float(value)
                except ValueError:
                    raise ConfigError(f"{key} must be a number in intervention {text!r}, got {value!r}") from None
            elif field in ("layers", "heads"):
                values[field] = parse_indices(value, field)
            elif field == "prefill_only":
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ConfigError(f"prefill_only must be true or false in intervention {text!r}, got {value!r}")
                values[field] = value.lower() in ("true", "1", "yes")
            elif field == "window":
                match = re.fullmatch(r"\s*([0-9.]+)\s*-\s*([0-9.]+)\s*", value)
                if not match:
                    raise ConfigError(f"window must be START-END in seconds (e.g. window=2.5-7), got {value!r}")
                try:
                    values[field] = (float(match.group(1)), float(match.group(2)))
                except ValueError:
                    raise ConfigError(f"window must be START-END in seconds (e.g. window=2.5-7), got {value!r}") from None
            else:
                values[field] = value
    return InterventionConfig(**values)


# --- masks --------------------------------------------------------------------------------------


class InterventionMasks(NamedTuple):
    """Per-row boolean masks over the prompt tokens of a batch, shape ``(batch, prompt_length)``.

    Args:
        audio (`torch.BoolTensor`): the audio-token key positions (``input_ids == audio_token_id``).
        queries (`torch.BoolTensor`): the query rows to steer (padding excluded).
    """

    audio: torch.Tensor
    queries: torch.Tensor


def tokenizer_of(processor_or_tokenizer):
    return getattr(processor_or_tokenizer, "tokenizer", processor_or_tokenizer)


def ensure_left_padded(attention_mask) -> None:
    if attention_mask is not None and attention_mask.shape[1] and not bool(attention_mask[:, -1].bool().all()):
        raise InterventionError(
            "the batch is right-padded: the last column must be a real token of every row. "
            "Set tokenizer.padding_side = 'left' before encoding (generation needs it too)"
        )


def keyword_mask(processor_or_tokenizer, input_ids, attention_mask, keywords: Sequence[str], questions: Sequence[str] | None = None):
    """``(batch, length)`` mask of the tokens that spell ``keywords[row]`` (the last whole-word,
    case-insensitive occurrence in the row -- the question follows any caption; any occurrence if
    no whole word is found).

    With ``questions``, the keyword is matched only inside the last occurrence of ``questions[row]``
    (the task's question, ``names.QUESTIONS``; whitespace-insensitive), so an option such as
    "Latest alarm" or a caption word is never taken for the task word.

    Tokens are decoded one by one and their character spans matched, so a keyword split into
    several tokens (``ear`` + ``liest``) or preceded by a space is found whatever the tokenizer.

    Raises:
        InterventionError: a row does not contain its keyword.
    """
    import torch

    tokenizer = tokenizer_of(processor_or_tokenizer)
    if len(keywords) != input_ids.shape[0]:
        raise InterventionError(f"{len(keywords)} keywords for a batch of {input_ids.shape[0]} rows")
    ids = input_ids.tolist()
    valid = attention_mask.bool().tolist() if attention_mask is not None else [[True] * len(r) for r in ids]
    unique = sorted({t for row in ids for t in row})
    pieces = dict(zip(unique, tokenizer.batch_decode([[t] for t in unique])))  # one decode per distinct id
    out = torch.zeros(input_ids.shape, dtype=torch.bool)
    for row, (row_ids, row_valid, keyword) in enumerate(zip(ids, valid, keywords)):
        starts, text = [], []
        position = 0
        for token, ok in zip(row_ids, row_valid):
            piece = pieces[token] if ok else ""
            starts.append(position)
            text.append(piece)
            position += len(piece)
        joined = "".join(text)
        lo, hi = 0, len(joined)
        if questions is not None:
            spans = list(re.finditer(r"\s*".join(map(re.escape, questions[row].split())), joined, flags=re.IGNORECASE))
            if not spans:
                raise InterventionError(
                    f"row {row}: the task's question {questions[row]!r} does not occur in the prompt; queries='keyword' "
                    "steers the keyword inside the question only"
                )
            lo, hi = spans[-1].span()
        matches = list(re.finditer(rf"(?<![A-Za-z]){re.escape(keyword)}(?![A-Za-z])", joined[lo:hi], flags=re.IGNORECASE))
        if not matches:  # tokenizers whose single-token decode drops the leading space ("starts" + "earliest")
            matches = list(re.finditer(re.escape(keyword), joined[lo:hi], flags=re.IGNORECASE))
        if not matches:
            raise InterventionError(
                f"row {row}: the keyword {keyword!r} does not occur in the prompt; queries='keyword' needs the "
                "task's question in the prompt (names.QUESTIONS)"
            )
        begin, end = (lo + x for x in matches[-1].span())
        for column, (start, piece) in enumerate(zip(starts, text)):
            if piece and start < end and start + len(piece) > begin:
                out[row, column] = True
    return out.to(input_ids.device)


def intervention_masks(
    processor_or_tokenizer,
    input_ids,
    attention_mask,
    audio_token_id: int | None,
    task_per_row: Sequence[str] | None = None,
    queries: str = "last",
) -> InterventionMasks:
    """The audio key mask and the query-row mask of a left-padded batch, for :func:`steer`.

    Args:
        processor_or_tokenizer: the processor (its ``tokenizer`` is used) or a tokenizer.
        input_ids (`torch.LongTensor` of shape `(batch, length)`): the ids the model gets (audio
            placeholders already expanded by the processor).
        attention_mask (`torch.Tensor` of shape `(batch, length)`): 1 for real tokens, 0 for padding.
        audio_token_id (`int`): ``model.config.audio_token_id``; `None` for text-only models (no
            audio keys: the intervention then changes nothing).
        task_per_row (`Sequence[str]`, *optional*): each row's task (``names.TASKS``); needed by the
            ``keyword`` selections.
        queries (`str`, defaults to ``"last"``): the selection (``InterventionConfig.queries``).

    Returns:
        :class:`InterventionMasks`: ``audio`` and ``queries``, boolean, on ``input_ids.device``.
    """
    import torch

    check_name("query selection", queries, QUERIES)
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    if attention_mask.shape != input_ids.shape:
        raise InterventionError(f"attention_mask {tuple(attention_mask.shape)} does not match input_ids {tuple(input_ids.shape)}")
    ensure_left_padded(attention_mask)
    valid = attention_mask.bool()
    audio = (input_ids == audio_token_id) & valid if audio_token_id is not None else torch.zeros_like(valid)
    selected = torch.zeros_like(valid)
    if queries == "all":
        selected = valid.clone()
    if queries in ("last", "keyword+last"):
        selected[:, -1] = True
    if queries in ("keyword", "keyword+last"):
        if task_per_row is None or len(task_per_row) != input_ids.shape[0]:
            raise InterventionError(f"queries={queries!r} needs task_per_row with one task per row ({input_ids.shape[0]})")
        words = [TASK_KEYWORDS[check_name("task", task, TASKS)] for task in task_per_row]
        questions = [QUESTIONS[task] for task in task_per_row]
        selected |= keyword_mask(processor_or_tokenizer, input_ids, attention_mask, words, questions).to(selected.device)
    return InterventionMasks(audio=audio, queries=selected & valid)


def window_mask(audio_mask, window, tokens_per_second: float):
    """Keep the audio tokens whose time span ``[i/tps, (i+1)/tps)`` overlaps the window (seconds);
    ``i`` counts the audio tokens of each row from 0.  Oracle analysis only (see the module doc).

    ``window`` is one ``(start, end)`` for every row, or one per row (``None`` keeps that row's audio
    as is) -- per-item windows, e.g. the answer event's interval, go through :func:`steer`'s
    ``audio_mask``.
    """
    import torch

    rows = audio_mask.shape[0]
    if len(window) == 2 and all(isinstance(x, (int, float)) for x in window):
        window = [tuple(window)] * rows
    if len(window) != rows:
        raise InterventionError(f"{len(window)} windows for a batch of {rows} rows")
    ranges = [(0, audio_mask.shape[1]) if w is None else window_token_range(w[0], w[1], tokens_per_second) for w in window]
    first = torch.tensor([[lo] for lo, _ in ranges], device=audio_mask.device)
    stop = torch.tensor([[hi] for _, hi in ranges], device=audio_mask.device)
    index = audio_mask.long().cumsum(dim=1) - 1
    return audio_mask & (index >= first) & (index < stop)


def _exact(value) -> Fraction:
    """A number as the decimal it is written as: ``18.72`` is 1872/100, not the nearest binary float
    (``Fraction(str(x))``; times on the benchmark's 0.01 s grid and rates such as 12.5 are exact)."""
    return Fraction(str(value)) if isinstance(value, float) else Fraction(value)


def window_token_range(start, end, tokens_per_second) -> tuple[int, int]:
    """``(first, stop)``: the audio-token indices ``first <= i < stop`` whose span
    ``[i/tps, (i+1)/tps)`` overlaps ``[start, end)`` seconds, computed exactly.

    ``i`` overlaps when ``i + 1 > start * tps`` and ``i < end * tps``: ``first = floor(start * tps)``
    and ``stop = ceil(end * tps)``.  With 25 tokens/s, ``[18.72, 20)`` gives ``(468, 500)``: 18.72 s
    starts token 468 exactly (in float32, 18.72 * 25 = 467.99998 and took token 467 too).

    >>> window_token_range(18.72, 20.0, 25)
    (468, 500)
    >>> window_token_range(0.01, 0.03, 12.5)
    (0, 1)
    """
    s, e, tps = _exact(start), _exact(end), _exact(tokens_per_second)
    return math.floor(s * tps), math.ceil(e * tps)


# --- the registered functions -------------------------------------------------------------------


def steered_attention_mask(*args, **kwargs):
    """The mask function registered under :data:`ATTENTION_NAME`: transformers' ``sdpa_mask``
    (boolean, ``True`` = attend; `None` when ``is_causal`` can replace it), so padding reaches the
    attention function exactly as it reaches sdpa."""
    from transformers.masking_utils import sdpa_mask

    return sdpa_mask(*args, **kwargs)


_REGISTERED = False


def register_attention() -> str:
    """Register :func:`steered_attention_forward` and its mask function (idempotent); returns the name."""
    global _REGISTERED
    if not _REGISTERED:
        from transformers import AttentionInterface
        from transformers.masking_utils import AttentionMaskInterface

        AttentionInterface.register(ATTENTION_NAME, steered_attention_forward)
        AttentionMaskInterface.register(ATTENTION_NAME, steered_attention_mask)
        _REGISTERED = True
    return ATTENTION_NAME


#: Open hooks, keyed by ``id`` of the language model's config (the ``config`` every attention module holds).
_HOOKS: dict[int, _Hook] = {}


def steered_attention_forward(module, query, key, value, attention_mask, dropout: float = 0.0, scaling: float | None = None, **kwargs):
    """The attention function of :data:`ATTENTION_NAME` (signature of transformers'
    ``sdpa_attention_forward``): ``query (B, H, Q, D)``, ``key``/``value`` ``(B, H_kv, K, D)`` after
    RoPE and the cache update; returns ``(output (B, Q, H, D), None)``."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    hook = _HOOKS.get(id(getattr(module, "config", None)))
    if hook is None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs)
    layer = getattr(module, "layer_idx", None)
    if layer is None:
        raise InterventionError(f"{type(module).__name__} has no layer_idx: cannot tell which layer to steer")
    hook.seen.add(layer)
    steering, recorder = hook.steering, hook.recorder
    steer_here = steering is not None and steering.selects_layer(layer)
    record_here = recorder is not None and recorder.wants(layer)
    if not (steer_here or record_here):
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs)
    if dropout and module.training:
        raise InterventionError("interventions are for inference: call model.eval() (attention dropout is active)")
    output, _ = sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs)
    offset = hook.advance(layer, query.shape[2], key.shape[2])
    _explicit_rows(
        hook, layer, output, query, key, value, attention_mask,
        scaling=query.shape[-1] ** -0.5 if scaling is None else scaling,
        offset=offset,
        steering=steering if steer_here else None,
        recorder=recorder if record_here and offset == 0 else None,
        sliding_window=kwargs.get("sliding_window"),
    )  # fmt: skip
    return output, None


def _allowed_keys(attention_mask, rows, offset: int, kv_length: int, batch: int, sliding_window, dtype):
    """Boolean ``(B, 1, R, K)``: which keys each recomputed row may attend to, plus the additive
    float mask (or `None`) to add to its scores."""
    import torch

    device = rows.device
    if attention_mask is None:  # sdpa would use is_causal: rebuild the causal pattern of these rows
        positions = rows + offset
        keys = torch.arange(kv_length, device=device)
        allowed = keys[None, :] <= positions[:, None]
        if sliding_window is not None:
            allowed &= keys[None, :] > positions[:, None] - sliding_window
        return allowed[None, None].expand(batch, 1, -1, -1), None
    mask = attention_mask if attention_mask.shape[2] == 1 else attention_mask[:, :, rows, :]
    if mask.dtype == torch.bool:
        return mask.expand(batch, -1, rows.shape[0], -1)[:, :1], None
    additive = mask.to(dtype)
    return (additive > torch.finfo(additive.dtype).min / 2).expand(batch, -1, rows.shape[0], -1)[:, :1], additive


def _row_plan(hook, offset: int, q_length: int, batch: int, device, steering, recorder):
    """Which query rows to recompute, worked out on the CPU from the masks and cached per call shape
    (no device synchronisation): ``(rows, steered (B, R) or None, index of the recorded row or None)``."""
    import torch

    key = (offset, q_length, batch, str(device), steering is not None, recorder is not None)
    plan = hook.plans.get(key)
    if plan is None:
        steered = steering.rows(offset, q_length, batch) if steering is not None else None  # (B, Q) on the CPU
        needed = steered.any(0) if steered is not None else torch.zeros(q_length, dtype=torch.bool)
        if recorder is not None:
            needed[recorder.length - 1] = True
        rows = needed.nonzero()[:, 0]
        index = int((rows == recorder.length - 1).nonzero()[0, 0]) if recorder is not None else None
        plan = (
            rows.to(device),
            steered[:, rows].to(device) if steered is not None else None,
            index,
        )
        hook.plans[key] = plan
    return plan


def _explicit_rows(hook, layer, output, query, key, value, attention_mask, *, scaling, offset, steering, recorder, sliding_window):
    import torch

    batch, heads, q_length, head_dim = query.shape
    kv_heads, kv_length = key.shape[1], key.shape[2]
    groups = heads // kv_heads
    device = query.device
    rows, steered, index = _row_plan(hook, offset, q_length, batch, device, steering, recorder)
    r = rows.shape[0]
    if r == 0:
        return
    q = query[:, :, rows, :].float().reshape(batch, kv_heads, groups, r, head_dim)
    scores = torch.einsum("bgnrd,bgkd->bgnrk", q, key.float()).reshape(batch, heads, r, kv_length) * scaling
    allowed, additive = _allowed_keys(attention_mask, rows, offset, kv_length, batch, sliding_window, scores.dtype)
    if additive is not None:
        scores = scores + additive
    head_mask = steering.head_mask_on(device) if steering is not None else None
    if steering is not None:
        audio_keys = steering.audio_keys(kv_length, device)  # (B, K)
        edit = steered[:, None, :, None] & audio_keys[:, None, None, :] & allowed
        if head_mask is not None:
            edit = edit & head_mask[None, :, None, None]
        scores = steering.edit(scores, edit)
    scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
    probs = torch.softmax(scores, dim=-1)
    if steering is not None:
        v = value.float().reshape(batch, kv_heads, 1, kv_length, value.shape[-1])
        new = torch.einsum("bgnrk,bgxkd->bgnrd", probs.reshape(batch, kv_heads, groups, r, kv_length), v)
        new = new.reshape(batch, heads, r, value.shape[-1]).transpose(1, 2).to(output.dtype)  # (B, R, H, D)
        write = steered[:, :, None].expand(batch, r, heads)
        if head_mask is not None:
            write = write & head_mask[None, None, :]
        output[:, rows] = torch.where(write[..., None], new, output[:, rows])
    if recorder is not None:
        recorder.add(layer, probs[:, :, index, :])


class Steering:
    """The active intervention of a :func:`steer` context (yielded by it).

    Attributes:
        config (:class:`InterventionConfig`): what is applied.
        forwards (`int`): language-model forward passes run inside the context so far.
        layers_reached (`set[int]`): layers whose attention went through the registered function.
    """

    def __init__(self, cfg: InterventionConfig, n_layers: int, n_heads: int, audio_mask, query_mask):
        import torch

        self.config = cfg
        self.layers = frozenset(range(n_layers) if cfg.layers == "all" else cfg.layers) if cfg.active else frozenset()
        self.head_mask = None
        if cfg.heads is not None:
            self.head_mask = torch.zeros(n_heads, dtype=torch.bool)
            self.head_mask[list(cfg.heads)] = True
        self.audio = audio_mask
        self.queries = query_mask
        self.queries_cpu = query_mask.cpu() if query_mask is not None else None
        self.length = audio_mask.shape[1] if audio_mask is not None else None
        self.forwards = 0
        self.layers_reached: set[int] = set()
        self._log_alpha = math.log(cfg.alpha) if cfg.alpha > 0 else None
        self._cache: dict[tuple, Any] = {}

    def selects_layer(self, layer: int) -> bool:
        return layer in self.layers

    def _check_batch(self, batch: int) -> None:
        if batch != self.audio.shape[0]:
            raise InterventionError(
                f"the model runs a batch of {batch} rows but the masks have {self.audio.shape[0]}: "
                "build the masks from the same input_ids; beam search and num_return_sequences > 1 are not supported"
            )

    def rows(self, offset: int, q_length: int, batch: int):
        """``(B, Q)`` on the CPU: which query rows of this call are steered (prompt rows from the
        mask, later rows -- generated tokens -- when ``config.steers_decoding``)."""
        import torch

        self._check_batch(batch)
        if offset == 0 and q_length < self.length:
            raise InterventionError(
                f"the masks cover {self.length} prompt tokens but the model got {q_length}: build them from the same input_ids"
            )
        prompt = self.queries_cpu[:, offset:min(self.length, offset + q_length)]
        extra = q_length - prompt.shape[1]
        generated = torch.full((self.queries_cpu.shape[0], extra), self.config.steers_decoding, dtype=torch.bool)
        return torch.cat([prompt, generated], dim=1)

    def head_mask_on(self, device):
        if self.head_mask is None:
            return None
        key = ("heads", str(device))
        if key not in self._cache:
            self._cache[key] = self.head_mask.to(device)
        return self._cache[key]

    def audio_keys(self, kv_length: int, device):
        """``(B, K)``: audio key positions, padded with ``False`` for tokens generated after the prompt."""
        import torch

        key = ("audio", kv_length, str(device))
        if key not in self._cache:
            audio = self.audio.to(device)
            if kv_length > audio.shape[1]:
                audio = torch.cat([audio, audio.new_zeros(audio.shape[0], kv_length - audio.shape[1])], dim=1)
            self._cache[key] = audio[:, :kv_length]
        return self._cache[key]

    def edit(self, scores, edit):
        """Apply the configured edit to ``scores`` (float32, ``(B, H, R, K)``) where ``edit`` is true."""
        import torch

        kind, alpha = self.config.kind, self.config.alpha
        if kind == "upweight":
            return torch.where(edit, scores + self._log_alpha, scores)
        if kind == "scale":
            return torch.where(edit, scores * alpha, scores)
        if kind == "redistribute":
            audio_scores = scores.masked_fill(~edit, float("-inf"))
            shift = torch.logsumexp(audio_scores, dim=-1, keepdim=True) - torch.logsumexp(audio_scores * alpha, dim=-1, keepdim=True)
            return torch.where(edit, scores * alpha + shift, scores)
        return scores

    def after_forward(self, hook: _Hook) -> None:
        self.forwards += 1
        self.layers_reached |= hook.seen
        missing = sorted(self.layers - hook.seen)
        if missing:
            raise InterventionError(
                f"steer({self.config.spec()}): the language model ran but layers {missing} never reached the "
                f"registered attention function (reached: {sorted(hook.seen) or 'none'}); the model skips those "
                "layers or computes their attention without transformers' AttentionInterface"
            )


class _Hook:
    """Holds what the registered function needs for one model while a context is open."""

    def __init__(self, model, text_config, decoder):
        self.model, self.text_config, self.decoder = model, text_config, decoder
        self.steering: Steering | None = None
        self.recorder = None
        self.users = 0
        self.previous = None
        self.handles: list = []
        self.seen: set[int] = set()
        self.forwards = 0
        self.next_position: dict[int, int] = {}
        #: row plans per call shape (see _row_plan); cleared whenever the steering or recorder changes
        self.plans: dict[tuple, tuple] = {}

    def before(self, module, args) -> None:
        self.seen = set()

    def after(self, module, args, output) -> None:
        self.forwards += 1
        if not self.seen:
            raise InterventionError(
                f"{type(self.model).__name__}: the language model ran but never called the registered attention "
                f"function {ATTENTION_NAME!r}; its attention does not go through transformers' AttentionInterface "
                "(or its attention implementation was changed inside the context)"
            )
        if self.steering is not None:
            self.steering.after_forward(self)
        if self.recorder is not None:
            self.recorder.after_forward(self)

    def advance(self, layer: int, q_length: int, kv_length: int) -> int:
        """Position of the first query row of this call.  Dynamic cache: keys = past + new rows."""
        offset = kv_length - q_length
        if offset < 0:
            raise InterventionError(f"layer {layer}: {q_length} query rows but only {kv_length} keys")
        if offset and self.next_position.get(layer) != offset:
            raise InterventionError(
                f"layer {layer}: {kv_length} keys after {self.next_position.get(layer, 0)} cached tokens and {q_length} new "
                "ones; steer supports generate's dynamic cache only (not a static or offloaded cache, not chunked prefill)"
            )
        self.next_position[layer] = kv_length
        return offset


def _text_config_path(config, text_config) -> list[str] | None:
    """Sub-config keys from ``config`` down to ``text_config`` (``[]`` when they are the same)."""
    if config is text_config:
        return []
    for key in getattr(config, "sub_configs", {}) or {}:
        sub = getattr(config, key, None)
        if sub is not None:
            path = _text_config_path(sub, text_config)
            if path is not None:
                return [key, *path]
    return None


def _implementation_request(path: list[str], name: str):
    request: Any = name
    for key in reversed(path):
        request = {key: request}
    return request


def _language_model(model):
    """``(text_config, path, decoder)`` of a transformers model, or an :class:`InterventionError`."""
    from transformers import PreTrainedModel

    if not isinstance(model, PreTrainedModel):
        raise InterventionError(
            f"{type(model).__name__} is not a transformers PreTrainedModel: interventions reach the language model "
            "through transformers' AttentionInterface; load the model with transformers"
        )
    getter = getattr(model.config, "get_text_config", None)
    text_config = getter(decoder=True) if getter is not None else model.config
    path = _text_config_path(model.config, text_config)
    decoder = next((m for m in model.modules() if isinstance(m, PreTrainedModel) and m.config is text_config), None)
    if path is None or decoder is None:
        raise InterventionError(
            f"{type(model).__name__}: cannot find the module of its language-model config ({type(text_config).__name__}); "
            "its attention cannot be reached"
        )
    return text_config, path, decoder


def _set_implementation(model, path: list[str], name: str) -> None:
    model.set_attn_implementation(_implementation_request(path, name))


@contextlib.contextmanager
def attached(model) -> Iterator[_Hook]:
    """Switch the language model of ``model`` to the registered function for the duration (shared by
    :func:`steer` and :func:`tacos_temporal.harness.attention.record_attention`; nesting is fine)."""
    text_config, path, decoder = _language_model(model)
    register_attention()
    hook = _HOOKS.get(id(text_config))
    if hook is None:
        hook = _Hook(model, text_config, decoder)
        hook.previous = text_config._attn_implementation
        _set_implementation(model, path, ATTENTION_NAME)
        if text_config._attn_implementation != ATTENTION_NAME:
            if hook.previous is not None and text_config._attn_implementation != hook.previous:
                _set_implementation(model, path, hook.previous)
            raise InterventionError(
                f"{type(model).__name__}: its language model ({type(decoder).__name__}) does not let transformers set its "
                f"attention implementation (it stays {text_config._attn_implementation!r}): its attention does not go "
                "through the AttentionInterface, so it cannot be steered"
            )
        hook.handles = [decoder.register_forward_pre_hook(hook.before), decoder.register_forward_hook(hook.after)]
        _HOOKS[id(text_config)] = hook
    hook.users += 1
    try:
        yield hook
    finally:
        hook.users -= 1
        if hook.users == 0:
            for handle in hook.handles:
                handle.remove()
            del _HOOKS[id(text_config)]
            if hook.previous is not None:
                _set_implementation(model, path, hook.previous)


def model_sizes(model) -> tuple[int, int]:
    """``(layers, attention heads)`` of the language model of ``model``."""
    text_config, _, _ = _language_model(model)
    n_layers = getattr(text_config, "num_hidden_layers", None)
    n_heads = getattr(text_config, "num_attention_heads", None)
    if not isinstance(n_layers, int) or not isinstance(n_heads, int):
        raise InterventionError(f"{type(text_config).__name__} has no num_hidden_layers / num_attention_heads")
    return n_layers, n_heads


def _check_mask(name: str, mask, like=None):
    import torch

    if not isinstance(mask, torch.Tensor) or mask.ndim != 2:
        raise InterventionError(f"{name} must be a (batch, prompt_length) tensor, got {type(mask).__name__}{getattr(mask, 'shape', '')}")
    if like is not None and mask.shape != like.shape:
        raise InterventionError(f"{name} has shape {tuple(mask.shape)} but audio_mask has {tuple(like.shape)}")
    return mask.bool()


@contextlib.contextmanager
def steer(model, cfg: InterventionConfig | str, *, audio_mask=None, query_mask=None, cached_tokens: int = 0) -> Iterator[Steering]:
    """Apply ``cfg`` to every forward pass of ``model`` inside the ``with`` block.

    Everything that can be checked before inference is checked on entry (layers and heads in range,
    masks present and shaped alike, the window's tokens per second, the language model's attention
    reachable); the first forward pass then checks that every named layer reached the registered
    function.  The previous attention implementation is restored in ``finally``.

    Args:
        model: a transformers model (an audio LM or a text LM).
        cfg (:class:`InterventionConfig` or `str`): the intervention (a string goes through
            :func:`parse_intervention`).
        audio_mask (`torch.BoolTensor` of shape `(batch, prompt_length)`): audio key positions;
            :func:`intervention_masks` makes it from ``input_ids`` (for a model fed with embeddings,
            pass the positions of the audio embeddings).
        query_mask (`torch.BoolTensor` of shape `(batch, prompt_length)`): the query rows to steer.
        cached_tokens (`int`, defaults to 0): tokens already in the dynamic cache the first forward
            pass continues (a prefix pre-filled outside the context, whose query rows are not
            steered); the masks still span the whole prompt, prefix included.

    Yields:
        :class:`Steering`: counts forward passes and layers reached.

    Raises:
        InterventionError: see above; ``ConfigError`` for an invalid ``cfg``.
    """
    cfg = parse_intervention(cfg)
    n_layers, n_heads = model_sizes(model)
    if cfg.layers != "all" and cfg.layers[-1] >= n_layers:
        raise InterventionError(f"layer {cfg.layers[-1]} is out of range: the language model has {n_layers} layers (0-{n_layers - 1})")
    if cfg.heads is not None and cfg.heads[-1] >= n_heads:
        raise InterventionError(f"head {cfg.heads[-1]} is out of range: the language model has {n_heads} attention heads (0-{n_heads - 1})")
    if cfg.active:
        if audio_mask is None or query_mask is None:
            raise InterventionError(f"steer({cfg.spec()}) needs audio_mask and query_mask (see intervention_masks)")
        audio_mask = _check_mask("audio_mask", audio_mask)
        query_mask = _check_mask("query_mask", query_mask, like=audio_mask)
        if cfg.window is not None:
            if cfg.tokens_per_second is None:
                raise InterventionError("window needs tokens_per_second (25 for Qwen2-Audio and Audio Flamingo 3)")
            audio_mask = window_mask(audio_mask, cfg.window, cfg.tokens_per_second)
    steering = Steering(cfg, n_layers, n_heads, audio_mask, query_mask)
    with attached(model) as hook:
        if hook.steering is not None:
            raise InterventionError("steer() contexts do not nest on one model: combine the settings in one InterventionConfig")
        hook.steering = steering
        hook.plans.clear()
        if cached_tokens:
            hook.next_position.update({layer: cached_tokens for layer in range(n_layers)})
        try:
            yield steering
        finally:
            hook.steering = None
            hook.plans.clear()
            if cached_tokens:
                hook.next_position.clear()
        if steering.forwards == 0:
            raise InterventionError(
                f"steer({cfg.spec()}): the language model never ran inside the context, so the intervention was never "
                "applied; run model(...) or model.generate(...) inside the with-block"
            )


__all__ = [
    "ATTENTION_NAME",
    "InterventionConfig",
    "InterventionError",
    "InterventionMasks",
    "KINDS",
    "QUERIES",
    "Steering",
    "intervention_masks",
    "keyword_mask",
    "parse_indices",
    "parse_intervention",
    "register_attention",
    "steer",
    "steered_attention_forward",
    "steered_attention_mask",
    "window_mask",
]
