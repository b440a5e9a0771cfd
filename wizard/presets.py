"""Finding, loading and layering presets.

A preset is a partial set of answers plus optional raw Axolotl keys, with `extends:` for layering.
Sources, lowest to highest: built-in, the user's config folder, team folders
(`AXOLOTL_WIZARD_PRESETS`, separated like PATH), the project's `./.axolotl-wizard/presets`.
A name may be qualified by its source (`team:llama-qlora`); an unqualified name takes the highest.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from wizard.errors import WizardError
from wizard.layers import Layer, check_keys
from wizard.resources import presets_dir
from wizard.yamlio import load_yaml_mapping

PRESET_SUFFIXES = (".yml", ".yaml")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
SOURCE_ORDER = ("builtin", "user", "team", "project")


class PresetFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    family: str = Field(default="other", description="groups presets in lists and the interview")
    version: str = "1"
    extends: list[str] = Field(default_factory=list)
    answers: dict[str, Any] = Field(default_factory=dict)
    axolotl: dict[str, Any] = Field(default_factory=dict)
    locked: list[str] = Field(default_factory=list)
    axolotl_version: str | None = None

    @field_validator("extends", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValueError("use lowercase letters, digits, '.', '_' and '-' only")
        return value


@dataclass(frozen=True)
class Preset:
    source: str
    path: Path
    data: PresetFile

    @property
    def name(self) -> str:
        return self.data.name

    @property
    def qualified_name(self) -> str:
        return f"{self.source}:{self.name}"


def preset_folders() -> list[tuple[str, Path]]:
    """Every folder presets are read from, lowest precedence first."""
    folders: list[tuple[str, Path]] = [("builtin", presets_dir())]
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    folders.append(("user", config_home / "axolotl-wizard" / "presets"))
    for entry in os.environ.get("AXOLOTL_WIZARD_PRESETS", "").split(os.pathsep):
        if entry.strip():
            folders.append(("team", Path(entry).expanduser()))
    folders.append(("project", Path.cwd() / ".axolotl-wizard" / "presets"))
    return folders


def load_preset_file(path: Path, source: str) -> Preset:
    data = load_yaml_mapping(path, "preset")
    try:
        parsed = PresetFile.model_validate(data)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise WizardError(
            f"preset {path}: {where}: {first['msg']}",
            "see the built-in presets (`axolotl-wizard presets list`) for the format",
        ) from None
    if parsed.name != path.stem:
        raise WizardError(
            f"preset {path} is named {parsed.name!r} inside but {path.stem!r} on disk",
            "make the file name and `name:` agree",
        )
    return Preset(source, path, parsed)


def find_preset_path(name: str) -> tuple[str, Path]:
    """The (source, file) a preset name points at: qualified, or the highest source that has it."""
    source_filter, _, bare = name.rpartition(":")
    if not NAME_PATTERN.match(bare):
        raise WizardError(
            f"{name!r} is not a preset name",
            "preset names are lowercase letters, digits, '.', '_' and '-' (no paths)",
        )
    if source_filter and source_filter not in SOURCE_ORDER:
        raise WizardError(
            f"unknown preset source {source_filter!r} in {name!r}",
            f"qualify a name with one of: {', '.join(SOURCE_ORDER)}",
        )
    found: tuple[str, Path] | None = None
    for source, folder in preset_folders():
        if source_filter and source != source_filter:
            continue
        for suffix in PRESET_SUFFIXES:
            candidate = folder / f"{bare}{suffix}"
            if candidate.is_file():
                found = (source, candidate)
    if found is None:
        raise WizardError(f"no preset named {name!r}", _nearest_names_hint(bare))
    return found


def _nearest_names_hint(name: str) -> str:
    import difflib

    names = sorted(all_preset_names())
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.4)
    if close:
        return f"did you mean {', '.join(close)}? (`axolotl-wizard presets list` shows all)"
    return "`axolotl-wizard presets list` shows the presets you can use"


def all_preset_names() -> set[str]:
    names: set[str] = set()
    for _source, folder in preset_folders():
        if folder.is_dir():
            names.update(p.stem for p in folder.iterdir() if p.suffix in PRESET_SUFFIXES)
    return names


def load_preset(name: str) -> Preset:
    source, path = find_preset_path(name)
    return load_preset_file(path, source)


def preset_chain(name: str) -> list[Preset]:
    """The preset and its ancestors, root first; cycles and missing parents are clear errors."""
    chain: list[Preset] = []
    _walk(name, chain, [])
    return chain


def _walk(name: str, chain: list[Preset], path: list[str]) -> None:
    if name in path:
        raise WizardError(
            f"preset extends form a cycle: {' -> '.join([*path, name])}",
            "remove one of the extends: entries in that chain",
        )
    try:
        preset = load_preset(name)
    except WizardError as err:
        if path:
            err.message = f"{err.message} (needed by {' -> '.join(path)})"
        raise
    for parent in preset.data.extends:
        _walk(parent, chain, [*path, name])
    if all(p.path != preset.path for p in chain):
        chain.append(preset)


def preset_layers(chain: list[Preset]) -> list[Layer]:
    layers = []
    for preset in chain:
        layer = Layer.from_nested(f"preset {preset.qualified_name}", preset.data.answers)
        check_keys(layer.values, f"preset {preset.path}")
        for key, value in preset.data.axolotl.items():
            layer.set(f"axolotl.{key}", value)
        layers.append(layer)
    return layers


def chain_hash(chain: list[Preset]) -> str:
    """A content hash of everything the chain contributes, stable across machines."""
    payload = [p.data.model_dump(mode="json") for p in chain]
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()[:16]
