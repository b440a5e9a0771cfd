"""What old configs still say: removed dataset types, removed keys Axolotl refuses, the legacy
dataset keys it still converts, and dataset types it has no loader for.

`check --fix` migrates most of these (wizard/lint/migrate.py); the messages say so.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from wizard.axolotl import keys as K
from wizard.lint.context import Ctx
from wizard.lint.findings import Finding, KeyPath
from wizard.lint.inventory import dataset_types
from wizard.lint.rules import Rule

# DatasetValidationMixin.check_deprecated_unsloth_fields refuses these when truthy; the three
# LoRA ones have a direct replacement.
UNSLOTH_KEYS = {
    "unsloth_lora_mlp": K.LORA_MLP_KERNEL,
    "unsloth_lora_qkv": K.LORA_QKV_KERNEL,
    "unsloth_lora_o": K.LORA_O_KERNEL,
    "unsloth_cross_entropy_loss": None,
    "unsloth_rms_norm": None,
    "unsloth_rope": None,
}
# The keys SFTDataset's handle_legacy_message_fields folds into message_property_mappings.
LEGACY_MESSAGE_FIELDS = {"message_field_role": "role", "message_field_content": "content"}
DATASET_LISTS = (K.DATASETS, K.TEST_DATASETS)


def dataset_entries(ctx: Ctx) -> Iterator[tuple[KeyPath, dict[str, Any]]]:
    """(key path, entry) of every mapping in `datasets` and `test_datasets`."""
    for key in DATASET_LISTS:
        entries = ctx.view.value(key)
        if isinstance(entries, list):
            for index, entry in enumerate(entries):
                if isinstance(entry, dict):
                    yield (key, index), entry


def is_sharegpt(entry: dict[str, Any]) -> bool:
    kind = entry.get("type")
    return isinstance(kind, str) and kind.startswith("sharegpt")


def removed_dataset_type(ctx: Ctx) -> list[Finding]:
    """DatasetValidationMixin.deprecate_sharegpt_datasets (for `datasets`; a sharegpt
    test_dataset fails later, when Axolotl finds no loader for it)."""
    return [
        ctx.at(
            "error",
            "removed-dataset-type",
            f"`type: {entry['type']}` was removed from Axolotl; ShareGPT data is read with "
            "`type: chat_template` now",
            "run `axolotl-wizard check --fix` to migrate it (field_messages, "
            "message_property_mappings, roles, chat_template)",
            (*path, "type"),
        )
        for path, entry in dataset_entries(ctx)
        if is_sharegpt(entry)
    ]


def legacy_message_fields(ctx: Ctx) -> list[Finding]:
    """SFTDataset.handle_legacy_message_fields still converts these, with a warning."""
    out = []
    for path, entry in dataset_entries(ctx):
        for key, prop in LEGACY_MESSAGE_FIELDS.items():
            if key in entry:
                out.append(
                    ctx.at(
                        "warning",
                        "deprecated-key",
                        f"`{key}` is deprecated; Axolotl reads it as "
                        f"`message_property_mappings: {{{prop}: {entry[key]}}}`",
                        "move it into message_property_mappings (check --fix does)",
                        (*path, key),
                    )
                )
    return out


def unsloth_keys(ctx: Ctx) -> list[Finding]:
    """DatasetValidationMixin.check_deprecated_unsloth_fields."""
    out = []
    for key, new in UNSLOTH_KEYS.items():
        if ctx.view.value(key):
            fix = f"replace it with `{new}: true`" if new else "delete it (no replacement)"
            out.append(
                ctx.at(
                    "error",
                    "removed-key",
                    f"`{key}` was removed from Axolotl (Unsloth's kernels are gone); Axolotl "
                    "refuses configs that set it",
                    fix + "; check --fix does",
                    (key,),
                )
            )
    return out


def unknown_dataset_type(ctx: Ctx) -> list[Finding]:
    """A plain `type:` name with no Axolotl loader fails when the data is loaded ("unhandled
    prompt tokenization strategy"); dotted names may be the user's own module, so pass."""
    known = set(dataset_types(ctx.schema.version))
    if not known or ctx.view.rl:  # RL types load from their own packages (dpo., kto., …)
        return []
    out = []
    for path, entry in dataset_entries(ctx):
        kind = entry.get("type")
        if not isinstance(kind, str) or is_sharegpt(entry) or "." in kind:
            continue
        if kind.split(":")[0] not in known:
            out.append(
                ctx.at(
                    "warning",
                    "unknown-dataset-type",
                    f"`type: {kind}` is not a dataset type of Axolotl {ctx.schema.version}; "
                    "it fails when the data is loaded",
                    "use chat_template, alpaca, completion, input_output, … "
                    "(docs.axolotl.ai/docs/dataset-formats)",
                    (*path, "type"),
                )
            )
    return out


REMOVED_RULES: list[Rule] = [
    removed_dataset_type,
    legacy_message_fields,
    unsloth_keys,
    unknown_dataset_type,
]
