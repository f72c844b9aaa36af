"""The tiny Kimi-Audio release writer: deterministic bytes, the release's names, ids and dtypes."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

from tacos_temporal.harness import tiny_kimi_release as tkr


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    return tkr.write_tiny_kimi_release(tmp_path_factory.mktemp("kimi") / "release", seed=0)


def _tensors(path: Path) -> dict[str, torch.Tensor]:
    with safe_open(str(path), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}


@pytest.mark.parametrize("module", ["tiny_kimi_release", "tiny_release_io", "tiny_desta_release"])
def test_module_imports_only_stdlib_and_numpy(module):
    """The originals' venvs import these modules: no torch, no transformers, no other project module."""
    body = ast.parse((Path(tkr.__file__).parent / f"{module}.py").read_text()).body  # module level
    roots = {a.name.split(".")[0] for n in body if isinstance(n, ast.Import) for a in n.names}
    roots |= {n.module.split(".")[0] for n in body if isinstance(n, ast.ImportFrom) and n.level == 0}
    relative = {n.module for n in body if isinstance(n, ast.ImportFrom) and n.level}
    assert relative <= {"tiny_release_io"}
    assert roots <= {"__future__", "hashlib", "importlib", "json", "math", "os", "shutil", "sys", "zipfile", "pathlib", "numpy"}


def test_same_seed_same_bytes_other_seed_other_weights(release, tmp_path):
    again = tkr.write_tiny_kimi_release(tmp_path / "again", seed=0)
    files = sorted(p.relative_to(release) for p in release.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for rel in files:
        assert (release / rel).read_bytes() == (again / rel).read_bytes(), rel
    other = tkr.glm_tensors(1)["codebook.weight"]
    assert not np.array_equal(other, tkr.glm_tensors(0)["codebook.weight"])


def test_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        tkr.write_tiny_kimi_release(tmp_path / "x")
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine"


def test_main_weights_names_dtypes_and_index(release):
    index = json.loads((release / "model.safetensors.index.json").read_text())
    names = set()
    total = 0
    for shard in sorted(set(index["weight_map"].values())):
        tensors = _tensors(release / shard)
        assert all(t.dtype == torch.bfloat16 for t in tensors.values())
        assert all(index["weight_map"][k] == shard for k in tensors)
        names |= set(tensors)
        total += sum(t.numel() * 2 for t in tensors.values())
    assert index["metadata"]["total_size"] == total
    cfg = json.loads((release / "config.json").read_text())
    per_layer = 12 + 1  # Qwen2 decoder layer tensors + rotary_emb.inv_freq
    n_layers = cfg["num_hidden_layers"] + cfg["kimia_mimo_layers"]
    assert len(names) == per_layer * n_layers + 6 + 5
    assert sum(n.endswith("rotary_emb.inv_freq") for n in names) == n_layers
    assert {"model.embed_tokens.weight", "lm_head.weight", "mimo_output.weight", "model.mimo_norm.weight",
            "model.norm.weight", "model.vq_adaptor.layers.4.bias"} <= names
    last = _tensors(release / f"model-{len(set(index['weight_map'].values()))}-of-{len(set(index['weight_map'].values()))}.safetensors")
    assert set(last) == {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight", "mimo_output.weight", "model.mimo_norm.weight"}
    assert last["lm_head.weight"].shape == (168448, cfg["hidden_size"])
    # the writer's bf16 rounding is torch's
    assert torch.equal(last["lm_head.weight"], torch.from_numpy(tkr.kimi_shards(0)[-1]["lm_head.weight"]).to(torch.bfloat16))


def test_config_keeps_the_real_ids(release):
    cfg = json.loads((release / "config.json").read_text())
    assert (cfg["vocab_size"], cfg["kimia_token_offset"], cfg["kimia_text_output_vocab"]) == (168448, 152064, 152064)
    assert (cfg["kimia_media_begin"], cfg["kimia_media_end"], cfg["kimia_audio_output_vocab"]) == (151661, 151663, 16896)
    assert cfg["kimia_adaptor_input_dim"] == 4 * json.loads((release / "whisper-large-v3" / "config.json").read_text())["d_model"]
    assert cfg["architectures"] == ["MoonshotKimiaForCausalLM"]


def test_special_tokens_and_tokenizer_files(release):
    ids = tkr.special_token_ids()
    assert len(ids) == 421 and max(ids.values()) == 152063 == 152064 - 1
    expected = {"[BOS]": 151643, "<|im_msg_end|>": 151645, "<|im_media_begin|>": 151661, "<|im_media_end|>": 151663,
                "<|im_kimia_text_blank|>": 151666, "<|im_kimia_text_eos|>": 151667, "<|im_kimia_user_msg_start|>": 151670,
                "<|im_kimia_assistant_msg_start|>": 151671, "<|im_kimia_speech_ct_id|>": 151675,
                "<|im_kimia_speech_ctd_id|>": 151676}
    assert {k: ids[k] for k in expected} == expected
    ranks = (release / "tiktoken.model").read_bytes().splitlines()
    assert len(ranks) == 151643 and ranks[-1].endswith(b" 151642")
    config = json.loads((release / "tokenizer_config.json").read_text())
    assert config["added_tokens_decoder"]["151666"]["content"] == "<|im_kimia_text_blank|>"
    # the last of the 421 (34 named in order, then <|reserved_token_20|>.. up to 421 - 34 + 20 - 1 = 406)
    assert config["pad_token"] == "<|reserved_token_406|>" and ids["<|reserved_token_406|>"] == 152063


def test_a_wrong_tiktoken_file_is_refused(tmp_path):
    bad = tmp_path / "bad.tiktoken"
    bad.write_bytes(b"IQ== 0\n")
    with pytest.raises(ValueError, match="sha256"):
        tkr.write_tiny_kimi_release(tmp_path / "out", tiktoken_path=bad)
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def test_glm_tokenizer_layout(release):
    glm = release / "glm-4-voice-tokenizer"
    cfg = json.loads((glm / "config.json").read_text())
    tensors = _tensors(glm / "model.safetensors")
    assert all(t.dtype == torch.float32 for t in tensors.values())
    layers = {int(k.split(".")[1]) for k in tensors if k.startswith("layers.")}
    assert layers == set(range(cfg["quantize_position"]))
    assert tensors["codebook.weight"].shape == (cfg["quantize_vocab_size"], cfg["d_model"]) == (16384, 32)
    assert tensors["embed_positions2.weight"].shape == (375, 32)
    assert {"ema_count", "ema_weight", "conv1.weight", "conv2.bias"} <= set(tensors)
    assert not any(k.startswith("model.") or k.startswith("layer_norm") for k in tensors)
    assert (cfg["pooling_type"], cfg["pooling_kernel_size"], cfg["quantize_causal_block_size"]) == ("avg", 4, 200)
    assert json.loads((glm / "preprocessor_config.json").read_text())["feature_size"] == 128


def test_whisper_layout(release):
    tensors = _tensors(release / "whisper-large-v3" / "model.safetensors")
    assert all(t.dtype == torch.float16 for t in tensors.values())
    assert all(k.startswith(("model.encoder.", "model.decoder.")) for k in tensors)
    assert tensors["model.encoder.embed_positions.weight"].shape == (1500, 32)
    assert tensors["model.encoder.conv1.weight"].shape == (32, 128, 3)


def test_qwen_tiktoken_from_the_assets_folder_when_no_package_is_installed(tmp_path, monkeypatch):
    """``make setup`` leaves qwen-agent's wheel (never installed) in the assets folder: it is read from there."""
    data = tkr.qwen_tiktoken_bytes()
    import zipfile

    with zipfile.ZipFile(tmp_path / "qwen_agent-0.0.34-py3-none-any.whl", "w") as zf:
        zf.writestr("qwen_agent/utils/qwen.tiktoken", data)
    monkeypatch.setattr(tkr.importlib.util, "find_spec", lambda name, *a: None)
    monkeypatch.setenv(tkr.ASSETS_ENV, str(tmp_path))
    assert tkr.qwen_tiktoken_bytes() == data
    monkeypatch.setenv(tkr.ASSETS_ENV, str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="make setup"):
        tkr.qwen_tiktoken_bytes()
