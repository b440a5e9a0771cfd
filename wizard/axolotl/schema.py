"""The bundled JSON schema of Axolotl's config, and the tables derived from it.

`scripts/gen_axolotl_schema.py` writes one `wizard/schemas/axolotl-<version>.json` per Axolotl
version. `check` must start fast and work without Axolotl installed, so it reads that file and
never imports Axolotl. When Axolotl is installed, the schema of its version is preferred (its
version is read from the package metadata, which imports nothing).
"""

from __future__ import annotations

import importlib.util
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from wizard.errors import WizardError
from wizard.records import Record
from wizard.resources import package_path

_NAME = re.compile(r"^axolotl-(\d+(?:\.\d+)*)\.json$")
JsonSchema = dict[str, Any]


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


@cache
def bundled_versions() -> tuple[str, ...]:
    """The Axolotl versions there is a bundled schema for, oldest first."""
    folder = package_path("wizard.axolotl.schemas")
    found = [m.group(1) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return tuple(sorted(found, key=_version_key))


@cache
def installed_axolotl_version() -> str | None:
    """The installed Axolotl's version, read from its dist-info folder name.

    `importlib.metadata.version` scans every distribution on sys.path (0.2 s in a training env
    with hundreds of packages); the dist-info sits next to the package, so look there first.
    """
    spec = importlib.util.find_spec("axolotl")
    if spec is None or not spec.submodule_search_locations:
        return None
    site = Path(next(iter(spec.submodule_search_locations))).parent
    for info in site.glob("axolotl-*.dist-info"):
        return info.name[len("axolotl-") : -len(".dist-info")]
    from importlib import metadata  # the slow fallback: only when no dist-info sits beside it

    try:
        return metadata.version("axolotl")
    except metadata.PackageNotFoundError:
        return None


def choose_version(requested: str | None = None) -> str:
    """`requested`, else the installed Axolotl's version if bundled, else the newest bundled."""
    versions = bundled_versions()
    if not versions:
        raise WizardError("no bundled Axolotl schema found", "reinstall axolotl-wizard")
    if requested is not None:
        if requested not in versions:
            raise WizardError(
                f"no bundled schema for Axolotl {requested}; bundled: {', '.join(versions)}",
                "generate one with scripts/gen_axolotl_schema.py in an env with that version",
            )
        return requested
    installed = installed_axolotl_version()
    return installed if installed in versions else versions[-1]


class PluginInfo(Record):
    name: str
    keys: frozenset[str]
    schema: JsonSchema | None
    requires: str | None
    import_error: str | None


class AxolotlSchema(Record):
    """Axolotl's config schema with the lookups the rules need."""

    version: str
    config: JsonSchema
    defs: dict[str, JsonSchema]
    field_aliases: dict[str, str]
    field_deprecations: dict[str, str]
    removed: dict[str, dict[str, str]]
    dataset_models: dict[str, JsonSchema]
    renames: dict[str, str]
    plugins: dict[str, PluginInfo]
    enums: dict[str, list[str]]

    @property
    def properties(self) -> dict[str, JsonSchema]:
        props: dict[str, JsonSchema] = self.config["properties"]
        return props

    def property(self, key: str) -> JsonSchema | None:
        """The schema of a top-level key, under its alias or its field name."""
        found = self.properties.get(key)
        if found is None and key in self.field_aliases:
            found = self.properties.get(self.field_aliases[key])
        return found

    def default(self, key: str) -> Any:
        """What Axolotl sets a top-level key (or a loaded plugin's) to when it is not written;
        None for most, so a key written as null there sets nothing."""
        found = self.property(key)
        for info in self.plugins.values():
            if found is None and info.schema:
                found = info.schema.get("properties", {}).get(key)
        return (found or {}).get("default")

    def dataset_default(self, key: str) -> Any:
        """The same for a key of a `datasets:` entry (Axolotl's SFTDataset)."""
        sft = self.resolve(self.dataset_models.get("SFTDataset", {}))
        return sft.get("properties", {}).get(key, {}).get("default")

    def known_keys(self) -> set[str]:
        return set(self.properties) | set(self.field_aliases)

    def plugin_for_key(self, key: str) -> list[str]:
        """The plugins that add `key`, for 'enable plugin X' hints."""
        return [name for name, info in self.plugins.items() if key in info.keys]

    def choices(self, key: str) -> tuple[str, ...]:
        """The names Axolotl accepts for `key`: its recorded enum (optimizer, lr_scheduler, …),
        else the string enum in the key's schema (top level, then a dataset entry's)."""
        if key in self.enums:
            return tuple(self.enums[key])
        model, _, name = key.rpartition(".")  # `FSDPConfig.state_dict_type`: a nested model's
        if model:
            found = self.defs.get(model, {}).get("properties", {}).get(name) or {}
        else:
            sft = self.dataset_models.get("SFTDataset", {})
            found = self.property(key) or self.resolve(sft).get("properties", {}).get(key) or {}
        names: list[str] = []
        for option in found.get("anyOf", [found]):
            names += [v for v in self.resolve(option).get("enum", []) if isinstance(v, str)]
        return tuple(names)

    def resolve(self, schema: JsonSchema) -> JsonSchema:
        """Follow a local `$ref` (pydantic puts every model under `$defs`)."""
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = self.defs[name]
        return schema


def load_schema(version: str | None = None) -> AxolotlSchema:
    """The bundled schema of Axolotl `version` (default: the installed one, else the newest)."""
    return _load_bundled(choose_version(version))


@cache
def _load_bundled(chosen: str) -> AxolotlSchema:
    # Cached by the version chosen, not the one asked for: `None` and "0.19.0" are one file.
    raw = package_path("wizard.axolotl.schemas", f"axolotl-{chosen}.json").read_text("utf-8")
    data = json.loads(raw)
    defs: dict[str, JsonSchema] = dict(data["config"].get("$defs", {}))
    for model in data["dataset_models"].values():
        defs.update(model.get("$defs", {}))
    plugins = {}
    for name, entry in data["plugins"].items():
        if entry.get("schema"):
            defs.update(entry["schema"].get("$defs", {}))
        plugins[name] = PluginInfo(
            name=name,
            keys=frozenset(entry.get("keys", [])),
            schema=entry.get("schema"),
            requires=entry.get("requires"),
            import_error=entry.get("import_error"),
        )
    return AxolotlSchema(
        version=chosen,
        config=data["config"],
        defs=defs,
        field_aliases=data["field_aliases"],
        field_deprecations=data["field_deprecations"],
        removed=data["removed"],
        dataset_models=data["dataset_models"],
        renames=data.get("renames", {}),
        plugins=plugins,
        enums=data.get("enums", {}),
    )
