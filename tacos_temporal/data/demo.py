"""A small synthetic TACOS release, in exactly the TACOS file format, for tests, docs and demos.

``make_demo_release(out_dir, seed=0)`` writes a folder that the builder reads like the real release
(Zenodo record 15379789, benchmark.md section 5) and ``plan_demo_clips(seed)`` returns the same
corpus as plain data, without audio, so tests and docs can reason about it::

    demo/
      audio.zip               flat <freesound id>.mp3 members, mono MP3
      annotations_strong.csv  filename,text,onset,offset   one row per event occurrence, 3 decimals
      annotations_weak.csv    filename,text                one clip-level caption, no timestamps
      metadata.csv            20 columns, one row per clip (see METADATA_COLUMNS)
      development_split.csv   filename                     about 1/3 of the clips
      test_split.csv          filename                     about 2/3 of the clips
      events_test.csv         idx,filename,subclass,intervals,question   test-split clips only

``events_test.csv`` follows the event-table format of ``tacos_temporal/data/tacos_events/``: one row per
(clip, label), ``intervals`` like ``"[0.93-1.40, 2.28-2.75]"`` with two decimals.  The strong
annotations hold the very same times (written with three decimals, as TACOS does), one row per
interval, with a short free-text caption instead of the label.

Of ``metadata.csv`` only six columns are known from the real release: ``filename, license,
superclass, subclass, start_time_s, end_time_s``.  The other fourteen (``freesound_id, title,
username, source_url, duration_s, ...``) are demo stand-ins that carry plausible Freesound
attribution; they make the file 20 columns wide like the real one, nothing more.  Licences cycle
over real Freesound licence names (``LICENSES``).

The audio is synthesised with numpy at known times: pure tones, gated beeps, noise bursts, chirps
(frequency sweeps), click trains, a low hum, a vibrato whistle, band-limited "river" noise and an
amplitude-modulated warble (``DEMO_LABELS``).  Each event has 10 ms raised-cosine ramps; the
mixture is peak-normalised to -1 dBFS and a -60 dBFS noise floor fills the rest, so the energy
inside an annotated interval is far above the background.

Scenarios
---------
Every clip is built from one scenario template with seeded jitter, so the outcome of the
benchmark's selection rules (benchmark.md section 2: earliest onset at least 1.0 s before every
other label, latest offset at least 1.0 s after, longest summed duration at least 3.0 s longer;
``names.MARGINS_S``) is fixed by construction, not by luck.  "A", "B", ... are distinct labels drawn
from ``DEMO_LABELS``:

==================  =====================  ==========================================================
scenario            items                  construction
==================  =====================  ==========================================================
``all_three``       EO, LO, LD             long A spans the clip; B (twice) and optional C sit inside
                                           it, starting >= 1.5 s after A and ending >= 1.5 s before
``eo_only``         EO                     A leads by 1.4-2.0 s; offsets within 0.4 s; A has a gap,
                                           so durations differ by < 3 s
``lo_only``         LO                     onsets within 0.3 s; A ends 1.3-1.7 s after B (B has a
                                           gap); durations differ by < 3 s; optional short C inside
``ld_only``         LD                     long A; B is 3-4 short bursts whose first onset and last
                                           offset are within 0.25 s of A's
``ties``            none                   onsets, offsets and durations all within 0.8 s; optional
                                           short C in the middle
``single_label``    none                   one label, 1-3 intervals (a clip needs two labels)
``below_margin``    none (near misses)     A leads by 0.6-0.9 s, B trails by 0.6-0.9 s, A is longer
                                           by 2.0-2.7 s: every margin just below its threshold
``exact_margin``    EO, LO                 A leads by exactly 1.00 s and B trails by exactly 1.00 s
                                           (two-decimal bounds; counted with the tolerance
                                           ``names.MARGIN_TOLERANCE_S``); equal durations, no LD
``many_labels``     EO, LD                 four labels, overlapping: long A first by >= 1.3 s, a
                                           click train D ends within 0.3 s of A (no LO)
==================  =====================  ==========================================================

Clips get ascending six-digit Freesound-like ids; every third clip (positions 2, 5, 8, ...) is in the
development split, the others in the test split.  Test clips take the scenarios above in order,
cycling, and so do development clips.  The default 24 clips give 16 test clips: every scenario at
least once and the first seven twice, which is 6 EO, 5 LO and 5 LD items and 6 test clips with no
item.  Any ``num_clips >= 24`` keeps at least three items per task.

The MP3 encoder (torchcodec over FFmpeg's libmp3lame) is deterministic, and the zip members carry a
fixed timestamp, so the same seed gives byte-identical files with the same FFmpeg build.
"""

from __future__ import annotations

import csv
import os
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BuildError, ConfigError
from ..files import staged_output
from ..names import EARLIEST_ONSET, LATEST_OFFSET, LONGEST_DURATION, MARGINS_S

__all__ = [
    "DEMO_LABELS",
    "DEMO_FILES",
    "LICENSES",
    "METADATA_COLUMNS",
    "SCENARIOS",
    "DemoClip",
    "make_demo_release",
    "plan_demo_clips",
]

#: Sound-event labels of the demo corpus, written as the event table writes labels.
DEMO_LABELS: tuple[str, ...] = (
    "Tone",
    "Beeping",
    "Noise burst",
    "Chirp",
    "Click train",
    "Hum",
    "Whistle",
    "Stream_River",
    "Warble",
)
#: Real Freesound licence names; clip i gets ``LICENSES[i % 4]``.
LICENSES: tuple[str, ...] = ("CC0 1.0", "CC BY 4.0", "CC BY-NC 4.0", "Sampling+")
#: Scenario templates in the order test (and development) clips take them; see the module docstring.
SCENARIOS: tuple[str, ...] = (
    "all_three",
    "eo_only",
    "lo_only",
    "ld_only",
    "ties",
    "single_label",
    "below_margin",
    "exact_margin",
    "many_labels",
)
#: The files of a TACOS release, as the demo writes them (events_test.csv is the event table).
DEMO_FILES: tuple[str, ...] = (
    "audio.zip",
    "annotations_strong.csv",
    "annotations_weak.csv",
    "metadata.csv",
    "development_split.csv",
    "test_split.csv",
    "events_test.csv",
)
#: 20 columns like the real metadata.csv; only filename, license, superclass, subclass,
#: start_time_s and end_time_s are known from the real release, the rest are demo stand-ins.
METADATA_COLUMNS: tuple[str, ...] = (
    "filename",
    "freesound_id",
    "title",
    "username",
    "license",
    "source_url",
    "superclass",
    "subclass",
    "start_time_s",
    "end_time_s",
    "duration_s",
    "original_duration_s",
    "sample_rate",
    "channels",
    "file_format",
    "tags",
    "description",
    "created",
    "avg_rating",
    "num_downloads",
)

DEVELOPMENT = "development"
TEST = "test"
#: Sample rates libmp3lame accepts.
_MP3_SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
_PEAK = 10 ** (-1 / 20)  # -1 dBFS
_NOISE_FLOOR_RMS = 10 ** (-60 / 20)  # -60 dBFS
_RAMP_S = 0.01
#: Fixed zip member timestamp (the earliest a zip can hold), so archive bytes depend on the mp3s only.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)

_SUPERCLASS = {
    "Tone": "Tonal",
    "Beeping": "Tonal",
    "Whistle": "Tonal",
    "Warble": "Tonal",
    "Chirp": "Tonal",
    "Noise burst": "Noise",
    "Stream_River": "Natural sounds",
    "Click train": "Impulsive",
    "Hum": "Machine",
}
#: Strong-caption variants per label (free text, one is drawn per occurrence).
_EVENT_TEXTS = {
    "Tone": ("a steady pure tone sounds", "a high-pitched tone plays", "a clean sine tone rings"),
    "Beeping": ("a device beeps repeatedly", "short electronic beeps", "a high-pitched tone beeps"),
    "Noise burst": ("a burst of static noise", "a loud hiss of white noise", "noise bursts briefly"),
    "Chirp": ("a tone sweeps upward", "a rising electronic chirp", "a sweeping chirp sound"),
    "Click train": ("rapid clicking", "a fast train of clicks", "a mechanical ticking sound"),
    "Hum": ("a low electrical hum", "a deep droning hum", "a low hum continues"),
    "Whistle": ("a wavering whistle", "someone whistles a steady note", "a shrill whistle with vibrato"),
    "Stream_River": ("water rushes in a stream", "a river flows steadily", "running water gurgles"),
    "Warble": ("a warbling tone pulses", "a tone wobbles in loudness", "a pulsing, warbling sound"),
}
#: Clip-caption phrases per label (the weak caption names every label of the clip).
_WEAK_PHRASES = {
    "Tone": "a steady tone",
    "Beeping": "repeated beeping",
    "Noise burst": "a burst of noise",
    "Chirp": "a rising chirp",
    "Click train": "rapid clicking",
    "Hum": "a low hum",
    "Whistle": "a wavering whistle",
    "Stream_River": "rushing water",
    "Warble": "a warbling tone",
}
_QUESTIONS = (
    "What time segments include the event '{}'?",
    "Identify all time segments where the event '{}' takes place.",
    "When does the sound '{}' occur in the audio?",
)
_USERNAMES = ("tonesmith", "fieldrec_ana", "klangwerk", "jbaudio", "noisefloor", "mrs_foley")


@dataclass(frozen=True)
class DemoClip:
    """One planned demo clip, without audio.

    Args:
        filename (`str`): ``"<freesound_id>.mp3"``.
        freesound_id (`int`): six-digit stand-in Freesound id.
        duration_s (`float`): clip length in seconds (two decimals).
        split (`str`): ``"development"`` or ``"test"``.
        scenario (`str`): one of ``SCENARIOS``.
        events (`tuple[tuple[str, float, float], ...]`): ``(label, onset_s, offset_s)`` per occurrence,
            sorted by onset; bounds have two decimals.
        texts (`tuple[str, ...]`): the strong (free-text) caption of each event, same order.
        caption (`str`): the weak clip caption.
        license (`str`): one of ``LICENSES``.
        expected_tasks (`tuple[str, ...]`): tasks the scenario is built to yield an item for.
    """

    filename: str
    freesound_id: int
    duration_s: float
    split: str
    scenario: str
    events: tuple[tuple[str, float, float], ...]
    texts: tuple[str, ...]
    caption: str
    license: str
    expected_tasks: tuple[str, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        """Distinct labels in order of first onset."""
        return tuple(dict.fromkeys(label for label, _, _ in self.events))

    def intervals(self, label: str) -> tuple[tuple[float, float], ...]:
        """``(onset, offset)`` of every occurrence of ``label``, sorted."""
        return tuple((on, off) for lab, on, off in self.events if lab == label)


# --- planning ------------------------------------------------------------------------------------

_Spans = list[tuple[float, float]]


def _r(x: float) -> float:
    return round(float(x), 2)


def _scenario_all_three(u: Callable[[float, float], float], rng: np.random.Generator):
    d = _r(u(8.0, 10.0))
    a = [(_r(u(0.2, 0.5)), _r(d - u(0.2, 0.5)))]
    b1 = _r(a[0][0] + u(1.5, 2.0))
    b2 = _r(b1 + u(2.0, 2.5))
    b = [(b1, _r(b1 + u(0.8, 1.2))), (b2, _r(b2 + u(0.6, 1.0)))]
    roles = [a, b]
    if rng.random() < 0.5:
        c1 = _r(a[0][0] + u(2.5, 3.0))
        roles.append([(c1, _r(c1 + u(0.8, 1.2)))])
    return d, roles, (EARLIEST_ONSET, LATEST_OFFSET, LONGEST_DURATION)


def _scenario_eo_only(u, rng):
    d = _r(u(6.0, 9.0))
    a0, a1 = _r(u(0.2, 0.6)), _r(d - u(0.6, 1.0))
    cut = _r(a0 + u(1.0, 1.5))
    a = [(a0, cut), (_r(cut + u(0.3, 0.5)), a1)]
    b0 = _r(a0 + u(1.4, 2.0))
    roles = [a, [(b0, _r(a1 + u(-0.4, 0.4)))]]
    if rng.random() < 0.5:
        c0 = _r(b0 + u(0.5, 1.0))
        roles.append([(c0, _r(c0 + u(0.8, 1.2)))])
    return d, roles, (EARLIEST_ONSET,)


def _scenario_lo_only(u, rng):
    d = _r(u(6.0, 9.0))
    a0 = _r(u(0.4, 0.8))
    b0 = _r(a0 + u(-0.3, 0.3))
    b1 = _r(d - u(2.0, 2.5))
    a = [(a0, _r(b1 + u(1.3, 1.7)))]
    cut = _r((b0 + b1) / 2)
    b = [(b0, cut), (_r(cut + u(0.3, 0.6)), b1)]
    roles = [a, b]
    if rng.random() < 0.5:
        c0 = _r(b0 + u(1.2, 1.5))
        roles.append([(c0, _r(c0 + u(0.6, 0.9)))])
    return d, roles, (LATEST_OFFSET,)


def _scenario_ld_only(u, rng):
    d = _r(u(8.0, 10.0))
    a0, a1 = _r(u(0.3, 0.6)), _r(d - u(0.3, 0.6))
    first = _r(a0 + u(-0.25, 0.25))
    last_end = _r(a1 + u(-0.25, 0.25))
    n_middle = int(rng.integers(1, 3))
    bursts = [(first, _r(first + u(0.4, 0.6)))]
    for k in range(1, n_middle + 1):
        mid = _r(first + (last_end - first) * k / (n_middle + 1))
        bursts.append((mid, _r(mid + u(0.4, 0.6))))
    bursts.append((_r(last_end - u(0.4, 0.6)), last_end))
    return d, [[(a0, a1)], bursts], (LONGEST_DURATION,)


def _scenario_ties(u, rng):
    d = _r(u(5.0, 8.0))
    a0, a1 = _r(u(0.5, 0.8)), _r(d - u(0.5, 0.8))
    roles = [[(a0, a1)], [(_r(a0 + u(-0.4, 0.4)), _r(a1 + u(-0.4, 0.4)))]]
    if rng.random() < 0.5:
        c0 = _r(a0 + u(1.5, 2.0))
        roles.append([(c0, _r(c0 + u(0.8, 1.2)))])
    return d, roles, ()


def _scenario_single_label(u, rng):
    d = _r(u(4.0, 8.0))
    n = int(rng.integers(1, 4))
    edges = np.linspace(0.3, d - 0.3, n + 1)
    spans = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        width = hi - lo
        on = _r(lo + width * u(0.0, 0.2))
        spans.append((on, _r(hi - width * u(0.1, 0.3))))
    return d, [spans], ()


def _scenario_below_margin(u, rng):
    d = _r(u(8.0, 10.0))
    m_eo, m_lo = _r(u(0.6, 0.9)), _r(u(0.6, 0.9))
    m_ld = _r(u(2.0, 2.7))
    a0 = _r(u(0.2, 0.5))
    a1 = _r(d - m_lo - u(0.2, 0.4))
    b0, b1 = _r(a0 + m_eo), _r(a1 + m_lo)
    gap = _r(m_ld - m_eo + m_lo)  # duration(A) - duration(B) == m_ld
    cut = _r(b0 + (b1 - b0 - gap) / 2)
    return d, [[(a0, a1)], [(b0, cut), (_r(cut + gap), b1)]], ()


def _scenario_exact_margin(u, rng):
    d = _r(u(6.0, 9.0))
    a0 = _r(u(0.2, 0.6))
    b1 = _r(d - u(0.3, 0.6))
    a = [(a0, _r(b1 - MARGINS_S[LATEST_OFFSET]))]
    b = [(_r(a0 + MARGINS_S[EARLIEST_ONSET]), b1)]
    return d, [a, b], (EARLIEST_ONSET, LATEST_OFFSET)


def _scenario_many_labels(u, rng):
    d = _r(u(8.0, 10.0))
    a0, a1 = _r(u(0.2, 0.4)), _r(d - u(1.0, 1.3))
    b1 = _r(a0 + u(1.3, 1.8))
    b2 = _r(b1 + u(2.5, 3.0))
    b = [(b1, _r(b1 + u(0.6, 0.9))), (b2, _r(b2 + u(0.6, 0.9)))]
    c0 = _r(a0 + u(2.2, 2.8))
    d1 = _r(a1 + u(-0.3, 0.3))
    clicks = [(_r(d1 - u(1.0, 1.4)), d1)]
    return d, [[(a0, a1)], b, [(c0, _r(c0 + u(0.8, 1.2)))], clicks], (EARLIEST_ONSET, LONGEST_DURATION)


_TEMPLATES = {
    "all_three": _scenario_all_three,
    "eo_only": _scenario_eo_only,
    "lo_only": _scenario_lo_only,
    "ld_only": _scenario_ld_only,
    "ties": _scenario_ties,
    "single_label": _scenario_single_label,
    "below_margin": _scenario_below_margin,
    "exact_margin": _scenario_exact_margin,
    "many_labels": _scenario_many_labels,
}


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _weak_caption(labels: Sequence[str], spans_per_label: Sequence[_Spans]) -> str:
    """One sentence naming every label, no timestamps: "Rapid clicking and a rising chirp over a low hum."."""
    phrases = [_WEAK_PHRASES[label] for label in labels]
    if len(phrases) == 1:
        text = phrases[0] + (" repeats several times" if len(spans_per_label[0]) > 1 else " in near silence")
    else:
        # The first role is the scenario's main (often longest) event, so "others over main" reads well.
        others = phrases[1:]
        joined = others[0] if len(others) == 1 else ", ".join(others[:-1]) + " and " + others[-1]
        text = f"{joined} over {phrases[0]}"
    return text[0].upper() + text[1:] + "."


def plan_demo_clips(seed: int = 0, num_clips: int = 24) -> list[DemoClip]:
    """The demo corpus as data: clip names, durations, splits, events and captions (no audio).

    Args:
        seed (`int`, defaults to 0): everything is a function of it.
        num_clips (`int`, defaults to 24): number of clips; about 2/3 go to the test split.
            ``num_clips >= 24`` guarantees at least three items per task (see the module docstring).

    Returns:
        `list[DemoClip]`, sorted by file name.

    >>> clips = plan_demo_clips(seed=0, num_clips=3)
    >>> [c.split for c in clips]
    ['test', 'test', 'development']
    >>> clips == plan_demo_clips(seed=0, num_clips=3)
    True
    """
    seed = _check_int("seed", seed, 0)
    num_clips = _check_int("num_clips", num_clips, 1)
    rng = np.random.default_rng([seed, 0x7AC05])
    ids = np.sort(rng.choice(900_000, size=num_clips, replace=False) + 100_000)
    clips: list[DemoClip] = []
    counters = {TEST: 0, DEVELOPMENT: 0}
    for position, freesound_id in enumerate(ids.tolist()):
        split = DEVELOPMENT if position % 3 == 2 else TEST
        scenario = SCENARIOS[counters[split] % len(SCENARIOS)]
        counters[split] += 1
        clip_rng = np.random.default_rng([seed, 0x7AC05, position])

        def u(lo: float, hi: float, _rng: np.random.Generator = clip_rng) -> float:
            return float(_rng.uniform(lo, hi))

        duration, roles, expected = _TEMPLATES[scenario](u, clip_rng)
        labels = [str(x) for x in clip_rng.choice(DEMO_LABELS, size=len(roles), replace=False)]
        events = []
        for label, spans in zip(labels, roles):
            for on, off in spans:
                text = _EVENT_TEXTS[label][int(clip_rng.integers(len(_EVENT_TEXTS[label])))]
                events.append((on, label, off, text))
        events.sort(key=lambda e: (e[0], e[2], e[1]))
        for on, label, off, _ in events:
            if not (0.0 < on < off < duration):
                # A template bug, not a user error: the jitter ranges must keep events inside the clip.
                raise BuildError(
                    f"demo scenario {scenario!r} placed {label!r} at {on:.2f}-{off:.2f} s outside its "
                    f"{duration:.2f} s clip (seed={seed}, position={position}); please report it"
                )
        clips.append(
            DemoClip(
                filename=f"{freesound_id}.mp3",
                freesound_id=freesound_id,
                duration_s=duration,
                split=split,
                scenario=scenario,
                events=tuple((label, on, off) for on, label, off, _ in events),
                texts=tuple(text for *_, text in events),
                caption=_weak_caption(labels, roles),
                license=LICENSES[position % len(LICENSES)],
                expected_tasks=expected,
            )
        )
    return clips


# --- audio ---------------------------------------------------------------------------------------


def _synth_event(label: str, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of one occurrence of ``label`` (float64, roughly -12 dBFS RMS before mixing)."""
    t = np.arange(n) / sr
    if label == "Tone":
        x = 0.5 * np.sin(2 * np.pi * rng.uniform(500, 1500) * t)
    elif label == "Beeping":
        gate = (np.mod(t * rng.uniform(3.0, 5.0), 1.0) < 0.6).astype(float)
        x = 0.5 * gate * np.sin(2 * np.pi * rng.uniform(2000, 3000) * t)
    elif label == "Noise burst":
        x = 0.2 * rng.standard_normal(n)
    elif label == "Chirp":
        period = rng.uniform(0.6, 1.2)
        f0, f1 = rng.uniform(300, 500), rng.uniform(2500, 4000)
        tau = np.mod(t, period) / period  # one upward sweep per period
        x = 0.5 * np.sin(2 * np.pi * np.cumsum(f0 * (f1 / f0) ** tau) / sr)
    elif label == "Click train":
        x = np.zeros(n)
        step = max(1, int(sr / rng.uniform(8, 15)))
        k = np.arange(int(0.004 * sr)) / sr
        click = np.exp(-k / 0.0008) * np.sin(2 * np.pi * 3000 * k)
        for start in range(0, n, step):
            stop = min(n, start + click.size)
            x[start:stop] += 0.9 * click[: stop - start]
    elif label == "Hum":
        f = rng.choice([50.0, 60.0]) * rng.uniform(1.0, 2.0)
        x = sum(0.3 / k * np.sin(2 * np.pi * k * f * t) for k in (1, 2, 3, 4))
    elif label == "Whistle":
        f = rng.uniform(1500, 2500)
        vibrato = 40 * np.sin(2 * np.pi * rng.uniform(4, 6) * t)
        x = 0.45 * np.sin(2 * np.pi * np.cumsum(f + vibrato) / sr)
    elif label == "Stream_River":
        spectrum = np.fft.rfft(rng.standard_normal(n))
        freqs = np.fft.rfftfreq(n, 1 / sr)
        spectrum[(freqs < 200) | (freqs > 2500)] = 0
        x = np.fft.irfft(spectrum, n)
        x = 0.25 * x / (np.std(x) + 1e-12) * (1 + 0.3 * np.sin(2 * np.pi * rng.uniform(0.3, 0.8) * t))
    elif label == "Warble":
        x = 0.5 * (0.55 + 0.45 * np.sin(2 * np.pi * rng.uniform(5, 8) * t)) * np.sin(
            2 * np.pi * rng.uniform(600, 1000) * t
        )
    else:  # pragma: no cover - DEMO_LABELS and this function change together
        raise ConfigError(f"no synthesiser for demo label {label!r}")
    ramp = min(int(_RAMP_S * sr), n // 2)
    if ramp:
        window = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
        x[:ramp] *= window
        x[n - ramp :] *= window[::-1]
    return x


def _synth_clip(clip: DemoClip, seed: int, sample_rate: int) -> np.ndarray:
    """The clip's mono waveform, float32 in [-1, 1]: events at their planned times over a -60 dBFS floor."""
    rng = np.random.default_rng([seed, clip.freesound_id])
    total = int(round(clip.duration_s * sample_rate))
    mix = np.zeros(total)
    for label, onset, offset in clip.events:
        start, stop = int(round(onset * sample_rate)), int(round(offset * sample_rate))
        mix[start:stop] += _synth_event(label, stop - start, sample_rate, rng)
    mix *= _PEAK / np.max(np.abs(mix))
    mix += _NOISE_FLOOR_RMS * rng.standard_normal(total)
    return np.clip(mix, -1.0, 1.0).astype(np.float32)


def _encode_mp3(samples: np.ndarray, sample_rate: int, filename: str) -> bytes:
    try:
        import torch
        from torchcodec.encoders import AudioEncoder
    except ImportError as err:
        raise BuildError(
            f"the demo release needs torch and torchcodec to encode MP3 ({err}); "
            "install them with: pip install torch torchcodec"
        ) from err
    try:
        # to_tensor gives the same bytes as to_file (checked with torchcodec 0.13) without a file on disk.
        encoded = AudioEncoder(torch.from_numpy(samples)[None, :], sample_rate=sample_rate).to_tensor("mp3")
    except Exception as err:  # torchcodec raises RuntimeError/ValueError from FFmpeg
        raise BuildError(
            f"could not encode demo clip {filename} as MP3 with torchcodec: {err}. "
            "Check that FFmpeg's shared libraries are installed (`tacos-temporal env` lists them)."
        ) from err
    return encoded.numpy().tobytes()


# --- writing -------------------------------------------------------------------------------------


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _metadata_row(clip: DemoClip, position: int, sample_rate: int) -> list[object]:
    main = clip.labels[0]
    durations = {label: sum(off - on for on, off in clip.intervals(label)) for label in clip.labels}
    subclass = max(clip.labels, key=lambda label: (durations[label], label == main))
    start = round((clip.freesound_id % 997) / 97.0, 3)  # where the clip was cut from its source sound
    original = round(start + clip.duration_s + (clip.freesound_id % 13), 3)
    return [
        clip.filename,
        clip.freesound_id,
        f"synthetic {subclass.replace('_', ' ').lower()} clip {position + 1:02d}",
        _USERNAMES[clip.freesound_id % len(_USERNAMES)],
        clip.license,
        f"https://freesound.org/s/{clip.freesound_id}/",
        _SUPERCLASS[subclass],
        subclass,
        f"{start:.3f}",
        f"{start + clip.duration_s:.3f}",
        f"{clip.duration_s:.3f}",
        f"{original:.3f}",
        sample_rate,
        1,
        "mp3",
        " ".join(sorted({label.lower().replace(" ", "-") for label in clip.labels} | {"synthetic", "demo"})),
        clip.caption,
        f"20{10 + position % 14:02d}-{1 + position % 12:02d}-{1 + position % 28:02d}",
        f"{3.0 + (clip.freesound_id % 20) / 10:.1f}",
        clip.freesound_id % 500,
    ]


def _format_intervals(spans: Sequence[tuple[float, float]]) -> str:
    return "[" + ", ".join(f"{on:.2f}-{off:.2f}" for on, off in spans) + "]"


def _write_tables(folder: Path, clips: Sequence[DemoClip], sample_rate: int) -> None:
    _write_csv(
        folder / "annotations_strong.csv",
        ("filename", "text", "onset", "offset"),
        [
            (clip.filename, text, f"{on:.3f}", f"{off:.3f}")
            for clip in clips
            for (_, on, off), text in zip(clip.events, clip.texts)
        ],
    )
    _write_csv(folder / "annotations_weak.csv", ("filename", "text"), [(c.filename, c.caption) for c in clips])
    _write_csv(
        folder / "metadata.csv",
        METADATA_COLUMNS,
        [_metadata_row(clip, position, sample_rate) for position, clip in enumerate(clips)],
    )
    for name, split in (("development_split.csv", DEVELOPMENT), ("test_split.csv", TEST)):
        _write_csv(folder / name, ("filename",), [(c.filename,) for c in clips if c.split == split])
    rows = []
    for clip in clips:
        if clip.split != TEST:
            continue
        for label in clip.labels:
            template = _QUESTIONS[(clip.freesound_id + len(rows)) % len(_QUESTIONS)]
            question = template.format(label.lower())
            rows.append((len(rows) + 1, clip.filename, label, _format_intervals(clip.intervals(label)), question))
    _write_csv(folder / "events_test.csv", ("idx", "filename", "subclass", "intervals", "question"), rows)


def _write_audio_zip(path: Path, clips: Sequence[DemoClip], seed: int, sample_rate: int) -> None:
    from ..progress import progress_bar

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        # delay=1: the bar only shows when the build takes longer than a second.
        for clip in progress_bar(clips, desc="demo audio", unit="clip", delay=1.0, leave=False):
            data = _encode_mp3(_synth_clip(clip, seed, sample_rate), sample_rate, clip.filename)
            info = zipfile.ZipInfo(clip.filename, date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.create_system = 3  # Unix, whatever the building machine: bytes must not depend on it
            archive.writestr(info, data, compress_type=zipfile.ZIP_STORED)


def make_demo_release(
    out_dir: str | os.PathLike,
    *,
    seed: int = 0,
    num_clips: int = 24,
    sample_rate: int = 32000,
    overwrite: bool = False,
) -> Path:
    """Write a small synthetic TACOS release (same files and columns as the real one) to ``out_dir``.

    Args:
        out_dir (`str` or `os.PathLike`): folder to create; must be absent or empty unless ``overwrite``.
        seed (`int`, defaults to 0): the release is a function of it (byte-identical for one FFmpeg build).
        num_clips (`int`, defaults to 24): clips in the release; see :func:`plan_demo_clips`.
        sample_rate (`int`, defaults to 32000): MP3 sample rate, one libmp3lame accepts.
        overwrite (`bool`, defaults to `False`): replace an existing non-empty ``out_dir``.

    Returns:
        `pathlib.Path`: ``out_dir``.

    The release is written into a temporary sibling folder and moved into place at the end, so an
    interrupted or failed call leaves ``out_dir`` as it was.
    """
    sample_rate = _check_int("sample_rate", sample_rate, 1)
    if sample_rate not in _MP3_SAMPLE_RATES:
        raise ConfigError(
            f"sample_rate must be one the MP3 encoder accepts ({', '.join(map(str, _MP3_SAMPLE_RATES))}), "
            f"got {sample_rate}"
        )
    out = Path(out_dir)
    clips = plan_demo_clips(seed, num_clips)
    with staged_output(out, overwrite=overwrite, what="demo output folder") as staging:
        _write_audio_zip(staging / "audio.zip", clips, seed, sample_rate)
        _write_tables(staging, clips, sample_rate)
    return out
