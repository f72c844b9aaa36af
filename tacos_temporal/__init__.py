"""tacos_temporal: a benchmark of temporal reasoning for large audio-language models.

Importing the package is cheap (no torch, no datasets): every public name is loaded on first use.

    >>> import tacos_temporal
    >>> tacos_temporal.TASKS
    ('earliest_onset', 'latest_offset', 'longest_duration')
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .names import ALL_VIEWS, BENCHMARK_VERSION, LETTERS, TASKS, VIEWS

__version__ = "0.1.0"

#: public name -> module that defines it (loaded lazily, PEP 562)
_LAZY = {
    "select_items": "tacos_temporal.data.selection",
    "select_answer": "tacos_temporal.data.selection",
    "Item": "tacos_temporal.data.items",
    "read_items_jsonl": "tacos_temporal.data.items",
    "write_items_jsonl": "tacos_temporal.data.items",
    "read_event_table": "tacos_temporal.data.events",
    "read_strong_annotations": "tacos_temporal.data.events",
    "build": "tacos_temporal.data.build",
    "load_benchmark": "tacos_temporal.data.load",
    "to_silence": "tacos_temporal.data.views",
    "make_demo_release": "tacos_temporal.data.demo",
    "TacosRelease": "tacos_temporal.data.tacos",
    "parse_choice": "tacos_temporal.scoring.parsing",
    "Parsed": "tacos_temporal.scoring.parsing",
    "judge": "tacos_temporal.scoring.metrics",
    "score": "tacos_temporal.scoring.metrics",
    "compare": "tacos_temporal.scoring.metrics",
    "view_effects": "tacos_temporal.scoring.metrics",
}

__all__ = ["ALL_VIEWS", "BENCHMARK_VERSION", "LETTERS", "TASKS", "VIEWS", "__version__", *_LAZY]

if TYPE_CHECKING:  # pragma: no cover
    from .data.build import build
    from .data.events import read_event_table, read_strong_annotations
    from .data.items import Item, read_items_jsonl, write_items_jsonl
    from .data.load import load_benchmark
    from .data.selection import select_answer, select_items
    from .data.tacos import TacosRelease
    from .data.views import to_silence
    from .scoring.metrics import compare, judge, score, view_effects
    from .scoring.parsing import Parsed, parse_choice


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tacos_temporal' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
