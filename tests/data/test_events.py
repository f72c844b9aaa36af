"""Reading event tables: interval parsing, per-label aggregation, skip reasons, strictness, real tables.

Expected values are worked out by hand from the small inputs written here; the real-table numbers
come from ``tacos_temporal/data/tacos_events/README.md`` or are recomputed with the csv module.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from tacos_temporal.data.events import (
    BAD_INTERVAL,
    CLIP_HAS_MALFORMED_ROWS,
    MISSING_VALUE,
    NEGATIVE_TIME,
    ONSET_NOT_BEFORE_OFFSET,
    UNKNOWN_CLIP,
    UNSAFE_FILENAME,
    annotations_from_mapping,
    normalize_label,
    parse_intervals,
    read_event_table,
    read_strong_annotations,
)
from tacos_temporal.errors import AnnotationError, SourceError

EVENT_HEADER = ("idx", "filename", "subclass", "intervals", "question")


def write_event_table(path, rows):
    """Write ``rows`` of (filename, subclass, intervals) as an event table; row i is on line i + 2."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(EVENT_HEADER)
        for index, (filename, label, intervals) in enumerate(rows, start=1):
            writer.writerow([index, filename, label, intervals, "q?"])
    return path


def write_strong(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("filename", "text", "onset", "offset"))
        writer.writerows(rows)
    return path


def lines_of(report, reason):
    return [ex["line"] for ex in report.examples if ex["reason"] == reason]


# --- parse_intervals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[0.93-1.40, 2.28-2.75]", [(0.93, 1.40), (2.28, 2.75)]),
        ("[0.93-1.40, 2.28-2.75, 3.70-4.27]", [(0.93, 1.40), (2.28, 2.75), (3.70, 4.27)]),
        ("0.93-1.40", [(0.93, 1.40)]),
        ("[0.02-23.89]", [(0.02, 23.89)]),
        ("  [ 0.93 - 1.40 ,2.28-2.75 ]  ", [(0.93, 1.40), (2.28, 2.75)]),
        ("[3-4]", [(3.0, 4.0)]),
        ("[5.00-6.00, 1.00-2.00]", [(5.0, 6.0), (1.0, 2.0)]),
        ("[-1.00-2.00]", [(-1.0, 2.0)]),
    ],
    ids=["two", "three", "single-without-brackets", "single", "whitespace", "integers", "unsorted-kept", "negative"],
)
def test_parse_intervals_reads_start_end_pairs_in_given_order(text, expected):
    assert parse_intervals(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "[]", "[  ]", "abc", "[0.93-]", "[-1.40]", "[0.93-1.40,]", "[1.0 2.0]", "[1-2-3]",
     "[0.93-1.40; 2.28-2.75]", "[0.93-1.40", "nan-1.0", "[0.93-1.40, x-2]"],
)
def test_parse_intervals_rejects_malformed_text(text):
    with pytest.raises(ValueError):
        parse_intervals(text)


def test_parse_intervals_error_names_the_bad_piece():
    with pytest.raises(ValueError, match=r"'x-2' is not 'start-end'"):
        parse_intervals("[0.93-1.40, x-2]")


def test_normalize_label_collapses_whitespace_strips_end_punctuation_and_lowercases():
    assert normalize_label("  A dog   barks loudly. ") == "a dog barks loudly"
    assert normalize_label("Car passes!?") == "car passes"


# --- aggregation per label -----------------------------------------------------------------------


def test_label_onset_is_earliest_start_offset_latest_end_duration_summed():
    clip = annotations_from_mapping({"1.mp3": {"Dog": [(0.5, 1.0), (3.0, 4.5)]}}).clips["1.mp3"]
    dog = clip.get("Dog")
    assert dog.onset == 0.5
    assert dog.offset == 4.5
    assert dog.duration == pytest.approx(2.0)  # 0.5 + 1.5, not 4.5 - 0.5 = 4.0


def test_unsorted_intervals_of_one_label_give_the_same_onset_offset_and_duration():
    clip = annotations_from_mapping({"1.mp3": {"Dog": [(5.0, 6.0), (1.0, 2.5)]}}).clips["1.mp3"]
    dog = clip.get("Dog")
    assert (dog.onset, dog.offset) == (1.0, 6.0)
    assert dog.duration == pytest.approx(2.5)


def test_offset_is_the_latest_end_even_when_a_later_start_ends_earlier():
    clip = annotations_from_mapping({"1.mp3": {"Dog": [(2.0, 3.0), (0.0, 10.0)]}}).clips["1.mp3"]
    dog = clip.get("Dog")
    assert (dog.onset, dog.offset) == (0.0, 10.0)
    assert dog.duration == pytest.approx(11.0)


def test_overlapping_intervals_of_one_label_are_summed_as_given():
    clip = annotations_from_mapping({"1.mp3": {"Dog": [(0.0, 4.0), (2.0, 6.0)]}}).clips["1.mp3"]
    dog = clip.get("Dog")
    assert (dog.onset, dog.offset) == (0.0, 6.0)
    assert dog.duration == pytest.approx(8.0)  # 4 + 4, not the 6-s union


def test_clips_and_labels_are_sorted_and_the_label_pool_is_distinct(tmp_path):
    events = annotations_from_mapping(
        {
            "9.mp3": {"Rain": [(0.0, 1.0)], "Dog": [(0.0, 1.0)]},
            "10.mp3": {"Dog": [(0.0, 2.0)], "Bird Chirp": [(1.0, 3.0)]},
        }
    )
    assert list(events.clips) == ["10.mp3", "9.mp3"]
    assert events.clips["9.mp3"].label_names() == ("Dog", "Rain")
    assert events.labels == ("Bird Chirp", "Dog", "Rain")
    assert events.clips["9.mp3"].get("Bird Chirp") is None


def test_two_rows_of_one_label_in_a_clip_merge_into_one_label(tmp_path):
    path = write_event_table(
        tmp_path / "events.csv",
        [("1.mp3", "Dog", "[5.00-7.00]"), ("1.mp3", "Cat", "[0.00-1.00]"), ("1.mp3", "Dog", "[0.50-1.00]")],
    )
    events = read_event_table(path)
    clip = events.clips["1.mp3"]
    assert clip.label_names() == ("Cat", "Dog")
    assert clip.get("Dog").intervals == ((0.5, 1.0), (5.0, 7.0))
    assert clip.get("Dog").duration == pytest.approx(2.5)
    assert events.report.rows == events.report.rows_used == 3


def test_labels_are_kept_as_written_in_the_table(tmp_path):
    path = write_event_table(tmp_path / "e.csv", [("1.mp3", "Stream_River", "[0.02-23.89]"), ("1.mp3", " Bird Chirp ", "[1-2]")])
    assert read_event_table(path).clips["1.mp3"].label_names() == ("Bird Chirp", "Stream_River")


def test_a_utf8_byte_order_mark_before_the_header_is_accepted(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_text("\ufeffidx,filename,subclass,intervals,question\n1,1.mp3,Dog,[0.00-1.00],q\n", encoding="utf-8")
    assert list(read_event_table(path).clips) == ["1.mp3"]


# --- skip reasons --------------------------------------------------------------------------------

# The bad row sits on line 3 of clip 1.mp3, between two good rows of that clip (lines 2 and 4);
# line 5 is a good row of another clip.
MALFORMED_CASES = [
    ("", MISSING_VALUE),
    ("   ", MISSING_VALUE),
    ("[]", BAD_INTERVAL),
    ("abc", BAD_INTERVAL),
    ("[0.93-]", BAD_INTERVAL),
    ("[1e999-2.00]", BAD_INTERVAL),
    ("NaN", BAD_INTERVAL),
    ("[-1.00-2.00]", NEGATIVE_TIME),
    ("[0.00-1.00, 2.00--3.00]", NEGATIVE_TIME),
    ("[2.00-1.00]", ONSET_NOT_BEFORE_OFFSET),
    ("[1.50-1.50]", ONSET_NOT_BEFORE_OFFSET),
    ("[0.00-1.00, 3.00-3.00]", ONSET_NOT_BEFORE_OFFSET),
]


@pytest.mark.parametrize(("intervals", "reason"), MALFORMED_CASES, ids=[f"{r}:{t!r}" for t, r in MALFORMED_CASES])
def test_malformed_intervals_skip_the_row_and_drop_the_rest_of_its_clip(tmp_path, intervals, reason):
    path = write_event_table(
        tmp_path / "events.csv",
        [
            ("1.mp3", "Dog", "[0.00-1.00]"),
            ("1.mp3", "Cat", intervals),
            ("1.mp3", "Bird", "[2.00-3.00]"),
            ("2.mp3", "Dog", "[0.00-1.00]"),
        ],
    )
    events = read_event_table(path)
    report = events.report
    assert list(events.clips) == ["2.mp3"]
    assert dict(report.skipped) == {reason: 1, CLIP_HAS_MALFORMED_ROWS: 2}
    assert lines_of(report, reason) == [3]
    assert lines_of(report, CLIP_HAS_MALFORMED_ROWS) == [2, 4]
    assert report.dropped_clips == ["1.mp3"]
    assert (report.rows, report.rows_used, report.rows_skipped) == (4, 1, 3)
    assert report.to_dict()["skipped"] == {reason: 1, CLIP_HAS_MALFORMED_ROWS: 2}


@pytest.mark.parametrize("label", ["", "   "])
def test_an_empty_label_is_a_missing_value_and_drops_its_clip(tmp_path, label):
    path = write_event_table(
        tmp_path / "events.csv",
        [("1.mp3", "Dog", "[0.00-1.00]"), ("1.mp3", label, "[1.00-2.00]"), ("2.mp3", "Dog", "[0.00-1.00]")],
    )
    events = read_event_table(path)
    assert list(events.clips) == ["2.mp3"]
    assert lines_of(events.report, MISSING_VALUE) == [3]
    assert lines_of(events.report, CLIP_HAS_MALFORMED_ROWS) == [2]
    assert events.report.dropped_clips == ["1.mp3"]


def test_an_empty_label_drops_the_clip_even_when_its_file_name_is_padded_with_spaces(tmp_path):
    path = write_event_table(
        tmp_path / "events.csv", [(" 1.mp3 ", "", "[1.00-2.00]"), ("1.mp3", "Dog", "[0.00-1.00]"), ("2.mp3", "Dog", "[0-1]")]
    )
    events = read_event_table(path)
    assert list(events.clips) == ["2.mp3"]
    assert events.report.dropped_clips == ["1.mp3"]
    assert lines_of(events.report, CLIP_HAS_MALFORMED_ROWS) == [3]


def test_an_empty_file_name_is_a_missing_value_that_drops_no_clip(tmp_path):
    path = write_event_table(
        tmp_path / "events.csv", [("1.mp3", "Dog", "[0.00-1.00]"), ("", "Dog", "[0.00-1.00]"), ("1.mp3", "Cat", "[0-1]")]
    )
    events = read_event_table(path)
    assert events.clips["1.mp3"].label_names() == ("Cat", "Dog")
    assert dict(events.report.skipped) == {MISSING_VALUE: 1}
    assert lines_of(events.report, MISSING_VALUE) == [3]
    assert events.report.dropped_clips == []


def test_an_empty_label_with_an_unsafe_file_name_lists_no_dropped_clip(tmp_path):
    path = write_event_table(tmp_path / "events.csv", [("../x.mp3", "", "[0.00-1.00]"), ("1.mp3", "Dog", "[0-1]")])
    events = read_event_table(path)
    assert dict(events.report.skipped) == {MISSING_VALUE: 1}
    assert events.report.dropped_clips == []
    assert list(events.clips) == ["1.mp3"]


def test_missing_values_from_memory_include_nan_labels_and_nan_times():
    events = annotations_from_mapping(
        {"1.mp3": {"Dog": [(0.0, 1.0)], math.nan: [(0.0, 1.0)]}, "2.mp3": {"Dog": [(math.nan, 1.0)], "Cat": [(0, 1)]}}
    )
    assert events.clips == {}
    assert events.report.skipped[MISSING_VALUE] == 1
    assert events.report.skipped[BAD_INTERVAL] == 1
    assert events.report.dropped_clips == ["1.mp3", "2.mp3"]


@pytest.mark.parametrize("filename", ["../x.mp3", "/etc/passwd", "a/b.mp3", "a\\b.mp3", "..", ".hidden.mp3", "x..mp3"])
def test_unsafe_file_names_are_skipped_without_dropping_other_clips(tmp_path, filename):
    path = write_event_table(
        tmp_path / "events.csv", [("1.mp3", "Dog", "[0.00-1.00]"), (filename, "Dog", "[0.00-1.00]"), ("1.mp3", "Cat", "[0-1]")]
    )
    events = read_event_table(path)
    assert list(events.clips) == ["1.mp3"]
    assert events.clips["1.mp3"].label_names() == ("Cat", "Dog")
    assert dict(events.report.skipped) == {UNSAFE_FILENAME: 1}
    assert lines_of(events.report, UNSAFE_FILENAME) == [3]
    assert events.report.dropped_clips == []


def test_rows_of_clips_outside_known_clips_are_skipped_as_unknown(tmp_path):
    path = write_event_table(
        tmp_path / "events.csv",
        [("1.mp3", "Dog", "[0.00-1.00]"), ("999.mp3", "Dog", "[0.00-1.00]"), ("999.mp3", "Cat", "[0-1]"), ("2.mp3", "Dog", "[0-1]")],
    )
    events = read_event_table(path, known_clips=["1.mp3", "2.mp3"])
    assert list(events.clips) == ["1.mp3", "2.mp3"]
    assert dict(events.report.skipped) == {UNKNOWN_CLIP: 2}
    assert lines_of(events.report, UNKNOWN_CLIP) == [3, 4]
    assert events.report.dropped_clips == []
    assert events.report.rows_used == 2


def test_each_skipped_row_is_counted_once_under_its_own_reason(tmp_path):
    path = write_event_table(
        tmp_path / "events.csv",
        [
            ("1.mp3", "Dog", "[0.00-1.00]"),  # 2: dropped with its clip
            ("1.mp3", "Cat", "[2.00-1.00]"),  # 3: onset >= offset
            ("/etc/passwd", "Dog", "[0-1]"),  # 4: unsafe
            ("2.mp3", "Dog", "[-0.50-1.00]"),  # 5: negative
            ("3.mp3", "Dog", "oops"),  # 6: bad interval
            ("4.mp3", "Dog", ""),  # 7: missing
            ("5.mp3", "Dog", "[0.00-1.00]"),  # 8: kept
        ],
    )
    report = read_event_table(path).report
    assert report.to_dict()["skipped"] == {
        MISSING_VALUE: 1,
        UNSAFE_FILENAME: 1,
        BAD_INTERVAL: 1,
        NEGATIVE_TIME: 1,
        ONSET_NOT_BEFORE_OFFSET: 1,
        CLIP_HAS_MALFORMED_ROWS: 1,
    }
    assert [(ex["line"], ex["reason"]) for ex in report.examples] == [
        (3, ONSET_NOT_BEFORE_OFFSET),
        (4, UNSAFE_FILENAME),
        (5, NEGATIVE_TIME),
        (6, BAD_INTERVAL),
        (7, MISSING_VALUE),
        (2, CLIP_HAS_MALFORMED_ROWS),
    ]
    assert report.dropped_clips == ["1.mp3", "2.mp3", "3.mp3", "4.mp3"]
    assert (report.rows, report.rows_used, report.rows_skipped) == (7, 1, 6)
    assert report.to_dict()["source"] == "events.csv"  # no machine path in reports


# --- strictness and column errors ----------------------------------------------------------------


def test_strict_reading_raises_with_counts_and_first_lines(tmp_path):
    path = write_event_table(
        tmp_path / "events.csv",
        [("1.mp3", "Dog", "[0.00-1.00]"), ("1.mp3", "Cat", "[2.00-1.00]"), ("2.mp3", "Dog", "[0-1]")],
    )
    with pytest.raises(AnnotationError) as info:
        read_event_table(path, strict=True)
    message = str(info.value)
    assert "2 malformed annotation row(s)" in message
    assert f"{ONSET_NOT_BEFORE_OFFSET}: 1" in message
    assert f"{CLIP_HAS_MALFORMED_ROWS}: 1" in message
    assert "line 3: onset_not_before_offset" in message
    assert "line 2: clip_has_malformed_rows" in message


def test_strict_reading_of_a_clean_table_does_not_raise(tmp_path):
    path = write_event_table(tmp_path / "events.csv", [("1.mp3", "Dog", "[0.00-1.00]"), ("1.mp3", "Cat", "[2-3]")])
    assert list(read_event_table(path, strict=True).clips) == ["1.mp3"]


def test_a_table_without_the_intervals_column_names_the_missing_column(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("idx,filename,subclass,question\n1,1.mp3,Dog,q\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"lacks the column\(s\) intervals"):
        read_event_table(path)


def test_a_table_missing_two_columns_names_both(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("idx,filename,question\n1,1.mp3,q\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"subclass, intervals"):
        read_event_table(path)


def test_a_missing_or_empty_table_is_a_source_error(tmp_path):
    with pytest.raises(SourceError, match="not found"):
        read_event_table(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    with pytest.raises(SourceError, match="empty"):
        read_event_table(tmp_path / "empty.csv")


# --- TACOS annotations_strong.csv ----------------------------------------------------------------


def strong_rows():
    return [
        ("1.mp3", "A dog barks.", "0.5", "1.5"),  # line 2
        ("1.mp3", "a  dog barks", "3.0", "4.0"),  # line 3: same label after normalising
        ("1.mp3", "Car passes", "2.0", "9.0"),  # line 4
        ("2.mp3", "Rain", "0", "10"),  # line 5
        ("3.mp3", "Bird", "1", "1"),  # line 6: onset == offset
    ]


def test_strong_annotations_use_normalised_text_as_label_and_merge_rows_of_one_label(tmp_path):
    events = read_strong_annotations(write_strong(tmp_path / "strong.csv", strong_rows()), clips=["1.mp3", "2.mp3"])
    assert list(events.clips) == ["1.mp3", "2.mp3"]
    clip = events.clips["1.mp3"]
    assert clip.label_names() == ("a dog barks", "car passes")
    dog = clip.get("a dog barks")
    assert dog.intervals == ((0.5, 1.5), (3.0, 4.0))
    assert (dog.onset, dog.offset, dog.duration) == (0.5, 4.0, 2.0)
    assert events.labels == ("a dog barks", "car passes", "rain")
    assert (events.report.rows, events.report.rows_skipped) == (4, 0)  # 3.mp3 filtered out, not skipped


def test_strong_annotations_without_a_clip_filter_skip_bad_rows_with_their_line(tmp_path):
    rows = strong_rows() + [("4.mp3", "Wind", "abc", "2"), ("5.mp3", "Wind", "1", ""), ("5.mp3", "Car", "0", "1")]
    events = read_strong_annotations(write_strong(tmp_path / "strong.csv", rows))
    report = events.report
    assert list(events.clips) == ["1.mp3", "2.mp3"]
    assert report.to_dict()["skipped"] == {
        MISSING_VALUE: 1,
        BAD_INTERVAL: 1,
        ONSET_NOT_BEFORE_OFFSET: 1,
        CLIP_HAS_MALFORMED_ROWS: 1,
    }
    assert lines_of(report, ONSET_NOT_BEFORE_OFFSET) == [6]
    assert lines_of(report, BAD_INTERVAL) == [7]
    assert lines_of(report, MISSING_VALUE) == [8]
    assert lines_of(report, CLIP_HAS_MALFORMED_ROWS) == [9]
    assert report.dropped_clips == ["3.mp3", "4.mp3", "5.mp3"]


def test_strong_annotations_missing_the_offset_column_is_a_source_error(tmp_path):
    path = tmp_path / "strong.csv"
    path.write_text("filename,text,onset\n1.mp3,Dog,0\n", encoding="utf-8")
    with pytest.raises(SourceError, match="offset"):
        read_strong_annotations(path)


# --- the real tables (the shipped test table; an excerpt of the train table) ----------------------------------------------


def test_real_test_table_reads_every_row_clip_and_label(events_test_csv):
    events = read_event_table(events_test_csv)
    report = events.report
    # tacos_temporal/data/tacos_events/README.md: 2,000 clips, 3,656 rows, 111 labels.
    assert report.rows == 3656
    assert report.rows_used == 3656
    assert report.rows_skipped == 0
    assert report.dropped_clips == []
    assert len(events.clips) == 2000
    assert len(events.labels) == 111
    assert "Stream_River" in events.labels


def test_real_train_excerpt_skips_its_single_row_with_onset_not_before_offset():
    # The 21 clips around the one malformed clip of the real train table (events_train.csv, same
    # source and licence as the shipped test table; excerpt made with the csv module, rows unchanged).
    path = Path(__file__).parent / "events_train_excerpt.csv"
    # Independent scan with the csv module: rows whose intervals contain start >= end.
    bad, rows_per_clip, total = [], {}, 0
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        for line, row in enumerate(reader, start=2):
            total += 1
            rows_per_clip[row["filename"]] = rows_per_clip.get(row["filename"], 0) + 1
            for piece in row["intervals"].strip("[]").split(","):
                start, end = (float(x) for x in piece.strip().split("-"))
                if start >= end:
                    bad.append((line, row["filename"]))
                    break
    assert len(bad) == 1
    line, clip = bad[0]

    events = read_event_table(path)
    report = events.report
    assert report.rows == total == 29
    assert clip == "58000.mp3"
    assert report.skipped[ONSET_NOT_BEFORE_OFFSET] == 1
    assert lines_of(report, ONSET_NOT_BEFORE_OFFSET) == [line]
    assert report.skipped[CLIP_HAS_MALFORMED_ROWS] == rows_per_clip[clip] - 1
    assert report.rows_skipped == rows_per_clip[clip]
    assert report.dropped_clips == [clip]
    assert clip not in events.clips
    assert len(events.clips) == len(rows_per_clip) - 1 == 20


# --- labels that would break the prompt (issue 17) ------------------------------------------------


@pytest.mark.parametrize("label", ["Dog\nbarking", "Dog\r\nbarking", "Dog\tbarking", "Dog\x00", "Dog\u2028barking", "Dog\x85barking"])
def test_a_label_with_a_line_break_or_control_character_is_a_bad_label_that_drops_its_clip(tmp_path, label):
    from tacos_temporal.data.events import BAD_LABEL

    path = write_event_table(
        tmp_path / "events.csv",
        [("1.mp3", "Bird", "[0.00-1.00]"), ("1.mp3", label, "[1.00-2.00]"), ("2.mp3", "Dog", "[0.00-1.00]")],
    )
    events = read_event_table(path)
    assert list(events.clips) == ["2.mp3"]
    assert lines_of(events.report, BAD_LABEL) == [3]  # the data row's number, counting the header as 1
    assert lines_of(events.report, CLIP_HAS_MALFORMED_ROWS) == [2]
    assert events.report.to_dict()["skipped"][BAD_LABEL] == 1
    with pytest.raises(AnnotationError, match=r"line 3: bad_label .*U\+"):
        read_event_table(path, strict=True)


def test_labels_with_inner_spaces_punctuation_and_unicode_letters_are_kept(tmp_path):
    path = write_event_table(tmp_path / "events.csv", [("1.mp3", "Stream_River", "[0.00-1.00]"), ("1.mp3", "Café – bell (distant)", "[1.00-2.00]")])
    assert read_event_table(path).clips["1.mp3"].label_names() == ("Café – bell (distant)", "Stream_River")
