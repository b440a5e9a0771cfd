"""Regenerate `docs/axolotl-keys.md`, what the wizard does with each of Axolotl's keys:

    python scripts/gen_axolotl_keys_docs.py

Every key of Axolotl's bundled schema (`wizard/axolotl/schemas/`), top level and in a dataset
entry, is one of: an answer (the answers that write it, as `docs/answers.md` finds them from the
key table and rendering), a deprecated spelling Axolotl reads under its new name (the schema's
renames, the legacy attention flags), a key Axolotl refuses (the schema's removed keys), a
credential (never written to a file), or, the default, a raw key carried as it is. Deprecation
notes come from the schema; the legacy dataset message fields from `wizard/lint/removed.py`.
`tests/test_docs.py` fails when the page is stale.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generated_file import write_generated

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "axolotl-keys.md"
sys.path.insert(0, str(ROOT))

from gen_answers_docs import axolotl_keys  # noqa: E402

from wizard.axolotl.attention import LEGACY_FLAGS  # noqa: E402
from wizard.axolotl.schema import AxolotlSchema, bundled_versions, load_schema  # noqa: E402
from wizard.axolotl.secrets import environment_hint, is_secret  # noqa: E402
from wizard.lint.removed import LEGACY_MESSAGE_FIELDS  # noqa: E402

ANSWER, RENAMED, REFUSED, CREDENTIAL, RAW = "answer", "renamed", "refused", "dropped", "raw"
DATASET_PREFIX = "datasets[]."


@dataclass(frozen=True)
class Fate:
    kind: str  # one of the five above
    detail: str


def _code(names: list[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def written_by() -> dict[str, list[str]]:
    """Axolotl key -> the answers that write it; a dataset entry's key as `datasets[].KEY`, a key
    inside a mapping under the mapping's key (`fsdp_config`, `trl`)."""
    found: dict[str, list[str]] = {}
    for answer, keys in axolotl_keys().items():
        for key in keys:
            dataset = key.startswith(DATASET_PREFIX)
            rest = key.removeprefix(DATASET_PREFIX)
            name = rest.split(".")[0].split("[")[0]
            top = DATASET_PREFIX + name if dataset else name
            if ".axolotl." not in answer and answer not in found.setdefault(top, []):
                found[top].append(answer)
    return found


def _note(schema: AxolotlSchema, key: str) -> str:
    """What Axolotl says of a key it deprecates or refuses, else nothing."""
    removed = schema.removed.get(key, {})
    if removed.get("status") == "removed":
        when = "when set" if removed.get("when") == "set" else "when true (`false` is ignored)"
        return f"Axolotl refuses it {when}: {removed['message']}"
    text = schema.field_deprecations.get(key) or removed.get("message", "")
    return f"Axolotl: deprecated. {' '.join(text.split())}" if text else ""


def _answers_of(key: str, schema: AxolotlSchema, written: dict[str, list[str]]) -> list[str]:
    """The answers that write a key, under its name or the field name Axolotl also takes."""
    names = [key] + [field for field, alias in schema.field_aliases.items() if alias == key]
    return [answer for name in names for answer in written.get(name, [])]


def _moved(new: str, schema: AxolotlSchema, written: dict[str, list[str]]) -> str:
    answers = _answers_of(new, schema, written)
    return f" (answer {_code(answers)})" if answers else ""


def top_level_fate(key: str, schema: AxolotlSchema, written: dict[str, list[str]]) -> Fate:
    note = _note(schema, key)
    answers = _answers_of(key, schema, written)
    if answers:
        return Fate(ANSWER, "; ".join(filter(None, [_code(answers), note])))
    if key in schema.renames:
        new = schema.renames[key]
        return Fate(RENAMED, f"read as `{new}`{_moved(new, schema, written)}")
    if key in LEGACY_FLAGS:
        backend = LEGACY_FLAGS[key]
        return Fate(RENAMED, f"`true`: read as `attn_implementation: {backend}`"
                    f"{_moved('attn_implementation', schema, written)}; `false`: dropped, "
                    "Axolotl strips the flag and reads nothing from it")  # fmt: skip
    if schema.removed.get(key, {}).get("status") == "removed":
        return Fate(REFUSED, note)
    if is_secret(key) and _takes_text(schema.properties[key]):
        return Fate(CREDENTIAL, f"a credential, never written to a file: {environment_hint(key)}")
    return Fate(RAW, note)


def _takes_text(prop: dict[str, Any]) -> bool:
    return any(option.get("type") == "string" for option in prop.get("anyOf", [prop]))


def dataset_keys(schema: AxolotlSchema) -> list[str]:
    """The keys of an entry of `datasets:` (any of the entry models Axolotl takes there)."""
    items = schema.properties["datasets"]["anyOf"][0]["items"]["anyOf"]
    keys: dict[str, None] = {}
    for ref in items:
        keys.update(dict.fromkeys(schema.resolve(ref).get("properties", {})))
    return sorted(keys)


def dataset_fate(key: str, written: dict[str, list[str]]) -> Fate:
    answers = written.get(DATASET_PREFIX + key, [])
    if answers:
        return Fate(ANSWER, _code(answers))
    if key in LEGACY_MESSAGE_FIELDS:
        prop = LEGACY_MESSAGE_FIELDS[key]
        mapping = f"{DATASET_PREFIX}message_property_mappings"
        return Fate(RENAMED, f"deprecated: read as `message_property_mappings.{prop}` (answer "
                    f"{_code(written.get(mapping, []))}; `check --fix` moves it)")  # fmt: skip
    return Fate(RAW, "")


# --- the page -------------------------------------------------------------------------------

HEADER = """\
# Axolotl's keys, and what the wizard does with each

<!-- Generated by scripts/gen_axolotl_keys_docs.py from Axolotl's bundled schema, the key table
(wizard/render/key_table.py) and rendering: edit those, then run the script. -->

Every key of Axolotl {version}'s config, at the top level and in a dataset entry, and what the
wizard does with it when it writes a run (`new`) or imports a config (`new --from`):

- **answer**: an answer writes it, and an import reads it back as that answer
  ([the answers](answers.md)); the answers named are those that write the key.
- **renamed**: a deprecated spelling Axolotl still reads under its new name; an import, and
  `check --fix`, write the new name (which may be an answer).
- **refused**: Axolotl refuses the config while the key is set; `check` says so, and an import
  stops until it is removed (`check --fix` drops those that no longer do anything, and says
  what to decide for the others).
- **dropped**: never written to a file.
- **raw**: no answer says it; an import keeps it as it is, as a raw key (`axolotl:` in the
  answers, `datasets.N.axolotl` for a dataset entry's key), and `--set axolotl.KEY=VALUE` sets it.

Whatever the key: a key set to null (`wandb_watch:`) sets nothing, so an import drops it; a key
Axolotl does not know (a typo, a key removed long ago) is dropped with a note, since Axolotl
would silently ignore it; a plugin's keys count only with the plugin in `plugins:`, and are
carried raw. Importing: [import.md](import.md).
"""


def _table(fates: dict[str, Fate]) -> list[str]:
    lines = ["| key | the wizard | detail |", "| --- | --- | --- |"]
    for key, fate in fates.items():
        detail = fate.detail.replace("|", "\\|")
        lines.append(f"| `{key}` | {fate.kind} | {detail} |")
    return lines


def _summary(fates: dict[str, Fate]) -> str:
    counts = Counter(fate.kind for fate in fates.values())
    kinds = (ANSWER, RENAMED, REFUSED, CREDENTIAL, RAW)
    return ", ".join(f"{counts[kind]} {kind}" for kind in kinds if counts[kind])


def render() -> str:
    version = bundled_versions()[-1]
    schema, written = load_schema(version), written_by()
    top = {key: top_level_fate(key, schema, written) for key in sorted(schema.properties)}
    entry = {key: dataset_fate(key, written) for key in dataset_keys(schema)}
    aliases = ", ".join(f"`{field}` for `{alias}`" for field, alias in schema.field_aliases.items())
    lines = [HEADER.format(version=version)]
    lines += ["## Top-level keys", "", f"{len(top)} keys: {_summary(top)}. Axolotl also takes "
              f"these names: {aliases}.", "", *_table(top), ""]  # fmt: skip
    lines += ["## A dataset entry's keys", "", f"{len(entry)} keys, of every entry model "
              f"`datasets:` takes: {_summary(entry)}.", "", *_table(entry)]  # fmt: skip
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> int:
    return write_generated(OUT, render())


if __name__ == "__main__":
    sys.exit(main())
