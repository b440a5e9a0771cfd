"""`check --axolotl`: ask Axolotl itself, in a child process, and turn its answer into findings.

The child imports torch and Axolotl (seconds); `check` itself never does. GPU capabilities are
passed explicitly, so the verdict does not depend on the machine `check` runs on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from wizard.axolotl.offline import run_axolotl_child
from wizard.errors import WizardError
from wizard.lint.env import Env
from wizard.lint.findings import Finding

CHILD = "wizard.lint.axolotl_child"


def validate_with_axolotl(
    paths: list[Path],
    env: Env,
    python: str | None = None,
    timeout: float = 900,
    envs: dict[Path, Env] | None = None,
) -> dict[str, list[Finding]]:
    """Findings from Axolotl's validate_config for each path (keyed by str(path)): its errors,
    and the warnings it logs. `envs` gives a file a machine of its own (the GPU its run names)."""
    request = {
        "files": [str(p) for p in paths],
        "capabilities": env.gpu_capabilities(),
        "capabilities_of": {str(p): e.gpu_capabilities() for p, e in (envs or {}).items()},
        "env_capabilities": {"torch_version": env.torch_version},
    }
    proc = _run_child(python or sys.executable, json.dumps(request), timeout)
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if len(results) != len(paths):
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise WizardError(
            f"Axolotl's validation stopped early: {tail}",
            "rerun without --axolotl, or check the Axolotl install",
        )
    return {r["path"]: findings_from(r) for r in results}


def _run_child(python: str, request: str, timeout: float) -> subprocess.CompletedProcess[str]:
    refusals = (
        WizardError(
            f"Axolotl's validation took more than {timeout:.0f} s", "rerun without --axolotl"
        ),
        WizardError(
            "--axolotl needs Axolotl installed in this Python environment",
            "pip install 'axolotl[deepspeed]==0.19.0', or drop --axolotl",
        ),
    )
    return run_axolotl_child(python, CHILD, request, refusals, timeout=timeout)


def findings_from(result: dict[str, object]) -> list[Finding]:
    path, verdict = str(result["path"]), result["verdict"]
    messages = [str(m) for m in result.get("messages", []) or []]  # type: ignore[attr-defined]
    warned = [str(m) for m in result.get("warnings", []) or []]  # type: ignore[attr-defined]
    warnings = [
        Finding(
            "warning",
            "axolotl-warning",
            f"Axolotl warns: {message.splitlines()[0] if message else message}",
            "Axolotl accepts the config but warns about it on this machine; read its message",
            file=path,
            origin="axolotl",
        )
        for message in warned[:10]
    ]
    if verdict == "valid":
        return warnings
    code = "axolotl-invalid" if verdict == "invalid" else "axolotl-error"
    return warnings + [
        Finding(
            "error",
            code,
            f"Axolotl rejects the config: {m}",
            "fix what Axolotl names, then rerun",
            file=path,
            origin="axolotl",
        )
        for m in messages[:5] or ["(no message)"]
    ]
