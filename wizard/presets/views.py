"""What the `presets` commands show: the list with broken files, resolved answers, explain, diff.

A preset is usually partial (no dataset path, sometimes no model), so resolving one fills the
required answers it lacks with placeholders from a layer named `required`. `show` marks those
values as required rather than printing the placeholder; `check` renders with them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.answers.answer_keys import check_keys, generic_key
from wizard.answers.layers import Answers, Layer, LayerKind
from wizard.answers.placeholders import PLACEHOLDERS, placeholder_layer
from wizard.errors import WizardError
from wizard.presets.locks import Lock, chain_locks, covers
from wizard.presets.store import (
    NAME_PATTERN,
    SOURCE_ORDER,
    Folders,
    Preset,
    Resolver,
    preset_files,
    preset_layers,
)
from wizard.runspec import RunSpec

REQUIRED = "(required)"
UNSET = "(unset)"


@dataclass
class Listing:
    """One preset file as `presets list` shows it: usable, broken (with why), or shadowed."""

    source: str
    name: str
    path: Path
    preset: Preset | None = None
    problem: str | None = None
    shadowed_by: Listing | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.source}:{self.name}"

    @property
    def status(self) -> str:
        return "broken" if self.problem else "shadowed" if self.shadowed_by else "ok"

    def to_dict(self) -> dict[str, Any]:
        data = self.preset.data if self.preset else None
        return {
            "name": self.name,
            "qualified_name": self.qualified_name,
            "source": self.source,
            "path": str(self.path),
            "status": self.status,
            "problem": self.problem,
            "shadowed_by": self.shadowed_by.qualified_name if self.shadowed_by else None,
            "version": data.version if data else None,
            "description": data.description if data else None,
            "family": data.family if data else None,
            "extends": data.extends if data else [],
            "locked": data.locked if data else [],
            "axolotl_version": data.axolotl_version if data else None,
        }


def list_presets(folders: Folders | None = None) -> list[Listing]:
    """Every preset file, each checked on its own: one broken file never hides the others."""
    files = preset_files(folders)
    resolver = Resolver(folders)  # shared: each preset is read and resolved once for them all
    stems: dict[tuple[Path, str], int] = {}
    for _source, folder, path in files:
        stems[(folder, path.stem)] = stems.get((folder, path.stem), 0) + 1
    listings = []
    for source, folder, path in files:
        listing = Listing(source, path.stem, path)
        if stems[(folder, path.stem)] > 1:
            listing.problem = f"both {path.stem}.yml and {path.stem}.yaml exist; delete one"
        else:
            _inspect(listing, folder, resolver)
        listings.append(listing)
    _mark_shadowed(listings)
    return sorted(listings, key=lambda item: (item.name, SOURCE_ORDER.index(item.source)))


def _inspect(listing: Listing, folder: Path, resolver: Resolver) -> None:
    if not NAME_PATTERN.match(listing.name):
        listing.problem = "the file name is not a preset name (lowercase, digits, . _ -)"
        return
    try:
        listing.preset = resolver.load_file(listing.source, folder, listing.path)
        chain = resolver.chain_of(listing.preset)
        preset_layers(chain)
        chain_locks(chain)
    except WizardError as err:
        listing.problem = err.message


def _mark_shadowed(listings: list[Listing]) -> None:
    winner: dict[str, Listing] = {}
    for listing in listings:  # Lowest precedence first, so the last one seen wins.
        winner[listing.name] = listing
    for listing in listings:
        if winner[listing.name] is not listing:
            listing.shadowed_by = winner[listing.name]


@dataclass(frozen=True)
class Row:
    key: str
    value: Any
    origin: str  # a layer name, or "default"
    locked_by: str | None = None
    required: bool = False  # a placeholder stands in: `new` asks for it


@dataclass
class Resolved:
    """A preset chain resolved to a full spec, every answer with the layer it came from."""

    chain: list[Preset]
    answers: Answers
    spec: RunSpec
    locks: dict[str, Lock]
    placeholders: Layer
    rows: list[Row] = field(default_factory=list)

    @property
    def preset(self) -> Preset:
        return self.chain[-1]


def resolve_chain(chain: list[Preset]) -> Resolved:
    """Layers of the chain + placeholders for what it leaves open -> the spec and its rows."""
    layers = preset_layers(chain)
    locks = chain_locks(chain)
    placeholders = placeholder_layer(layers)
    answers = Answers([*layers, placeholders])
    spec = answers.resolve()
    resolved = Resolved(chain, answers, spec, locks, placeholders)
    flat = Layer.from_nested("spec", spec.model_dump(mode="json")).values
    flat.update({k: v for k, v in answers.merged().items() if k.startswith("axolotl.")})
    for key, value in flat.items():
        layer, lock = answers.origin_layer(key), locks.get(key)
        required = layer is not None and layer.kind is LayerKind.PLACEHOLDER
        origin = layer.name if layer is not None else "default"
        resolved.rows.append(Row(key, value, origin, lock.preset if lock else None, required))
    return resolved


def show_value(row: Row | None) -> str:
    if row is None:
        return UNSET
    if row.required:
        return REQUIRED
    return format_value(row.value)


def format_value(value: Any) -> str:
    """A value the way a user would type it after `--set KEY=`: plain when YAML reads it back
    as the same string, JSON otherwise (so the string "8" is not mistaken for the number 8)."""
    import yaml

    from wizard.yamlio import check_shape, safe_load

    if isinstance(value, str):
        try:
            check_shape(value, "value")
            if value and safe_load(value) == value:
                return value
        except (yaml.YAMLError, WizardError):
            pass
    return json.dumps(value, ensure_ascii=False)


def explain(resolved: Resolved, key: str) -> list[str]:
    """Where the value(s) at `key` come from, and what they override, highest layer first."""
    rows = [row for row in resolved.rows if covers(key, row.key)]
    if not rows:
        check_keys([key], "presets explain")  # An unknown key gets a did-you-mean.
        raise WizardError(
            f"{key} has no value in preset {resolved.preset.qualified_name}",
            f"`axolotl-wizard presets show {resolved.preset.qualified_name}` lists its answers",
        )
    defaults = _defaults(resolved.spec)
    lines: list[str] = []
    for row in rows:
        lines.append(f"{row.key} = {show_value(row)}")
        lines.append(f"  from {describe_origin(resolved, row)}")
        for layer in reversed(resolved.answers.layers):
            if (
                row.key in layer.values
                and layer.name != row.origin
                and (layer.kind is not LayerKind.PLACEHOLDER)
            ):
                lines.append(f"  overrides {layer.name}: {format_value(layer.values[row.key])}")
        if row.origin != "default" and row.key in defaults:
            lines.append(f"  default: {format_value(defaults[row.key])}")
        if row.locked_by:
            lines.append(f"  locked by preset {row.locked_by}: changing it needs `new --unlock`")
    return lines


def describe_origin(resolved: Resolved, row: Row) -> str:
    if row.origin == "default":
        return "the wizard's default"
    if row.required:
        return f"nowhere: a required answer; `new` asks for it (or --set {row.key}=VALUE)"
    for preset in resolved.chain:
        if row.origin == f"preset {preset.qualified_name}":
            return f"{row.origin} ({preset.path})"
    return row.origin


def _defaults(spec: RunSpec) -> dict[str, Any]:
    """The spec's defaults for the same method kind, flat (required answers have none)."""
    base = Layer("defaults", kind=LayerKind.TRIAL)
    base.set("method.kind", spec.method.kind)
    layers = [base]
    filled = Answers([*layers, placeholder_layer(layers)]).resolve()
    values = Layer.from_nested("spec", filled.model_dump(mode="json")).values
    # method.kind was copied from the spec above, so it has no default of its own to show.
    return {
        k: v for k, v in values.items() if generic_key(k) not in PLACEHOLDERS and k != "method.kind"
    }


def _unset(row: Row | None) -> bool:
    return row is None or (row.origin == "default" and row.value is None)


def diff(a: Resolved, b: Resolved) -> list[tuple[str, str, str]]:
    """(key, value in a, value in b) for every resolved answer that differs."""
    rows_a = {row.key: row for row in a.rows}
    rows_b = {row.key: row for row in b.rows}
    keys = list(rows_a) + [key for key in rows_b if key not in rows_a]
    changes = []
    for key in keys:
        row_a, row_b = rows_a.get(key), rows_b.get(key)
        if _unset(row_a) and _unset(row_b):
            continue  # a field one method has and the other not, unset in both
        shown_a, shown_b = show_value(row_a), show_value(row_b)
        if shown_a != shown_b:
            changes.append((key, shown_a, shown_b))
    return changes
