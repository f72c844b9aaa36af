"""Failed pushes: one clear error line, nothing lost locally, nothing half-committed, no token anywhere.

Every command runs against the local Hub with HF_TOKEN set to a secret, once succeeding and once
per kind of failure: 401 (the Hub does not know the token), 404 (a missing repository without
--create), 500 in the middle of the upload (on the commit, after the LFS files were sent) and a
validation error from /api/validate-yaml.  The token must not appear in stdout, stderr, the logs,
the exception chain or any file written locally.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import pytest

from tacos_temporal import cli
from tacos_temporal.errors import HubError, TacosTemporalError
from tacos_temporal.hub.dataset import publish_dataset
from tests.hub.conftest import BENCHMARK, DETAILS, MODEL, ORG, TOKEN, publish_items, snapshot

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")  # inside huggingface_hub's LFS upload

DATASET = f"{ORG}/tacos_temporal"
SPACE = f"{ORG}/tacos_temporal_metric"
COMMANDS = ("publish-dataset", "publish-metric", "push-results")
SCENARIOS = ("ok", "401", "404", "500", "invalid-yaml")
EXPECTED = {
    "401": "authentication failed (HTTP 401: Invalid credentials in Authorization header) ",
    "404": "repository not found (HTTP 404) ",
    "500": "the Hub failed (HTTP 500: injected failure 500) ",
    "invalid-yaml": 'the Hub rejected the card metadata of README.md (validation error: "license" must be one of',
}
HINTS = {
    "401": "log in with `hf auth login` or set HF_TOKEN (or pass --token)",
    "404": "check the id",
    "500": "no commit was made, so the repository is unchanged",
    "invalid-yaml": "nothing was uploaded; ",
}


def _argv(command: str, scenario: str, dataset: Path, run: Path) -> list[str]:
    create = [] if scenario == "404" else ["--create"]
    if command == "publish-dataset":
        return ["publish-dataset", str(dataset), "--repo", DATASET, *create]
    if command == "publish-metric":
        return ["publish-metric", "--repo", SPACE, *create]
    # --model-index and --details-repo: every file this command can write, README.md included
    return ["push-results", str(run), "--model-repo", MODEL, "--dataset-repo", BENCHMARK, "--details-repo", DETAILS, "--create", "--model-index"]


def _arrange(hub, scenario: str, command: str, build) -> None:
    if command == "push-results":
        publish_items(hub, build)  # push-results checks the run against the published item set
    if scenario != "404":
        hub.create_repo(MODEL)  # push-results never creates the model repo
    if scenario == "401":
        del hub.tokens[TOKEN]  # the Hub no longer knows the token (revoked)
    elif scenario == "500":
        hub.fail("POST", r"/api/\w+s/.+/commit/", 500)
    elif scenario == "invalid-yaml":
        hub.fail("POST", r"^/api/validate-yaml$", 400, body={"errors": [{"message": '"license" must be one of [apache-2.0, mit, other, ...]'}], "warnings": []})


def _files_with(folder: Path, secret: bytes) -> list[str]:
    return [str(path) for path in folder.rglob("*") if path.is_file() and secret in path.read_bytes()]


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("command", COMMANDS)
def test_command_fails_cleanly_and_never_leaks_the_token(command, scenario, hub, demo_build, run_dir, hf_home, tmp_path, capsys, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    for name in ("huggingface_hub", "datasets", "evaluate", "tacos_temporal"):
        caplog.set_level(logging.DEBUG, logger=name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TACOS_TEMPORAL_DEBUG", raising=False)
    _arrange(hub, scenario, command, demo_build)
    locals_before = {folder: snapshot(folder) for folder in (demo_build.out_dir, run_dir)}
    heads_before = {key: repo.refs["main"] for key, repo in hub.repos.items()}
    argv = _argv(command, scenario, demo_build.out_dir, run_dir)

    code = cli.main(argv)
    out, err = capsys.readouterr()
    if scenario == "ok":
        assert code == 0, err
    else:
        assert code == 1
        lines = err.strip().splitlines()  # upload progress bars, then the error
        error = [line for line in lines if line.startswith("error: ")]
        assert len(error) == 1 and lines[-1] == error[0], err
        assert EXPECTED[scenario] in error[0] and HINTS[scenario] in error[0], error[0]
        assert f"then rerun: tacos-temporal {command}" in error[0]
        # the same failure as an exception, with its whole chain (what TACOS_TEMPORAL_DEBUG=1 shows)
        monkeypatch.setenv("TACOS_TEMPORAL_DEBUG", "1")
        with pytest.raises(HubError) as raised:
            cli.main(argv)
        assert isinstance(raised.value, TacosTemporalError)
        chain = "".join(traceback.format_exception(raised.value))
        assert TOKEN not in chain
        out2, err2 = capsys.readouterr()
        assert TOKEN not in out2 + err2
        # nothing half-done on the Hub: no repository got a commit it should not have
        for key, repo in hub.repos.items():
            if scenario != "404" or key != ("dataset", DETAILS):  # push-results pushes the details before it finds no model repo
                assert repo.refs["main"] == heads_before.get(key, repo.refs["main"]), key
                assert len(repo.commits) == 1 or key in heads_before, key
            assert not repo.discussions
    # nothing lost or changed locally, and the token nowhere
    assert {folder: snapshot(folder) for folder in locals_before} == locals_before
    assert TOKEN not in out + err
    assert TOKEN not in caplog.text
    secret = TOKEN.encode()
    for folder in (tmp_path, demo_build.out_dir, run_dir, hf_home):
        assert not _files_with(folder, secret), folder
    assert any(request.path for request in hub.requests)  # the commands did talk to the Hub


def test_a_transient_500_on_the_lfs_upload_is_retried(hub, demo_build):
    hub.fail("PUT", r"^/lfs-upload/", 500, times=1)
    outcome = publish_dataset(demo_build.out_dir, DATASET, create=True)
    assert outcome.status == "committed"
    assert [r.status for r in hub.seen("PUT", r"^/lfs-upload/")].count(500) == 1


def test_a_persistent_500_on_the_commit_leaves_the_repo_as_it_was(hub, demo_build):
    hub.create_repo(DATASET, "dataset")
    head = hub.repo(DATASET, "dataset").refs["main"]
    hub.fail("POST", r"/commit/", 500)
    with pytest.raises(HubError, match=r"^the Hub failed \(HTTP 500: injected failure 500\) .*then run the same command again$"):
        publish_dataset(demo_build.out_dir, DATASET)
    assert hub.lfs_store  # the large files had been uploaded ...
    assert hub.repo(DATASET, "dataset").refs["main"] == head  # ... but no commit names them
    hub.faults.clear()
    assert publish_dataset(demo_build.out_dir, DATASET).status == "committed"  # the same call, once the Hub is back


def test_no_token_at_all_says_how_to_log_in(hub, demo_build, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(HubError, match=r"^authentication failed \(HTTP 401: You must be authenticated to create a repo\) .*hf auth login"):
        publish_dataset(demo_build.out_dir, DATASET, create=True)


def test_an_explicit_token_is_passed_through_and_never_shown(hub, demo_build, monkeypatch, capsys):
    monkeypatch.delenv("HF_TOKEN")
    assert cli.main(["publish-dataset", str(demo_build.out_dir), "--repo", DATASET, "--create", "--token", TOKEN]) == 0
    del hub.tokens[TOKEN]
    assert cli.main(["publish-dataset", str(demo_build.out_dir), "--repo", DATASET, "--token", TOKEN]) == 1
    out, err = capsys.readouterr()
    assert TOKEN not in out + err
    assert "--token TOKEN" in err  # the command to rerun shows a placeholder


def test_an_unreachable_hub_is_one_clear_error(demo_build, monkeypatch):
    from huggingface_hub import HfApi

    import tacos_temporal.hub.dataset as dataset
    from tests.fixtures.hub_server import reserve_port

    sock = reserve_port()  # bound, never listening: connections are refused
    endpoint = "http://127.0.0.1:%d" % sock.getsockname()[1]
    monkeypatch.setattr(dataset, "hub_api", lambda token=None: HfApi(endpoint=endpoint, token=token))
    try:
        with pytest.raises(HubError, match=rf"^cannot reach the Hub at {endpoint} \(ConnectError: .*check the network or HF_ENDPOINT"):
            publish_dataset(demo_build.out_dir, DATASET, create=True)
    finally:
        sock.close()
