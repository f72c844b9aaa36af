"""Reference tensors from the ORIGINAL Kimi-Audio code on the tiny random release.

Runs MoonshotAI's ``kimia_infer`` (``KimiAudio.generate`` end to end: ``KimiAPromptManager`` with the
GLM-4-Voice ``WhisperVQEncoder`` tokenizer and Kimi's own Whisper-large-v3 copy, the Hub model code
``MoonshotKimiaForCausalLM`` loaded with ``trust_remote_code``, Kimi's sampler and decode loop) on the
tiny random folder written by ``tacos_temporal/harness/tiny_kimi_release.py``, and saves what the
native port is tested against (``tests/harness/test_kimi_audio_parity.py`` or the port's own test):
GLM codes (unbatched and batched), Whisper features, both token streams, the input embeddings, the
first-step text logits (top-64 and a fixed probe set) and the greedy text tokens.

It runs in the original's OWN environment, never in the project's venv (the original needs
transformers 4.x).  Exact commands (what produced the committed fixture):

    # 1. sources (the ``fetch`` tool gives bare git mirrors; any clone at these commits works)
    #    MoonshotAI/Kimi-Audio at 349251e1d8f4f98d58fda59246381faecd7392e0 (upstream "Merge pull request
    #    #108", 2025-06-03; read from the fork danjuan-77/Kimi-Audio, whose history holds it), with its
    #    submodule kimia_infer/models/tokenizer/glm4 = THUDM/GLM-4-Voice at eb00ce9142e8d98b0ed7c57cd47e0d6d5dce9a1a
    git --git-dir=KIMI.git archive 349251e1d8f4f98d58fda59246381faecd7392e0 kimia_infer finetune_codes | tar -x -C SRC
    rmdir SRC/kimia_infer/models/tokenizer/glm4
    git --git-dir=GLM.git archive eb00ce9142e8d98b0ed7c57cd47e0d6d5dce9a1a speech_tokenizer \
        | tar -x -C SRC/kimia_infer/models/tokenizer --one-top-level=glm4
    # 2. the Hub remote code (moonshotai/Kimi-Audio-7B-Instruct), in HUBCODE/:
    #    modeling_moonshot_kimia.py      = SRC/finetune_codes/modeling_kimia.py (the same model code, as
    #                                      the upstream repository ships it for fine-tuning)
    #    configuration_moonshot_kimia.py = SRC/finetune_codes/configuration_moonshot_kimia.py
    #    tokenization_kimia.py           = the Hub file; where it cannot be downloaded, a public copy of
    #                                      Kimi's TikTokenTokenizer (this fixture used one: see meta.json)
    #    With Hub access use the three files of the release instead.
    # 3. the environment (CPU)
    python3.11 -m venv VENV
    VENV/bin/pip install torch==2.13.0                       # CPU wheel
    VENV/bin/pip install transformers==4.51.3 tiktoken==0.14.0 librosa==0.11.0 loguru==0.7.3 \
        soundfile==0.14.0 "numpy<2" safetensors==0.8.0
    VENV/bin/pip install --no-deps dashscope==1.20.0         # only its qwen.tiktoken file is read
    #    transformers: Kimi-Audio pins no version; 4.51.3 was current when it was released (2025-04).
    #    GLM-4-Voice's own pin, 4.44.1, cannot run the Hub model code: that code indexes cos/sin by
    #    position_ids and then passes position_ids to Qwen2's apply_rotary_pos_emb, which on 4.44
    #    indexes again (IndexError); from 4.45 on the argument is ignored.  torchaudio has no wheel for
    #    torch 2.13 and is stubbed (see below).
    # 4. run
    VENV/bin/python scripts/kimi_audio_original_reference.py --src SRC --hub-code HUBCODE \
        --out tests/fixtures/kimi_audio_original

What is patched (and only this; every source patch is an exact string replacement that must match
exactly once, applied to a scratch copy):

* flash-attn: the package (CUDA-only) is replaced by a module whose ``flash_attn_func`` has
  flash-attn 2's signature and computes the same attention with ``torch.nn.functional.
  scaled_dot_product_attention`` (grouped KV heads repeated as flash-attn maps them; the causal mask
  aligned bottom-right, as flash-attn >= 2.1 does when there are fewer queries than keys).  The varlen
  and padding helpers raise if called (the text path never calls them: no padding mask, batch 1).
  ``transformers.utils.is_flash_attn_2_available`` answers True only while the Hub model code is
  imported (its import guard raises otherwise).
* CUDA: ``torch.cuda.current_device`` returns ``"cpu"``.
* Hub names and paths: ``Glm4Tokenizer("THUDM/glm-4-voice-tokenizer")`` reads the tiny folder's
  ``glm-4-voice-tokenizer/``; ``kimia_infer.models.detokenizer`` (the audio-output detokenizer,
  loaded only with ``load_detokenizer=True``, never here) and ``torchaudio`` (imported by
  ``glm4_utils`` for resampling non-16-kHz audio and loading files; the script passes 16-kHz arrays)
  are stub modules that raise if used.
* dtype, for the fp32 fixture only (``--dtype float32``, the default): the original runs the LLM and
  its Whisper in bf16 (``torch_dtype=torch.bfloat16``, ``whisper_model.bfloat16()``, the mel cast to
  bf16) and, because flash-attn rejects fp32, casts fp32 q/k/v to fp16 around the attention call.  The
  fp32 run replaces those four bf16 casts with fp32 and drops that fp16 round trip (it never runs in the
  original's own bf16 run).  ``--dtype bfloat16`` applies none of these and gives the bf16 fixture.
  The GLM tokenizer runs in fp32 in both (the original's default dtype on transformers 4.x).

The original's text path is batch size 1 only (``KimiAContent.to_tensor`` builds one row; the
sampler's repetition penalty and the embedding merge's segment loop assume one row), so prompts are
run one by one; the GLM tokenizer's own batching (``extract_speech_token`` over several clips, padded
to the longest) is recorded as the batched case.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import types
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KIMI_COMMIT = "349251e1d8f4f98d58fda59246381faecd7392e0"
GLM_COMMIT = "eb00ce9142e8d98b0ed7c57cd47e0d6d5dce9a1a"
QUESTION = "Which sound comes first in the clip, the beep or the noise? Answer A or B."
HUB_CODE_FROM = {
    "modeling_moonshot_kimia.py": f"MoonshotAI/Kimi-Audio@{KIMI_COMMIT}:finetune_codes/modeling_kimia.py",
    "configuration_moonshot_kimia.py": f"MoonshotAI/Kimi-Audio@{KIMI_COMMIT}:finetune_codes/configuration_moonshot_kimia.py",
}
MAX_NEW_TOKENS = 10
TOP_K = 64

# (file relative to the scratch source tree or "HUB:<file>", old, new, dtypes it applies to, reason)
SOURCE_PATCHES = [
    ("kimia_infer/api/prompt_manager.py",
     'Glm4Tokenizer("THUDM/glm-4-voice-tokenizer")',
     'Glm4Tokenizer(os.path.join(model_path, "glm-4-voice-tokenizer"))',
     ("float32", "bfloat16"), "Hub name -> the tiny folder's copy of THUDM/glm-4-voice-tokenizer"),
    ("kimia_infer/api/kimia.py",
     "cache_path, torch_dtype=torch.bfloat16, trust_remote_code=True",
     "cache_path, torch_dtype=torch.float32, trust_remote_code=True",
     ("float32",), "fp32 fixture: LLM in fp32 instead of bf16"),
    ("kimia_infer/api/prompt_manager.py",
     "self.whisper_model = self.whisper_model.bfloat16()",
     "self.whisper_model = self.whisper_model.float()",
     ("float32",), "fp32 fixture: Whisper in fp32 instead of bf16"),
    ("kimia_infer/models/tokenizer/whisper_Lv3/whisper.py",
     "mel.unsqueeze(0).to(torch.cuda.current_device()).to(torch.bfloat16),\n                    return_dict=True,\n                ).last_hidden_state",
     "mel.unsqueeze(0).to(torch.cuda.current_device()).to(torch.float32),\n                    return_dict=True,\n                ).last_hidden_state",
     ("float32",), "fp32 fixture: the mel in fp32 instead of bf16 (the default path, kimia_whisper_clip_silence=False)"),
    ("HUB:modeling_moonshot_kimia.py",
     "        if input_dtype == torch.float32:\n            logger.warning_once(",
     "        if False:  # fp32 fixture: no fp16 round trip (flash-attn's dtype limit; the stand-in takes fp32)\n            logger.warning_once(",
     ("float32",), "fp32 fixture: keep q/k/v in fp32 (the fp16 cast exists because flash-attn rejects fp32)"),
    ("HUB:modeling_moonshot_kimia.py",
     "        if input_dtype == torch.float32:\n            attn_output = attn_output.to(torch.float32)",
     "        if False:\n            attn_output = attn_output.to(torch.float32)",
     ("float32",), "fp32 fixture: the matching cast back"),
]


def _apply_patches(root: Path, hub_dir: Path, dtype: str) -> list[dict]:
    applied = []
    for rel, old, new, dtypes, why in SOURCE_PATCHES:
        if dtype not in dtypes:
            continue
        path = hub_dir / rel[4:] if rel.startswith("HUB:") else root / rel
        text = path.read_text()
        if text.count(old) != 1:
            raise SystemExit(f"patch does not match exactly once in {rel}: {old!r}")
        path.write_text(text.replace(old, new))
        applied.append({"file": rel, "old": old, "new": new, "why": why})
    return applied


# ---- the flash-attn stand-in ------------------------------------------------------------------------
def _flash_attn_module():
    import torch
    import torch.nn.functional as F

    def flash_attn_func(q, k, v, dropout_p=0.0, softmax_scale=None, causal=False, window_size=(-1, -1),
                        softcap=0.0, alibi_slopes=None, deterministic=False, return_attn_probs=False):
        """flash-attn 2 ``flash_attn_func`` on sdpa: q (B, Sq, H, D), k/v (B, Sk, Hk, D) -> (B, Sq, H, D)."""
        if dropout_p or tuple(window_size) != (-1, -1) or softcap or alibi_slopes is not None or return_attn_probs:
            raise NotImplementedError("the sdpa stand-in covers dropout 0, no window/softcap/alibi, no probs")
        heads, kv_heads = q.shape[2], k.shape[2]
        if kv_heads != heads:  # flash-attn: query head h reads KV head h // (heads / kv_heads)
            k = k.repeat_interleave(heads // kv_heads, dim=2)
            v = v.repeat_interleave(heads // kv_heads, dim=2)
        mask = None
        if causal:  # bottom-right aligned (flash-attn >= 2.1)
            sq, sk = q.shape[1], k.shape[1]
            mask = torch.arange(sk)[None, :] <= torch.arange(sq)[:, None] + (sk - sq)
        out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                             attn_mask=mask, scale=softmax_scale)
        return out.transpose(1, 2)

    def _unused(*args, **kwargs):
        raise NotImplementedError("not on the text path of the tiny reference run")

    flash = _stub("flash_attn")
    flash.__version__ = "2.6.3"
    flash.flash_attn_func = flash_attn_func
    for name in ("flash_attn_varlen_func", "flash_attn_qkvpacked_func", "flash_attn_varlen_qkvpacked_func"):
        setattr(flash, name, _unused)
    padding = _stub("flash_attn.bert_padding")
    padding.index_first_axis = padding.pad_input = padding.unpad_input = _unused
    flash.bert_padding = padding
    return flash, padding


def _stub(name: str, **attrs):
    """A stand-in module (with a spec, so importlib's package probes treat it as not installed)."""
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)

    def _missing(*args, **kwargs):
        raise NotImplementedError(f"{name} is a stub in the reference run")

    for attr in attrs.get("raising", ()):
        setattr(module, attr, _missing)
    return module


def _check_loaded(model, release: Path) -> None:
    """Every parameter the original built holds the tiny release's value (nothing silently random)."""
    import torch
    from safetensors.torch import load_file

    def same(module, files, rename, skip=()):
        stored = {}
        for f in files:
            stored.update(load_file(str(f)))
        state = module.state_dict()
        missing = [k for k in state if k not in skip and rename(k) not in stored]
        if missing:
            raise SystemExit(f"not in the tiny release: {missing[:5]}")
        for k, v in state.items():
            if k not in skip and not torch.equal(v, stored[rename(k)].to(v.dtype)):
                raise SystemExit(f"{k} differs from the tiny release")

    same(model.alm, sorted(release.glob("model-*.safetensors")), lambda k: k)
    same(model.prompt_manager.whisper_model.speech_encoder, [release / "whisper-large-v3" / "model.safetensors"],
         lambda k: "model.encoder." + k)
    same(model.prompt_manager.audio_tokenizer.whisper_model, [release / "glm-4-voice-tokenizer" / "model.safetensors"],
         lambda k: k)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", required=True, type=Path, help="kimia_infer tree with the glm4 submodule (see above)")
    parser.add_argument("--hub-code", required=True, type=Path, help="folder with the three Hub remote-code files")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32")
    parser.add_argument("--tokenizer-source", default="", help="recorded in meta.json: where tokenization_kimia.py came from")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO))  # tacos_temporal's package and harness __init__ import nothing heavy
    from tacos_temporal.harness import tiny_kimi_release as tiny
    work = Path(tempfile.mkdtemp(prefix="kimi-orig-"))
    os.environ.update(HF_HOME=str(work / "hf"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")

    # scratch copies: the source tree and the tiny release with the Hub remote code beside its weights
    src = work / "src"
    shutil.copytree(args.src / "kimia_infer", src / "kimia_infer")
    release = tiny.write_tiny_kimi_release(work / "Kimi-Audio-7B-Instruct", seed=0)
    release_sha = {p.relative_to(release).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                   for p in sorted(release.rglob("*")) if p.is_file()}
    for name in ("modeling_moonshot_kimia.py", "configuration_moonshot_kimia.py", "tokenization_kimia.py"):
        shutil.copy(args.hub_code / name, release / name)
    hub_sha = {name: hashlib.sha256((args.hub_code / name).read_bytes()).hexdigest() for name in
               ("modeling_moonshot_kimia.py", "configuration_moonshot_kimia.py", "tokenization_kimia.py")}
    applied = _apply_patches(src, release, args.dtype)

    import numpy as np
    import soundfile as sf
    import torch
    import transformers

    torch.manual_seed(0)
    torch.set_num_threads(2)
    torch.cuda.current_device = lambda: "cpu"
    flash, padding = _flash_attn_module()
    sys.modules.update({"flash_attn": flash, "flash_attn.bert_padding": padding})
    sys.modules["torchaudio"] = _stub("torchaudio", raising=("load",))
    sys.modules["torchaudio"].transforms = types.SimpleNamespace(Resample=None)
    sys.modules["kimia_infer.models.detokenizer"] = _stub("kimia_infer.models.detokenizer", raising=("get_audio_detokenizer",))
    sys.path.insert(0, str(src))

    # the Hub code's import guard: flash-attn "available" only while the model code is imported
    from transformers import AutoModelForCausalLM
    real_from_pretrained = AutoModelForCausalLM.from_pretrained.__func__

    def from_pretrained(cls, *a, **kw):
        real = transformers.utils.is_flash_attn_2_available
        transformers.utils.is_flash_attn_2_available = lambda: True
        try:
            return real_from_pretrained(cls, *a, **kw)
        finally:
            transformers.utils.is_flash_attn_2_available = real

    AutoModelForCausalLM.from_pretrained = classmethod(from_pretrained)

    from kimia_infer.api.kimia import KimiAudio
    from kimia_infer.models.tokenizer.glm4_utils import extract_speech_token

    model = KimiAudio(model_path=str(release), load_detokenizer=False)
    pm = model.prompt_manager
    offset = model.kimia_token_offset
    _check_loaded(model, release)
    expect_dtype = getattr(torch, args.dtype)
    assert model.alm.dtype == expect_dtype, model.alm.dtype
    assert next(pm.whisper_model.parameters()).dtype == expect_dtype
    assert next(pm.audio_tokenizer.parameters()).dtype == torch.float32

    # capture points: the first decoder layer's input (the merged embeddings), the first forward's text
    # logits, the decode loop's raw text tokens and the prompt's two streams
    seen: dict = {}

    def embeddings_hook(module, hook_args):
        seen.setdefault("embeddings", hook_args[0].detach().float().clone())

    hook = model.alm.model.layers[0].register_forward_pre_hook(embeddings_hook)
    real_forward = model.alm.forward

    def forward(*a, **kw):
        out = real_forward(*a, **kw)
        seen.setdefault("text_logits", out[1][0, -1].detach().float().clone())  # kimia.py: audio_logits, text_logits, pkv
        return out

    model.alm.forward = forward
    real_loop = model._generate_loop

    def loop(*a, **kw):
        audio_tokens, text_tokens = real_loop(*a, **kw)
        seen["text_tokens"] = list(text_tokens)
        return audio_tokens, text_tokens

    model._generate_loop = loop
    real_get_prompt = pm.get_prompt

    def get_prompt(*a, **kw):
        content = real_get_prompt(*a, **kw)
        seen["prompt"] = content
        return content

    pm.get_prompt = get_prompt

    waves = tiny.reference_waveforms()
    tensors: dict[str, np.ndarray] = {}
    cases = []
    probe_ids = tiny.logit_probe_ids()
    for name, wave in waves.items():
        path = work / f"{name}.wav"
        sf.write(str(path), wave, 16000, subtype="FLOAT")
        assert np.array_equal(__import__("librosa").load(str(path), sr=16000)[0], wave)
        codes = np.asarray(pm._tokenize_audio(str(path)), dtype=np.int64) - offset
        features = pm.extract_whisper_feat(str(path)).float().numpy()[0]
        seen.clear()
        chats = [{"role": "user", "message_type": "text", "content": QUESTION},
                 {"role": "user", "message_type": "audio", "content": str(path)}]
        _, text = model.generate(chats, output_type="text", text_temperature=0.0, max_new_tokens=MAX_NEW_TOKENS)
        prompt = seen["prompt"]
        logits = seen["text_logits"]
        top = torch.topk(logits, TOP_K)
        p = f"{name}."
        tensors[p + "glm_codes"] = codes
        if args.dtype == "float32":  # the bf16 fixture keeps codes, ids, logits and tokens (size)
            tensors[p + "whisper_features"] = features.astype(np.float32)
            tensors[p + "inputs_embeds"] = seen["embeddings"][0].numpy().astype(np.float32)
        tensors[p + "audio_input_ids"] = np.asarray(prompt.audio_token_ids, dtype=np.int64)
        tensors[p + "text_input_ids"] = np.asarray(prompt.text_token_ids, dtype=np.int64)
        tensors[p + "is_continuous_mask"] = np.asarray(prompt.is_continuous_mask, dtype=np.int64)
        tensors[p + "logits_topk_ids"] = top.indices.numpy().astype(np.int64)
        tensors[p + "logits_topk_values"] = top.values.numpy().astype(np.float32)
        tensors[p + "logits_probe_values"] = logits[torch.as_tensor(probe_ids)].numpy().astype(np.float32)
        tensors[p + "logits_logsumexp"] = np.asarray([torch.logsumexp(logits, 0).item()], dtype=np.float32)
        tensors[p + "greedy_text_tokens"] = np.asarray(seen["text_tokens"], dtype=np.int64)
        cases.append({"name": name, "samples": int(wave.size), "sha256_float32": hashlib.sha256(wave.tobytes()).hexdigest(),
                      "n_codes": int(codes.size), "prompt_length": len(prompt.audio_token_ids), "decoded_text": text})
        print(f"{name}: {wave.size} samples, {codes.size} codes, prompt {len(prompt.audio_token_ids)}, tokens {seen['text_tokens']}")
    hook.remove()

    # the GLM tokenizer's own batching: all clips in one padded batch
    batched = extract_speech_token(pm.audio_tokenizer.whisper_model, pm.audio_tokenizer.feature_extractor,
                                   [(torch.from_numpy(w)[None], 16000) for w in waves.values()])
    for name, codes in zip(waves, batched):
        tensors[f"{name}.glm_codes_batched"] = np.asarray(codes, dtype=np.int64)

    args.out.mkdir(parents=True, exist_ok=True)
    from safetensors.numpy import save_file

    save_file(tensors, str(args.out / f"reference_{args.dtype}.safetensors"), metadata={"dtype": args.dtype})
    meta = {
        "dtype": args.dtype, "question": QUESTION, "max_new_tokens": MAX_NEW_TOKENS, "top_k": TOP_K,
        "text_temperature": 0.0, "cases": cases, "probe_ids": "tiny_kimi_release.logit_probe_ids()",
        "kimi_audio_commit": KIMI_COMMIT, "glm_4_voice_commit": GLM_COMMIT, "hub_code_sha256": hub_sha,
        "tiny_release_seed": 0, "tiny_release_sha256": release_sha,
        "hub_code_from": HUB_CODE_FROM, "tokenizer_source": args.tokenizer_source, "patches": applied,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "numpy": np.__version__,
                     "tiktoken": importlib.metadata.version("tiktoken"), "librosa": importlib.metadata.version("librosa"),
                     "python": sys.version.split()[0]},
    }
    (args.out / f"meta_{args.dtype}.json").write_text(json.dumps(meta, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
