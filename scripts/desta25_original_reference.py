"""Reference tensors from the ORIGINAL DeSTA2.5-Audio code on the tiny random release.

Runs ``desta.DeSTA25AudioModel`` (``from_pretrained`` and ``generate`` end to end: the Whisper
encoder with the Q-former connector, Silero VAD, the transcript rule, the Llama-3.1 chat template with
``<start_audio><|AUDIO|><end_audio>`` and 64 + T placeholders, left padding, ``LlamaForCausalLM.generate``
on ``inputs_embeds``) on the folder written by ``tacos_temporal/harness/tiny_desta_release.py`` and
saves what the native port (``tacos_temporal/ports/desta25``) is tested against: the connector's audio
features, the transcripts used, input ids / attention mask / start positions, the input embeddings,
the first-step logits (top-64, a fixed probe set, logsumexp) and the greedy tokens, for each case
alone and for all cases in one left-padded batch.

Exact commands (what produced the committed fixture):

    # 1. sources: kehanlu/DeSTA2.5-Audio at 5503dfcb8c07ddc608ef705542f0f9b94cc99de8 (the ``fetch``
    #    tool gives a bare mirror; one unrelated results JSON is missing from it, so archive desta/ only)
    git --git-dir=DESTA.git archive 5503dfcb8c07ddc608ef705542f0f9b94cc99de8 desta | tar -x -C SRC
    #    the speech clip: MoonshotAI/Kimi-Audio (MIT) test_audios/qa_example.wav (first 2 s are used and
    #    stored in the fixture, so the test needs nothing outside the repository)
    # 2. the tiny release with its tokenizers (project venv: the tokenizers need transformers)
    PYTHONPATH=. .venv/bin/python -c "from tacos_temporal.harness.tiny_desta_release import *; \
        write_tokenizers(write_tiny_desta_release('RELEASE', 0))"
    # 3. the original's environment (CPU)
    python3.11 -m venv VENV
    VENV/bin/pip install torch==2.13.0                       # CPU wheel
    VENV/bin/pip install transformers==4.51.3 huggingface_hub==0.34.3 librosa==0.11.0 soundfile==0.14.0 \
        "numpy<2" safetensors==0.8.0
    VENV/bin/pip install --no-deps silero-vad==6.2.3 packaging
    #    (setup.py: transformers>=4.49.0, huggingface_hub==0.34.3; peft, lulutils and whisper_normalizer
    #    are imported only for LoRA, training and metrics, none of which runs here)
    # 4. run
    VENV/bin/python scripts/desta25_original_reference.py --src SRC --release RELEASE \
        --speech-wav KIMI/test_audios/qa_example.wav --out tests/fixtures/desta25_original

What is patched (and only this):

* Hub names: ``AutoConfig``, ``AutoModelForCausalLM``, ``WhisperForConditionalGeneration``,
  ``AutoTokenizer`` and ``AutoProcessor.from_pretrained`` map the three Hub ids to the release's
  sub-folders (``tiny_desta_release.HUB_REPOS``); the ids themselves stay in the config, so the original
  still picks its taps from ``encoder_model_id``.
* VAD: ``torch.hub.load("snakers4/silero-vad", "silero_vad")`` returns the same model and utilities from
  the PyPI package ``silero-vad`` (6.2.3; the Hub snapshot the original would fetch is not pinned).
* dtype, for the fp32 fixture only (``--dtype float32``): the LLM is loaded in fp32 instead of bf16
  (one source line, listed in ``meta_float32.json``).  ``--dtype bfloat16`` keeps the original's bf16.

The ASR branch runs on the tiny random Whisper (language detection, then up to 128 tokens) with the
language and task ids of ``tiny_desta_release.whisper_generation_config``; its transcript is random text.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DESTA_COMMIT = "5503dfcb8c07ddc608ef705542f0f9b94cc99de8"
SYSTEM = "Focus on the audio clips and instruction. Choose one of the options without any explanation."
QUESTION = 'Which sound comes first?\nThe answer could be: "beep", "noise", "speech" or "silence"'
SPEECH_SAMPLES = 32000  # the first 2 s of qa_example.wav (speech from 1.15 s)
MAX_NEW_TOKENS = 10
TOP_K = 64
# (case, clip, transcript given to the original): speech keeps a given one / speech without one runs
# Whisper ASR / no speech -> " " / no speech drops a given one
CASES = (("speech_given", "speech_2s", "what is the weather like today"),
         ("speech_asr", "speech_2s", None),
         ("beep_none", "mid_4p57s", None),
         ("long_given_dropped", "long_31p2s", "a transcript the VAD will drop"))

SOURCE_PATCHES = [
    ("desta/models/modeling_desta25.py",
     "            self.config.llm_model_id,\n            torch_dtype=torch.bfloat16,",
     "            self.config.llm_model_id,\n            torch_dtype=torch.float32,",
     ("float32",), "fp32 fixture: the LLM in fp32 instead of bf16"),
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", required=True, type=Path, help="folder holding the original's desta/ package")
    parser.add_argument("--release", required=True, type=Path, help="tiny_desta_release folder with tokenizers")
    parser.add_argument("--speech-wav", required=True, type=Path, help="Kimi-Audio's test_audios/qa_example.wav")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO))
    from tacos_temporal.harness import tiny_desta_release as tiny
    from tacos_temporal.harness.tiny_kimi_release import reference_waveforms

    work = Path(tempfile.mkdtemp(prefix="desta-orig-"))
    src = work / "src"
    shutil.copytree(args.src / "desta", src / "desta")
    applied = []
    for rel, old, new, dtypes, why in SOURCE_PATCHES:
        if args.dtype in dtypes:
            path = src / rel
            text = path.read_text()
            if text.count(old) != 1:
                raise SystemExit(f"patch does not match exactly once in {rel}")
            path.write_text(text.replace(old, new))
            applied.append({"file": rel, "old": old, "new": new, "why": why})
    release = args.release.resolve()
    release_sha = {p.relative_to(release).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                   for p in sorted(release.rglob("*")) if p.name in tiny.RELEASE_FILES}  # numpy-written files

    import numpy as np
    import soundfile as sf
    import torch
    import transformers
    from transformers import AutoConfig, AutoModelForCausalLM, AutoProcessor, AutoTokenizer, WhisperForConditionalGeneration

    torch.manual_seed(0)
    torch.set_num_threads(2)
    local = {hub_id: str(release / sub) for hub_id, sub in tiny.HUB_REPOS.items()}
    for cls in (AutoConfig, AutoModelForCausalLM, AutoProcessor, AutoTokenizer, WhisperForConditionalGeneration):
        real = cls.from_pretrained.__func__

        def redirected(klass, name, *a, _real=real, **kw):
            return _real(klass, local.get(name, name), *a, **kw)

        cls.from_pretrained = classmethod(redirected)
    real_hub_load = torch.hub.load

    def hub_load(repo_or_dir, model, *a, **kw):
        if (repo_or_dir, model) != ("snakers4/silero-vad", "silero_vad"):
            return real_hub_load(repo_or_dir, model, *a, **kw)
        import silero_vad

        return silero_vad.load_silero_vad(), (silero_vad.get_speech_timestamps, silero_vad.save_audio,
                                              silero_vad.read_audio, silero_vad.VADIterator, silero_vad.collect_chunks)

    torch.hub.load = hub_load
    sys.path.insert(0, str(src))
    from desta import DeSTA25AudioModel

    model = DeSTA25AudioModel.from_pretrained(local["DeSTA-ntu/DeSTA2.5-Audio-Llama-3.1-8B"]).eval()
    assert model.llm_model.dtype == getattr(torch, args.dtype), model.llm_model.dtype
    assert model.perception.whisper.dtype == torch.float32
    assert model.perception.connector.config.target_layer_ids == [7, 15, 23, 31]
    # the original loads the connector with strict=False: prove every connector tensor came from the file
    from safetensors.torch import load_file

    stored = load_file(str(release / "desta" / "model.safetensors"))
    state = {k: v for k, v in model.named_parameters() if k.startswith("perception.connector.")}
    assert set(state) == set(stored), set(state) ^ set(stored)
    assert all(torch.equal(state[k].detach(), stored[k]) for k in stored)

    # capture points
    seen: dict = {}
    real_prepare = model._prepare_inputs_for_llm

    def prepare(**kw):
        embeds = real_prepare(**kw)
        seen["inputs_embeds"] = embeds.detach().float().clone()
        seen["input_ids"] = kw["input_ids"].clone()
        seen["attention_mask"] = kw["attention_mask"].clone()
        seen["start_positions"] = [tuple(int(x) for x in p) for p in kw["batch_start_positions"]]
        seen["transcription_ids"] = [t.squeeze(0).tolist() for t in kw["batch_transcription_ids"]]
        return embeds

    model._prepare_inputs_for_llm = prepare
    model.perception.register_forward_hook(lambda m, a, out: seen.__setitem__("audio_features", out[0].detach().float().clone()))

    def first_logits(module, a, out):
        seen.setdefault("logits", out.logits[:, -1].detach().float().clone())

    model.llm_model.register_forward_hook(first_logits)

    speech = sf.read(str(args.speech_wav), dtype="int16")[0][:SPEECH_SAMPLES]
    clips = {"speech_2s": speech.astype(np.float32) / 32768.0, **reference_waveforms()}
    paths = {}
    for name in {c[1] for c in CASES}:
        paths[name] = work / f"{name}.wav"
        sf.write(str(paths[name]), clips[name], 16000, subtype="FLOAT")

    def messages(clip, transcript):
        return [{"role": "system", "content": SYSTEM},
                {"role": "user", "content": f"<|AUDIO|> {QUESTION}", "audios": [{"audio": str(paths[clip]), "text": transcript}]}]

    probe = tiny.logit_probe_ids()
    tensors: dict[str, np.ndarray] = {"speech_2s.samples_int16": speech.astype(np.int16)} if args.dtype == "float32" else {}

    def record(prefix, out):
        logits = seen["logits"]
        top = torch.topk(logits, TOP_K, dim=-1)
        if args.dtype == "float32":  # the bf16 fixture keeps ids, logits and tokens (size)
            tensors[prefix + "audio_features"] = seen["audio_features"].numpy().astype(np.float32)
            if prefix != "batched.":  # size: the batch's rows are the single cases' embeddings, left-padded
                tensors[prefix + "inputs_embeds"] = seen["inputs_embeds"].numpy().astype(np.float32)
        tensors[prefix + "input_ids"] = seen["input_ids"].numpy().astype(np.int64)
        tensors[prefix + "attention_mask"] = seen["attention_mask"].numpy().astype(np.int64)
        tensors[prefix + "start_positions"] = np.asarray(seen["start_positions"], dtype=np.int64)
        tensors[prefix + "logits_topk_ids"] = top.indices.numpy().astype(np.int64)
        tensors[prefix + "logits_topk_values"] = top.values.numpy().astype(np.float32)
        tensors[prefix + "logits_probe_values"] = logits[:, torch.as_tensor(probe)].numpy().astype(np.float32)
        tensors[prefix + "logits_logsumexp"] = torch.logsumexp(logits, -1).numpy().astype(np.float32)
        width = max(len(g) for g in out.generated_ids)
        tensors[prefix + "greedy_tokens"] = np.asarray([g + [-1] * (width - len(g)) for g in out.generated_ids], dtype=np.int64)
        return {"transcripts": [t for _, t in out.audios], "transcription_ids": seen["transcription_ids"], "text": out.text}

    cases = []
    for case, clip, transcript in CASES:
        seen.clear()
        out = model.generate(messages(clip, transcript), do_sample=False, max_new_tokens=MAX_NEW_TOKENS)
        info = record(f"{case}.", out)
        cases.append({"name": case, "clip": clip, "transcript_given": transcript, **info,
                      "samples": int(clips[clip].size), "sha256_float32": hashlib.sha256(clips[clip].tobytes()).hexdigest()})
        print(case, info)
    seen.clear()
    out = model.generate([messages(clip, transcript) for _, clip, transcript in CASES], do_sample=False, max_new_tokens=MAX_NEW_TOKENS)
    batched = record("batched.", out)
    print("batched", batched)

    args.out.mkdir(parents=True, exist_ok=True)
    from safetensors.numpy import save_file

    save_file(tensors, str(args.out / f"reference_{args.dtype}.safetensors"), metadata={"dtype": args.dtype})
    meta = {
        "dtype": args.dtype, "system": SYSTEM, "question": QUESTION, "max_new_tokens": MAX_NEW_TOKENS, "top_k": TOP_K,
        "do_sample": False, "cases": cases, "batched": {"order": [c[0] for c in CASES], **batched},
        "speech_clip": {"source": "MoonshotAI/Kimi-Audio test_audios/qa_example.wav (MIT)", "samples": SPEECH_SAMPLES},
        "probe_ids": "tiny_desta_release.logit_probe_ids()",
        "desta_commit": DESTA_COMMIT, "tiny_release_seed": 0, "tiny_release_sha256": release_sha, "tokenizers": "tiny_desta_release.write_tokenizers (project venv)",
        "patches": applied,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "numpy": np.__version__,
                     "silero-vad": importlib.metadata.version("silero-vad"), "python": sys.version.split()[0]},
    }
    (args.out / f"meta_{args.dtype}.json").write_text(json.dumps(meta, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
