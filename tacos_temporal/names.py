"""Every name of the benchmark, written once.

Tasks, views, questions, letters, item fields and thresholds are defined here and imported by the
builder, the scorer, the metric module, the CLI, the dataset card and the tests.  Change a value
here and everything that shows it changes with it (a test regenerates the card's ``configs:`` block
and diffs it with ``dataset_card.md``).
"""

from __future__ import annotations

BENCHMARK_NAME = "tacos_temporal"
#: Bumped whenever a rule that decides which items exist, their options or their answers changes.
#: It travels into items, build reports and results, so scores of different versions never mix.
BENCHMARK_VERSION = "1.0.0"
METRIC_NAME = "tacos_temporal"

# --- tasks -------------------------------------------------------------------------------------
EARLIEST_ONSET = "earliest_onset"
LATEST_OFFSET = "latest_offset"
LONGEST_DURATION = "longest_duration"
TASKS: tuple[str, ...] = (EARLIEST_ONSET, LATEST_OFFSET, LONGEST_DURATION)

#: Short codes used in item ids and compact tables (the paper's EO / LO / LD).
TASK_CODES: dict[str, str] = {EARLIEST_ONSET: "EO", LATEST_OFFSET: "LO", LONGEST_DURATION: "LD"}
TASK_TITLES: dict[str, str] = {
    EARLIEST_ONSET: "Earliest Onset",
    LATEST_OFFSET: "Latest Offset",
    LONGEST_DURATION: "Longest Duration",
}
#: One fixed question per task (benchmark.md section 1).
QUESTIONS: dict[str, str] = {
    EARLIEST_ONSET: "Which sound event starts earliest in the given audio?",
    LATEST_OFFSET: "Which sound event ends latest in the given audio?",
    LONGEST_DURATION: "Which sound event has the longest duration in the given audio?",
}
#: The word of each question that names the temporal relation (the `keyword` query position of the
#: attention interventions).
TASK_KEYWORDS: dict[str, str] = {
    EARLIEST_ONSET: "earliest",
    LATEST_OFFSET: "latest",
    LONGEST_DURATION: "longest",
}
#: Minimum lead of the answer over every other label of the clip, in seconds (benchmark.md 2.3).
#: The paper's text says 1 s for LD; the released items follow 3 s and only 3 s gives 630 items.
MARGINS_S: dict[str, float] = {EARLIEST_ONSET: 1.0, LATEST_OFFSET: 1.0, LONGEST_DURATION: 3.0}
#: Interval bounds have two decimals and margins of exactly 1.00 s occur: compare with a tolerance.
MARGIN_TOLERANCE_S = 1e-6
#: The task whose answer a clip played backwards turns each task into: the earliest onset of the
#: reversed clip is the latest offset of the original, and the reverse; durations are unchanged.
MIRRORED_TASKS: dict[str, str] = {
    EARLIEST_ONSET: LATEST_OFFSET,
    LATEST_OFFSET: EARLIEST_ONSET,
    LONGEST_DURATION: LONGEST_DURATION,
}
#: Items per task that the selection rules give on the TACOS test event table.
EXPECTED_COUNTS: dict[str, int] = {EARLIEST_ONSET: 528, LATEST_OFFSET: 499, LONGEST_DURATION: 630}

# --- options -----------------------------------------------------------------------------------
LETTERS: tuple[str, ...] = ("A", "B", "C", "D")
NUM_OPTIONS = len(LETTERS)
CHANCE = 1.0 / NUM_OPTIONS
DEFAULT_SEED = 0

# --- views -------------------------------------------------------------------------------------
AUDIO_ONLY = "audio_only"
CAPTION_ONLY = "caption_only"
AUDIO_CAPTION = "audio_caption"
#: The three input views; each is a dataset config with one ``test`` split.
VIEWS: tuple[str, ...] = (AUDIO_ONLY, CAPTION_ONLY, AUDIO_CAPTION)
#: The silence control: the audio-only view with each clip replaced by zeros of the same length.
SILENCE = "silence"
#: The time-reversal control: every clip played backwards, with its own items selected from the
#: reversed event times (an interval [s, e] of a D-second clip becomes [D - e, D - s]).  Stored as a
#: dataset config of its own; a control, never part of the benchmark's score.
TIME_REVERSED = "time_reversed"
#: Control views stored as dataset configs beside the three input views.
CONTROL_VIEWS: tuple[str, ...] = (TIME_REVERSED,)
#: Every view a build can write as a Parquet config.
STORED_VIEWS: tuple[str, ...] = VIEWS + CONTROL_VIEWS
#: Everything a run can be asked to evaluate.
ALL_VIEWS: tuple[str, ...] = VIEWS + (SILENCE, TIME_REVERSED)
VIEW_TITLES: dict[str, str] = {
    AUDIO_ONLY: "Audio-Only (AQA)",
    CAPTION_ONLY: "Caption-Only (CQA)",
    AUDIO_CAPTION: "Audio-Caption (ACQA)",
    SILENCE: "Silence control",
    TIME_REVERSED: "Time-reversed control",
}
VIEWS_WITH_AUDIO: frozenset[str] = frozenset({AUDIO_ONLY, AUDIO_CAPTION, SILENCE, TIME_REVERSED})
VIEWS_WITH_CAPTION: frozenset[str] = frozenset({CAPTION_ONLY, AUDIO_CAPTION})
SPLIT = "test"

# --- dataset columns beyond the item fields (the item schema itself: tacos_temporal.data.items) ----
CLIP_FIELDS: tuple[str, ...] = ("license", "attribution", "source_url")
AUDIO_COLUMN = "audio"
CAPTION_COLUMN = "caption"

# --- TACOS release (Zenodo record 15379789) ------------------------------------------------------
TACOS_RECORD = "15379789"
TACOS_DOI = "10.5281/zenodo.15379789"

# --- citation ------------------------------------------------------------------------------------
#: BibTeX of the paper and of TACOS: the one copy that the dataset card, the evaluate module and the
#: metric card cite (tests check the cards against it).
CITATION = """\
@inproceedings{kulkarni2026closer,
  title     = {A Closer Look at Failure Modes in Temporal Understanding of Large Audio-Language Models},
  author    = {Kulkarni and Jayakumar and Ghosh and Wiegreffe and Manocha and Duraiswami},
  booktitle = {Proceedings of Interspeech},
  year      = {2026},
  eprint    = {2606.17417},
  archivePrefix = {arXiv}
}
@inproceedings{primus2025tacos,
  title     = {{TACOS}: Temporally-aligned Audio CaptiOnS for Language-Audio Pretraining},
  author    = {Primus, Paul and Schmid, Florian and Widmer, Gerhard},
  booktitle = {IEEE Workshop on Applications of Signal Processing to Audio and Acoustics (WASPAA)},
  year      = {2025},
  eprint    = {2505.07609},
  archivePrefix = {arXiv}
}
"""
