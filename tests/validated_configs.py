"""Axolotl's own reading of config files: the config `validate_config` returns, as JSON.

The child side of the import round trip: it follows `axolotl.cli.config.load_cfg` up to and
including `validate_config` (plugins registered first, as the corpus verdicts were made), so a
config and its import can be compared as Axolotl sees them. Run as
`python tests/validated_configs.py < request.json` with `{"files": [...], "capabilities": {...},
"env_capabilities": {...}}`; prints one `{"path", "config" | "error"}` line per file.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("AXOLOTL_DO_NOT_TRACK", "1")

CAPABILITIES = {
    "bf16": True,
    "fp8": True,
    "tf32": True,
    "n_gpu": 8,
    "n_node": 1,
    "compute_capability": "sm_90",
}
ENV_CAPABILITIES = {"torch_version": "2.13.0"}


def validated(path: str) -> dict[str, Any]:
    import yaml
    from axolotl.integrations.base import PluginManager
    from axolotl.utils.config import prepare_plugins, validate_config
    from axolotl.utils.dict import DictDefault

    PluginManager.get_instance().plugins.clear()  # a singleton: forget the last file's plugins
    with open(path, encoding="utf-8") as handle:
        cfg = DictDefault(yaml.safe_load(handle))
    cfg.axolotl_config_path = path
    prepare_plugins(cfg)
    result = validate_config(cfg, capabilities=CAPABILITIES, env_capabilities=ENV_CAPABILITIES)
    plain: dict[str, Any] = json.loads(json.dumps(result.to_dict(), default=str))
    plain.pop("axolotl_config_path", None)
    return plain


def read_all(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """From a test: each file's validated config (or `error`), keyed by the path given."""
    done = subprocess.run(
        [sys.executable, __file__],
        input=json.dumps({"files": [str(p) for p in paths]}),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"validator process failed:\n{done.stderr[-4000:]}")
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {row["path"]: row for row in rows}


def main() -> None:
    request = json.load(sys.stdin)
    for path in request["files"]:
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                row = {"path": path, "config": validated(path)}
            except BaseException as err:  # reported per file; the other files go on
                row = {"path": path, "error": f"{type(err).__name__}: {err}"[:2000]}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
