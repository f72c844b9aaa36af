"""Progress bars: drawn on a terminal, silenced by --quiet (the libraries' bars too), never written
into a log file.

The command-line cases run the real console entry point with stderr on a pseudo-terminal (sized
120 columns: tqdm draws nothing at width 0) or on a pipe, as a log would be.
"""

from __future__ import annotations

import fcntl
import io
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from tacos_temporal.progress import bars_wanted, library_progress, progress_bar

REPO = Path(__file__).resolve().parents[1]


def _sized_pty() -> tuple[int, int]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    return master, slave


def test_bars_only_on_a_terminal_and_only_when_asked():
    master, slave = _sized_pty()
    with os.fdopen(slave, "w") as terminal:
        assert bars_wanted(True, terminal) is True
        assert bars_wanted(False, terminal) is False
    os.close(master)
    assert bars_wanted(True, io.StringIO()) is False


def test_progress_bar_writes_nothing_into_a_file_and_draws_on_a_terminal(tmp_path):
    log = io.StringIO()
    for _ in progress_bar(range(5), progress=True, file=log, desc="work"):
        pass
    assert log.getvalue() == ""
    master, slave = _sized_pty()
    with os.fdopen(slave, "w") as terminal:
        for _ in progress_bar(range(5), progress=True, file=terminal, desc="work"):
            pass
        terminal.flush()
        drawn = os.read(master, 65536).decode()
    os.close(master)
    assert "work: 100%" in drawn


def test_library_progress_switches_the_libraries_off_and_restores_them(capsys):
    import huggingface_hub.utils as hub
    from datasets.utils import are_progress_bars_disabled
    from transformers.utils import logging as hf_logging

    before = (are_progress_bars_disabled(), hub.are_progress_bars_disabled(), hf_logging.is_progress_bar_enabled())
    with library_progress(True):  # stderr is captured here, not a terminal: off anyway
        assert are_progress_bars_disabled() and hub.are_progress_bars_disabled() and not hf_logging.is_progress_bar_enabled()
    assert (are_progress_bars_disabled(), hub.are_progress_bars_disabled(), hf_logging.is_progress_bar_enabled()) == before


def _eval(model: Path, data: Path, out: Path, *, quiet: bool, terminal: bool) -> tuple[int, str]:
    argv = [sys.executable, "-m", "tacos_temporal.cli", "eval", "--model", str(model), "--data", str(data),
            "--view", "caption_only", "--limit", "3", "--out", str(out)] + (["--quiet"] if quiet else [])
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if not terminal:
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
        return result.returncode, result.stderr
    master, slave = _sized_pty()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return process.wait(timeout=300), b"".join(chunks).decode(errors="replace")


@pytest.mark.parametrize(
    "quiet, terminal",
    [(False, True), (True, True), (False, False)],
    ids=["terminal", "terminal-quiet", "log-file"],
)
def test_eval_bars_follow_quiet_and_the_terminal(quiet, terminal, tiny_models, demo_build, tmp_path):
    code, err = _eval(tiny_models["qwen2_text"], demo_build.out_dir, tmp_path / "run", quiet=quiet, terminal=terminal)
    assert code == 0, err
    if terminal and not quiet:  # the control: on a terminal both our bar and transformers' are drawn
        assert "Loading weights" in err and "caption_only generate" in err
    else:
        assert "Loading weights" not in err and "%|" not in err and "\r" not in err, err
