"""Every error a user can cause ends in exactly one ``error: ...`` line (exit status 1) that says what to
do, and the checks that need no model run before any model is loaded.

Each case runs the real command line (``cli.main(argv)``; the Hub-unreachable cases as a subprocess
of the installed console entry point, so that HF_ENDPOINT / HF_HUB_OFFLINE are read fresh).
``load_runner`` is wrapped (it still loads) only to record whether a model load was attempted.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tacos_temporal import cli

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def loads(monkeypatch):
    """The model loads attempted during the test (``load_runner`` still does its work)."""
    import tacos_temporal.harness.analysis as analysis
    import tacos_temporal.harness.models as models
    import tacos_temporal.harness.reproduce as reproduce

    calls = []
    original = models.load_runner

    def recording(cfg):
        calls.append(cfg.model)
        return original(cfg)

    for module in (models, analysis, reproduce):
        monkeypatch.setattr(module, "load_runner", recording)
    return calls


def one_error_line(capsys, argv) -> str:
    code = cli.main(argv)
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert code == 1, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture
def hub(hub_server):
    """The local Hub test server (HF_ENDPOINT), empty."""
    hub_server.reset()
    yield hub_server
    assert not hub_server.unknown, hub_server.unknown


@pytest.fixture
def items_only_build(tmp_path):
    out = tmp_path / "items_out"
    assert cli.main(["build", "--items-only", "--out", str(out), "--quiet"]) == 0
    return out


# --- --data, before the model ---------------------------------------------------------------------

DATA_COMMANDS = {
    "eval": ["eval", "--model", "random", "--out", "{out}"],
    "eval-views": ["eval", "--model", "random", "--view", "audio_only", "caption_only", "--out", "{out}"],
    "attention": ["attention", "--model", "random", "--out", "{out}"],
    "sweep": ["sweep", "--model", "random", "--kind", "scale", "--alphas", "2", "--out", "{out}"],
    "reproduce": ["reproduce", "--recipe", "audio-flamingo-3", "--model", "random", "--out", "{out}"],
}


@pytest.mark.parametrize("command", sorted(DATA_COMMANDS))
def test_a_missing_data_folder_is_one_line_before_any_model_load(command, tmp_path, capsys, loads):
    argv = [a.format(out=tmp_path / "run") for a in DATA_COMMANDS[command]] + ["--data", str(tmp_path / "tacos_temporal_dataset")]
    line = one_error_line(capsys, argv)
    assert line == (f"error: --data {tmp_path / 'tacos_temporal_dataset'}: no such folder; build one with: tacos-temporal build "
                    f"--tacos-dir TACOS_DIR --out {tmp_path / 'tacos_temporal_dataset'} (or use --demo)")
    assert loads == [] and not (tmp_path / "run").exists()


@pytest.mark.parametrize("value", ["./tacos_temporal_datset", "../x/y", "a/b/c", "~/no_such_dataset_here"])
def test_a_path_like_data_value_never_asks_the_hub(value, tmp_path, capsys, loads, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = one_error_line(capsys, ["eval", "--model", "random", "--data", value, "--out", "run"])
    assert line.startswith(f"error: --data {value}: no such folder; build one with: tacos-temporal build")
    assert loads == []


def test_an_items_only_build_as_data_says_how_to_build_the_views(items_only_build, tmp_path, capsys, loads):
    line = one_error_line(capsys, ["eval", "--model", "random", "--data", str(items_only_build), "--out", str(tmp_path / "r")])
    assert "holds items only (built with --items-only), no dataset views" in line and "--tacos-dir" in line
    assert loads == []


def test_a_file_as_data_is_one_line(tmp_path, capsys, loads):
    (tmp_path / "items.jsonl").write_text("{}\n")
    line = one_error_line(capsys, ["eval", "--model", "random", "--data", str(tmp_path / "items.jsonl"), "--out", str(tmp_path / "r")])
    assert line == f"error: --data {tmp_path / 'items.jsonl'} is a file; pass a built dataset folder (tacos-temporal build --out DIR) or a Hub dataset id"
    assert loads == []


def test_a_build_without_the_requested_view_names_it(demo_build, tmp_path, capsys, loads):
    import shutil

    partial = shutil.copytree(demo_build.out_dir, tmp_path / "partial")
    shutil.rmtree(partial / "data" / "caption_only")
    line = one_error_line(capsys, ["eval", "--model", "random", "--data", str(partial), "--view", "audio_only", "caption_only", "--out", str(tmp_path / "r")])
    assert f"--data {partial} has no caption_only view" in line and "--views audio_only caption_only" in line
    assert loads == []


def test_a_hub_dataset_that_does_not_exist_is_one_line(hub, tmp_path, capsys, loads):
    line = one_error_line(capsys, ["eval", "--model", "random", "--data", "tacos-org/no-such-benchmark", "--out", str(tmp_path / "r")])
    assert line.startswith("error: --data tacos-org/no-such-benchmark: no such local folder, and no dataset 'tacos-org/no-such-benchmark' on the Hub")
    assert "build one with: tacos-temporal build" in line
    assert loads == []


def test_a_hub_dataset_that_exists_passes_the_check(hub):
    from tacos_temporal.data.locate import check_data

    hub.create_repo("tacos-org/tacos_temporal", "dataset")
    assert check_data("tacos-org/tacos_temporal", ["audio_only", "silence"]) is None
    assert [r.path for r in hub.seen("GET", "/api/datasets/")] == ["/api/datasets/tacos-org/tacos_temporal"]


# --- --model and other options, before the model -------------------------------------------------


def test_a_missing_local_model_folder_is_one_line(demo_build, tmp_path, capsys, loads):
    line = one_error_line(capsys, ["eval", "--model", "./tiny_qwen2_audo", "--data", str(demo_build.out_dir), "--out", str(tmp_path / "r")])
    assert line.startswith("error: --model ./tiny_qwen2_audo: no such folder; pass a model folder, a Hub id (ORG/NAME), a preset name")
    assert loads == []


def test_a_folder_without_config_json_is_not_a_model(demo_build, tmp_path, capsys, loads):
    line = one_error_line(capsys, ["eval", "--model", str(tmp_path), "--data", str(demo_build.out_dir), "--out", str(tmp_path / "r")])
    assert "has no config.json, so it is not a transformers model folder" in line
    assert loads == []


def test_a_hub_model_that_does_not_exist_is_one_line(hub, demo_build, tmp_path, capsys, loads):
    line = one_error_line(capsys, ["attention", "--model", "tacos-org/no-such-model", "--data", str(demo_build.out_dir), "--out", str(tmp_path / "r")])
    assert line.startswith("error: --model tacos-org/no-such-model: no such local folder, and no model 'tacos-org/no-such-model' on the Hub")
    assert loads == []


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--limit", "0"], "error: limit must be a positive integer, got 0; leave it out to run every item"),
        (["--batch-size", "-2"], "error: batch_size must be a positive integer, got -2"),
        (["--prompt-template", "./my_prompt.txt"], "error: --prompt-template ./my_prompt.txt: no such file, and as a template it has no field"),
        (["--preset", "no_such_preset.toml"], "error: cannot read run preset no_such_preset.toml"),
        (["--intervention", "scael:alpha=2"], "error: Unknown intervention kind 'scael'. Did you mean: scale?"),
    ],
)
def test_bad_run_options_are_one_line_before_any_model_load(extra, expected, demo_build, tmp_path, capsys, loads):
    line = one_error_line(capsys, ["eval", "--model", "random", "--data", str(demo_build.out_dir), "--out", str(tmp_path / "r"), *extra])
    assert line.startswith(expected), line
    assert loads == []


def test_an_out_that_is_a_file_is_one_line(demo_build, tmp_path, capsys, loads):
    (tmp_path / "taken").write_text("x")
    line = one_error_line(capsys, ["sweep", "--model", "random", "--data", str(demo_build.out_dir), "--kind", "scale", "--alphas", "2", "--out", str(tmp_path / "taken")])
    # the run-folder lock (taken before the model loads) or the preflight check says it first
    assert line in (f"error: --out {tmp_path / 'taken'} is a file; pass a folder",
                    f"error: run folder {tmp_path / 'taken'} exists and is not a folder: choose another --out")
    assert loads == []


def test_a_sweep_holdout_out_of_range_is_one_line(demo_build, tmp_path, capsys, loads):
    line = one_error_line(capsys, ["sweep", "--model", "random", "--data", str(demo_build.out_dir), "--kind", "scale", "--alphas", "2", "--holdout", "1.5", "--out", str(tmp_path / "s")])
    assert line == "error: holdout must be in [0, 1), got 1.5"
    assert loads == []


# --- the other commands ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["score", "{tmp}/nope.jsonl"], "error: predictions not found: {tmp}/nope.jsonl"),
        (["compare", "{tmp}/a.jsonl", "{tmp}/b.jsonl"], "error: predictions not found: {tmp}/a.jsonl"),
        (["publish-dataset", "{tmp}/nope", "--repo", "o/n"], "error: {tmp}/nope is not a folder: build it with"),
        (["publish-dataset", "{tmp}", "--repo", "bad//repo"], "error: --repo must be a Hub id ORG/NAME"),
        (["publish-metric", "--repo", "o/n", "--metric-dir", "{tmp}/nope"], "error: {tmp}/nope is not the evaluate module folder"),
        (["push-results", "{tmp}/nope", "--model-repo", "o/m"], "error: {tmp}/nope is not a finished run folder"),
        (["build", "--tacos-dir", "{tmp}/nope", "--out", "{tmp}/b"], "error: TACOS folder not found: {tmp}/nope"),
        (["demo-data", "--out", "{tmp}/d", "--num-clips", "0"], "error: num_clips must be an integer >= 1, got 0"),
        (["verify-desta", "--model", "{tmp}/nope", "--reference", "{tmp}/r.pt"], "error: --model {tmp}/nope is not a converted DeSTA2.5 folder"),
        (["reproduce", "--recipe", "audio-flamingo3", "--demo", "--out", "{tmp}/r"], "error: Unknown recipe 'audio-flamingo3'. Did you mean: audio-flamingo-3"),
    ],
    ids=lambda v: v[0] if isinstance(v, list) else None,
)
def test_other_commands_answer_bad_input_with_one_line(argv, expected, tmp_path, capsys):
    line = one_error_line(capsys, [a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert line.startswith(expected.replace("{tmp}", str(tmp_path))), line


def test_verify_desta_without_the_reference_file_is_one_line(tmp_path, capsys):
    (tmp_path / "config.json").write_text("{}")
    line = one_error_line(capsys, ["verify-desta", "--model", str(tmp_path), "--reference", str(tmp_path / "ref.pt")])
    assert line.startswith(f"error: --reference {tmp_path / 'ref.pt'}: no such file")


def test_a_multi_line_library_message_is_printed_on_one_line(tmp_path, capsys, monkeypatch):
    from tacos_temporal.errors import BuildError

    def fail(args):
        raise BuildError("first part\n  second part\n")

    monkeypatch.setattr(cli, "cmd_env", fail)
    assert one_error_line(capsys, ["env"]) == "error: first part second part"


# --- the Hub unreachable or offline: fast, one line, as the real console script ------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again on exit: connections are refused


def _run(argv, env_changes, cwd):
    env = {**os.environ, "PYTHONPATH": str(REPO), **env_changes}
    env.pop("TACOS_TEMPORAL_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "tacos_temporal.cli", *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "argv, env, expected",
    [
        (["eval", "--model", "random", "--data", "my-org/tacos_temporal", "--out", "r"], {"HF_ENDPOINT": "http://127.0.0.1:{port}"},
         "error: --data my-org/tacos_temporal: cannot reach the Hub (http://127.0.0.1:{port})"),
        (["eval", "--model", "my-org/my-audio-lm", "--demo", "--out", "r"], {"HF_ENDPOINT": "http://127.0.0.1:{port}"},
         "error: --model my-org/my-audio-lm: cannot reach the Hub (http://127.0.0.1:{port})"),
        (["eval", "--model", "random", "--data", "my-org/tacos_temporal", "--out", "r"], {"HF_HUB_OFFLINE": "1"},
         "error: cannot load view 'audio_only' from my-org/tacos_temporal: Couldn't reach 'my-org/tacos_temporal' on the Hub"),
        (["eval", "--model", "my-org/my-audio-lm", "--demo", "--out", "r"], {"HF_HUB_OFFLINE": "1"},
         "error: --model my-org/my-audio-lm: HF_HUB_OFFLINE is set and the model is not in the Hugging Face cache"),
    ],
    ids=["data-unreachable", "model-unreachable", "data-offline", "model-offline"],
)
def test_a_hub_id_without_the_hub_fails_at_once_with_one_line(argv, env, expected, tmp_path, hf_home):
    port = _closed_port()
    env = {key: value.format(port=port) for key, value in env.items()}
    result = _run(argv, env, tmp_path)
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [lines[-1]] and lines[0].startswith(expected.format(port=port)), result.stderr
    if env.get("HF_HUB_OFFLINE"):
        assert "HF_HUB_OFFLINE is set" in lines[0] and "pass a local folder" in lines[0]
    else:
        assert "set HF_HUB_OFFLINE=1 to use a cached copy, or pass a local folder" in lines[0]
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--alphas", "-2"], "error: --alphas must all be > 0 (alpha), got -2"),
        (["--alphas", "2", "--layers", "-1"], "error: --layers are 0-based layer indices (>= 0), got -1"),
    ],
)
def test_bad_sweep_grids_are_one_line_before_any_model_load(extra, expected, demo_build, tmp_path, capsys, loads):
    argv = ["sweep", "--model", "random", "--data", str(demo_build.out_dir), "--kind", "scale", "--out", str(tmp_path / "s"), *extra]
    assert one_error_line(capsys, argv) == expected
    assert loads == []


def test_demo_into_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "taken").write_text("x")
    assert one_error_line(capsys, ["demo", "--out", str(tmp_path / "taken"), "--quiet"]) == (
        f"error: {tmp_path / 'taken'} is a file; pass a folder for the demo run (--out)")


def test_an_unexpected_os_error_is_one_line_naming_the_path(tmp_path, capsys, monkeypatch):
    def fail(args):
        open(tmp_path / "missing" / "file.txt", encoding="utf-8")

    monkeypatch.setattr(cli, "cmd_env", fail)
    assert one_error_line(capsys, ["env"]) == (
        f"error: No such file or directory: {tmp_path / 'missing' / 'file.txt'} (FileNotFoundError); check the path and its permissions")
