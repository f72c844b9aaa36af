"""Progress bars: one rule for ours and for those of datasets, transformers and huggingface_hub.

A bar is drawn only when the caller asks for progress (``--quiet`` not given) **and** stderr is a
terminal (or a notebook).  Redirected to a file or a CI log, a bar would be written again and again,
line after line, so there it is off.  :func:`progress_bar` makes our bars; :func:`library_progress`
switches the libraries' own bars ("Loading weights", "Generating test split", uploads) for the
duration of a block and restores their previous state afterwards.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


def bars_wanted(progress: bool = True, stream=None) -> bool:
    """Whether to draw progress bars: ``progress`` and ``stream`` (default: stderr) is a terminal or a notebook."""
    if not progress:
        return False
    if "ipykernel" in sys.modules:  # a notebook: tqdm.auto draws one widget, not lines
        return True
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def progress_bar(iterable=None, *, progress: bool = True, **kwargs):
    """``tqdm.auto.tqdm(iterable, **kwargs)``, drawn only where :func:`bars_wanted` says so."""
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=not bars_wanted(progress, kwargs.get("file")), **kwargs)


@contextlib.contextmanager
def library_progress(progress: bool = True) -> Iterator[None]:
    """Inside the block, the bars of datasets, transformers and huggingface_hub are off unless
    :func:`bars_wanted`; a bar the user switched off (e.g. ``HF_HUB_DISABLE_PROGRESS_BARS``) stays off."""
    if bars_wanted(progress):
        yield
        return
    switches = []
    with contextlib.suppress(ImportError):
        from datasets.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

        switches.append((not are_progress_bars_disabled(), disable_progress_bars, enable_progress_bars))
    with contextlib.suppress(ImportError):
        import huggingface_hub.utils as hub

        switches.append((not hub.are_progress_bars_disabled(), hub.disable_progress_bars, hub.enable_progress_bars))
    if "transformers" in sys.modules or _importable("transformers"):
        from transformers.utils import logging as hf_logging

        switches.append((hf_logging.is_progress_bar_enabled(), hf_logging.disable_progress_bar, hf_logging.enable_progress_bar))
    for _, disable, _ in switches:
        disable()
    try:
        yield
    finally:
        for was_enabled, disable, enable in reversed(switches):
            (enable if was_enabled else disable)()


def _importable(name: str) -> bool:
    from importlib.util import find_spec

    return find_spec(name) is not None
