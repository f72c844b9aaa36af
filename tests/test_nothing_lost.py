"""Nothing is lost, whatever the input (issue 17): outputs never overlap inputs, run folders are
locked, a damaged samples file is never silently cut, and bad paths end in one-line errors.

Each test drives the real command line (``cli.main``) or the library on the demo build; the lock
tests hold the lock from a second, real process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tacos_temporal import cli
from tacos_temporal.errors import ConfigError, SourceError
from tacos_temporal.files import PACKAGE_DIR, check_apart, folder_lock, lock_path, read_jsonl_objects
from tacos_temporal.harness.config import RunConfig
from tacos_temporal.harness.results import SAMPLES_FILE
from tacos_temporal.harness.runner import evaluate, read_records

REPO = Path(__file__).resolve().parents[1]


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.splitlines()[0]


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- 1. an output folder never equals, contains or lies inside an input ------------------------


def test_build_into_its_own_tacos_dir_is_refused_and_the_release_is_untouched(demo_release, tmp_path, capsys):
    release = tmp_path / "release"
    shutil.copytree(demo_release, release)
    before = _tree(release)
    assert cli.main(["build", "--tacos-dir", str(release), "--out", str(release), "--overwrite", "--quiet"]) == 1
    assert "is --tacos-dir" in _error_line(capsys)
    assert _tree(release) == before


@pytest.mark.parametrize("where", ["parent", "inside"])
def test_build_output_containing_or_inside_the_release_is_refused(where, demo_release, tmp_path, capsys):
    release = tmp_path / "data" / "release"
    shutil.copytree(demo_release, release)
    before = _tree(tmp_path / "data")
    out = tmp_path / "data" if where == "parent" else release / "built"
    assert cli.main(["build", "--tacos-dir", str(release), "--out", str(out), "--overwrite", "--quiet"]) == 1
    assert ("contains --tacos-dir" if where == "parent" else "lies inside --tacos-dir") in _error_line(capsys)
    assert _tree(tmp_path / "data") == before


def test_build_output_that_is_the_folder_of_the_event_table_is_refused(events_test_csv, tmp_path, capsys):
    events = tmp_path / "tables" / "events_test.csv"
    events.parent.mkdir()
    shutil.copy(events_test_csv, events)
    code = cli.main(["build", "--events", str(events), "--items-only", "--out", str(events.parent), "--overwrite", "--quiet"])
    assert code == 1 and "contains --events" in _error_line(capsys)
    assert events.read_bytes() == Path(events_test_csv).read_bytes()


def test_a_link_to_an_input_is_that_input(demo_release, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(demo_release, target_is_directory=True)
    with pytest.raises(ConfigError, match="is --tacos-dir"):
        check_apart(link, {"--tacos-dir": demo_release})
    check_apart(tmp_path / "elsewhere", {"--tacos-dir": demo_release})  # apart: no error


def test_eval_out_over_its_data_folder_is_refused(demo_build, tmp_path, capsys):
    data = tmp_path / "dataset"
    shutil.copytree(demo_build.out_dir, data)
    before = _tree(data)
    for out in (data, data / "runs" / "x"):
        code = cli.main(["eval", "--model", "random", "--data", str(data), "--out", str(out), "--overwrite", "--quiet"])
        assert code == 1 and "--data" in _error_line(capsys)
    assert _tree(data) == before


@pytest.mark.parametrize("command", [
    ["demo-data", "--overwrite"],
    ["make-tiny-model", "--arch", "qwen2_text", "--overwrite"],
    ["demo", "--overwrite", "--quiet"],
])
def test_writing_commands_refuse_a_folder_holding_the_package(command, capsys):
    # --out at the package's parent (the repository in a checkout) would replace the package itself.
    before = sorted(p.name for p in PACKAGE_DIR.iterdir())
    assert cli.main([command[0], "--out", str(PACKAGE_DIR.parent), *command[1:]]) == 1
    assert "contains this package's own files" in _error_line(capsys)
    assert sorted(p.name for p in PACKAGE_DIR.iterdir()) == before


def test_convert_desta_refuses_the_hugging_face_cache(hf_home, capsys):
    from huggingface_hub import constants

    assert cli.main(["convert-desta", "--out", str(Path(constants.HF_HUB_CACHE) / "converted")]) == 1
    assert "the Hugging Face cache" in _error_line(capsys)


def test_convert_kimi_refuses_an_output_inside_its_local_release(tmp_path, capsys):
    release = tmp_path / "kimi-release"
    release.mkdir()
    (release / "config.json").write_text("{}")
    assert cli.main(["convert-kimi", "--repo", str(release), "--out", str(release / "converted")]) == 1
    assert f"lies inside the source {release}" in _error_line(capsys)
    assert sorted(p.name for p in release.iterdir()) == ["config.json"]


# --- 2. a damaged samples file is never silently cut --------------------------------------------


def _run(demo_build, out, **kwargs):
    return evaluate(RunConfig(model="random", view="caption_only"), out, data=demo_build.out_dir, progress=False, **kwargs)


@pytest.mark.parametrize("bad", ['{"cache_k', '{"x": 1}', "[1, 2]", '"text"', '{"cache_key": 7}'])
def test_a_bad_line_in_the_middle_stops_the_run_and_keeps_every_record(bad, demo_build, tmp_path):
    _run(demo_build, tmp_path / "run")
    samples = tmp_path / "run" / SAMPLES_FILE
    lines = samples.read_text(encoding="utf-8").splitlines(keepends=True)
    damaged = "".join(lines[:3]) + bad + "\n" + "".join(lines[3:])
    samples.write_text(damaged, encoding="utf-8")
    with pytest.raises(SourceError, match=rf"{SAMPLES_FILE}:4 is .*no record is lost"):
        _run(demo_build, tmp_path / "run")
    assert samples.read_text(encoding="utf-8") == damaged  # nothing cut
    # once the line is removed, every record is reused
    samples.write_text("".join(lines), encoding="utf-8")
    again = _run(demo_build, tmp_path / "run")
    assert (again.reused, again.answered) == (len(lines), 0)


def test_a_non_utf8_line_in_the_middle_is_named(tmp_path):
    path = tmp_path / SAMPLES_FILE
    path.write_bytes(b'{"cache_key": "a"}\n\xff\xfe\n{"cache_key": "b"}\n')
    with pytest.raises(SourceError, match=r":2 is not UTF-8"):
        read_records(path)
    assert path.read_bytes() == b'{"cache_key": "a"}\n\xff\xfe\n{"cache_key": "b"}\n'


def test_only_a_final_line_without_newline_is_cut(tmp_path):
    path = tmp_path / SAMPLES_FILE
    path.write_text('{"cache_key": "a"}\n\n{"cache_key": "b"}\n{"cache_key": "c"}', encoding="utf-8")
    assert list(read_records(path)) == ["a", "b"]
    assert path.read_text() == '{"cache_key": "a"}\n\n{"cache_key": "b"}\n'


# --- 3. one process per run folder ---------------------------------------------------------------


def _hold_lock(folder: Path):
    """A second process that holds the lock on ``folder`` until killed."""
    code = textwrap.dedent(f"""
        import sys, time
        from tacos_temporal.files import folder_lock
        with folder_lock({str(folder)!r}):
            print("locked", flush=True)
            time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_locked_run_folder_is_refused_naming_the_holder(demo_build, tmp_path):
    out = tmp_path / "run"
    holder = _hold_lock(out)
    try:
        with pytest.raises(ConfigError, match=rf"in use by process {holder.pid} on .* \(started 20\d\d-"):
            _run(demo_build, out)
        assert not (out / SAMPLES_FILE).exists()
    finally:
        holder.kill()
        holder.wait()
    _run(demo_build, out)  # a killed holder leaves no lock behind
    assert (out / SAMPLES_FILE).is_file()


def test_a_locked_build_output_is_refused(demo_release, tmp_path):
    from tacos_temporal.data.build import build

    holder = _hold_lock(tmp_path / "dataset")
    try:
        with pytest.raises(ConfigError, match=f"in use by process {holder.pid}"):
            build(tmp_path / "dataset", tacos_dir=demo_release, items_only=True, progress=False)
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_is_reentrant_in_one_process_and_removed_after(tmp_path):
    with folder_lock(tmp_path / "a"):
        with folder_lock(tmp_path / "a"):
            assert lock_path(tmp_path / "a").is_file()
    assert not lock_path(tmp_path / "a").exists()


@pytest.mark.parametrize("command", ["attention", "sweep"])
def test_analysis_commands_lock_their_folder(command, demo_build, tmp_path, capsys):
    holder = _hold_lock(tmp_path / "out")
    try:
        extra = ["--kind", "scale", "--alphas", "2"] if command == "sweep" else []
        code = cli.main([command, "--model", "random", "--data", str(demo_build.out_dir), "--out", str(tmp_path / "out"), "--quiet", *extra])
        assert code == 1 and f"in use by process {holder.pid}" in _error_line(capsys)
    finally:
        holder.kill()
        holder.wait()


# --- 4. one-line errors instead of tracebacks ----------------------------------------------------


def test_non_utf8_predictions_are_a_one_line_error(demo_build, tmp_path, capsys):
    path = tmp_path / "p.jsonl"
    path.write_bytes(b'{"id": "x", "prediction": "A"}\n{"id": "\xe9"}\n')
    assert cli.main(["score", str(path), "--items", str(demo_build.out_dir), "--no-report"]) == 1
    assert "p.jsonl:2 is not UTF-8 text" in _error_line(capsys)


def test_non_utf8_items_file_is_a_one_line_error(tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_bytes(b"\x89PNG\r\n")
    with pytest.raises(ValueError, match=":1 is not UTF-8"):
        read_jsonl_objects(path, lambda n, problem: ValueError(f"{path}:{n} is {problem}"))


def test_eval_out_that_is_a_file_or_a_dangling_link_is_a_one_line_error(demo_build, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    for out, message in ((tmp_path / "file", "is a file"), (tmp_path / "link", "does not exist")):
        code = cli.main(["eval", "--model", "random", "--data", str(demo_build.out_dir), "--out", str(out), "--quiet"])
        assert code == 1 and message in _error_line(capsys)
    assert (tmp_path / "file").read_text() == "x" and (tmp_path / "link").is_symlink()


def _make_read_only(folder: Path) -> list[str]:
    """Make ``folder`` read-only even for root (``chattr +i``); return the command that undoes it."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return ["chmod", "755", str(folder)]
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
        pytest.skip("running as root without chattr +i support: no way to make a folder read-only here")
    return ["chattr", "-i", str(folder)]


def test_read_only_out_is_a_one_line_error(demo_build, tmp_path, capsys):
    out = tmp_path / "ro"
    out.mkdir()
    undo = _make_read_only(out)
    try:
        code = cli.main(["eval", "--model", "random", "--data", str(demo_build.out_dir), "--out", str(out), "--quiet"])
        assert code == 1 and "cannot write the run folder" in _error_line(capsys)
    finally:
        subprocess.run(undo, check=True)


@pytest.mark.parametrize("target", ["folder", "missing_parent"])
def test_compare_json_to_a_folder_or_missing_parent_is_a_one_line_error(target, tmp_path, capsys, demo_build):
    _run(demo_build, tmp_path / "run")
    json_path = tmp_path if target == "folder" else tmp_path / "no" / "such" / "c.json"
    run = str(tmp_path / "run")
    assert cli.main(["compare", run, run, "--json", str(json_path)]) == 1
    assert ("is a folder" if target == "folder" else "does not exist") in _error_line(capsys)
    assert cli.main(["compare", run, run, "--json", str(tmp_path / "c.json")]) == 0
    assert json.loads((tmp_path / "c.json").read_text())["n"] > 0
