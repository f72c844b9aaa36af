"""The item schema: construction checks, dict and JSON Lines round trips, read errors, atomic writes."""

from __future__ import annotations

import json

import pytest

from tacos_temporal.data.events import annotations_from_mapping
from tacos_temporal.data.items import ITEM_FIELDS, Item, OptionEvidence, item_id, read_items_jsonl, write_items_jsonl
from tacos_temporal.data.selection import select_items
from tacos_temporal.errors import ConfigError, SourceError
from tacos_temporal.names import BENCHMARK_VERSION, QUESTIONS


def make_item(**changes) -> Item:
    values = dict(
        id="EO-100388",
        task="earliest_onset",
        filename="100388.mp3",
        question=QUESTIONS["earliest_onset"],
        options=("Stream_River", "Bird Chirp", "Café ambience", "Siren"),
        answer="A",
        answer_label="Stream_River",
        margin_s=0.91,
        events=(
            OptionEvidence("A", "Stream_River", True, 0.02, 23.89, 23.87, ((0.02, 23.89),)),
            OptionEvidence("B", "Bird Chirp", True, 0.93, 2.75, 0.94, ((0.93, 1.4), (2.28, 2.75))),
            OptionEvidence("C", "Café ambience", False, None, None, None, ()),
            OptionEvidence("D", "Siren", False, None, None, None, ()),
        ),
        clip_labels=2,
        benchmark_version=BENCHMARK_VERSION,
    )
    values.update(changes)
    return Item(**values)


def good_line(**changes) -> str:
    return json.dumps(make_item(**changes).to_dict(), ensure_ascii=False)


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# --- the dataclass -------------------------------------------------------------------------------


def test_item_id_is_task_code_and_clip_stem():
    assert item_id("earliest_onset", "100388.mp3") == "EO-100388"
    assert item_id("latest_offset", "7.mp3") == "LO-7"
    assert item_id("longest_duration", "42.mp3") == "LD-42"


def test_to_dict_lists_every_field_in_schema_order_with_plain_json_types():
    data = make_item().to_dict()
    assert tuple(data) == ITEM_FIELDS
    assert data["options"] == ["Stream_River", "Bird Chirp", "Café ambience", "Siren"]
    assert data["events"][1] == {
        "letter": "B",
        "label": "Bird Chirp",
        "in_clip": True,
        "onset_s": 0.93,
        "offset_s": 2.75,
        "duration_s": 0.94,
        "intervals": [[0.93, 1.4], [2.28, 2.75]],
    }
    assert data["events"][2]["intervals"] == []
    assert json.loads(json.dumps(data)) == data


def test_from_dict_of_to_dict_gives_the_same_item():
    item = make_item()
    assert Item.from_dict(item.to_dict()) == item
    assert Item.from_dict(json.loads(json.dumps(item.to_dict()))) == item


def test_selected_items_survive_the_dict_round_trip():
    events = annotations_from_mapping(
        {
            "1.mp3": {"Dog": [(0.13, 2.0), (5.5, 9.75)], "Car": [(1.13, 3.0)]},
            "2.mp3": {"Rain": [(0.0, 1.0)], "Wind": [(3.0, 4.0)], "Bell": [(0, 0.5)], "Siren": [(0, 0.25)]},
        }
    )
    items = select_items(events)
    assert items
    assert [Item.from_dict(json.loads(json.dumps(item.to_dict()))) for item in items] == items


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"options": ("Stream_River", "Bird Chirp", "Siren")}, SourceError, "4 distinct options"),
        ({"options": ("Stream_River", "Siren", "Siren", "Bird Chirp")}, SourceError, "4 distinct options"),
        ({"answer": "B"}, SourceError, "does not point at 'Stream_River'"),
        ({"answer": "E"}, SourceError, "does not point at"),
        ({"task": "earliest"}, ConfigError, "Unknown task 'earliest'"),
    ],
)
def test_an_inconsistent_item_cannot_be_built(changes, error, message):
    with pytest.raises(error, match=message):
        make_item(**changes)


# --- items.jsonl ---------------------------------------------------------------------------------


def test_write_then_read_items_jsonl_gives_the_same_items(tmp_path):
    items = [
        make_item(),
        make_item(id="LO-100388", task="latest_offset", question=QUESTIONS["latest_offset"], margin_s=1.0),
    ]
    path = write_items_jsonl(items, tmp_path / "items.jsonl")
    assert path == tmp_path / "items.jsonl"
    assert read_items_jsonl(path) == items
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert "Café ambience" in lines[0]  # UTF-8, not \u escapes
    assert list(json.loads(lines[0])) == list(ITEM_FIELDS)


def test_an_empty_item_list_writes_an_empty_file_that_reads_back_empty(tmp_path):
    path = write_items_jsonl([], tmp_path / "items.jsonl")
    assert path.read_bytes() == b""
    assert read_items_jsonl(path) == []


def test_blank_lines_are_ignored_when_reading(tmp_path):
    path = write_lines(tmp_path / "items.jsonl", ["", good_line(), "   "])
    assert read_items_jsonl(path) == [make_item()]


def test_writing_creates_missing_parent_folders(tmp_path):
    path = write_items_jsonl([make_item()], tmp_path / "a" / "b" / "items.jsonl")
    assert read_items_jsonl(path) == [make_item()]


def test_write_leaves_no_temporary_files_and_replaces_an_existing_file_whole(tmp_path):
    path = tmp_path / "items.jsonl"
    many = [make_item(id=f"EO-{i}", filename=f"{i}.mp3") for i in range(50)]
    write_items_jsonl(many, path)
    write_items_jsonl([make_item()], path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["items.jsonl"]
    assert path.read_text(encoding="utf-8") == good_line() + "\n"
    assert read_items_jsonl(path) == [make_item()]


def test_a_missing_items_file_is_a_source_error_with_the_fixing_command(tmp_path):
    with pytest.raises(SourceError, match=r"items file not found: .*nope\.jsonl.*tacos-temporal build"):
        read_items_jsonl(tmp_path / "nope.jsonl")


def _without(field):
    data = make_item(id="EO-2", filename="2.mp3").to_dict()
    del data[field]
    return json.dumps(data)


def _with(**values):
    data = make_item(id="EO-2", filename="2.mp3").to_dict()
    data.update(values)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("second_line", "message"),
    [
        ('{"id": "EO-2", "task": ', "not a valid item"),
        ("not json at all", "not a valid item"),
        ("[1, 2, 3]", "not a valid item"),
        ('"EO-2"', "not a valid item"),
        ("null", "not a valid item"),
        (_without("answer"), "lacks field\\(s\\) answer"),
        (_without("events"), "lacks field\\(s\\) events"),
        (_with(answer="C"), "answer 'C' does not point at 'Stream_River'"),
        (_with(task="first"), "Unknown task 'first'"),
        (good_line(), "duplicate item id 'EO-100388'"),
    ],
    ids=["truncated-json", "not-json", "json-list", "json-string", "json-null", "missing-answer",
         "missing-events", "wrong-letter", "unknown-task", "duplicate-id"],
)
def test_a_bad_line_raises_source_error_naming_file_and_line(tmp_path, second_line, message):
    path = write_lines(tmp_path / "items.jsonl", [good_line(), second_line, good_line(id="EO-3", filename="3.mp3")])
    with pytest.raises(SourceError, match=message) as info:
        read_items_jsonl(path)
    assert f"{path}:2:" in str(info.value)
