"""Finding, loading and layering presets.

A preset is a partial set of answers plus optional raw Axolotl keys, with `extends:` for layering.
Sources, lowest to highest: built-in, the user's config folder, team folders
(`AXOLOTL_WIZARD_PRESETS`, separated like PATH and searched like it: the first folder that has
a name wins; a folder it names that is not there is a warning), the project's
`./.axolotl-wizard/presets`.
A name may be qualified by its source (`team:llama-qlora`); an unqualified name takes the highest.
Every function that looks presets up takes an optional `folders` list, so `presets check DIR`
can add a folder without touching the environment.
"""

import hashlib
import json
import os
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from wizard.answers.file import carried_files
from wizard.answers.layers import Layer, LayerKind, check_layer
from wizard.errors import WizardError
from wizard.presets.reading import check_specifier, read_preset_data
from wizard.records import Record
from wizard.render.key_table import ANSWER_OF_KEY
from wizard.resources import presets_dir
from wizard.terminal import warn

PRESET_SUFFIXES = (".yml", ".yaml")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
SOURCE_ORDER = ("builtin", "user", "team", "project")
TEAM_ENV = "AXOLOTL_WIZARD_PRESETS"
# Presets in one line of `extends`, the preset itself included; hand-written chains are a few.
MAX_EXTENDS_DEPTH = 64

Folders = Sequence[tuple[str, Path]]


class PresetFile(BaseModel):
    # Empty literals, not `default_factory=list`: Pydantic copies a mutable default for each
    # model, and a builtin factory makes it parse the builtin's text signature at start-up.
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    family: str = Field(default="other", description="groups presets in lists and the interview")
    version: str = "1"
    extends: list[str] = []
    answers: dict[str, Any] = {}
    axolotl: dict[str, Any] = {}
    # Files an imported config brought (its DeepSpeed JSON), by their path in the run folder.
    files: dict[str, Any] = {}
    locked: list[str] = []
    axolotl_version: str | None = None

    @field_validator("extends", "locked", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        # `version: 2` and `version: 1.1` are what people write; keep them as the text they wrote.
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        return str(value) if is_number else value

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValueError("use lowercase letters, digits, '.', '_' and '-' only")
        return value

    @field_validator("axolotl_version")
    @classmethod
    def _specifier(cls, value: str | None) -> str | None:
        return None if value is None else check_specifier(value)


class Preset(Record):
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
    folders.append(("user", user_presets_dir()))
    team = [Path(entry).expanduser() for entry in os.environ.get(TEAM_ENV, "").split(os.pathsep)
            if entry.strip()]  # fmt: skip
    for folder in team:
        if not folder.is_dir():
            _warn_missing(str(folder))
    # Like PATH, the first folder wins: so it comes last, where precedence is highest.
    folders += [("team", folder) for folder in reversed(team)]
    folders.append(("project", Path.cwd() / ".axolotl-wizard" / "presets"))
    return folders


@cache  # said once per command, however often the folders are looked at
def _warn_missing(folder: str) -> None:
    what = "is not a folder" if os.path.exists(folder) else "does not exist"
    warn(f"{TEAM_ENV} names {folder}, which {what}: no presets are read from it")


def user_presets_dir() -> Path:
    """The user's preset folder: $XDG_CONFIG_HOME/axolotl-wizard/presets (~/.config by default)."""
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config_home / "axolotl-wizard" / "presets"


def load_preset_file(path: Path, source: str, folder: Path | None = None) -> Preset:
    """Load and validate one preset file; `folder`, when given, is the folder it must stay in."""
    data = read_preset_data(path, folder)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise WizardError(
            f"preset {path}: the top level is a {type(data).__name__}, not a mapping",
            "a preset has name:, description:, answers: … at the top level",
        )
    try:
        parsed = PresetFile.model_validate(data)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise WizardError(
            f"preset {path}: {where}: {message}",
            "see the built-in presets (`axolotl-wizard presets show tiny-cpu`) for the format",
        ) from None
    if parsed.name != path.stem:
        raise WizardError(
            f"preset {path} is named {parsed.name!r} inside but {path.stem!r} on disk",
            "make the file name and `name:` agree",
        )
    return Preset(source, path, parsed)


def split_name(name: str) -> tuple[str, str]:
    """`team:foo` -> ("team", "foo"); `foo` -> ("", "foo"); anything path-like is refused."""
    source, _, bare = name.rpartition(":")
    if not NAME_PATTERN.match(bare):
        raise WizardError(
            f"{name!r} is not a preset name",
            "preset names are lowercase letters, digits, '.', '_' and '-' (no paths)",
        )
    if source and source not in SOURCE_ORDER:
        raise WizardError(
            f"unknown preset source {source!r} in {name!r}",
            f"qualify a name with one of: {', '.join(SOURCE_ORDER)}",
        )
    return source, bare


def locate_preset(name: str, folders: Folders | None = None) -> tuple[str, Path, Path]:
    """(source, folder, file) of a preset name: qualified, or the highest source that has it."""
    source_filter, bare = split_name(name)
    found: tuple[str, Path, Path] | None = None
    for source, folder in folders if folders is not None else preset_folders():
        if source_filter and source != source_filter:
            continue
        # With both NAME.yml and NAME.yaml in one folder, which one is meant is a guess: refuse.
        matches = [p for p in (folder / f"{bare}{s}" for s in PRESET_SUFFIXES) if p.is_file()]
        if len(matches) > 1:
            raise WizardError(
                f"preset {bare!r} is in {folder} twice: {matches[0].name} and {matches[1].name}",
                "delete one of them",
            )
        if matches:
            found = (source, folder, matches[0])
    if found is None:
        raise WizardError(f"no preset named {name!r}", _nearest_names_hint(bare, folders))
    return found


def _nearest_names_hint(name: str, folders: Folders | None) -> str:
    import difflib

    names = sorted(all_preset_names(folders))
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.4)
    if close:
        return f"did you mean {', '.join(close)}? (`axolotl-wizard presets list` shows all)"
    return "`axolotl-wizard presets list` shows the presets you can use"


def preset_files(folders: Folders | None = None) -> list[tuple[str, Path, Path]]:
    """(source, folder, file) for every preset-looking file, lowest precedence first."""
    found = []
    for source, folder in folders if folders is not None else preset_folders():
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            # Dot files are editor backups and our own half-written temp files: not presets.
            if path.suffix in PRESET_SUFFIXES and not path.name.startswith("."):
                found.append((source, folder, path))
    return found


def all_preset_names(folders: Folders | None = None) -> set[str]:
    return {path.stem for _source, _folder, path in preset_files(folders)}


def shadow_warning(name: str, preset: Preset, folders: Folders | None = None) -> str | None:
    """A warning when an unqualified name picks a preset that hides the built-in one of that
    name (a team folder can otherwise replace `tiny-cpu` without anyone noticing)."""
    if ":" in name or preset.source == "builtin":
        return None
    builtin = next((f for s, f in (folders or preset_folders()) if s == "builtin"), None)
    names = [f"{preset.name}{suffix}" for suffix in PRESET_SUFFIXES]
    if builtin is None or not any((builtin / name).is_file() for name in names):
        return None
    return (
        f"preset {name} is {preset.qualified_name} ({preset.path}), which shadows the built-in "
        f"{preset.name}; use builtin:{preset.name} for the built-in one"
    )


def preset_chain(name: str, folders: Folders | None = None) -> list[Preset]:
    """The preset and its ancestors, root first; cycles and missing parents are clear errors."""
    return Resolver(folders).chain(name)


def chain_of(preset: Preset, folders: Folders | None = None) -> list[Preset]:
    """The chain of an already loaded preset (a file `presets list` or `check` looks at)."""
    return Resolver(folders).chain_of(preset)


class _Resolved(Record):
    chain: tuple[Preset, ...]  # root first, each preset once
    deepest: tuple[Preset, ...]  # the longest line of `extends` up from the preset, itself first


class Resolver:
    """Resolves `extends` for any number of presets, reading and walking each file once.

    A team folder is untrusted: two parents that share ancestors (a diamond) doubled the paths
    of a plain walk with each level, so a folder of 48 small files took minutes. Here each
    preset's chain is resolved once and kept, so the work grows with the folder's size; a line
    of `extends` deeper than MAX_EXTENDS_DEPTH is refused (a thousand exhausted Python's stack).
    An error names the line of presets from the one asked for to where it went wrong.
    """

    def __init__(self, folders: Folders | None = None) -> None:
        self.folders = list(folders) if folders is not None else preset_folders()
        self._located: dict[str, tuple[str, Path, Path]] = {}
        self._loaded: dict[tuple[str, Path], Preset] = {}
        self._resolved: dict[Path, _Resolved] = {}

    def load(self, name: str) -> Preset:
        if name not in self._located:
            self._located[name] = locate_preset(name, self.folders)
        return self.load_file(*self._located[name])

    def load_file(self, source: str, folder: Path, path: Path) -> Preset:
        if (source, path) not in self._loaded:
            self._loaded[(source, path)] = load_preset_file(path, source, folder)
        return self._loaded[(source, path)]

    def chain(self, name: str) -> list[Preset]:
        return self.chain_of(self.load(name))

    def chain_of(self, preset: Preset) -> list[Preset]:
        return list(self._resolve(preset, ()).chain)

    def _resolve(self, preset: Preset, below: tuple[Preset, ...]) -> _Resolved:
        done = self._resolved.get(preset.path) or self._resolve_new(preset, below)
        if len(below) + len(done.deepest) > MAX_EXTENDS_DEPTH:
            raise _too_deep((*below, *done.deepest))
        return done

    def _resolve_new(self, preset: Preset, below: tuple[Preset, ...]) -> _Resolved:
        line = (*below, preset)
        # Compared by file, not by name: `foo` and `team:foo` are the same preset.
        if any(p.path == preset.path for p in below):
            raise WizardError(
                f"preset extends form a cycle: {_chain_text(line)}",
                "remove one of the extends: entries in that chain; to build on a preset of the "
                "same name from a lower source, qualify it (extends: builtin:NAME)",
            )
        if len(line) > MAX_EXTENDS_DEPTH:
            raise _too_deep(line)
        parents = [self._resolve(self._parent(name, line), line) for name in preset.data.extends]
        deepest = (preset, *max((parent.deepest for parent in parents), key=len, default=()))
        done = self._resolved[preset.path] = _Resolved((*_first_seen(parents), preset), deepest)
        return done

    def _parent(self, name: str, line: tuple[Preset, ...]) -> Preset:
        try:
            return self.load(name)
        except WizardError as err:
            err.message = f"{err.message} (needed by {_chain_text(line)})"
            raise


def _first_seen(parents: list[_Resolved]) -> list[Preset]:
    """The parents' chains one after the other, each preset where it first appears."""
    seen: dict[Path, Preset] = {}
    for parent in parents:
        for preset in parent.chain:
            seen.setdefault(preset.path, preset)
    return list(seen.values())


def _too_deep(line: tuple[Preset, ...]) -> WizardError:
    return WizardError(
        f"preset extends go more than {MAX_EXTENDS_DEPTH} presets deep: {_chain_text(line)}",
        "extend the preset that holds the answers you want directly instead of through a long "
        "line of presets",
    )


def _chain_text(path: Sequence[Preset]) -> str:
    names = [p.qualified_name for p in path]
    if len(names) > 8:  # one line, whatever the chain: its ends say where to look
        names = [*names[:4], f"… {len(names) - 6} more …", *names[-2:]]
    return " -> ".join(names)


def preset_layers(chain: list[Preset]) -> list[Layer]:
    layers = []
    for preset in chain:
        layer = Layer.from_nested(f"preset {preset.qualified_name}", preset.data.answers,
                                  LayerKind.PRESET, preset.source)  # fmt: skip
        for key, value in preset.data.axolotl.items():
            layer.set(f"axolotl.{key}", value)
        promote_raw_answers(layer)
        check_layer(layer, f"preset {preset.path}")
        layer.files = carried_files(preset.data.files, f"preset {preset.path}")
        layers.append(layer)
    return layers


def promoted_key(key: str) -> str:
    """`axolotl.chat_template` -> `data.chat_template`: a raw key that has become an answer."""
    if not key.startswith("axolotl."):
        return key
    head, _, rest = key.removeprefix("axolotl.").partition(".")
    answer = ANSWER_OF_KEY.get(head)
    return key if answer is None else answer + (f".{rest}" if rest else "")


def promote_raw_answers(layer: Layer) -> Layer:
    """Raw keys that have become answers are read as those answers, so a preset or answers file
    written before the answer existed still layers with one that uses it (the higher layer wins,
    as it always does)."""
    for key in [k for k in layer.values if k.startswith("axolotl.")]:
        layer.values[promoted_key(key)] = layer.values.pop(key)
    return layer


def chain_hash(chain: list[Preset]) -> str:
    """A content hash of everything the chain contributes, stable across machines."""
    # `files` only when there are some: a field added later must not change every old hash.
    payload = [p.data.model_dump(mode="json", exclude=None if p.data.files else {"files"})
               for p in chain]  # fmt: skip
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()[:16]
