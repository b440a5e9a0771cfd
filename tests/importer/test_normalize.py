"""`importer.normalize`: what an import changes before mapping a config, as Axolotl reads it."""

from __future__ import annotations

from typing import Any

from wizard.importer.normalize import normalize


def test_a_null_is_dropped_only_where_it_sets_nothing() -> None:
    cfg: dict[str, Any] = {"base_model": "m", "wandb_watch": None, "lora_dropout": None,
                           "strict": None, "datasets": [{"path": "d", "name": None,
                                                         "trust_remote_code": None}]}  # fmt: skip
    done = normalize(cfg)
    # lora_dropout and strict default to 0.0 and false: a null unsets them, so it stays.
    assert cfg == {"base_model": "m", "lora_dropout": None, "strict": None,
                   "datasets": [{"path": "d", "trust_remote_code": None}]}  # fmt: skip
    assert done.notes == ["2 keys set to null are not carried (a null sets nothing in Axolotl): "
                          "wandb_watch, datasets.0.name"]  # fmt: skip


def test_legacy_message_fields_become_the_mapping_axolotl_makes_of_them() -> None:
    entry = {"path": "d", "type": "chat_template", "message_field_content": "value"}
    cfg: dict[str, Any] = {"datasets": [entry]}
    done = normalize(cfg)
    assert cfg["datasets"][0]["message_property_mappings"] == {"role": "role", "content": "value"}
    assert "message_field_content" not in cfg["datasets"][0]
    assert entry == {"path": "d", "type": "chat_template", "message_field_content": "value"}
    assert done.renamed == ["datasets.0.message_field_content -> message_property_mappings.content"]


def test_conflicting_message_fields_are_left_for_axolotl_to_refuse() -> None:
    entry = {"path": "d", "message_field_role": "from",
             "message_property_mappings": {"role": "speaker"}}  # fmt: skip
    cfg: dict[str, Any] = {"datasets": [dict(entry)]}
    assert normalize(cfg).renamed == [] and cfg["datasets"] == [entry]


def test_a_dataset_named_by_its_data_files_gets_a_path() -> None:
    cfg: dict[str, Any] = {"datasets": [
        {"ds_type": "json", "data_files": "a.jsonl"},
        {"ds_type": "json", "data_files": ["/data/x/a.jsonl", "b.jsonl"]},
        {"path": "json", "data_files": ["a.jsonl"]},
    ]}  # fmt: skip
    done = normalize(cfg)
    assert [entry["path"] for entry in cfg["datasets"]] == ["a.jsonl", "/data/x", "json"]
    assert list(cfg["datasets"][0]) == ["path", "ds_type", "data_files"]
    assert len(done.warnings) == 2 and done.warnings[1].startswith("datasets[1] has no `path:`")
