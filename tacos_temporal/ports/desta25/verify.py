"""Compare the port with tensors saved from the original ``desta`` package.

Save the reference with ``save_reference.py`` beside this file, run by the original's own Python
(transformers 4.x; its docstring says what is captured and why), then
``verify(model_dir, "desta_reference.pt")`` rebuilds the same inputs with the port (same audio,
rendered prompt and transcript) and reports the largest absolute differences of the audio
features, the input embeddings and the first next-token logits, and the greedy-token agreement.
"""

from __future__ import annotations

from pathlib import Path


def verify(model_dir: str | Path, reference: str | Path, *, device: str = "auto", dtype: str = "auto") -> dict:
    """Differences between the port on ``model_dir`` and the saved ``reference``.

    ``dtype="auto"`` runs as converted (Llama bf16, Whisper and connector fp32); ``"float32"`` runs
    everything in fp32 (a reference made in fp32, as the tiny one in tests/fixtures/desta25_original).
    """
    import torch
    from transformers import AutoModelForMultimodalLM, AutoProcessor

    from . import DeSTA25Config  # noqa: F401  (registers the Auto classes)

    ref = torch.load(reference, map_location="cpu", weights_only=False)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
    processor = AutoProcessor.from_pretrained(model_dir)
    tokenizer = processor.tokenizer
    if tokenizer.pad_token_id is None:  # folders converted before the converter set it: pad = eos, as the original
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForMultimodalLM.from_pretrained(model_dir, dtype=dtype if dtype == "auto" else getattr(torch, dtype)).to(device).eval()
    inputs = processor(text=[ref["prompt"]], audio=[ref["audio"]], transcripts=[ref.get("transcript")]).to(device)
    with torch.inference_mode():
        features = model.get_audio_features(inputs["input_features"]).float().cpu()
        embeds = model.fill_placeholders(inputs["input_ids"], inputs["input_features"], inputs["transcript_ids"], inputs["transcript_attention_mask"])
        logits = model(**inputs).logits[:, -1].float().cpu()
        out = model.generate(**inputs, do_sample=False, max_new_tokens=int(ref.get("max_new_tokens", 16)))
    ours = out[0, inputs["input_ids"].shape[1]:].cpu().tolist()
    theirs = ref["tokens"].reshape(-1).tolist()
    same = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))

    def diff(a, b):
        a, b = a.float().reshape(-1), b.float().reshape(-1)
        return float((a - b).abs().max()) if a.shape == b.shape else f"shape {tuple(a.shape)} != {tuple(b.shape)}"

    return {
        "audio_features_max_abs": diff(features, ref["audio_features"]),
        "inputs_embeds_max_abs": diff(embeds.float().cpu(), ref["inputs_embeds"]),
        "first_logits_max_abs": diff(logits, ref["first_logits"]),
        "greedy_tokens_agree": same,
        "greedy_tokens_total": len(theirs),
    }
