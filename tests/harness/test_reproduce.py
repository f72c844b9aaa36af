"""The paper's grid from a recipe: one command, one report beside the paper's numbers."""

from __future__ import annotations

import pytest

from tacos_temporal import cli
from tacos_temporal.errors import ConfigError
from tacos_temporal.harness import paper
from tacos_temporal.harness.reproduce import load_recipe, recipe_names


def test_shipped_recipes_load_and_name_models_of_the_paper():
    assert {"audio-flamingo-3", "qwen2-audio-7b-instruct", "desta2.5-audio", "kimi-audio"} <= set(recipe_names())
    for name in recipe_names():
        assert load_recipe(name).paper_model in paper.ACCURACY


def test_recipe_errors_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="Unknown recipe"):
        load_recipe("audio-flamingo")
    bad = tmp_path / "bad.toml"
    bad.write_text('paper_model = "Audio-Flamingo-3"\nmodel = "x"\nviewz = []\n')
    with pytest.raises(ConfigError, match="unknown key\\(s\\) viewz"):
        load_recipe(bad)
    bad.write_text('paper_model = "GPT"\nmodel = "x"\n')
    with pytest.raises(ConfigError, match="Unknown paper model"):
        load_recipe(bad)


def test_reproduce_runs_the_grid_and_reports_it_beside_the_paper(tiny_models, demo_build, tmp_path, capsys):
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(
        'paper_model = "Audio-Flamingo-3"\nmodel = "unused"\nmode = "logprob"\n'
        'views = ["audio_only", "caption_only", "audio_caption", "silence"]\ncircular = true\n'
        'all_layers = ["upweight:alpha=2,layers=all,queries=keyword+last", "scale:alpha=2,layers=all,queries=keyword+last"]\n'
        '[sweep]\nkind = "scale"\nalphas = [2.0]\nlayers = [1]\nqueries = "keyword+last"\nholdout = 0.5\n'
    )
    args = ["reproduce", "--recipe", str(recipe), "--model", str(tiny_models["audioflamingo3"]), "--data", str(demo_build.out_dir), "--limit", "9", "--out", str(tmp_path / "out"), "--quiet"]
    assert cli.main(args) == 0
    report = (tmp_path / "out" / "report.md").read_text()
    assert "Only 9 items per view" in report
    assert "| Earliest Onset |" in report and "60.4" in report  # the paper's AF3 audio-only EO beside ours
    assert "paper: scaling, all layers" in report and "51.1" in report
    assert "held-out items" in report and "Paper: layer 20, alpha 2" in report
    for view in ("audio_only", "caption_only", "audio_caption", "silence"):
        assert (tmp_path / "out" / "views" / view / "results.json").is_file()
    assert (tmp_path / "out" / "sweep" / "sweep.csv").is_file()
    assert "## Controls (not the benchmark's score)" in report and "presence-only ceiling (oracle)" in report
    assert "caption-order shortcut" in report and "circular (strict), audio-only" in report
    assert "Time-reversal control not run" in report
    assert len((tmp_path / "out" / "circular" / "audio_only" / "samples.jsonl").read_text().splitlines()) == 4 * 9
    assert "# Reproduction: Audio-Flamingo-3" in capsys.readouterr().out
