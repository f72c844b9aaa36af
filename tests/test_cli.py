"""The command line: every documented invocation parses, errors are one clear line, commands work."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from tacos_temporal import cli

REPO = Path(__file__).resolve().parents[1]


def _parse(line: str):
    words = shlex.split(line)
    assert words[0] == "tacos-temporal", line
    return cli.build_parser().parse_args(words[1:])


@pytest.mark.parametrize(
    "line", [line for lines in cli.EXAMPLES.values() for line in lines], ids=lambda line: line[15:60]
)
def test_every_help_example_parses_with_the_real_parser(line):
    args = _parse(line)
    assert callable(args.func)


def test_every_example_command_has_a_subcommand():
    parser = cli.build_parser()
    subcommands = next(a for a in parser._actions if a.dest == "command").choices
    assert set(cli.EXAMPLES) == set(subcommands)


def _readme_command_lines() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("tacos-temporal "):
                lines.append(line)
    return lines


def test_readme_shows_commands():
    assert len(_readme_command_lines()) >= 8


@pytest.mark.parametrize("line", _readme_command_lines(), ids=lambda line: line[15:60])
def test_every_readme_command_parses(line):
    _parse(line)


@pytest.mark.parametrize("command", sorted(cli.EXAMPLES))
def test_help_of_each_command_shows_examples(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"tacos-temporal {command}" in out


def test_known_error_prints_one_line_and_exits_1(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TACOS_TEMPORAL_DEBUG", raising=False)
    code = cli.main(["build", "--out", str(tmp_path / "out")])  # no source and not --items-only
    err = capsys.readouterr().err
    assert code == 1
    assert len(err.splitlines()) == 1 and err.startswith("error: building the dataset views needs the audio")
    assert not (tmp_path / "out").exists()


def test_debug_variable_shows_the_traceback(tmp_path, monkeypatch):
    from tacos_temporal.errors import BuildError

    monkeypatch.setenv("TACOS_TEMPORAL_DEBUG", "1")
    with pytest.raises(BuildError):
        cli.main(["build", "--out", str(tmp_path / "out")])


def test_unknown_view_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["build", "--out", "x", "--items-only", "--views", "audio"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'audio'" in capsys.readouterr().err


def test_tacos_dir_and_download_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        cli.main(["build", "--out", "x", "--tacos-dir", "d", "--download"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_env_prints_package_versions(capsys):
    assert cli.main(["env"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("tacos-temporal ")
    assert re.search(r"^datasets \d", out, flags=re.M) and re.search(r"^torch \d", out, flags=re.M)


def test_items_only_build_of_the_real_event_table(events_test_csv, tmp_path, capsys):
    out = tmp_path / "items"
    assert cli.main(["build", "--events", str(events_test_csv), "--items-only", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "built 1657 items" in printed and "earliest_onset 528, latest_offset 499, longest_duration 630" in printed
    tasks = [json.loads(line)["task"] for line in (out / "items.jsonl").read_text().splitlines()]
    assert (tasks.count("earliest_onset"), tasks.count("latest_offset"), tasks.count("longest_duration")) == (528, 499, 630)
    assert sorted(p.name for p in out.iterdir()) == ["build_report.json", "items.jsonl", "items_time_reversed.jsonl"]
