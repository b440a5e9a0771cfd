"""What an import changes in a config before mapping it, because Axolotl reads it that way.

- A key set to null whose Axolotl default is null too sets nothing: it is dropped, not carried
  as a raw key (`wandb_watch:`, `lora_model_dir:` ...). A null where Axolotl's default is
  something else (`lora_dropout:` unsets 0.0) is kept.
- A dataset's legacy `message_field_role` / `message_field_content` are what Axolotl turns them
  into, `message_property_mappings: {role, content}`, which is an answer (role_key, content_key).
- A dataset with `data_files` and no `path` validates, but Axolotl 0.19 cannot load it (its loader
  starts from the path); it gets a path naming those files, and the import says so.
- The `datasets:` entries are copied first: the parsed YAML may share one through an anchor.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from wizard.axolotl import keys as K
from wizard.axolotl.schema import load_schema
from wizard.axolotl.view import AxolotlConfig

# The keys of a `datasets:` entry this module reads (Axolotl's SFTDataset).
PATH, DATA_FILES, MAPPINGS = "path", "data_files", "message_property_mappings"
# The legacy message fields, each with the property Axolotl maps it to (and that property's
# default, which Axolotl fills in when neither spelling gives it).
LEGACY_MESSAGE_FIELDS = (("message_field_role", "role"), ("message_field_content", "content"))


@dataclass
class Normalized:
    renamed: list[str] = field(default_factory=list)  # `old -> new`
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what could not be kept exactly


def normalize(cfg: dict[str, Any]) -> Normalized:
    """Apply the changes above to `cfg` in place, and say what they were."""
    done = Normalized()
    if AxolotlConfig(cfg).datasets:
        cfg[K.DATASETS] = [dict(e) if isinstance(e, dict) else e for e in cfg[K.DATASETS]]
    dropped = _drop_nulls(cfg)
    if dropped:
        done.notes.append(f"{len(dropped)} keys set to null are not carried (a null sets nothing "
                          f"in Axolotl): {', '.join(dropped)}")  # fmt: skip
    for index, entry in enumerate(AxolotlConfig(cfg).datasets):
        if isinstance(entry, dict):
            done.renamed += _legacy_message_fields(entry, f"datasets.{index}")
            done.warnings += _path_from_data_files(entry, index)
    return done


def _drop_nulls(cfg: dict[str, Any]) -> list[str]:
    schema, dropped = load_schema(), []
    for key in [k for k, v in cfg.items() if v is None and schema.default(k) is None]:
        del cfg[key]
        dropped.append(key)
    for index, entry in enumerate(AxolotlConfig(cfg).datasets):
        if not isinstance(entry, dict):
            continue
        for key in [k for k, v in entry.items() if v is None and schema.dataset_default(k) is None]:
            del entry[key]
            dropped.append(f"datasets.{index}.{key}")
    return dropped


def _legacy_message_fields(entry: dict[str, Any], where: str) -> list[str]:
    """`message_field_role: from` -> `message_property_mappings: {role: from, content: ...}`,
    as Axolotl's `handle_legacy_message_fields` reads it (a conflict is Axolotl's to refuse)."""
    given = [(old, new) for old, new in LEGACY_MESSAGE_FIELDS if isinstance(entry.get(old), str)]
    mappings = entry.get(MAPPINGS) or {}
    if not given or not isinstance(mappings, dict):
        return []
    merged = {new: mappings.get(new, new) for _old, new in LEGACY_MESSAGE_FIELDS} | mappings
    for old, new in given:
        if new in mappings and mappings[new] != entry[old]:
            return []
        merged[new] = entry[old]
    for old, _new in given:
        del entry[old]
    entry[MAPPINGS] = merged
    return [f"{where}.{old} -> {MAPPINGS}.{new}" for old, new in given]


def _path_from_data_files(entry: dict[str, Any], index: int) -> list[str]:
    """A path for a dataset that names only its `data_files`: the file when there is one (read
    by the file's own suffix or `ds_type`), else the first one's folder (a local folder with
    `data_files` loads those files, wherever they are)."""
    files = entry.get(DATA_FILES)
    names = [files] if isinstance(files, str) else files if isinstance(files, list) else []
    if entry.get(PATH) is not None or not names or not all(isinstance(n, str) for n in names):
        return []
    path = names[0] if len(names) == 1 else os.path.dirname(names[0]) or "./"
    written = {PATH: path, **{k: v for k, v in entry.items() if k != PATH}}
    entry.clear()
    entry.update(written)
    return [f"{K.DATASETS}[{index}] has no `path:`, which Axolotl 0.19 needs to load it: "
            f"written with path: {path} (its data_files)"]  # fmt: skip
