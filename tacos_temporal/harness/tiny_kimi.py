"""A tiny random Kimi-Audio port checkpoint, offline: the tiny release in the Hub layout
(:mod:`.tiny_kimi_release`: real ids, offsets and vocabulary, the ``qwen.tiktoken`` stand-in
tokenizer, tiny widths) converted by the port's own converter (``convert-kimi``).  Untrained: for
tests and demos only."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..files import atomic_write_text, check_output_dir


def make_tiny_kimi(out_dir: str | Path, *, seed: int = 0, overwrite: bool = False) -> Path:
    """Write the tiny release to a temporary folder, convert it into ``out_dir`` and return ``out_dir``
    (``AutoProcessor`` + ``AutoModelForCausalLM`` load it after ``import tacos_temporal.ports.kimi_audio``)."""
    from ..ports.kimi_audio.loading import convert
    from .tiny_kimi_release import GLM_SUBFOLDER, write_tiny_kimi_release

    out_dir = Path(out_dir)
    check_output_dir(out_dir, overwrite, "model folder")
    with tempfile.TemporaryDirectory(prefix="tiny-kimi-release-") as tmp:
        release = write_tiny_kimi_release(Path(tmp) / "release", seed=seed)
        convert(out_dir, str(release), str(release / GLM_SUBFOLDER))
    atomic_write_text(out_dir / "README.md", "# tiny kimi_audio\n\n**untrained random weights, for tests and demos only.** "
                      "Converted with `convert-kimi` from the tiny Kimi-Audio release of `tacos_temporal.harness.tiny_kimi_release` "
                      f"(seed {seed}).\n")
    return out_dir
