"""Save reference tensors from the ORIGINAL DeSTA2.5-Audio package, for ``tacos-temporal verify-desta``.

Run this file with the Python of the original's own environment (transformers 4.x,
``pip install git+https://github.com/kehanlu/DeSTA2.5-Audio``), not with tacos_temporal's: it imports
only ``desta``, torch and the standard library::

    python save_reference.py --audio clip.wav --question "What can you hear?" --out desta_reference.pt

then, in tacos_temporal's environment::

    tacos-temporal convert-desta --out desta25
    tacos-temporal verify-desta --model desta25 --reference desta_reference.pt

What it records, and how, follows the original code (``desta/models/modeling_desta25.py``):

* ``audio_features`` (1, 64, 4096): the output of ``perception.connector.proj``.  The original never
  calls ``connector.forward``: ``WhisperPerception.forward_whisper`` calls ``connector.qformer`` and
  ``connector.proj`` directly, so a hook on ``perception.connector`` itself never fires.
* ``inputs_embeds`` and ``first_logits``: the first call of ``llm_model`` inside ``generate``
  (a forward pre-hook with ``with_kwargs=True`` and a forward hook; both return `None`, as torch
  requires of a hook that changes nothing).  The original's ``generate`` returns a
  ``GenerationOutput`` (text, audios, generated_ids) and takes no ``output_logits``.
* ``tokens``: ``generated_ids[0]`` of greedy decoding (new tokens only: the LLM is fed
  ``inputs_embeds``).
* ``transcript``: the text the original used (``audios[0][1]``: the given one, Whisper's, or " "
  when its VAD found no speech); verify feeds the port the same text.
* ``prompt``: the chat template's text with ``<|AUDIO|>`` still in it, before the original expands it.
"""

from __future__ import annotations

import argparse


def save_reference(model, audio_path: str, question: str, out: str, *, transcript=None, system=None, max_new_tokens: int = 16) -> dict:
    """Run ``model`` (a loaded ``desta.DeSTA25AudioModel``) greedily on one clip and save the tensors."""
    import torch
    from desta.utils.audio import AudioSegment

    captured: dict = {}

    def keep_features(module, args, output):
        captured.setdefault("audio_features", output.detach().float().cpu())

    def keep_embeds(module, args, kwargs):
        if "inputs_embeds" in kwargs and kwargs["inputs_embeds"] is not None:
            captured.setdefault("inputs_embeds", kwargs["inputs_embeds"].detach().float().cpu())

    def keep_logits(module, args, output):
        captured.setdefault("first_logits", output.logits[:, -1].detach().float().cpu())

    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": f"<|AUDIO|>\n\n{question}", "audios": [{"audio": audio_path, "text": transcript}]}
    ]
    handles = [
        model.perception.connector.proj.register_forward_hook(keep_features),
        model.llm_model.register_forward_pre_hook(keep_embeds, with_kwargs=True),
        model.llm_model.register_forward_hook(keep_logits),
    ]
    try:
        with torch.no_grad():
            result = model.generate(messages=messages, do_sample=False, max_new_tokens=max_new_tokens)
    finally:
        for handle in handles:
            handle.remove()
    missing = {"audio_features", "inputs_embeds", "first_logits"} - set(captured)
    if missing:
        raise RuntimeError(f"the hooks captured nothing for {sorted(missing)}: is this the original desta package?")
    prompt = model.tokenizer.apply_chat_template([{k: v for k, v in m.items() if k != "audios"} for m in messages], tokenize=False, add_generation_prompt=True)
    reference = {
        "audio": AudioSegment.from_file(audio_path, target_sr=16000, channel_selector="average").samples,
        "prompt": prompt,
        "transcript": result.audios[0][1],
        "max_new_tokens": max_new_tokens,
        **captured,
        "tokens": torch.tensor(result.generated_ids[0]),
    }
    torch.save(reference, out)
    return reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="DeSTA-ntu/DeSTA2.5-Audio-Llama-3.1-8B", help="the release (Hub id or folder)")
    parser.add_argument("--audio", required=True, help="an audio file (the original reads a path)")
    parser.add_argument("--question", default="What can you hear in the audio?")
    parser.add_argument("--transcript", help="the transcript to give (default: the original's VAD + Whisper ASR)")
    parser.add_argument("--system", help="a system turn")
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", required=True, help="the .pt file to write")
    args = parser.parse_args()

    from desta import DeSTA25AudioModel

    model = DeSTA25AudioModel.from_pretrained(args.model).to(args.device).eval()
    ref = save_reference(model, args.audio, args.question, args.out, transcript=args.transcript, system=args.system, max_new_tokens=args.max_new_tokens)
    print(f"wrote {args.out}: transcript {ref['transcript']!r}, {len(ref['tokens'])} tokens")


if __name__ == "__main__":
    main()
