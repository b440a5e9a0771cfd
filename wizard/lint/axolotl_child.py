"""Run Axolotl's own validation on config files; the child side of `check --axolotl`.

Run as `python -m wizard.lint.axolotl_child` with a JSON request on stdin:
`{"files": [...], "capabilities": {...}, "env_capabilities": {...}}`, where `capabilities_of`
may give one file capabilities of its own (`{path: {...}}`). Prints one JSON object per file:
`{"path", "verdict": "valid" | "invalid" | "error", "messages", "warnings"}`; `warnings` are
what Axolotl logged at WARNING or above while it validated that file. It follows
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


def _listen(collector: _Collect) -> None:
    """Axolotl's loggers do not propagate to the root (its logging_config sets
    `propagate: False` on `axolotl`), so the collector listens to both."""
    for name in ("", "axolotl"):
        logging.getLogger(name).addHandler(collector)


def _forget_warned_once() -> None:
    """Axolotl's `warning_once` is an lru_cache over the message: without this, a warning the
    previous file raised would stay silent for the next one."""
    from axolotl.utils.logging import MultiProcessAdapter  # type: ignore[import-untyped]

    MultiProcessAdapter.warning_once.cache_clear()


def _load_axolotl() -> None:
    """Import what validation uses before listening: importing Axolotl logs warnings about the
    machine (kernels it cannot load here), which are not verdicts on any config."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(ImportError):
        import axolotl.integrations.base  # type: ignore[import-untyped]
        import axolotl.utils.config  # type: ignore[import-untyped]  # noqa: F401


def main() -> int:
    request = json.load(sys.stdin)
    _load_axolotl()
    collector = _Collect()
    _listen(collector)
    out = sys.stdout
    own = request.get("capabilities_of") or {}
    for path in request["files"]:
        collector.messages.clear()
        capabilities = own.get(path, request["capabilities"])
        # Axolotl prints banners and warnings; keep our stdout clean JSON.
        with contextlib.redirect_stdout(io.StringIO()):
            with contextlib.suppress(ImportError):
                _forget_warned_once()
            result = validate_one(path, capabilities, request["env_capabilities"])
        result["warnings"] = list(dict.fromkeys(collector.messages))
        out.write(json.dumps(result) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
