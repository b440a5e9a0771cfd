"""Reading preset files as untrusted data, and checking a preset's `axolotl_version`.

Team folders are often a shared git checkout, so a preset is treated like input from a stranger:
`yaml.safe_load` only (a `!!python/...` tag is refused before anything is built, so nothing runs),
a size limit, a cap on how many values the file expands to (YAML aliases can make a 1 kB file
expand to gigabytes, or loop back on themselves), and the file must live inside its folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from wizard import AXOLOTL_TARGET_VERSION
from wizard.errors import WizardError
from wizard.yamlio import parse_yaml, read_text_file, safe_load

# A hand-written preset is a few kB; the limit leaves room for generated ones (`presets save`).
MAX_PRESET_BYTES = 256 * 1024
# Scalars, lists and mappings counted as they would be walked, aliases expanded.
MAX_PRESET_NODES = 20_000
_TAG = re.compile(r"tag '([^']+)'")


def read_preset_data(path: Path, folder: Path | None = None) -> Any:
    """The parsed YAML of a preset file, or a WizardError that says what is wrong with it."""
    if folder is not None:
        ensure_inside(path, folder)
    if path.is_file() and path.stat().st_size > MAX_PRESET_BYTES:
        raise WizardError(
            f"preset {path} is {path.stat().st_size // 1024} KiB, more than the "
            f"{MAX_PRESET_BYTES // 1024} KiB limit for a preset",
            "a preset is a few answers; is this the right file?",
        )
    text = read_text_file(path, "preset", max_bytes=MAX_PRESET_BYTES)
    try:
        data = safe_load(text)
    except yaml.constructor.ConstructorError as err:
        raise _refused_tag(path, err) from None
    except yaml.YAMLError:
        data = parse_yaml(text, str(path))  # Re-parse only for yamlio's `file:line:col` message.
    _check_expansion(data, path)
    return data


def _refused_tag(path: Path, err: yaml.constructor.ConstructorError) -> WizardError:
    found = _TAG.search(str(err.problem or ""))
    tag = found.group(1).replace("tag:yaml.org,2002:", "!!") if found else "an unknown tag"
    mark = err.problem_mark
    where = f"{path}:{mark.line + 1}" if mark else str(path)
    return WizardError(
        f"{where}: the YAML tag {tag} is refused: a preset is plain data (read with "
        "yaml.safe_load), and nothing in the file was run",
        "remove the tag and write the value as plain YAML; if you did not write it, do not "
        "trust this file",
    )


def _check_expansion(data: Any, path: Path) -> None:
    """Walk the data with an explicit stack, counting every value as if aliases were copies."""
    stack, seen = [data], 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MAX_PRESET_NODES:
            raise WizardError(
                f"preset {path} expands to more than {MAX_PRESET_NODES:,} values "
                "(YAML anchors and aliases that repeat or refer to themselves?)",
                "write the preset out plainly, without `&anchor` / `*alias` tricks",
            )
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def ensure_inside(path: Path, folder: Path) -> None:
    """A preset name is resolved inside its folder; a link that points out of it is refused."""
    try:
        resolved, root = path.resolve(), folder.resolve()
    except (OSError, RuntimeError) as err:  # A link loop raises one of these.
        raise WizardError(f"preset {path} cannot be resolved: {err}", "fix or remove it") from None
    if not resolved.is_relative_to(root):
        raise WizardError(
            f"preset {path} points outside its folder {folder} (to {resolved})",
            "copy the preset into the folder instead of linking to it",
        )


def check_specifier(spec: str) -> str:
    """Validate a version specifier such as `>=0.19,<0.20` (PEP 440), returning it unchanged."""
    specifier_set = _specifier_class()
    if specifier_set is None:
        return spec
    from packaging.specifiers import InvalidSpecifier

    try:
        specifier_set(spec)
    except InvalidSpecifier:
        raise ValueError(
            f"{spec!r} is not a version specifier (e.g. '>=0.19,<0.20' or '==0.19.*')"
        ) from None
    return spec


def installed_axolotl() -> tuple[str, str]:
    """(version, what it is): the installed Axolotl, read from its metadata without importing
    it; without one, the version this wizard writes configs for."""
    from importlib import metadata

    try:
        return metadata.version("axolotl"), "installed Axolotl"
    except metadata.PackageNotFoundError:
        return AXOLOTL_TARGET_VERSION, "Axolotl version this wizard writes configs for"


def version_warnings(wanted: Iterable[tuple[str, str]]) -> list[str]:
    """One warning per (preset name, specifier) that the Axolotl version does not satisfy."""
    specifier_set = _specifier_class()
    pairs = [(name, spec) for name, spec in wanted if spec]
    if specifier_set is None or not pairs:
        return []
    version, what = installed_axolotl()
    return [
        f"preset {name} wants axolotl {spec}, but the {what} is {version}"
        for name, spec in pairs
        if not specifier_set(spec).contains(version, prereleases=True)
    ]


def _specifier_class() -> Any:
    # `packaging` is everywhere Axolotl is; without it the version check is skipped, not fatal.
    try:
        from packaging.specifiers import SpecifierSet
    except ImportError:
        return None
    return SpecifierSet
