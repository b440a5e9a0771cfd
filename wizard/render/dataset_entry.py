"""One dataset's entry in Axolotl's `datasets:` list, from its answers (pure: no IO)."""

from __future__ import annotations

from typing import Any

from wizard.axolotl.paths import PathMapper, is_local_path
from wizard.errors import WizardError
from wizard.render.objective_config import preference_dataset_fields
from wizard.runspec import AS_GIVEN, CHAT_ONLY, PREFERENCE_FORMATS, DatasetSpec, RunSpec


def dataset_entry(dataset: DatasetSpec, path_for: PathMapper, spec: RunSpec) -> dict[str, Any]:
    """One `datasets:` entry; for an import, only the fields it gave, then its raw keys."""
    imported = spec.policy.imported
    given = dataset.model_fields_set if imported else set(DatasetSpec.model_fields)
    path = path_for(dataset.path) if is_local_path(dataset.path) else dataset.path
    entry: dict[str, Any] = {"path": path}
    if dataset.format in PREFERENCE_FORMATS:
        entry.update(preference_dataset_fields(dataset, spec))
    elif dataset.format != "axolotl" and "format" in given:
        entry["type"] = dataset.format
    elif dataset.type is not None:
        entry["type"] = dataset.type
    for name in AS_GIVEN:
        if getattr(dataset, name) is not None and name in given:
            entry[name] = getattr(dataset, name)
    if dataset.format == "chat_template":
        if "field_messages" in given:
            entry["field_messages"] = dataset.field_messages
        if given & {"role_key", "content_key"}:
            entry["message_property_mappings"] = {
                "role": dataset.role_key,
                "content": dataset.content_key,
            }
        entry.update({name: getattr(dataset, name) for name in CHAT_ONLY
                      if getattr(dataset, name) is not None})  # fmt: skip
    elif dataset.format == "completion" and "text_field" in given:
        entry["field"] = dataset.text_field
    clash = sorted(set(entry) & set(dataset.axolotl))
    if clash:
        raise WizardError(
            f"raw dataset key {clash[0]!r} (in the dataset's axolotl: mapping) is also set from "
            "the dataset's answers",
            f"change the dataset's answer instead, and remove axolotl.{clash[0]} from it",
        )
    return {**entry, **dataset.axolotl}
