"""The dataset card's metadata: licence fields the Hub accepts, size from the rows, the one citation."""

from __future__ import annotations

import re

import pytest
import yaml

from tacos_temporal.data.card import render_card, size_category
from tacos_temporal.names import CITATION

_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)


def _metadata(card: str) -> dict:
    return yaml.safe_load(_FRONT_MATTER.match(card).group(1))


@pytest.mark.parametrize(
    ("rows", "category"),
    [(0, "n<1K"), (16, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"), (1657, "1K<n<10K"), (9999, "1K<n<10K"), (10_000, "10K<n<100K"), (10_000_000, "n>10M")],
)
def test_size_category_follows_the_row_count(rows, category):
    assert size_category(rows) == category


def test_a_16_row_build_is_declared_below_1k_and_the_full_benchmark_1k_to_10k(demo_build):
    card = (demo_build.out_dir / "README.md").read_text(encoding="utf-8")
    assert len(demo_build.items) < 1000
    assert _metadata(card)["size_categories"] == ["n<1K"]
    assert _metadata(render_card({"total": 1657}))["size_categories"] == ["1K<n<10K"]


def test_license_other_comes_with_a_name_and_a_link_and_passes_huggingface_hub(demo_build):
    from huggingface_hub import DatasetCard

    card = (demo_build.out_dir / "README.md").read_text(encoding="utf-8")
    meta = _metadata(card)
    assert meta["license"] == "other"
    assert re.fullmatch(r"[a-z0-9-]+", meta["license_name"]) and meta["license_link"].startswith("https://")
    data = DatasetCard(card).data
    assert (data.license, data.license_name, data.license_link) == ("other", meta["license_name"], meta["license_link"])


def test_dataset_card_cites_the_one_citation(demo_build):
    card = (demo_build.out_dir / "README.md").read_text(encoding="utf-8")
    bibtex = re.search(r"## Citation\n\n```bibtex\n(.*?)```", card, flags=re.S).group(1)
    assert bibtex == CITATION
