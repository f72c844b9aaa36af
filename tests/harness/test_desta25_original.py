"""The DeSTA2.5 port against the ORIGINAL code (issue 13, item 5).

tests/fixtures/desta25_original/reference.pt was made by the original package (kehanlu/DeSTA2.5-Audio
at 5503dfc, transformers 4.57.6) on the tiny random release of tiny_release.py, through
tacos_temporal/ports/desta25/save_reference.py; make_reference.py in that folder regenerates it and
says exactly what was patched.  Here the same release is rebuilt under transformers 5, served by the
local Hub, converted by ``convert`` with the default repo ids, and compared by ``verify`` in float32.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.fixtures.desta25_original.tiny_release import export_tokenizers, write_release

REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "desta25_original" / "reference.pt"


@pytest.fixture(scope="module")
def converted(hub_server, tmp_path_factory):
    from tacos_temporal.ports.desta25 import loading

    root = tmp_path_factory.mktemp("desta-original")
    paths = write_release(root / "repos", export_tokenizers(root / "tokenizers"))
    hub_server.reset()
    for repo, key in ((loading.WHISPER_REPO.replace("large-v3", "tiny"), "whisper"), (loading.LLM_REPO, "llm"), (loading.DESTA_REPO, "release")):
        hub_server.create_repo(repo, "model")
        hub_server.commit_files(repo, "model", {p.name: p.read_bytes() for p in paths[key].iterdir() if p.is_file()})
    out = loading.convert(root / "converted")
    assert not hub_server.unknown
    return out


def test_reference_was_made_by_the_original_package():
    ref = torch.load(REFERENCE, map_location="cpu", weights_only=False)
    assert ref["made_with"]["transformers"].startswith("4.") and ref["made_with"]["desta_commit"] == "5503dfc"
    assert ref["transcript"] == "a dog barks twice"  # Silero VAD heard the espeak-ng speech: the given text was kept
    assert ref["audio_features"].shape == (1, 64, 64) and ref["tokens"].numel() == 8


def test_port_matches_the_original_in_float32(converted):
    from tacos_temporal.ports.desta25.verify import verify

    report = verify(converted, REFERENCE, device="cpu", dtype="float32")
    assert report["audio_features_max_abs"] <= 1e-5, report
    assert report["inputs_embeds_max_abs"] <= 1e-5, report
    assert report["first_logits_max_abs"] <= 1e-4, report
    assert report["greedy_tokens_agree"] == report["greedy_tokens_total"] == 8, report
