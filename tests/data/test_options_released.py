"""The options of the released item set, pinned (issue 18: a build that stops shuffling the
distractors must fail here, not only in the manifest's hash).

How the pinned values were obtained, and why they can be trusted:

* They are the options of the official build of the shipped real event table, the build whose
  ``items.jsonl`` has the sha256 recorded in ``builder/manifest.json`` (checked below): the item
  set that is published.
* They were derived a second way, independently of ``data/options.py``: from the event table read
  with the ``csv`` module and the rule as the dataset card documents it (each item's generator is
  ``random.Random(f"tacos_temporal:{seed}:{item_id}")``; a clip with more than three other labels
  has three drawn from them with ``sample``; the three distractors are then shuffled and the
  answer goes to its balanced letter).  :func:`_derive` below is that derivation; it agrees with
  the build on every real item whose clip has at least three other labels (271 items).
* The statistics of the last two tests do not depend on any pinned value: over the whole real
  build, distractors that are absent from the clip stand at every letter about equally often, and
  the clip's own distractors are not put first (nor in alphabetical order) more often than chance.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import random
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from tacos_temporal.data.build import build
from tacos_temporal.names import BENCHMARK_NAME, LETTERS

REPO = Path(__file__).resolve().parents[2]

#: item id -> options A-D of the released build (see the module docstring for their provenance).
PINNED = {
    "EO-102853": ("Thumping", "Metallic Sounds", "Vehicle engine", "Siren"),
    "EO-136431": ("Beeping", "Human Speech", "Alarm sound", "Vehicle engine"),
    "LO-102853": ("Siren", "Metallic Sounds", "Vehicle engine", "Thumping"),
    "LO-121299": ("Car driving by", "Train sound", "Traffic Noise", "Bicycle"),
    "LD-121299": ("Train sound", "Traffic Noise", "Bicycle", "Car driving by"),
    "LD-124674": ("Human Speech", "Screaming", "Dog Barking", "Shouting"),
}


@pytest.fixture(scope="module")
def released(events_test_csv, tmp_path_factory):
    """The official items-only build of the real table and its items by id."""
    result = build(tmp_path_factory.mktemp("released") / "out", events=events_test_csv, items_only=True, progress=False)
    return result


@pytest.fixture(scope="module")
def clip_labels(events_test_csv) -> dict[str, set[str]]:
    labels: dict[str, set[str]] = defaultdict(set)
    with open(events_test_csv, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            labels[row["filename"].strip()].add(row["subclass"].strip())
    return labels


def _derive(item, labels: set[str], seed: int = 0) -> tuple[str, ...]:
    """The options of an item whose clip has three or more other labels, from the documented rule."""
    others = sorted(label for label in labels if label != item.answer_label)
    rng = random.Random(f"{BENCHMARK_NAME}:{seed}:{item.id}")
    distractors = rng.sample(others, 3) if len(others) > 3 else list(others)
    rng.shuffle(distractors)
    distractors.insert(LETTERS.index(item.answer), item.answer_label)
    return tuple(distractors)


def test_the_build_is_the_released_item_set(released):
    manifest = json.loads((REPO / "builder" / "manifest.json").read_text(encoding="utf-8"))
    assert hashlib.sha256((released.out_dir / "items.jsonl").read_bytes()).hexdigest() == manifest["items_jsonl_sha256"]


def test_pinned_options_of_real_items(released, clip_labels):
    by_id = {item.id: item for item in released.items}
    for item_id, options in PINNED.items():
        item = by_id[item_id]
        assert item.options == options, item_id
        assert _derive(item, clip_labels[item.filename]) == options, item_id


def test_the_documented_rule_gives_every_in_clip_only_item(released, clip_labels):
    derivable = [item for item in released.items if len(clip_labels[item.filename]) >= 4]
    assert len(derivable) == 271
    assert [item.options for item in derivable] == [_derive(item, clip_labels[item.filename]) for item in derivable]


def _chi_square_uniform(counts: list[int]) -> float:
    expected = sum(counts) / len(counts)
    return sum((c - expected) ** 2 / expected for c in counts)


def test_absent_distractors_stand_at_every_letter_about_equally_often(released, clip_labels):
    at_letter = Counter()
    for item in released.items:
        for letter, label in zip(LETTERS, item.options):
            if label not in clip_labels[item.filename]:
                at_letter[letter] += 1
    counts = [at_letter[letter] for letter in LETTERS]
    assert sum(counts) > 2000
    # 3 degrees of freedom: 16.27 is the 0.999 quantile. Without the shuffle absent distractors
    # always follow the clip's own, so C and D would hold most of them (chi-square in the hundreds).
    assert _chi_square_uniform(counts) < 16.27, counts


def test_in_clip_distractors_are_not_placed_first_or_alphabetically(released, clip_labels):
    first, mixed = 0, 0
    ordered, several = 0, 0
    for item in released.items:
        own = clip_labels[item.filename]
        kinds = [label in own for label in item.options if label != item.answer_label]
        in_clip = [label for label in item.options if label != item.answer_label and label in own]
        if 0 < sum(kinds) < 3:
            mixed += 1
            first += kinds == sorted(kinds, reverse=True)  # every in-clip distractor before every absent one
        if len(in_clip) >= 2:
            several += 1
            ordered += in_clip == sorted(in_clip)
    # A random order puts one or two in-clip distractors among three first with probability 1/3.
    assert mixed > 300 and abs(first / mixed - 1 / 3) < 4 * math.sqrt((1 / 3) * (2 / 3) / mixed), (first, mixed)
    # Two or three in-clip distractors are in alphabetical order by chance at most half the time.
    assert several > 100 and ordered / several < 0.5 + 4 * math.sqrt(0.25 / several), (ordered, several)
