"""`check --fix`: turn an old config into one Axolotl 0.19 accepts, as text edits.

Every change has one meaning-preserving answer (a rename, a moved key, a removed option that did
nothing any more, a quoted string); a change that needs a decision (which eval cadence to keep,
which template replaces a gone one) is listed and not made. The plan is a list of `Change`s;
`migrate_text` applies those whose edits all apply and reports each with its line.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.axolotl import keys as K
from wizard.axolotl.schema import AxolotlSchema
from wizard.axolotl.view import AxolotlConfig, view_of
from wizard.lint.eval_rules import effective_eval_packing
from wizard.lint.findings import Finding, KeyPath, Rename, dotted
from wizard.lint.positions import Located
from wizard.lint.removed import DATASET_LISTS, LEGACY_MESSAGE_FIELDS, UNSLOTH_KEYS, is_sharegpt
from wizard.lint.sharegpt import plan_entry
from wizard.lint.successors import packed_sequence_len, plan_successors
from wizard.lint.textedit import Change, Edit, TextEditor, yaml_scalar
from wizard.lint.typecheck import check_value

# Removed options: None = drop it (it changed nothing Axolotl still does), a string = the
# decision it needs. Keys not here follow the schema's `removed` table: a decision.
REMOVED_DROP: dict[str, str | None] = {
    K.FLASH_ATTN_RMS_NORM: None,
    K.DPO_USE_LOGITS_TO_KEEP: None,
    K.DPO_GENERATE_DURING_EVAL: None,
    "unsloth_cross_entropy_loss": None,
    "unsloth_rms_norm": None,
    "unsloth_rope": None,
    K.S2_ATTENTION: "shifted-sparse attention is gone; choose another long-context setup",
    K.DPO_NORM_LOSS: "TRL >= 0.29 has no normalised DPO loss; pick a `dpo_loss_type`",
    K.RPO_ALPHA: "RPO is now a list of loss types with weights (`dpo_loss_type`, "
    "`dpo_loss_weights`)",
}


@dataclass
class Migration:
    text: str
    made: list[Change]
    left: list[Change]  # decisions, and changes whose edits could not be applied


def migrate_text(
    text: str,
    located: Located,
    findings: list[Finding],
    schema: AxolotlSchema,
    bases: list[Path],
    world: int | None = None,
) -> Migration:
    """`world`: the number of training processes, when known (GRPO's batch depends on it)."""
    view = view_of(located.data if isinstance(located.data, dict) else {})
    editor = TextEditor(text, located)
    planned = plan(view, text, located, findings, schema, bases, world)
    ready = [c for c in planned if not c.decision and all(editor.can_apply(e) for e in c.edits)]
    editor.apply([e for c in ready for e in c.edits])
    left = [c for c in planned if c not in ready]
    return Migration(editor.text(), ready, left)


def plan(
    view: AxolotlConfig,
    text: str,
    located: Located,
    findings: list[Finding],
    schema: AxolotlSchema,
    bases: list[Path],
    world: int | None = None,
) -> list[Change]:
    def line(path: KeyPath) -> int | None:
        pos = located.pos(path)
        return pos.line if pos else None

    changes = _renames(findings, view, schema, line)
    changes += _datasets(view, schema, bases, line)
    changes += _removed_keys(view, schema, line)
    changes += _wandb(view, schema, located, text.splitlines(), line)
    changes += _eval_packing(view, line)
    changes += plan_successors(view, schema, world, line)
    changes += _decisions(findings, _deleted(changes))
    return sorted(changes, key=lambda c: c.line or 0)


def _renames(
    findings: list[Finding], view: AxolotlConfig, schema: AxolotlSchema, line: Any
) -> list[Change]:
    """Renames from the findings; one that would write a key twice, or a value the new key does
    not take (`eos_token: </s>` is not `eot_tokens`), is a guess: a decision."""
    out = []
    targets = Counter(_target(f.rename) for f in findings if f.rename is not None)
    for f in findings:
        if f.rename is None:
            continue
        r = f.rename
        new = r.new_key + (f": {r.new_value}" if r.new_value is not None else "")
        if targets[_target(r)] > 1 or _written(r, view) or _misfit(r, view, schema):
            what = f"`{dotted(r.path)}` → `{new}`? (not made: it would clash with the new key's "
            what += "other source or type; rename it by hand if that is what it means)"
            out.append(Change(line(r.path), what, decision=True))
            continue
        edit = Edit("rename", r.path, new_key=r.new_key, value=r.new_value)
        out.append(Change(line(r.path), f"`{dotted(r.path)}` → `{new}`", (edit,)))
    return out


def _target(rename: Rename) -> KeyPath:
    return (*rename.path[:-1], rename.new_key)


def _written(rename: Rename, view: AxolotlConfig) -> bool:
    """The new key is in the config already (`flash_attn_fuse_qkv` beside `flash_attn_fuse_mlp`)."""
    node: Any = view.raw
    for part in rename.path[:-1]:
        fits = isinstance(node, dict) or (isinstance(node, list) and isinstance(part, int))
        node = node[part] if fits else None
    return isinstance(node, dict) and rename.new_key in node


def _misfit(rename: Rename, view: AxolotlConfig, schema: AxolotlSchema) -> bool:
    """A top-level rename whose value the new key's schema refuses."""
    if len(rename.path) != 1 or rename.new_value is not None:
        return False
    prop = schema.property(rename.new_key)
    value = view.raw.get(str(rename.path[0]))
    return prop is not None and bool(check_value(value, prop, schema, rename.path))


def _datasets(
    view: AxolotlConfig, schema: AxolotlSchema, bases: list[Path], line: Any
) -> list[Change]:
    out: list[Change] = []
    templates = set(schema.defs.get("ChatTemplate", {}).get("enum", []))
    for key in DATASET_LISTS:
        entries = view.value(key)
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            if not isinstance(entry, dict):
                continue
            path: KeyPath = (key, index)
            if is_sharegpt(entry):
                chosen = view.value(K.CHAT_TEMPLATE)
                out += _sharegpt(entry, path, (templates, chosen), bases, line)
            else:
                out += _legacy_fields(entry, path, line)
    return out


def _sharegpt(
    entry: dict[str, Any],
    path: KeyPath,
    templates: tuple[set[str], Any],
    bases: list[Path],
    line: Any,
) -> list[Change]:
    """`templates`: the chat_template names Axolotl knows, and the config-wide one if set."""
    where = line((*path, "type"))
    found = plan_entry(entry, templates[0], bases, templates[1])
    if found is None:
        return [
            Change(
                where,
                f"`type: {entry['type']}` has no chat_template equivalent; "
                "convert the data or write a chat_template_jinja",
                decision=True,
            )
        ]
    edits = [Edit("set", (*path, "type"), value="chat_template")]
    new = {k: v for k, v in found.keys.items() if k != "field_messages" or k not in entry}
    for key in [k for k in new if k in entry]:
        edits.append(Edit("delete", (*path, key)))
    edits += [Edit("delete", (*path, key)) for key in found.drop]
    if "conversation" in entry and found.template:
        edits.append(Edit("rename", (*path, "conversation"), "chat_template", found.template))
    edits.append(Edit("insert", (*path, "type"), lines=new))
    summary = (
        f"`type: {entry['type']}` → `type: chat_template` with field_messages "
        f"{found.keys['field_messages']}, message_property_mappings "
        f"{yaml_scalar(found.keys['message_property_mappings'])}, roles "
        f"{yaml_scalar(found.keys['roles'])}"
        + (f", chat_template {found.template}" if found.template else "")
    )
    notes = [Change(where, note, decision=True) for note in found.notes]
    return [Change(where, summary, tuple(edits)), *notes]


def _legacy_fields(entry: dict[str, Any], path: KeyPath, line: Any) -> list[Change]:
    legacy = {prop: entry[k] for k, prop in LEGACY_MESSAGE_FIELDS.items() if k in entry}
    if not legacy:
        return []
    first = next(k for k in LEGACY_MESSAGE_FIELDS if k in entry)
    where = line((*path, first))
    mapping = entry.get("message_property_mappings")
    if mapping is not None and not isinstance(mapping, dict):
        return []
    merged = {**legacy, **(mapping or {})}
    if any(merged[k] != v for k, v in legacy.items()):
        return [
            Change(
                where,
                f"`{first}` disagrees with message_property_mappings; keep one",
                decision=True,
            )
        ]
    edits = [Edit("delete", (*path, k)) for k in LEGACY_MESSAGE_FIELDS if k in entry]
    if mapping is not None:
        edits.append(Edit("delete", (*path, "message_property_mappings")))
    # Inserted after the key before the first legacy one, where the old keys stood.
    keys = list(entry)
    anchor = next(
        (k for k in reversed(keys[: keys.index(first)]) if k not in edits_keys(edits)), None
    )
    if anchor is None:
        return [Change(where, f"move `{first}` into message_property_mappings by hand")]
    edits.append(Edit("insert", (*path, anchor), lines={"message_property_mappings": merged}))
    names = ", ".join(f"`{k}`" for k in LEGACY_MESSAGE_FIELDS if k in entry)
    return [
        Change(where, f"{names} → `message_property_mappings: {yaml_scalar(merged)}`", tuple(edits))
    ]


def edits_keys(edits: list[Edit]) -> set[str]:
    return {str(e.path[-1]) for e in edits}


def _removed_keys(view: AxolotlConfig, schema: AxolotlSchema, line: Any) -> list[Change]:
    out = []
    for key, value in view.raw.items():
        if not isinstance(key, str) or not _refused(key, value, schema):
            continue
        new = UNSLOTH_KEYS.get(key)
        if new and new not in view.raw:
            edit = Edit("rename", (key,), new, yaml_scalar(value))
            out.append(Change(line((key,)), f"`{key}` → `{new}` (its replacement)", (edit,)))
        elif key == K.MAX_PACKED_SEQUENCE_LEN:
            out += packed_sequence_len(view, line)
        elif key in REMOVED_DROP and REMOVED_DROP[key] is None:
            out.append(
                Change(
                    line((key,)),
                    f"`{key}` removed: it no longer does anything in Axolotl, so it is dropped",
                    (Edit("delete", (key,)),),
                )
            )
        else:
            why = REMOVED_DROP.get(key) or schema.removed.get(key, {}).get("message", "")
            out.append(Change(line((key,)), f"`{key}` was removed: {why}", decision=True))
    return out


def _refused(key: str, value: Any, schema: AxolotlSchema) -> bool:
    if key in UNSLOTH_KEYS:
        return bool(value)
    entry = schema.removed.get(key)
    if entry is None or entry["status"] != "removed" or value is None:
        return False
    return entry.get("when") != "truthy" or bool(value)


def _wandb(
    view: AxolotlConfig, schema: AxolotlSchema, located: Located, lines: list[str], line: Any
) -> list[Change]:
    out = []
    for key, value in view.raw.items():
        if not (isinstance(key, str) and key.startswith("wandb_")) or isinstance(value, str):
            continue
        prop = schema.property(key) or {}
        branches = prop.get("anyOf", [prop])
        if value is None or {b.get("type") for b in branches} - {"null"} != {"string"}:
            continue
        if not isinstance(value, (bool, int, float)):
            continue
        text = _source_value(lines, located, (key,)) or yaml_scalar(value)
        quoted = yaml_scalar(text)
        out.append(
            Change(
                line((key,)),
                f"`{key}: {text}` → `{key}: {quoted}` (a string)",
                (Edit("set", (key,), value=quoted),),
            )
        )
    return out


def _source_value(lines: list[str], located: Located, path: KeyPath) -> str | None:
    """The value as written in the file (so `1e5` stays `1e5`), when on the key's line."""
    pos = located.positions.get(path)
    if pos is None:
        return None
    value = lines[pos.line - 1][pos.col - 1 :].partition(":")[2].split(" #")[0].strip()
    return value or None


def _eval_packing(view: AxolotlConfig, line: Any) -> list[Change]:
    packs = bool(view.value(K.SAMPLE_PACKING))
    unpacked = view.value(K.EVAL_SAMPLE_PACKING) is False
    table = packs and view.value(K.EVAL_TABLE_SIZE) and not unpacked
    causal = view.value(K.DO_CAUSAL_LM_EVAL) and effective_eval_packing(view)
    if not (table or causal):
        return []
    why = K.EVAL_TABLE_SIZE if table else K.DO_CAUSAL_LM_EVAL
    # Written (even as null): set it where it stands; else insert it after sample_packing.
    if K.EVAL_SAMPLE_PACKING in view.raw:
        edit = Edit("set", (K.EVAL_SAMPLE_PACKING,), value="false")
        where = line((K.EVAL_SAMPLE_PACKING,))
    else:
        anchor = K.SAMPLE_PACKING if K.SAMPLE_PACKING in view.raw else why
        edit = Edit("insert", (anchor,), lines={K.EVAL_SAMPLE_PACKING: False})
        where = line((anchor,))
    return [Change(where, f"`eval_sample_packing: false` ({why} needs unpacked evals)", (edit,))]


def _decisions(findings: list[Finding], deleted: set[str]) -> list[Change]:
    """The cadence decisions, but for those a change makes moot by deleting a key they name."""
    return [
        Change(f.line, f"{f.message}: {f.fix.split(' (')[0]}", decision=True)
        for f in findings
        if f.code == "cadence" and f.fix and "decision" in f.fix
        if not any(f"`{key}`" in f.message for key in deleted)
    ]


def _deleted(changes: list[Change]) -> set[str]:
    """The top-level keys the changes delete."""
    return {
        str(e.path[0])
        for c in changes
        if not c.decision
        for e in c.edits
        if e.kind == "delete" and len(e.path) == 1
    }


def search_bases(config: Path, cwd: Path) -> list[Path]:
    """Where a relative dataset path may be read from: the working directory, the config's."""
    return list(dict.fromkeys([cwd, Path(os.path.normpath(config.parent))]))
