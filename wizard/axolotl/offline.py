"""The environment that keeps Axolotl and the Hugging Face libraries off the network, and the
one way the wizard runs a child process of its own that imports Axolotl.

Used where the wizard itself starts Axolotl for something that needs nothing from outside: its
own validation child, the preview's tokenization, and the demo (on an offline machine Axolotl's
telemetry flush otherwise retries for minutes at exit).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from wizard.errors import WizardError

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "AXOLOTL_DO_NOT_TRACK": "1"}
NO_AXOLOTL = "No module named 'axolotl'"


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment, offline, with the folder that holds `wizard` first on
    PYTHONPATH so the child finds this package from a source checkout as well as installed."""
    env = {**os.environ, **OFFLINE_ENV, **(extra or {})}
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH")])
    )
    return env


def run_axolotl_child(
    python: str,
    module: str,
    request: str,
    refusals: tuple[WizardError, WizardError],
    *,
    timeout: float,
    cwd: Path | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m module` offline with `request` on its stdin. `refusals` are the errors
    for a child past `timeout` seconds and for a Python without Axolotl."""
    too_long, no_axolotl = refusals
    try:
        proc = subprocess.run(
            [python, "-m", module],
            input=request,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=child_env(extra_env),
            cwd=cwd,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise too_long from None
    if proc.returncode != 0 and NO_AXOLOTL in proc.stderr:
        raise no_axolotl
    return proc
