"""Where the final prompt token looks: per-layer, per-head modality shares of attention.

The paper's modality analysis (correlational): for each layer, the share of the attention that the
**final prompt token** gives to audio tokens versus text tokens, averaged over heads and items.
Here the share is split three ways over the non-padding keys of the row:

* ``audio``: the audio-token positions (``input_ids == config.audio_token_id``);
* ``special``: ``tokenizer.all_special_ids`` that are not audio tokens -- the chat-template tokens
  (``<|im_start|>``, ``<|im_end|>``) and the audio delimiters (``<|audio_bos|>``, ``<|audio_eos|>``);
* ``text``: everything else (role names, newlines, the question and options).

The paper's "text" is ``text + special``.  Each row also records the **entropy within the audio
span** (the audio weights renormalised to sum to 1, in nats) and that entropy divided by
``log(number of audio tokens)`` (1 = uniform over the audio, 0 = one token).

Nothing of size ``T^2`` is stored: the registered attention function of
:mod:`tacos_temporal.harness.interventions` recomputes only the final prompt token's row at prefill,
``O(H * K)`` per layer (``output_attentions=True`` would keep ``layers * H * T^2`` weights and force
eager attention).  It works inside :func:`~tacos_temporal.harness.interventions.steer`: the recorded
weights are those after the intervention, so its effect is visible::

    masks = modality_masks(processor, inputs["input_ids"], inputs["attention_mask"], model.config.audio_token_id)
    with record_attention(model, masks) as recorder:
        model(**inputs)
    records.append(recorder.result())
    rows = summarise(records)             # one row per layer (head "mean"), 95 % intervals over items
    write_csv(rows, "attention.csv"); plot_layers(rows, "attention.png")

**Intervals** (:func:`summarise`): normal approximation over items, ``mean +- 1.96 * sd / sqrt(n)``
(``sd`` with ``ddof=1``; items are the independent unit, heads of one item are averaged first for
the ``"mean"`` rows).  With one item the interval is NaN.  NaN values (entropy of an item without
audio) are left out of that metric's mean and ``n``.
"""

from __future__ import annotations

import contextlib
import csv
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .interventions import InterventionError, ensure_left_padded, tokenizer_of, attached, model_sizes, parse_indices

if TYPE_CHECKING:
    import torch

#: What each record holds per item, layer and head, in the order of the CSV columns.
METRICS: tuple[str, ...] = ("audio_share", "text_share", "special_share", "audio_entropy", "audio_entropy_norm")
Z_95 = 1.959963984540054


class ModalityMasks(NamedTuple):
    """Boolean ``(batch, prompt_length)`` masks of the key positions: ``audio``, ``special``
    (special ids that are not audio) and ``valid`` (not padding).  Text is ``valid & ~audio & ~special``."""

    audio: torch.Tensor
    special: torch.Tensor
    valid: torch.Tensor


def modality_masks(processor_or_tokenizer, input_ids, attention_mask, audio_token_id: int | None) -> ModalityMasks:
    """:class:`ModalityMasks` of a left-padded batch (``special`` from ``tokenizer.all_special_ids``)."""
    import torch

    tokenizer = tokenizer_of(processor_or_tokenizer)
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    ensure_left_padded(attention_mask)
    valid = attention_mask.bool()
    audio = (input_ids == audio_token_id) & valid if audio_token_id is not None else torch.zeros_like(valid)
    special_ids = torch.tensor(sorted(set(tokenizer.all_special_ids)), dtype=input_ids.dtype, device=input_ids.device)
    special = torch.isin(input_ids, special_ids) & valid & ~audio
    return ModalityMasks(audio=audio, special=special, valid=valid)


@dataclass(frozen=True)
class AttentionRecord:
    """The final prompt token's attention of a batch (or of several, concatenated).

    Attributes:
        layers (`tuple[int, ...]`): the recorded layers (0-based), in order.
        audio_share, text_share, special_share (`np.ndarray` of shape `(items, layers, heads)`):
            attention mass on each kind of key; they sum to 1 over the non-padding keys.
        audio_entropy (`np.ndarray`, same shape): entropy (nats) of the renormalised audio weights;
            NaN for an item without audio tokens.
        audio_entropy_norm (`np.ndarray`, same shape): ``audio_entropy / log(n_audio)``; NaN below 2
            audio tokens.
        n_audio (`np.ndarray` of shape `(items,)`): audio tokens per item.
    """

    layers: tuple[int, ...]
    audio_share: np.ndarray
    text_share: np.ndarray
    special_share: np.ndarray
    audio_entropy: np.ndarray
    audio_entropy_norm: np.ndarray
    n_audio: np.ndarray

    @property
    def n_items(self) -> int:
        return int(self.audio_share.shape[0])

    @classmethod
    def concatenate(cls, records: Sequence[AttentionRecord]) -> AttentionRecord:
        """Stack records of several batches (same layers and heads) along the items."""
        records = list(records)
        if not records:
            raise InterventionError("no attention records to combine")
        layers = records[0].layers
        for record in records:
            if record.layers != layers or record.audio_share.shape[2] != records[0].audio_share.shape[2]:
                raise InterventionError("attention records of different layers or heads cannot be combined")
        return cls(
            layers=layers,
            **{name: np.concatenate([getattr(r, name) for r in records]) for name in (*METRICS, "n_audio")},
        )


class AttentionRecorder:
    """Collects the final prompt token's attention per layer during one prefill (see
    :func:`record_attention`)."""

    def __init__(self, masks: ModalityMasks, layers: Iterable[int], n_heads: int):
        self.masks = ModalityMasks(*(m.bool() for m in masks))
        self.layers = tuple(sorted(layers))
        self.n_heads = n_heads
        self.length = int(self.masks.audio.shape[1])
        self._values: dict[int, dict[str, np.ndarray]] = {}
        self._cache: dict[tuple, Any] = {}

    @property
    def complete(self) -> bool:
        return len(self._values) == len(self.layers)

    def wants(self, layer: int) -> bool:
        return layer in self.layers

    def _keys(self, kv_length: int, device):
        import torch

        key = (kv_length, str(device))
        if key not in self._cache:
            out = []
            for mask in self.masks:
                mask = mask.to(device)
                if kv_length > mask.shape[1]:
                    mask = torch.cat([mask, mask.new_zeros(mask.shape[0], kv_length - mask.shape[1])], dim=1)
                out.append(mask[:, :kv_length])
            audio, special, valid = out
            self._cache[key] = (audio, special, valid & ~audio & ~special)
        return self._cache[key]

    def add(self, layer: int, probs) -> None:
        """``probs``: ``(B, H, K)`` attention weights of the final prompt token at ``layer``."""
        import torch

        if layer in self._values:
            raise InterventionError(
                "record_attention records one prefill: a second forward pass over a new prompt ran inside the "
                "context; open one context per batch"
            )
        batch, _, kv_length = probs.shape
        if batch != self.masks.audio.shape[0]:
            raise InterventionError(f"the model runs a batch of {batch} rows but the masks have {self.masks.audio.shape[0]}")
        if kv_length < self.length:
            raise InterventionError(f"the masks cover {self.length} prompt tokens but the model got {kv_length}")
        audio, special, text = self._keys(kv_length, probs.device)
        p = probs.double()
        audio_share = (p * audio[:, None, :]).sum(-1)
        within = (p * audio[:, None, :]) / audio_share[..., None]
        entropy = -torch.special.xlogy(within, within).sum(-1)
        n_audio = audio.sum(-1).double()[:, None].expand_as(entropy)
        entropy = torch.where(n_audio > 0, entropy, torch.full_like(entropy, math.nan))
        norm = torch.where(n_audio > 1, entropy / torch.log(n_audio.clamp(min=2)), torch.full_like(entropy, math.nan))
        # kept on the device until result(): no synchronisation inside the forward pass
        self._values[layer] = {
            "audio_share": audio_share,
            "text_share": (p * text[:, None, :]).sum(-1),
            "special_share": (p * special[:, None, :]).sum(-1),
            "audio_entropy": entropy,
            "audio_entropy_norm": norm,
        }

    def after_forward(self, hook) -> None:
        if self._values and not self.complete:
            missing = sorted(set(self.layers) - set(self._values))
            raise InterventionError(f"record_attention: layers {missing} never reached the registered attention function")

    def result(self) -> AttentionRecord:
        """The record of the prefill run inside the context."""
        if not self.complete:
            raise InterventionError("record_attention: no prefill forward pass ran inside the context; run model(**inputs) in it")
        return AttentionRecord(
            layers=self.layers,
            **{name: np.stack([self._values[layer][name].cpu().numpy() for layer in self.layers], axis=1) for name in METRICS},
            n_audio=self.masks.audio.sum(-1).cpu().numpy(),
        )


@contextlib.contextmanager
def record_attention(model, masks: ModalityMasks, *, layers: str | Iterable[int] = "all") -> Iterator[AttentionRecorder]:
    """Record the final prompt token's attention on every (or the given) language-model layer during
    the first forward pass (the prefill) inside the block.

    Args:
        model: a transformers model whose language model goes through the AttentionInterface.
        masks (:class:`ModalityMasks`): from :func:`modality_masks`, for the batch that will run.
        layers (`"all"` or iterable of `int`, defaults to ``"all"``): 0-based layers to record.

    Yields:
        :class:`AttentionRecorder`: call ``.result()`` after the forward pass.

    Raises:
        InterventionError: a layer out of range, attention that cannot be reached, a second prefill
            in one context (open one context per batch), or no forward pass at all.
    """
    n_layers, n_heads = model_sizes(model)
    chosen = parse_indices(layers, "layers") if isinstance(layers, str) else tuple(sorted(set(layers)))
    chosen = tuple(range(n_layers)) if chosen == "all" else chosen
    if not chosen or chosen[-1] >= n_layers or chosen[0] < 0:
        raise InterventionError(f"layers {chosen} are out of range: the language model has {n_layers} layers (0-{n_layers - 1})")
    recorder = AttentionRecorder(masks, chosen, n_heads)
    with attached(model) as hook:
        if hook.recorder is not None:
            raise InterventionError("record_attention() contexts do not nest on one model")
        hook.recorder = recorder
        hook.plans.clear()
        try:
            yield recorder
        finally:
            hook.recorder = None
            hook.plans.clear()
    if not recorder.complete:
        raise InterventionError("record_attention: the language model never ran a prefill inside the context; run model(**inputs) in it")


# --- summaries ---------------------------------------------------------------------------------


def _interval(values: np.ndarray) -> tuple[float, float, float, int]:
    values = values[~np.isnan(values)]
    n = int(values.size)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(values.mean())
    if n < 2:
        return mean, math.nan, math.nan, n
    half = Z_95 * float(values.std(ddof=1)) / math.sqrt(n)
    return mean, mean - half, mean + half, n


def summarise(records: AttentionRecord | Iterable[AttentionRecord], *, per_head: bool = False) -> list[dict[str, Any]]:
    """One row per layer (``head="mean"``: heads averaged within each item first) and, with
    ``per_head``, one per layer and head; each metric with its 95 % interval over items.

    Columns: ``layer``, ``head``, ``n_items``, then ``<metric>``, ``<metric>_ci_low``,
    ``<metric>_ci_high`` for each of :data:`METRICS`.
    """
    record = records if isinstance(records, AttentionRecord) else AttentionRecord.concatenate(list(records))
    rows: list[dict[str, Any]] = []
    n_heads = record.audio_share.shape[2]
    for index, layer in enumerate(record.layers):
        heads: list[Any] = ["mean"] + (list(range(n_heads)) if per_head else [])
        for head in heads:
            row: dict[str, Any] = {"layer": layer, "head": head, "n_items": record.n_items}
            for name in METRICS:
                values = getattr(record, name)[:, index, :]
                if head == "mean":
                    # nanmean over heads without the all-NaN warning: NaN only when every head is NaN
                    counts = (~np.isnan(values)).sum(axis=1)
                    per_item = np.where(counts > 0, np.nansum(values, axis=1) / np.maximum(counts, 1), np.nan)
                else:
                    per_item = values[:, head]
                mean, low, high, _ = _interval(per_item.astype(float))
                row[name], row[f"{name}_ci_low"], row[f"{name}_ci_high"] = mean, low, high
            rows.append(row)
    return rows


def csv_columns() -> list[str]:
    return ["layer", "head", "n_items"] + [f"{name}{suffix}" for name in METRICS for suffix in ("", "_ci_low", "_ci_high")]


def write_csv(rows: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Write :func:`summarise` rows as CSV (floats with 6 decimals; NaN as ``nan``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=csv_columns())
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in row.items() if k in csv_columns()})
    return path


def plot_layers(rows: Sequence[dict[str, Any]], path: str | Path, *, title: str | None = None) -> Path:
    """The per-layer modality figure: audio / text / special share of the final prompt token's
    attention with 95 % bands (left), and the audio share alone on its own scale (right).  Uses the
    ``head="mean"`` rows; matplotlib's Agg canvas (no display, no global backend change)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    mean_rows = sorted((r for r in rows if r["head"] == "mean"), key=lambda r: r["layer"])
    if not mean_rows:
        raise InterventionError("plot_layers needs the head='mean' rows of summarise()")
    layers = [r["layer"] for r in mean_rows]
    figure = Figure(figsize=(10, 4), dpi=120)
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2)
    colours = {"audio_share": "tab:orange", "text_share": "tab:blue", "special_share": "tab:gray"}
    for name, colour in colours.items():
        mean = np.array([r[name] for r in mean_rows], dtype=float)
        left.plot(layers, mean, marker="o", color=colour, label=name.replace("_share", ""))
        left.fill_between(layers, [r[f"{name}_ci_low"] for r in mean_rows], [r[f"{name}_ci_high"] for r in mean_rows], color=colour, alpha=0.2)
    left.set_ylim(0, 1)
    left.set_xlabel("layer (0-based)")
    left.set_ylabel("share of the final prompt token's attention")
    left.legend(loc="best")
    left.set_title("modality share per layer (95 % CI over items)")
    audio = np.array([r["audio_share"] for r in mean_rows], dtype=float)
    right.plot(layers, audio, marker="o", color=colours["audio_share"])
    right.fill_between(layers, [r["audio_share_ci_low"] for r in mean_rows], [r["audio_share_ci_high"] for r in mean_rows], color=colours["audio_share"], alpha=0.2)
    right.set_xlabel("layer (0-based)")
    right.set_ylabel("audio share")
    right.set_title("audio share (own scale)")
    for axis in (left, right):
        axis.grid(alpha=0.3)
        if len(layers) <= 40:
            axis.set_xticks(layers)
    figure.suptitle(title or f"attention of the final prompt token, {mean_rows[0]['n_items']} items")
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


__all__ = [
    "AttentionRecord",
    "AttentionRecorder",
    "METRICS",
    "ModalityMasks",
    "modality_masks",
    "plot_layers",
    "record_attention",
    "summarise",
    "write_csv",
]
