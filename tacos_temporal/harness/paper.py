"""The numbers the paper reports, for side-by-side reports (never for tests of our code).

Source: Kulkarni et al., "A Closer Look at Failure Modes in Temporal Understanding of Large
Audio-Language Models" (Interspeech 2026, arXiv 2606.17417): its accuracy table (views x tasks) and
its interventions section.  Accuracy in percent.  The README's "Reproduce the paper" section shows
:func:`accuracy_markdown` (tests/test_readme.py keeps the two equal).
"""

from __future__ import annotations

from ..names import AUDIO_CAPTION, AUDIO_ONLY, CAPTION_ONLY, EARLIEST_ONSET, LATEST_OFFSET, LONGEST_DURATION, SILENCE

_TASKS = (EARLIEST_ONSET, LATEST_OFFSET, LONGEST_DURATION)


def _per_task(eo: float, lo: float, ld: float) -> dict[str, float]:
    return dict(zip(_TASKS, (eo, lo, ld)))


#: Accuracy per model, view and task (AQA / CQA / ACQA and the silence control).
ACCURACY: dict[str, dict[str, dict[str, float]]] = {
    "Qwen2-Audio": {
        AUDIO_ONLY: _per_task(30.9, 28.1, 32.5),
        CAPTION_ONLY: _per_task(63.6, 46.5, 58.9),
        AUDIO_CAPTION: _per_task(63.6, 46.5, 58.9),
        SILENCE: _per_task(30.9, 28.1, 32.5),
    },
    "Kimi-Audio": {
        AUDIO_ONLY: _per_task(58.0, 60.3, 59.4),
        CAPTION_ONLY: _per_task(61.4, 56.1, 55.4),
        AUDIO_CAPTION: _per_task(68.8, 62.7, 67.3),
        SILENCE: _per_task(22.0, 24.1, 25.9),
    },
    "Audio-Flamingo-3": {
        AUDIO_ONLY: _per_task(60.4, 56.7, 58.1),
        CAPTION_ONLY: _per_task(71.6, 62.3, 66.7),
        AUDIO_CAPTION: _per_task(67.2, 63.3, 66.4),
        SILENCE: _per_task(25.6, 20.6, 28.9),
    },
    "DeSTA2.5-Audio": {
        AUDIO_ONLY: _per_task(50.4, 51.3, 54.9),
        CAPTION_ONLY: _per_task(68.9, 59.3, 66.0),
        AUDIO_CAPTION: _per_task(62.7, 59.1, 66.8),
        SILENCE: _per_task(24.4, 25.1, 22.7),
    },
}

#: Audio-only accuracy with all-layer attention scaling (interventions.md).
ALL_LAYER_SCALING: dict[str, dict[str, float]] = {
    "Audio-Flamingo-3": _per_task(51.13, 48.09, 47.77),
    "DeSTA2.5-Audio": _per_task(51.70, 51.10, 52.22),
}

#: All-layer fix rates, scaling vs upweighting (interventions.md).
ALL_LAYER_FIX_RATE: dict[str, dict[str, float]] = {
    "Audio-Flamingo-3": {"scale": 20.5, "upweight": 15.8},
    "DeSTA2.5-Audio": {"scale": 20.1, "upweight": 10.1},
}

#: Best single layer (0-based), alpha and the gain in points, chosen post hoc (interventions.md).
BEST_LAYER: dict[str, dict[str, float]] = {
    "Audio-Flamingo-3": {"layer": 20, "alpha": 2.0, "gain": 4.6},
    "DeSTA2.5-Audio": {"layer": 9, "alpha": 0.2, "gain": 1.8},
}


#: Short names of the views in the paper's table.
VIEW_SHORT = {AUDIO_ONLY: "AQA", CAPTION_ONLY: "CQA", AUDIO_CAPTION: "ACQA", SILENCE: "silence"}


def accuracy_markdown() -> str:
    """:data:`ACCURACY` as a Markdown table (one row per model, EO / LO / LD per view), as in the README."""
    views = tuple(VIEW_SHORT)
    lines = ["| model | " + " | ".join(f"{VIEW_SHORT[v]} EO / LO / LD" for v in views) + " |",
             "|---|" + "---:|" * len(views)]
    for model, by_view in ACCURACY.items():
        lines.append(f"| {model} | " + " | ".join(" / ".join(f"{by_view[v][t]:.1f}" for t in _TASKS) for v in views) + " |")
    return "\n".join(lines)
