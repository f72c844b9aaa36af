"""Model runners: what the evaluation loop calls, whatever the model is.

:class:`ModelRunner` is the interface a model plugs into.  Two implementations ship:

* :class:`HFRunner`: any transformers audio-LM (Auto classes, the processor's chat template);
* :class:`BaselineRunner`: ``random`` and ``constant:X``, scored like models.

A model that is not in transformers (Kimi-Audio, DeSTA2.5 before its port) plugs in by
subclassing :class:`ModelRunner` and passing an instance to :func:`tacos_temporal.harness.runner.evaluate`
(see eval_harness/README.md).
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError  # noqa: F401  (re-exported: harness callers import it from here)
from ..names import LETTERS
from .adapters import adapter_names, get_adapter
from .config import AUTO_CLASSES, ModelPreset, RunConfig, find_preset, missing_requirement


@dataclass
class Output:
    """What a model answered for one item.

    Args:
        text (`str`, *optional*): generated text (``generate`` mode).
        logprobs (`dict[str, float]`): log-probability of each letter as the next token after the
            prompt (``logprob`` mode; also the first generated step in ``generate`` mode).
    """

    text: str | None
    logprobs: dict[str, float] | None


class ModelRunner(abc.ABC):
    """Interface of a model for the evaluation loop (subclass it and implement the three methods).

    Attributes:
        sampling_rate (`int` or `None`): audio rate the model takes; `None` for text-only models.
        max_audio_seconds (`float` or `None`): longer clips are cut (and the cut recorded).
    """

    sampling_rate: int | None = None
    max_audio_seconds: float | None = None
    #: Whether the runner listens to the audio (baselines do not: no clip is decoded for them).
    uses_audio: bool = True

    @abc.abstractmethod
    def describe(self) -> dict[str, Any]:
        """Model id, revision, dtype, device... recorded in results and cache keys."""

    @abc.abstractmethod
    def render(self, text: str, *, with_audio: bool) -> str:
        """The exact prompt the model sees for ``text`` (chat template applied)."""

    @abc.abstractmethod
    def answer(
        self,
        rendered: list[str],
        audios: list[np.ndarray] | None,
        *,
        mode: str,
        max_new_tokens: int,
        item_ids: list[str],
        tasks: list[str] | None = None,
        intervention=None,
    ) -> list[Output]:
        """Answer a batch (``audios`` aligned with ``rendered``, or `None` for text-only views).

        ``intervention`` (an active ``InterventionConfig``) steers the language model's attention;
        ``tasks`` gives each row's task (for ``keyword`` query positions).  A runner that cannot
        steer raises for an active intervention.
        """


class BaselineRunner(ModelRunner):
    """``random`` (seeded per item) and ``constant:X``: no model, same records and scores."""

    uses_audio = False

    def __init__(self, name: str, seed: int):
        from ..scoring.baselines import baseline_letter

        self.name, self.seed, self._letter = name, seed, baseline_letter

    def describe(self) -> dict[str, Any]:
        return {"model": self.name, "revision": None, "class": "baseline", "dtype": None, "device": None, "seed": self.seed}

    def render(self, text: str, *, with_audio: bool) -> str:
        return text

    def answer(self, rendered, audios, *, mode, max_new_tokens, item_ids, tasks=None, intervention=None):
        # A baseline has no distribution over letters: it answers a letter in both modes.
        return [Output(self._letter(self.name, item_id, self.seed), None) for item_id in item_ids]


def position_ids_from_mask(attention_mask):
    """Position of every token counted over the real tokens of its row (``cumsum - 1``; padding gets 0).

    ``generate`` numbers left-padded rows this way; every forward the harness makes itself (the
    logprob branch, the shared prefix and its suffixes) passes these, so an item gets the same
    positions however much padding its batch adds (batch invariance, tested).
    """
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def output_head(model):
    """The language model's output projection (``lm_head``), also inside a wrapper such as DeSTA2.5."""
    head = model.get_output_embeddings()
    if head is None and hasattr(model, "language_model"):
        head = model.language_model.get_output_embeddings()
    if head is None:
        raise ModelError(f"{type(model).__name__} exposes no output embeddings (lm_head): the harness reads logits through it")
    return head


@contextlib.contextmanager
def last_position_head(model, letter_ids):
    """Compute the vocabulary projection at the last position only, and record the letters' log-probs
    of the first call.

    The model's forward still runs every prompt position through the layers, but its ``lm_head``
    sees only each row's last hidden state (a forward pre-hook), so no ``(batch, length, vocab)``
    logits are made: at Qwen2-Audio's 156,032-token vocabulary and ~870 prompt tokens that is 4.3 GB
    of float32 for a batch of 8 (Qwen2-Audio's forward has no ``logits_to_keep``).  ``generate`` reads
    only ``logits[:, -1]`` of every step, so its result is unchanged.  The yielded list receives one
    ``(batch, 4)`` tensor: the log-softmax of the first call's last-position logits at ``letter_ids``
    (the prompt's next-token distribution, raw, before any logits processor).
    """
    import torch

    head = output_head(model)
    first: list = []

    def last_row(module, args):
        return (args[0][:, -1:, :], *args[1:])

    def record(module, args, output):
        if not first:
            first.append(torch.log_softmax(output[:, -1, :].float(), dim=-1)[:, letter_ids])

    hooks = [head.register_forward_pre_hook(last_row), head.register_forward_hook(record)]
    try:
        yield first
    finally:
        for hook in hooks:
            hook.remove()


def _local_revision(folder: Path) -> str:
    """A fingerprint of a local model folder: config and weight files' names and sizes, hashed."""
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.is_file() and (path.suffix in {".json", ".safetensors", ".bin", ".model", ".txt", ".jinja"}):
            digest.update(path.name.encode())
            digest.update(str(path.stat().st_size).encode())
            if path.suffix == ".json":
                digest.update(path.read_bytes())
    return "local-" + digest.hexdigest()[:16]


class HFRunner(ModelRunner):
    """A transformers model: processor + Auto class + the adapter of its preset."""

    def __init__(self, cfg: RunConfig, preset: ModelPreset | None = None):
        import torch
        import transformers

        from ..ports import desta25  # noqa: F401  (registers DeSTA2.5 with the Auto classes)
        from ..ports import kimi_audio  # noqa: F401  (registers Kimi-Audio with the Auto classes)
        from . import adapter_desta25, adapter_granite, adapter_kimi, adapter_omni  # noqa: F401  (register their adapters)

        self.cfg = cfg
        self.preset = preset if preset is not None else find_preset(cfg.model)
        if self.preset is not None and not self.preset.supported:
            raise ModelError(f"{self.preset.hub_id} cannot run through transformers: {self.preset.notes}")
        if self.preset is not None and (missing := missing_requirement(self.preset)) is not None:
            raise ModelError(missing)  # before any download or weights
        if self.preset is not None and cfg.revision is None and self.preset.revision is not None and cfg.model in (self.preset.name, self.preset.hub_id):
            cfg = self.cfg = cfg.replace(revision=self.preset.revision)
        model_id = self.preset.hub_id if (self.preset is not None and cfg.model == self.preset.name) else cfg.model
        resolve = getattr(get_adapter(self.preset.adapter), "resolve", None) if self.preset is not None else None
        if resolve is not None:  # DeSTA2.5, Kimi-Audio: native ports load a converted folder (made on first use)
            model_id = resolve(model_id)
        self.model_id = model_id
        common = {"revision": cfg.revision, "trust_remote_code": cfg.trust_remote_code}
        config_error = None
        try:
            model_type = transformers.AutoConfig.from_pretrained(model_id, **common).model_type
        except (OSError, ValueError) as err:  # reported after the processor's own error, which says more
            model_type, config_error = None, err
        # Without a preset, the adapter registered under the config's model_type, if any; it may load
        # the processor itself (the Omni models' without their torchvision video processor).
        self.adapter = get_adapter(self.preset.adapter if self.preset else (model_type if model_type in adapter_names() else "default"))
        load_processor = getattr(self.adapter, "load_processor", None) or transformers.AutoProcessor.from_pretrained
        try:
            self.processor = load_processor(model_id, **common)
        except (OSError, ValueError) as err:
            raise ModelError(
                f"cannot load a processor for {model_id!r}: {err}. Check the Hub id or local folder"
                + ("" if cfg.trust_remote_code else "; models that need their own code require --trust-remote-code")
            ) from err
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        self.tokenizer.padding_side = "left"  # generation continues the last token of every row
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if config_error is not None:
            raise ModelError(f"cannot read the config of {model_id!r}: {config_error}") from config_error
        if getattr(self.processor, "chat_template", None) is None and getattr(self.tokenizer, "chat_template", None) is None:
            raise ModelError(f"{model_id} has no chat template: the harness builds prompts with the processor's chat template")
        feature_extractor = getattr(self.processor, "feature_extractor", None)
        self.sampling_rate = int(feature_extractor.sampling_rate) if feature_extractor is not None else None
        self.max_audio_seconds = cfg.max_audio_seconds or (self.preset.max_audio_seconds if self.preset else None)
        if cfg.device != "auto":
            self.device = cfg.device
        elif torch.cuda.is_available():
            # one GPU per process in a data-parallel run (accelerate launch / torchrun set LOCAL_RANK)
            self.device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0')) % torch.cuda.device_count()}"
        else:
            self.device = "cpu"
        dtype = "auto" if cfg.dtype == "auto" else getattr(torch, cfg.dtype)
        classes = [cfg.auto_class] if cfg.auto_class else ([self.preset.auto_class] if self.preset else list(AUTO_CLASSES))
        errors = []
        self.model = None
        if hasattr(self.adapter, "load_model"):  # a class no Auto class maps from the checkpoint (the Omni thinkers)
            self.model, self.auto_class = self.adapter.load_model(model_id, dtype=dtype, **common), type(self.adapter).model_class
            classes = []
        for name in classes:
            try:
                self.model = getattr(transformers, name).from_pretrained(model_id, dtype=dtype, **common)
                self.auto_class = name
                break
            except ValueError as err:  # "Unrecognized configuration class ... for this kind of AutoModel"
                errors.append(f"{name}: {str(err).splitlines()[0]}")
        if self.model is None:
            raise ModelError(f"no Auto class can load {model_id}: " + "; ".join(errors))
        self.model.to(self.device).eval()
        if hasattr(self.adapter, "bind"):  # adapters that need the model (DeSTA2.5's ASR transcript)
            self.adapter.bind(self.processor, self.model)
        self.letter_ids = self._letter_token_ids()
        if Path(model_id).is_dir():
            self.revision = _local_revision(Path(model_id))
        else:
            self.revision = getattr(self.model.config, "_commit_hash", None) or cfg.revision

    def _letter_token_ids(self) -> dict[str, int]:
        ids = {}
        for letter in LETTERS:
            tokens = self.tokenizer.encode(letter, add_special_tokens=False)
            if len(tokens) != 1:
                raise ModelError(f"the letter {letter!r} is {len(tokens)} tokens for {self.model_id}; logprob mode needs one token per letter")
            ids[letter] = tokens[0]
        return ids

    @property
    def supports_audio(self) -> bool:
        return self.sampling_rate is not None and self.audio_token_id is not None

    def describe(self) -> dict[str, Any]:
        return {
            "model": self.model_id,
            "revision": self.revision,
            "class": type(self.model).__name__,
            "auto_class": self.auto_class,
            "adapter": self.adapter.name,
            "dtype": str(self.model.dtype).replace("torch.", ""),
            "device": self.device,
            "sampling_rate": self.sampling_rate,
            "max_audio_seconds": self.max_audio_seconds,
        }

    def render(self, text: str, *, with_audio: bool) -> str:
        conversation = self.adapter.conversation(text, with_audio=with_audio, system_prompt=self.cfg.system_prompt)
        return self.adapter.render(self.processor, conversation)

    @property
    def audio_token_id(self) -> int | None:
        config = self.model.config
        return getattr(config, "audio_token_id", getattr(config, "audio_token_index", None))

    def steering_context(self, intervention, input_ids, attention_mask, tasks, *, audio=None, queries=None, cached_tokens=0):
        """The ``steer`` context for a batch (a null context without an active intervention).

        ``audio``/``queries`` give the masks directly for the shared-prefix path, whose batch is a
        cached prefix plus left-padded suffixes.
        """
        if intervention is None or not intervention.active:
            return contextlib.nullcontext()
        from .interventions import intervention_masks, steer

        if queries is None:
            masks = intervention_masks(self.processor, input_ids, attention_mask, self.audio_token_id, task_per_row=tasks, queries=intervention.queries)
            audio, queries = masks.audio, masks.queries
        if intervention.window is not None and intervention.tokens_per_second is None:
            tps = self.preset.audio_tokens_per_second if self.preset else None
            if tps is None:
                raise ModelError(f"the window of {intervention.spec()} needs tokens per second: add tps=<n> (25 for Qwen2-Audio and Audio Flamingo 3)")
            intervention = dataclasses.replace(intervention, tokens_per_second=tps)
        return steer(self.model, intervention, audio_mask=audio, query_mask=queries, cached_tokens=cached_tokens)

    def check_intervention(self, intervention) -> None:
        """Raise ``InterventionError`` now, before any inference, if ``intervention`` cannot apply."""
        from .interventions import InterventionError, model_sizes, register_attention

        if intervention is None or not intervention.active:
            return
        register_attention()
        n_layers, n_heads = model_sizes(self.model)
        if intervention.layers != "all" and intervention.layers[-1] >= n_layers:
            raise InterventionError(f"layer {intervention.layers[-1]} is out of range: {self.model_id} has {n_layers} language-model layers (0-{n_layers - 1})")
        if intervention.heads is not None and intervention.heads[-1] >= n_heads:
            raise InterventionError(f"head {intervention.heads[-1]} is out of range: {self.model_id} has {n_heads} attention heads (0-{n_heads - 1})")
        if intervention.window is not None and intervention.tokens_per_second is None and not (self.preset and self.preset.audio_tokens_per_second):
            raise InterventionError(f"the window of {intervention.spec()} needs tokens per second: add tps=<n> (25 for Qwen2-Audio and Audio Flamingo 3)")

    def encode(self, texts, audios):
        inputs = self.adapter.encode(self.processor, texts, audios, self.sampling_rate).to(self.device)
        if "input_features" in inputs and inputs["input_features"].is_floating_point():
            inputs["input_features"] = inputs["input_features"].to(self.model.dtype)
        return inputs

    def answer(self, rendered, audios, *, mode, max_new_tokens, item_ids, tasks=None, intervention=None):
        import torch

        inputs = self.encode(rendered, audios)
        letter_ids = torch.tensor([self.letter_ids[x] for x in LETTERS], device=self.device)
        steering = self.steering_context(intervention, inputs["input_ids"], inputs["attention_mask"], tasks)
        with torch.inference_mode(), steering:
            if mode == "logprob":
                with last_position_head(self.model, letter_ids) as first:
                    self.model(**inputs, position_ids=position_ids_from_mask(inputs["attention_mask"]), use_cache=False)
                return [Output(None, self._letter_dict(row)) for row in first[0]]
            return self._greedy(letter_ids, max_new_tokens, **inputs)

    def _greedy(self, letter_ids, max_new_tokens: int, **inputs) -> list[Output]:
        """Greedy decoding; the letter log-probabilities come from the first generated step (recorded
        at the output head, so no step's full logits are kept)."""
        with last_position_head(self.model, letter_ids) as first:
            sequences = self.model.generate(
                **inputs,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                num_beams=1,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        texts = self.tokenizer.batch_decode(sequences[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
        return [Output(text, self._letter_dict(row)) for text, row in zip(texts, first[0])]

    # --- shared audio prefix (encode each clip once) ---------------------------------------------

    def _prefix_end(self, text: str) -> int | None:
        """End of the audio segment in a rendered prompt: the audio token and the added tokens that
        follow it with no text between (``<|AUDIO|><|audio_eos|>``, ``<sound>``)."""
        audio_token = getattr(self.processor, "audio_token", None)
        start = text.rfind(audio_token) if audio_token else -1
        if start < 0:
            return None
        added = sorted(getattr(self.tokenizer, "added_tokens_encoder", {}), key=len, reverse=True)
        cut = start + len(audio_token)
        while True:
            token = next((t for t in added if text.startswith(t, cut)), None)
            if token is None:
                return cut
            cut += len(token)

    def split_prefix(self, rendered: list[str]) -> tuple[str, list[str]] | str:
        """Cut prompts into the prefix they share (everything up to the end of the audio) and
        per-item suffixes, or return why that is not possible.

        The cut lies right after an added token (``<|audio_eos|>``, ``<sound>``): the tokenizer splits
        text at added tokens, so prefix and suffix tokenize exactly as the whole prompt does.  The
        prefix must be the same for every prompt: a template that puts the question before the
        audio gives item-specific prefixes, and nothing can be shared.
        """
        cuts = [self._prefix_end(text) for text in rendered]
        if any(cut is None for cut in cuts):
            return "the prompt holds no audio token"
        prefixes = {text[:cut] for text, cut in zip(rendered, cuts)}
        if len(prefixes) > 1:
            return "the prompt template does not put the audio before the text (prefixes differ per item)"
        return prefixes.pop(), [text[cut:] for text, cut in zip(rendered, cuts)]

    def check_prefix_split(self, rendered: list[str], audio) -> str | None:
        """``None`` if the run's prompts share one audio prefix and the token-space split reproduces
        the processor's tokens of the whole prompt exactly for this model, else why not.

        The check runs the processor on one whole prompt with its audio and compares its token ids
        with prefix + suffix as :meth:`answer_shared` builds them.
        """
        split = self.split_prefix(rendered)
        if isinstance(split, str):
            return split
        prefix, suffixes = split
        head = self.encode([prefix], [audio])
        tokens = self.split_tokens(_unpadded(head["input_ids"][0], head["attention_mask"][0]), suffixes[:1])
        if isinstance(tokens, str):
            return tokens
        whole = self.encode([prefix + suffixes[0]], [audio])
        if tokens[0] + tokens[1][0] != _unpadded(whole["input_ids"][0], whole["attention_mask"][0]):
            return "the prefix and suffix tokens differ from the processor's tokens of the whole prompt"
        return None

    def split_tokens(self, head_ids: list[int], suffixes: list[str]) -> tuple[list[int], list[list[int]]] | str:
        """Split in token space: the prefix is the processor's tokens of the prefix text up to and
        including the last audio token; each suffix is the rest of its whole prompt's tokens.

        The whole prompt's tokens are those of the expanded prefix text (recovered by decoding
        ``head_ids``, checked to encode back to exactly ``head_ids``) followed by the suffix text,
        so text that merges across the cut (Llama 3 makes ``<end_audio>`` + blank line end in one
        ``">\n\n"`` token) is tokenized as in the whole prompt; the audio tokens are added tokens,
        which nothing merges into.  Returns ``(prefix ids, [suffix ids, ...])`` or why the split is
        not exact.
        """
        audio = [i for i, token in enumerate(head_ids) if token == self.audio_token_id]
        if not audio:
            return "the prefix holds no audio token"
        text = self.tokenizer.decode(head_ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
        if self.tokenizer(text, add_special_tokens=False)["input_ids"] != head_ids:
            return "the tokenizer does not encode its own decoded prefix back to the same tokens, so a token-space split cannot be proven exact"
        cut = audio[-1] + 1
        prefix, tails = head_ids[:cut], []
        for whole in self.tokenizer([text + suffix for suffix in suffixes], add_special_tokens=False)["input_ids"]:
            if whole[:cut] != prefix:
                return "the text after the audio changes the tokens of the audio prefix"
            tails.append(whole[cut:])
        return prefix, tails

    def answer_shared(self, groups: list[tuple[object, list[str]]], *, mode: str, max_new_tokens: int, tasks: list[str] | None = None, intervention=None) -> list[Output]:
        """Answer items grouped by clip: each clip's audio prefix is encoded and pre-filled once, then
        every item's suffix runs against the cached keys/values, all in one batch.

        ``groups`` is ``[(audio, [rendered prompt, ...]), ...]``; outputs come back flattened in the
        same order.  Equal to :meth:`answer` within float tolerance (tested).
        """
        import torch

        prefixes, suffixes, rows = [], [], []
        for index, (_, rendered) in enumerate(groups):
            split = self.split_prefix(rendered)
            if isinstance(split, str):
                raise ModelError(f"shared-prefix reuse is not possible: {split}")
            prefixes.append(split[0])
            suffixes.append(split[1])
            rows += [index] * len(rendered)
        head = self.encode(prefixes, [audio for audio, _ in groups])
        # The cut in token space: each group's prefix tokens end at its last audio token.
        heads, tails = [], []
        for ids, mask, texts in zip(head["input_ids"], head["attention_mask"], suffixes):
            tokens = self.split_tokens(_unpadded(ids, mask), texts)
            if isinstance(tokens, str):
                raise ModelError(f"shared-prefix reuse is not possible: {tokens}")
            heads.append(tokens[0])
            tails += tokens[1]
        pad = self.tokenizer.pad_token_id
        head["input_ids"], head["attention_mask"] = _left_padded(heads, pad, self.device)
        # Positions follow the attention mask (as generate() numbers left-padded rows), so the
        # suffix positions continue each row's prefix exactly.
        head_positions = position_ids_from_mask(head["attention_mask"])
        tail_ids, tail_mask = _left_padded(tails, pad, self.device)
        tail = {"input_ids": tail_ids, "attention_mask": tail_mask}
        index = torch.tensor(rows, device=self.device)
        mask = torch.cat([head["attention_mask"][index], tail["attention_mask"]], dim=1)
        letter_ids = torch.tensor([self.letter_ids[x] for x in LETTERS], device=self.device)
        steering = contextlib.nullcontext()
        if intervention is not None and intervention.active:
            # Steered query rows all lie in the suffixes (checked by the runner), so the prefix is
            # pre-filled plainly; the masks span prefix + suffix as the cache does.
            from .interventions import intervention_masks

            suffix_queries = intervention_masks(self.processor, tail["input_ids"], tail["attention_mask"], self.audio_token_id, task_per_row=tasks, queries=intervention.queries).queries
            audio = torch.cat([(head["input_ids"] == self.audio_token_id)[index] & head["attention_mask"][index].bool(), torch.zeros_like(suffix_queries)], dim=1)
            queries = torch.cat([torch.zeros_like(audio[:, : head["input_ids"].shape[1]]), suffix_queries], dim=1)
            steering = self.steering_context(intervention, None, None, tasks, audio=audio, queries=queries, cached_tokens=head["input_ids"].shape[1])
        with torch.inference_mode():
            with last_position_head(self.model, letter_ids):  # the prefix's logits are never read
                cache = self.model(**head, position_ids=head_positions, use_cache=True).cache
            cache.reorder_cache(index)  # one cache row per item, copied from its clip's row
        if hasattr(self.adapter, "forget_positions"):  # position state the model keeps per batch (the Omni thinkers)
            self.adapter.forget_positions(self.model)
        with torch.inference_mode(), steering:
            if mode == "logprob":
                positions = position_ids_from_mask(mask)[:, head["input_ids"].shape[1] :]
                with last_position_head(self.model, letter_ids) as first:
                    self.model(input_ids=tail["input_ids"], attention_mask=mask, position_ids=positions, cache=cache)
                return [Output(None, self._letter_dict(row)) for row in first[0]]
            input_ids = torch.cat([head["input_ids"][index], tail["input_ids"]], dim=1)
            return self._greedy(letter_ids, max_new_tokens, input_ids=input_ids, attention_mask=mask, cache=cache)

    @staticmethod
    def _letters(logits, letter_ids) -> dict[str, float]:
        import torch

        return HFRunner._letter_dict(torch.log_softmax(logits.float(), dim=-1)[letter_ids])

    @staticmethod
    def _letter_dict(logprobs) -> dict[str, float]:
        """``{"A": logprob, ...}`` from the four letters' log-probabilities (in ``LETTERS`` order)."""
        return {letter: round(value, 6) for letter, value in zip(LETTERS, logprobs.tolist())}


def _unpadded(ids, mask) -> list[int]:
    """The real tokens of one row (padding removed)."""
    return ids[mask.bool()].tolist()


def _left_padded(rows: list[list[int]], pad: int, device):
    """``(input_ids, attention_mask)`` tensors of token lists, padded on the left."""
    import torch

    width = max(len(row) for row in rows)
    ids = torch.tensor([[pad] * (width - len(row)) + row for row in rows], dtype=torch.long, device=device)
    mask = torch.tensor([[0] * (width - len(row)) + [1] * len(row) for row in rows], dtype=torch.long, device=device)
    return ids, mask


def load_runner(cfg: RunConfig) -> ModelRunner:
    """The runner for ``cfg.model``: a baseline, or a transformers model."""
    if cfg.is_baseline:
        from ..scoring.baselines import ROW_BASELINES

        if cfg.model in ROW_BASELINES:
            from .row_baselines import RowBaselineRunner

            return RowBaselineRunner(cfg.model, cfg.seed)
        return BaselineRunner(cfg.model, cfg.seed)
    return HFRunner(cfg)
