"""Compare the port with tensors saved from the ORIGINAL ``kimia_infer`` code (``verify-kimi``).

The reference is what ``scripts/kimi_audio_original_reference.py`` writes (run in the original's own
transformers 4.x environment, on the tiny release for the test fixture
``tests/fixtures/kimi_audio_original/``, or on the real release with Hub access and a GPU):
``reference_{dtype}.safetensors`` (per case ``<name>.glm_codes``, ``.glm_codes_batched``,
``.whisper_features``, ``.inputs_embeds`` (fp32 only), ``.audio_input_ids``, ``.text_input_ids``,
``.is_continuous_mask``, ``.logits_topk_ids`` / ``_values``, ``.logits_probe_values``,
``.logits_logsumexp``, ``.greedy_text_tokens``) and ``meta_{dtype}.json`` (question, cases, budget).

:func:`verify` rebuilds each case with the port (Evalkit's prompt: the question, then the audio) and
reports the agreement: the two token streams, GLM code agreement (per clip and batched), the largest
absolute differences of Whisper features, input embeddings and first-step text logits, and how many
greedy tokens agree.  The decode loop runs with the original ``KimiAudio.generate`` defaults the
script used (no repetition penalty, greedy).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ...errors import ModelError

CASE_KEYS = ("glm_codes", "audio_input_ids", "text_input_ids", "is_continuous_mask", "logits_topk_ids", "logits_topk_values",
             "logits_probe_values", "logits_logsumexp", "greedy_text_tokens")


def _max_abs(a, b) -> float | str:
    import torch

    a, b = torch.as_tensor(a).float().reshape(-1), torch.as_tensor(b).float().reshape(-1)
    return float((a - b).abs().max()) if a.shape == b.shape else f"shape {tuple(a.shape)} != {tuple(b.shape)}"


def _agreement(ours, theirs) -> float:
    ours, theirs = list(ours), list(theirs)
    if len(ours) != len(theirs):
        return 0.0
    return sum(a == b for a, b in zip(ours, theirs)) / max(len(theirs), 1)


def read_reference(reference_dir: str | Path, dtype: str = "float32") -> tuple[dict, dict]:
    """``(meta, tensors)`` of a reference folder; a clear error when files or keys are missing."""
    from safetensors.numpy import load_file

    folder = Path(reference_dir)
    try:
        meta = json.loads((folder / f"meta_{dtype}.json").read_text())
        tensors = load_file(str(folder / f"reference_{dtype}.safetensors"))
    except (OSError, ValueError) as err:
        raise ModelError(f"cannot read the {dtype} reference in {folder}: {err}. Make it with scripts/kimi_audio_original_reference.py") from err
    missing = [f"{c['name']}.{k}" for c in meta["cases"] for k in CASE_KEYS if f"{c['name']}.{k}" not in tensors]
    if missing:
        raise ModelError(f"{folder}: reference tensors missing: {missing[:6]}")
    return meta, tensors


def verify(model_dir, reference_dir, waveforms: dict, *, dtype: str = "float32", device: str = "auto", model=None, processor=None) -> dict:
    """Per case: stream equality, GLM code agreement, max-abs differences, greedy token agreement.

    Args:
        model_dir: a folder written by ``convert-kimi`` (from the release the reference was made on).
        reference_dir: the folder with ``reference_{dtype}.safetensors`` and ``meta_{dtype}.json``.
        waveforms (`dict[str, np.ndarray]`): the clips by case name (their sha256 is checked against the meta).
        dtype (`str`): ``float32`` (all tensors compared) or ``bfloat16`` (codes, ids, logits, tokens).
    """
    import numpy as np
    import torch
    from transformers import AutoModelForCausalLM, AutoProcessor

    from . import KimiAudioConfig  # noqa: F401  (registers the Auto classes)

    meta, ref = read_reference(reference_dir, dtype)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
    processor = processor or AutoProcessor.from_pretrained(model_dir)
    if model is None:
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=getattr(torch, dtype)).to(device).eval()
    penalty = model.config.text_repetition_penalty
    model.config.text_repetition_penalty = 1.0  # KimiAudio.generate's default, which the reference used
    audio_keys = ("whisper_input_features", "glm_input_features", "glm_attention_mask", "audio_chunk_rows", "audio_chunk_lengths")
    report = {"dtype": dtype, "cases": {}}
    try:
        for case in meta["cases"]:
            name = case["name"]
            wave = np.asarray(waveforms[name], dtype=np.float32)
            if hashlib.sha256(wave.tobytes()).hexdigest() != case["sha256_float32"]:
                raise ModelError(f"waveform {name!r} is not the one the reference was made from (sha256 differs)")
            conversation = [{"role": "user", "content": [{"type": "text", "text": meta["question"]}, {"type": "audio"}]}]
            prompt = processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
            batch = processor(text=[prompt], audio=[wave]).to(device)
            p = f"{name}."
            with torch.inference_mode():
                audio_ids, continuous, features = model.audio_inputs(batch["input_ids"], batch["attention_mask"], **{k: batch[k] for k in audio_keys})
                streams = model.dual_streams(batch["input_ids"], audio_ids)
                embeds = model.dual_stream_embeds(*streams, continuous, features)
                # the audio front ends run once: generate starts from these embeddings (its first step
                # is the model's forward on them; test_kimi_audio checks forward(**batch) gives the same)
                generated = model.generate(input_ids=batch["input_ids"], inputs_embeds=embeds, attention_mask=batch["attention_mask"],
                                           max_new_tokens=int(meta["max_new_tokens"]), do_sample=False, output_logits=True, return_dict_in_generate=True)
                logits = generated.logits[0][0].float().cpu()
                out = generated.sequences[0, -len(generated.logits):].tolist()
            eos = model.config.kimia_text_eos
            ours = out[: out.index(eos)] if eos in out else out
            theirs = ref[p + "greedy_text_tokens"].tolist()
            offset = model.config.kimia_token_offset
            codes = (audio_ids[0][continuous[0]] - offset).cpu()
            top_ids = torch.as_tensor(ref[p + "logits_topk_ids"])
            row = {
                "audio_stream_equal": audio_ids[0].tolist() == ref[p + "audio_input_ids"].tolist(),
                "text_stream_equal": streams[1][0].tolist() == ref[p + "text_input_ids"].tolist(),
                "continuous_mask_equal": continuous[0].long().tolist() == ref[p + "is_continuous_mask"].tolist(),
                "glm_code_agreement": _agreement(codes.tolist(), ref[p + "glm_codes"].tolist()),
                "logits_topk_ids_equal": torch.topk(logits, len(top_ids)).indices.tolist() == top_ids.tolist(),
                "logits_topk_max_abs": _max_abs(logits[top_ids], ref[p + "logits_topk_values"]),
                "logits_probe_max_abs": _max_abs(logits[torch.as_tensor(probe_ids(model.config, processor.tokenizer))], ref[p + "logits_probe_values"]),
                "logits_logsumexp_abs": _max_abs(torch.logsumexp(logits, 0), ref[p + "logits_logsumexp"]),
                "greedy_tokens_agree": next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs))),
                "greedy_tokens_ours": len(ours),
                "greedy_tokens_total": len(theirs),
            }
            if p + "whisper_features" in ref:
                row["whisper_features_max_abs"] = _max_abs(features[0][continuous[0]].cpu(), ref[p + "whisper_features"])
            if p + "inputs_embeds" in ref:
                row["inputs_embeds_max_abs"] = _max_abs(embeds[0].cpu(), ref[p + "inputs_embeds"])
            report["cases"][name] = row
        report["glm_codes_batched_agreement"] = batched_code_agreement(model, processor, meta, ref, waveforms)
    finally:
        model.config.text_repetition_penalty = penalty
    return report


def probe_ids(config, tokenizer):
    """The fixture's probe set (``tiny_kimi_release.logit_probe_ids``): 64 spread text ids, every special
    id, 64 spread audio ids."""
    import numpy as np

    base = min(tokenizer.added_tokens_decoder)  # the first special id = the number of BPE ranks
    offset, vocab = config.kimia_token_offset, config.text_config.vocab_size
    return np.concatenate([np.arange(64) * (base // 64), np.arange(base, offset), offset + np.arange(64) * ((vocab - offset) // 64)]).astype(np.int64)


def batched_code_agreement(model, processor, meta, ref, waveforms) -> dict:
    """GLM codes of all clips in one padded batch (``extract_speech_token`` on a list of clips)."""
    import numpy as np
    import torch

    from .processing import audio_chunks

    names = [c["name"] for c in meta["cases"] if f"{c['name']}.glm_codes_batched" in ref]
    if not names:
        return {}
    segments, owners = [], []
    for name in names:
        for chunk in audio_chunks(np.asarray(waveforms[name], dtype=np.float32)):
            segments.append(chunk)
            owners.append(name)
    feats = processor.feature_extractor(segments, sampling_rate=16000, padding="longest", pad_to_multiple_of=1280, return_attention_mask=True, return_tensors="pt")
    device = model.speech_tokenizer.conv1.weight.device
    with torch.inference_mode():
        codes, valid = model.speech_tokenizer(feats["input_features"].to(device), feats["attention_mask"].to(device))
    ours = {name: [] for name in names}
    for i, name in enumerate(owners):
        ours[name] += codes[i][valid[i]].tolist()
    return {name: _agreement(ours[name], ref[f"{name}.glm_codes_batched"].tolist()) for name in names}
