"""Reading preset files as untrusted data, and checking a preset's `axolotl_version`.

Team folders are often a shared git checkout, so a preset is treated like input from a stranger:
`yaml.safe_load` only (a `!!python/...` tag is refused before anything is built, so nothing runs),
a size limit, yamlio's bounds on nesting and alias expansion (a 1 kB file can expand to
gigabytes, or loop back on itself), and the file must live inside its folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from wizard import AXOLOTL_TARGET_VERSION
from wizard.errors import WizardError
from wizard.yamlio import check_shape, read_text_file, safe_load, syntax_error

# A hand-written preset is a few kB; the limit leaves room for generated ones (`presets save`).
MAX_PRESET_BYTES = 256 * 1024
_TAG = r"tag '([^']+)'"  # compiled by `re` when a preset has a tag


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
        check_shape(text, str(path))  # nesting and alias expansion, before anything is built
        return safe_load(text)
    except yaml.constructor.ConstructorError as err:
        raise _refused_tag(path, err) from None
    except yaml.YAMLError as err:
        raise syntax_error(err, str(path)) from None


def _refused_tag(path: Path, err: yaml.constructor.ConstructorError) -> WizardError:
    found = re.search(_TAG, str(err.problem or ""))
    tag = found.group(1).replace("tag:yaml.org,2002:", "!!") if found else "an unknown tag"
    mark = err.problem_mark
    where = f"{path}:{mark.line + 1}" if mark else str(path)
    return WizardError(
        f"{where}: the YAML tag {tag} is refused: a preset is plain data (read with "
        "yaml.safe_load), and nothing in the file was run",
        "remove the tag and write the value as plain YAML; if you did not write it, do not "
        "trust this file",
    )


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
    pairs = [(name, spec) for name, spec in wanted if spec]
    specifier_set = _specifier_class() if pairs else None  # packaging only when it is needed
    if specifier_set is None:
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
