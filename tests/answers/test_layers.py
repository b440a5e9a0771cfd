"""Layered answers: precedence, list replacement, method switching, key checks, provenance."""

from __future__ import annotations

import pytest

from wizard.answers.answer_keys import check_keys, generic_key, known_keys
from wizard.answers.layers import Answers, Layer, unflatten
from wizard.errors import WizardError

PRESET = Layer.from_nested(
    "preset p",
    {
        "model": {"base_model": "org/m"},
        "datasets": [
            {"path": "a.jsonl", "format": "alpaca"},
            {"path": "b.jsonl", "format": "alpaca"},
        ],
        "method": {"kind": "qlora", "r": 64},
        "training": {"micro_batch_size": 2},
    },
)


def test_higher_layers_win_and_origin_names_the_layer() -> None:
    sets = Layer("--set")
    sets.set("training.micro_batch_size", 4)
    answers = Answers([PRESET, sets])
    assert answers.merged()["training.micro_batch_size"] == 4
    assert answers.origin("training.micro_batch_size") == "--set"
    assert answers.origin("model.base_model") == "preset p"
    assert answers.origin("training.seed") is None


def test_a_list_of_records_replaces_the_lower_list_whole() -> None:
    file_layer = Layer.from_nested(
        "file", {"datasets": [{"path": "c.jsonl", "format": "completion"}]}
    )
    spec = Answers([PRESET, file_layer]).resolve()
    assert [d.path for d in spec.datasets] == ["c.jsonl"]


def test_a_single_item_can_be_changed_in_place() -> None:
    sets = Layer("--set")
    sets.set("datasets.1.path", "new.jsonl")
    spec = Answers([PRESET, sets]).resolve()
    assert [d.path for d in spec.datasets] == ["a.jsonl", "new.jsonl"]


def test_switching_method_kind_drops_fields_the_new_kind_lacks() -> None:
    sets = Layer("--set")
    sets.set("method.kind", "full")
    spec = Answers([PRESET, sets]).resolve()
    assert spec.method.kind == "full"


def test_same_layer_conflict_is_still_an_error() -> None:
    sets = Layer("--set")
    sets.set("method.kind", "full")
    sets.set("method.r", 8)
    with pytest.raises(WizardError, match=r"method\.r"):
        Answers([PRESET, sets]).resolve()


def test_missing_answers_are_named_together() -> None:
    with pytest.raises(WizardError) as info:
        Answers([Layer("empty")]).resolve()
    assert "model" in info.value.message and "datasets" in info.value.message


def test_unknown_key_suggests_the_right_one() -> None:
    with pytest.raises(WizardError) as info:
        check_keys(["training.learning_rat"], "--set")
    assert info.value.hint is not None and "training.learning_rate" in info.value.hint
    with pytest.raises(WizardError) as info:
        check_keys(["micro_batch_size"], "--set")
    assert info.value.hint is not None and "training.micro_batch_size" in info.value.hint
    with pytest.raises(WizardError) as info:
        check_keys(["datasets.2.formt"], "--set")
    assert info.value.hint is not None and "datasets.2.format" in info.value.hint


def test_known_keys_cover_every_section() -> None:
    keys = known_keys()
    for key in (
        "model.base_model",
        "datasets.N.path",
        "method.kind",
        "method.r",
        "hardware.gpus_per_node",
        "training.sequence_len",
        "distributed.zero_stage",
    ):
        assert key in keys
    assert generic_key("datasets.12.path") == "datasets.N.path"


def test_raw_axolotl_keys_pass_through_nested() -> None:
    layer = Layer.from_nested("p", {})
    layer.set("axolotl.special_tokens", {"pad_token": "<pad>"})
    layer.set("axolotl.plugins", ["a.B"])
    assert Answers([layer]).raw_axolotl() == {
        "special_tokens": {"pad_token": "<pad>"},
        "plugins": ["a.B"],
    }


def test_unflatten_rejects_gaps_in_list_positions() -> None:
    with pytest.raises(WizardError, match="gap"):
        unflatten({"datasets.0.path": "a", "datasets.2.path": "b"})
