"""Model architectures: the catalog's numbers, local folders, the HF cache, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wizard.errors import WizardError
from wizard.models import (
    arch_from_config,
    catalog_arch,
    catalog_names,
    linear_names,
    resolve_arch,
    total_params,
)

# Published parameter counts (model cards), in billions.
PUBLISHED = {
    "meta-llama/Llama-2-7b-hf": 6.738,
    "meta-llama/Llama-2-70b-hf": 68.977,
    "meta-llama/Llama-3.1-8B": 8.030,
    "meta-llama/Llama-3.2-1B": 1.236,
    "meta-llama/Llama-3.2-3B": 3.213,
    "mistralai/Mistral-7B-v0.1": 7.242,
    "mistralai/Mixtral-8x7B-v0.1": 46.703,
    "Qwen/Qwen2.5-7B": 7.616,
    "Qwen/Qwen2.5-0.5B": 0.494,
    "google/gemma-2-9b": 9.242,
    "microsoft/phi-2": 2.780,
    "microsoft/Phi-3-mini-4k-instruct": 3.821,
    "TinyLlama/TinyLlama-1.1B-Chat-v1.0": 1.100,
    "tiiuae/falcon-7b": 6.922,
}

REQUIRED_FAMILIES = [
    "Llama-2-7b",
    "Meta-Llama-3-8B",
    "Llama-3.1-8B",
    "Llama-3.2-1B",
    "Llama-3.3-70B-Instruct",
    "Mistral-7B-v0.3",
    "Mistral-Nemo-Base-2407",
    "Mistral-Small-24B-Base-2501",
    "Mixtral-8x7B-v0.1",
    "Qwen2-7B",
    "Qwen2.5-0.5B",
    "Qwen2.5-72B",
    "Qwen3-8B",
    "gemma-7b",
    "gemma-2-9b",
    "gemma-3-1b-it",
    "phi-2",
    "Phi-3-mini-4k-instruct",
    "phi-4",
    "falcon-7b",
    "TinyLlama-1.1B-Chat-v1.0",
    "SmolLM2-135M",
    "stablelm-2-1_6b",
    "open_llama_3b_v2",
    "starcoder2-7b",
    "OLMo-7B-hf",
    "DeepSeek-R1-Distill-Qwen-7B",
    "DeepSeek-R1-Distill-Llama-8B",
]


@pytest.mark.parametrize(("name", "billions"), sorted(PUBLISHED.items()))
def test_catalog_parameter_counts_match_published(name: str, billions: float) -> None:
    arch = catalog_arch(name)
    assert arch is not None
    assert total_params(arch) / 1e9 == pytest.approx(billions, rel=0.003)


def test_every_catalog_entry_builds_and_issue_families_are_present() -> None:
    for name in catalog_names():
        arch = catalog_arch(name)
        assert arch is not None and total_params(arch) > 1e8, name
        assert arch.q_dim % arch.num_kv_heads == 0 or arch.num_kv_heads == 1, name
    for bare in REQUIRED_FAMILIES:
        assert catalog_arch(bare) is not None, bare


def test_bare_name_and_alias_lookup() -> None:
    reupload = catalog_arch("unsloth/Llama-3.2-1B-Instruct")
    assert reupload is not None and reupload.tied_embeddings and reupload.head_dim == 64
    alias = catalog_arch("META-LLAMA/Llama-3.1-8B-Instruct")
    assert alias is not None and alias.num_kv_heads == 8


def test_layout_names_follow_transformers() -> None:
    phi3 = catalog_arch("microsoft/Phi-3-mini-4k-instruct")
    falcon = catalog_arch("tiiuae/falcon-7b")
    assert phi3 is not None and falcon is not None
    assert linear_names(phi3) == ["down_proj", "gate_up_proj", "o_proj", "qkv_proj"]
    assert "query_key_value" in linear_names(falcon) and falcon.num_kv_heads == 1


def _write_config(folder: Path, **overrides: object) -> Path:
    config = {
        "model_type": "llama",
        "hidden_size": 256,
        "num_hidden_layers": 4,
        "num_attention_heads": 8,
        "num_key_value_heads": 2,
        "intermediate_size": 688,
        "vocab_size": 1000,
        "tie_word_embeddings": False,
        "max_position_embeddings": 512,
    }
    config.update(overrides)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def test_local_folder_with_only_config_json(tmp_path: Path) -> None:
    _write_config(tmp_path / "tiny")
    arch = resolve_arch("tiny", base_dir=tmp_path)
    assert arch.hidden_size == 256 and arch.kv_dim == 64 and arch.source.startswith("local")
    absolute = resolve_arch(str(tmp_path / "tiny"))
    assert absolute.num_layers == 4


def test_local_folder_without_config_json_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "weights-only").mkdir()
    with pytest.raises(WizardError) as err:
        resolve_arch("weights-only", base_dir=tmp_path)
    assert "no config.json" in err.value.message and "config.json" in (err.value.hint or "")


def test_missing_local_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WizardError) as err:
        resolve_arch("./models/not-here", base_dir=tmp_path)
    assert "no such folder" in err.value.message


def test_hf_cache_snapshot_named_by_refs_main(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "hub" / "models--acme--tiny-7b"
    _write_config(repo / "snapshots" / "old", hidden_size=128)
    _write_config(repo / "snapshots" / "abc123", hidden_size=512)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123\n", encoding="utf-8")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    arch = resolve_arch("acme/tiny-7b", base_dir=tmp_path / "elsewhere")
    assert arch.hidden_size == 512 and "cache" in arch.source


def test_hf_home_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    _write_config(tmp_path / "hf" / "hub" / "models--acme--tiny" / "snapshots" / "x1")
    assert resolve_arch("acme/tiny").vocab_size == 1000


def test_unknown_model_offline_says_how_to_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(WizardError) as err:
        resolve_arch("acme/Llama-3.1-8B-Turbo", base_dir=tmp_path)
    assert "unknown model" in err.value.message and "nothing is downloaded" in err.value.message
    hint = err.value.hint or ""
    assert "config.json" in hint and "Llama-3.1-8B" in hint


def test_bad_config_json_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(WizardError, match=r"config\.json:1:2: not valid JSON"):
        resolve_arch(str(folder))
    (folder / "config.json").write_text('{"model_type": "llama", "hidden_size": 64}')
    with pytest.raises(WizardError, match="has no usable num_attention_heads"):
        resolve_arch(str(folder))


def test_moe_multimodal_and_unknown_types_are_marked_rough() -> None:
    moe = catalog_arch("Qwen/Qwen3-30B-A3B")
    vlm = catalog_arch("google/gemma-3-4b-it")
    assert moe is not None and moe.is_moe and "mixture of experts" in moe.rough_reasons[0]
    assert vlm is not None and vlm.multimodal and vlm.hidden_size == 2560
    odd = arch_from_config(
        {
            "model_type": "mamba2",
            "hidden_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "vocab_size": 100,
            "intermediate_size": 128,
        },
        "odd",
    )
    assert "not in the family table" in odd.rough_reasons[0] and linear_names(odd) == []
