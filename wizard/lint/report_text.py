"""Text output of a report: grouped by severity, each finding with `file:line:col` and its fix."""

from __future__ import annotations

from wizard.lint.findings import SEVERITIES, Report, sort_findings
from wizard.terminal import visible

_TITLES = {"error": "errors", "warning": "warnings", "hint": "hints"}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def render_text(report: Report) -> str:
    counts = {s: len(report.by_severity(s)) for s in SEVERITIES}
    checked = f"Axolotl {report.schema_version} schema"
    if report.axolotl_checked:
        checked += " + Axolotl's validate_config"
    head = f"{visible(str(report.path))}: " + ", ".join(_plural(counts[s], s) for s in SEVERITIES)
    lines = [f"{head} ({checked})"]
    findings = sort_findings(report.findings)
    for severity in SEVERITIES:
        group = [f for f in findings if f.severity == severity]
        if not group:
            continue
        lines += ["", _TITLES[severity]]
        for f in group:
            # Findings quote the config's keys and values: shown, never acted on.
            lines.append(f"  {visible(f.where)}: {visible(f.message)} [{f.code}]")
            if f.fix:
                lines.append(f"      fix: {visible(f.fix)}")
    if report.ok:
        lines += ["", "ok: no errors" + (" (see the warnings above)" if counts["warning"] else "")]
    return "\n".join(lines) + "\n"
