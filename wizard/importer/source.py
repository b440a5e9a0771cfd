"""Reading a config to import, the way Axolotl reads it.

`check`'s rules decide: a config with an error (a key Axolotl refuses) is not imported, and the
error says to fix it first; a DeepSpeed file that is not here is no such error, since Axolotl
reads it only when training starts (`importer.deepspeed`). Keys Axolotl silently ignores (typos,
stale keys) are dropped and listed rather than carried, and deprecated spellings Axolotl still
accepts are carried in their current form (`check --fix`'s renames, applied to the data), as
are the few changes of `importer.normalize` (nulls, legacy dataset fields).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.axolotl.secrets import credential_problem
from wizard.axolotl.view import AxolotlConfig
from wizard.errors import WizardError
from wizard.importer.deepspeed import DeepSpeedSource, deepspeed_source
from wizard.importer.normalize import normalize
from wizard.lint import Env, Finding, Rename, lint_dict, load_config
from wizard.lint.findings import KeyPath, dotted
from wizard.render.runlint import about_deepspeed
from wizard.terminal import shell_path
from wizard.yamlio import safe_load

# Findings about a key Axolotl ignores: what the import drops instead of carrying.
IGNORED_CODES = ("unknown-key", "plugin-key-without-plugin", "legacy-flag-off")
# Said by `importer.deepspeed` in its own words.
MISSING = "deepspeed-missing"


@dataclass
class Source:
    """A config as Axolotl reads it, and what the import did to get there."""

    path: Path
    cfg: dict[str, Any]
    dropped: list[str] = field(default_factory=list)  # `key (why)` for each key not carried
    renamed: list[str] = field(default_factory=list)  # `old -> new`
    notes: list[str] = field(default_factory=list)  # changes that change nothing Axolotl does
    warnings: list[str] = field(default_factory=list)  # what could not be kept exactly
    deepspeed: dict[str, Any] | None = None  # the JSON file `deepspeed:` names


def read_source(path: Path, cwd: Path) -> Source:
    """Parse and clean the config at `path`; a config Axolotl would refuse is a WizardError."""
    located = load_config(path)
    cfg: dict[str, Any] = dict(located.data)
    deepspeed = _deepspeed(cfg, path, cwd)
    findings = lint_dict(cfg, env=Env(cwd=cwd), source=path, located=located,
                         deepspeed=deepspeed.data)  # fmt: skip
    refused, carried = _errors(findings)
    _refuse_errors(path, refused)
    source = Source(path, cfg, notes=deepspeed.notes, deepspeed=deepspeed.data)
    source.warnings += [f"{f.message} (carried as it is; `check` reports it)" for f in carried]
    for finding in findings:
        if finding.code in IGNORED_CODES and finding.key:
            _drop(cfg, finding.key)
            source.dropped.append(f"{dotted(finding.key)} ({_why(finding)})")
        elif finding.code == "deprecated-key" and finding.rename and _rename(cfg, finding.rename):
            source.renamed.append(f"{dotted(finding.key)} -> {finding.rename.new_key}")
    source.dropped += _drop_credentials(cfg)
    normalized = normalize(cfg)
    source.renamed += normalized.renamed
    source.notes += normalized.notes
    source.warnings += normalized.warnings
    return source


def _deepspeed(cfg: dict[str, Any], path: Path, cwd: Path) -> DeepSpeedSource:
    value = AxolotlConfig(cfg).deepspeed
    if value is None or not value.strip():
        return DeepSpeedSource()
    return deepspeed_source(value, path, cwd)


def _drop_credentials(node: Any, prefix: str = "") -> list[str]:
    """Credentials are not carried (every file the run folder holds is shared): each one the
    config holds is removed, and listed with the environment variable to use instead."""
    if isinstance(node, dict):
        items: list[tuple[Any, Any]] = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    else:
        return []
    dropped: list[str] = []
    for key, value in items:
        name = f"{prefix}{key}"
        problem = credential_problem(key, value) if isinstance(key, str) else None
        if problem is not None:
            del node[key]
            dropped.append(f"{name} ({problem[0]}: {problem[1]})")
        else:
            dropped += _drop_credentials(value, f"{name}.")
    return dropped


def _errors(findings: list[Finding]) -> tuple[list[Finding], list[Finding]]:
    """The errors that refuse the import, and those about the DeepSpeed JSON, which Axolotl's
    validation never reads: not a refusal, but a warning that the run fails when it starts."""
    errors = [f for f in findings if f.severity == "error"]
    about_json = [f for f in errors if about_deepspeed(f)]
    carried = [f for f in about_json if f.code != MISSING]
    return [f for f in errors if f not in about_json], carried


def _refuse_errors(path: Path, errors: list[Finding]) -> None:
    if not errors:
        return
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    raise WizardError(
        f"{path}: Axolotl would refuse this config: {errors[0].message}{more}",
        f"run `axolotl-wizard check {shell_path(path)} --fix`, fix what it reports, "
        "then import the fixed file",
    )


def _why(finding: Finding) -> str:
    if finding.code == "plugin-key-without-plugin":
        return "its plugin is not loaded"
    if finding.code == "legacy-flag-off":
        return "a legacy attention flag that is off sets nothing"
    if finding.rename is not None:
        return f"did you mean {finding.rename.new_key}?"
    return "not an Axolotl key"


def _parent(cfg: dict[str, Any], path: KeyPath) -> Any:
    node: Any = cfg
    for part in path[:-1]:
        node = node[part]
    return node


def _drop(cfg: dict[str, Any], path: KeyPath) -> None:
    parent = _parent(cfg, path)
    if isinstance(parent, dict):
        parent.pop(path[-1], None)


def _rename(cfg: dict[str, Any], rename: Rename) -> bool:
    """Apply `rename` in place (a nested mapping is copied first: the parsed YAML may share it
    through an anchor); False when the key is not where the finding says."""
    parent = _parent(cfg, rename.path)
    old = rename.path[-1]
    if not isinstance(parent, dict) or old not in parent or rename.new_key in parent:
        return False
    value = parent[old] if rename.new_value is None else safe_load(rename.new_value)
    renamed = {(rename.new_key if k == old else k): (value if k == old else v)
               for k, v in parent.items()}  # fmt: skip
    if len(rename.path) == 1:
        cfg.clear()
        cfg.update(renamed)
    else:
        _parent(cfg, rename.path[:-1])[rename.path[-2]] = renamed
    return True
