"""`check --fix`: write CONFIG.fixed.yml next to the config, never over the original.

The edits come from lint/migrate.py; this module reads the file, applies them, writes the copy
atomically (refusing to replace an existing copy without `force`) and says what it did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.axolotl.schema import load_schema
from wizard.files import atomic_write_text, refuse_overwrite
from wizard.lint.api import load_config
from wizard.lint.findings import Report
from wizard.lint.migrate import Change, migrate_text, search_bases
from wizard.yamlio import read_text_file


def fixed_path(path: Path) -> Path:
    """`axolotl.yml` -> `axolotl.fixed.yml`, next to the original."""
    return path.with_name(f"{path.stem}.fixed{path.suffix or '.yml'}")


@dataclass
class FixResult:
    written: Path | None
    made: list[Change] = field(default_factory=list)
    left: list[Change] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def row(change: Change) -> dict[str, Any]:
            return {"line": change.line, "change": change.what, "decision": change.decision}

        return {
            "written": str(self.written) if self.written else None,
            "made": [row(c) for c in self.made],
            "left": [row(c) for c in self.left],
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
        if self.written:
            out.append(f"fix: wrote {self.written}; {source} is unchanged")
        else:
            out.append("fix: nothing to change; no file written")
        return out


def fix_file(path: Path, report: Report, cwd: Path, force: bool = False) -> FixResult:
    """Migrate `path` (already checked into `report`) to CONFIG.fixed.yml."""
    text = read_text_file(path, "config")
    located = load_config(path)
    schema = load_schema(report.schema_version or None)
    migration = migrate_text(text, located, report.findings, schema, search_bases(path, cwd))
    result = FixResult(None, migration.made, migration.left)
    if not migration.made:
        return result
    target = fixed_path(path)
    refuse_overwrite([target], force)
    atomic_write_text(target, migration.text)
    result.written = target
    return result
