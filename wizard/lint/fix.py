"""`check --fix`: write CONFIG.fixed.yml next to the config, never over the original.

The edits come from lint/migrate.py; this module reads the file, applies them, writes the copy
atomically (refusing to replace an existing copy without `force`), checks the copy the way the
original was checked (its errors decide `check --fix`'s exit status) and says what it did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.axolotl.schema import load_schema
from wizard.errors import WizardError
from wizard.files import atomic_write_text, refuse_overwrite
from wizard.lint.api import check_file, load_config
from wizard.lint.env import Env
from wizard.lint.findings import Report
from wizard.lint.migrate import migrate_text, search_bases
from wizard.lint.positions import load_located
from wizard.lint.textedit import Change
from wizard.yamlio import read_text_file


def fixed_path(path: Path) -> Path:
    """`axolotl.yml` -> `axolotl.fixed.yml`, next to the original."""
    return path.with_name(f"{path.stem}.fixed{path.suffix or '.yml'}")


@dataclass
class FixResult:
    written: Path | None
    made: list[Change] = field(default_factory=list)
    left: list[Change] = field(default_factory=list)
    remaining: Report | None = None  # the written copy, checked

    def to_dict(self) -> dict[str, Any]:
        def row(change: Change) -> dict[str, Any]:
            return {"line": change.line, "change": change.what, "decision": change.decision}

        errors = self.remaining.errors if self.remaining else []
        return {
            "written": str(self.written) if self.written else None,
            "made": [row(c) for c in self.made],
            "left": [row(c) for c in self.left],
            "ok": self.remaining.ok if self.remaining else None,
            "errors_left": [f.to_dict() for f in errors],
        }

    def lines(self, source: Path) -> list[str]:
        """The report a person reads: each change at its line, then what is left to them."""
        out = [f"fix: {len(self.made)} change(s)"]
        out += [f"  {source}:{c.line or '?'}: {c.what}" for c in self.made]
        if self.left:
            out.append(f"fix: {len(self.left)} left for you (not made)")
            out += [
                f"  {source}:{c.line or '?'}: "
                + ("needs a decision: " if c.decision else "edit by hand (unusual layout): ")
                + c.what
                for c in self.left
            ]
        if not self.written:
            return [*out, "fix: nothing to change; no file written"]
        out.append(f"fix: wrote {self.written}; {source} is unchanged")
        errors = self.remaining.errors if self.remaining else []
        if not errors:
            return [*out, "fix: the fixed file has no error left"]
        out.append(f"fix: {len(errors)} error(s) left in the fixed file")
        return out + [f"  {f.where}: {f.message} [{f.code}]" for f in errors]


def fix_file(path: Path, report: Report, env: Env, force: bool = False) -> FixResult:
    """Migrate `path` (already checked into `report` on `env`) to CONFIG.fixed.yml, and check
    the copy on the same `env` (with Axolotl's own validation when the original had it)."""
    text = read_text_file(path, "config")
    located = load_config(path)
    schema = load_schema(report.schema_version or None)
    world = env.n_gpu * env.n_node if env.n_gpu else None
    bases = search_bases(path, env.working_dir)
    migration = migrate_text(text, located, report.findings, schema, bases, world)
    result = FixResult(None, migration.made, migration.left)
    if not migration.made:
        return result
    target = fixed_path(path)
    _parses(migration.text, target)
    refuse_overwrite([target], force)
    atomic_write_text(target, migration.text)
    result.written = target
    result.remaining = check_file(
        target, env=env, run_axolotl=report.axolotl_checked, schema_version=schema.version
    )
    return result


def _parses(text: str, target: Path) -> None:
    """The copy is written only if it reads as YAML: a text edit gone wrong writes nothing."""
    try:
        load_located(text, str(target))
    except WizardError as err:
        raise WizardError(
            f"check --fix: the migrated copy would not parse ({err.message}); nothing was written",
            "edit the config by hand, and please report the config that caused this",
        ) from None
