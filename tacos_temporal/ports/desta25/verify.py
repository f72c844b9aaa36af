"""Compare the port with tensors saved from the original ``desta`` package (needs weights and a GPU).

Save the reference with the original package (transformers 4.x env, ``pip install desta`` from
GitHub kehanlu/DeSTA2.5-Audio), greedy, one clip, a fixed transcript::

    import torch; from desta import DeSTA25AudioModel
    m = DeSTA25AudioModel.from_pretrained("DeSTA-ntu/DeSTA2.5-Audio-Llama-3.1-8B").cuda().eval()
    feats = {}; m.perception.connector.register_forward_hook(lambda mod, i, o: feats.setdefault("audio_features", o))
    embeds = {}; m.llm_model.register_forward_pre_hook(lambda mod, a, kw: embeds.setdefault("inputs_embeds", kw["inputs_embeds"]), with_kwargs=True)
    out = m.generate(messages=MESSAGES, do_sample=False, max_new_tokens=16, output_logits=True, return_dict_in_generate=True)
    torch.save({"audio": AUDIO_16K_FLOAT_ARRAY, "prompt": RENDERED_PROMPT_WITH_<|AUDIO|>, "transcript": TRANSCRIPT,
                "audio_features": feats["audio_features"].float().cpu(), "inputs_embeds": embeds["inputs_embeds"].float().cpu(),
                "first_logits": out.logits[0].float().cpu(), "tokens": out.sequences[0].cpu()}  # new tokens only (inputs_embeds), "desta_reference.pt")

``verify(model_dir, "desta_reference.pt")`` rebuilds the same inputs with the port and reports the
largest absolute differences and the greedy-token agreement.
"""

from __future__ import annotations

from pathlib import Path


def verify(model_dir: str | Path, reference: str | Path, *, device: str = "auto") -> dict:
    import torch
    from transformers import AutoModelForMultimodalLM, AutoProcessor

    from . import DeSTA25Config  # noqa: F401  (registers the Auto classes)

    ref = torch.load(reference, map_location="cpu", weights_only=False)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
    processor = AutoProcessor.from_pretrained(model_dir)
    model = AutoModelForMultimodalLM.from_pretrained(model_dir, dtype="auto").to(device).eval()
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
