"""Run Axolotl's own validation on config files; the child side of `check --axolotl`.

Run as `python -m wizard.lint.axolotl_child` with a JSON request on stdin:
`{"files": [...], "capabilities": {...}, "env_capabilities": {...}}`. Prints one JSON object per
file: `{"path", "verdict": "valid" | "invalid" | "error", "messages", "warnings"}`. It follows
`axolotl.cli.config.load_cfg` up to `validate_config` (plugins registered first, no
`normalize_config`, which needs the model's config.json), so importing Axolotl (seconds) is paid
once for all files. This module is only ever imported in that child process.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
from typing import Any

os.environ.setdefault("AXOLOTL_DO_NOT_TRACK", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _messages(err: BaseException) -> list[str]:
    errors = getattr(err, "errors", None)
    if callable(errors):
        with contextlib.suppress(Exception):
            return [
                f"{'.'.join(str(p) for p in e['loc']) or '<config>'}: {e['msg']}" for e in errors()
            ]
    return [f"{type(err).__name__}: {err}".splitlines()[0]]


def validate_one(
    path: str, capabilities: dict[str, Any], env_caps: dict[str, Any]
) -> dict[str, Any]:
    import yaml
    from axolotl.integrations.base import PluginManager  # type: ignore[import-untyped]
    from axolotl.utils.config import (  # type: ignore[import-untyped]
        prepare_plugins,
        validate_config,
    )
    from axolotl.utils.dict import DictDefault  # type: ignore[import-untyped]
    from pydantic import ValidationError

    # The manager is a singleton: forget the previous file's plugins and their keys.
    PluginManager.get_instance().plugins.clear()
    with open(path, encoding="utf-8") as handle:
        cfg = DictDefault(yaml.safe_load(handle))
    cfg.axolotl_config_path = path
    try:
        prepare_plugins(cfg)
    except BaseException as err:
        return {
            "path": path,
            "verdict": "error",
            "messages": ["plugin import failed: " + _messages(err)[0]],
        }
    try:
        validate_config(cfg, capabilities=capabilities, env_capabilities=env_caps)
    except ValidationError as err:
        return {"path": path, "verdict": "invalid", "messages": _messages(err)}
    except BaseException as err:
        return {"path": path, "verdict": "error", "messages": _messages(err)}
    return {"path": path, "verdict": "valid", "messages": []}


def main() -> int:
    request = json.load(sys.stdin)
    collector = _Collect()
    logging.getLogger().addHandler(collector)
    out = sys.stdout
    for path in request["files"]:
        collector.messages.clear()
        # Axolotl prints banners and warnings; keep our stdout clean JSON.
        with contextlib.redirect_stdout(io.StringIO()):
            result = validate_one(path, request["capabilities"], request["env_capabilities"])
        result["warnings"] = list(dict.fromkeys(collector.messages))
        out.write(json.dumps(result) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
