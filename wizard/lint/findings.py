"""What a lint run produces: findings (one problem each) and the report that groups them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from wizard.records import Record

Severity = Literal["error", "warning", "hint"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "hint")

# A key path inside a YAML document: mapping keys are str, list indexes are int.
KeyPath = tuple["str | int", ...]


def dotted(path: KeyPath) -> str:
    """`("datasets", 0, "type")` -> `datasets[0].type`, the way users read it."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


class Rename(Record):
    """A mechanical fix `check --fix` can apply: rename the key at `path` to `new_key`."""

    path: KeyPath
    new_key: str
    # When set, the value is replaced too (`flash_attention: true` -> `attn_implementation: ...`).
    new_value: str | None = None


class Finding(Record):
    """One problem. `fix` says in words what to do; `rename` is set when --fix can do it."""

    severity: Severity
    code: str
    message: str
    fix: str | None = None
    key: KeyPath = ()
    file: str | None = None
    line: int | None = None
    col: int | None = None
    origin: str = "wizard"
    rename: Rename | None = None

    @property
    def where(self) -> str:
        """`file:line:col`, as much of it as is known."""
        parts = [self.file or "<config>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)

    def to_dict(self) -> dict[str, Any]:
        out = self._asdict()
        out["key"] = dotted(self.key) if self.key else None
        out["rename"] = (
            {
                "key": dotted(self.rename.path),
                "to": self.rename.new_key,
                "value": self.rename.new_value,
            }
            if self.rename
            else None
        )
        return out


class Report(Record):
    """Findings for one config file, plus what was checked."""

    path: Path | None
    findings: list[Finding]
    schema_version: str = ""
    axolotl_checked: bool = False

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def by_severity(self, severity: Severity) -> list[Finding]:
        return [f for f in self.findings if f.severity == severity]

    def to_dict(self) -> dict[str, Any]:
        counts = {s: len(self.by_severity(s)) for s in SEVERITIES}
        return {
            "file": str(self.path) if self.path else None,
            "ok": self.ok,
            "schema_version": self.schema_version,
            "axolotl_checked": self.axolotl_checked,
            "counts": counts,
            "findings": [f.to_dict() for f in sort_findings(self.findings)],
        }


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Errors first, then by file and line, so the output reads top to bottom."""
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(
        findings, key=lambda f: (rank[f.severity], f.file or "", f.line or 0, f.col or 0, f.code)
    )
