"""What of a run a saved preset keeps (wizard.presets.recipe; pure, no files)."""

from __future__ import annotations

from typing import Any

from wizard.answers.layers import Layer, LayerKind
from wizard.presets.recipe import recipe_of

HUB_CHAT = {"datasets.0.path": "org/chat", "datasets.0.format": "chat_template"}


def _run(values: dict[str, Any]) -> Layer:
    given = {"model.base_model": "org/model", **HUB_CHAT, **values}
    return Layer("answers file runs/a/wizard-answers.yml", given, kind=LayerKind.ANSWERS_FILE)


def test_paths_of_the_machine_are_left_out_and_the_rest_kept() -> None:
    recipe = recipe_of(_run({
        "model.base_model": "./models/llama",
        "datasets.1.path": "/home/me/data/train.jsonl", "datasets.1.format": "alpaca",
        "training.output_dir": "/scratch/me/out", "data.prepared_path": "~/prepared",
    }))  # fmt: skip
    assert recipe.machine_paths == ["model.base_model", "datasets.1.path", "training.output_dir",
                                    "data.prepared_path"]  # fmt: skip
    assert recipe.answers == {"datasets": [{"path": "org/chat", "format": "chat_template"},
                                           {"format": "alpaca"}]}  # fmt: skip
    relative = recipe_of(_run({"training.output_dir": "./out", "data.prepared_path": "prep"}))
    assert relative.machine_paths == []  # inside the run folder wherever it is made
    assert relative.answers["training"] == {"output_dir": "./out"}


# As an answers file lists a dataset: every field of every format, most at its default.
EVERY_FIELD = {"field_messages": "messages", "role_key": "role", "content_key": "content",
               "text_field": "text", "field_prompt": "prompt", "field_chosen": "chosen",
               "field_rejected": "rejected", "conversations": False}  # fmt: skip


def test_a_dataset_keeps_only_the_fields_of_its_format() -> None:
    chat = {f"datasets.0.{name}": value for name, value in EVERY_FIELD.items()}
    chat["datasets.0.field_messages"] = "conversations"
    assert recipe_of(_run(chat)).answers["datasets"] == [
        {"path": "org/chat", "format": "chat_template", "field_messages": "conversations",
         "role_key": "role", "content_key": "content"}]  # fmt: skip
    pairs = {**chat, "datasets.0.field_messages": "messages", "datasets.0.format": "preference",
             "datasets.0.field_chosen": "good", "objective.kind": "dpo"}  # fmt: skip
    assert recipe_of(_run(pairs)).answers["datasets"] == [
        {"path": "org/chat", "format": "preference", "field_prompt": "prompt",
         "field_chosen": "good", "field_rejected": "rejected", "conversations": False}]  # fmt: skip
    text = {**chat, "datasets.0.field_messages": "messages", "datasets.0.format": "completion"}
    assert recipe_of(_run(text)).answers["datasets"] == [
        {"path": "org/chat", "format": "completion", "text_field": "text"}
    ]


def test_only_the_given_answers_as_the_spec_reads_them() -> None:
    recipe = recipe_of(_run({"training.learning_rate": "2e-4", "axolotl.seed": 3}))
    assert recipe.answers["training"] == {"learning_rate": 0.0002}  # no default filled in
    assert "distributed" not in recipe.answers and "hardware" not in recipe.answers
    assert recipe.axolotl == {"seed": 3}


def test_what_the_parent_gives_is_left_to_it() -> None:
    parent = {"model.base_model": "org/model", "training.learning_rate": 0.0002,
              "datasets.0.path": "./org/../org/chat", "axolotl.seed": 3}  # fmt: skip
    run = _run({"training.learning_rate": "2e-4", "training.num_epochs": 2, "axolotl.seed": 3})
    recipe = recipe_of(run, parent)
    assert recipe.answers == {"datasets": [{"path": "org/chat", "format": "chat_template"}],
                              "training": {"num_epochs": 2}}  # fmt: skip
    assert recipe.axolotl == {}
    # A preset's datasets replace its parent's: the same list is left out whole.
    same = recipe_of(run, {**parent, **HUB_CHAT})
    assert "datasets" not in same.answers
