"""Axolotl's own verdict on every config of a corpus folder, written as `<corpus>/verdicts.jsonl`.

Run it offline in an environment with Axolotl installed (0.19.0 for the stored corpora):

    HF_HUB_OFFLINE=1 AXOLOTL_DO_NOT_TRACK=1 \
        python scripts/corpus_verdicts.py tests/data/import-corpus

Each YAML under `<corpus>/configs/` (`--folder examples` for tests/data/axolotl-examples) goes
through the steps of `axolotl.cli.config.load_cfg` up to and including `validate_config`: plugins
registered, no `normalize_config` (which needs the base model's config.json). The machine is the
one of tests/validated_configs.py (sm_90, 8 GPUs, bf16, fp8 and tf32, torch 2.13.0), so a verdict
does not depend on the box the script runs on. Files are validated with the corpus folder as the
working directory, as Axolotl's examples were from its repository root. The rows have the fields
of tests/data/axolotl-examples/verdicts.jsonl.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib
import io
import json
import logging
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("AXOLOTL_DO_NOT_TRACK", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from validated_configs import CAPABILITIES, ENV_CAPABILITIES

ERROR_KINDS = {
    ImportError: "missing_optional_dependency",
    DeprecationWarning: "deprecated_option_rejected",
}


class Collect(logging.Handler):
    """What Axolotl logs at WARNING or above while it reads one file."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = f"{record.levelname}: {record.getMessage()}"
        if line not in self.messages:
            self.messages.append(line)


def field_names(model: type) -> dict[str, str]:
    """A Pydantic model's field names, and the aliases a config may use instead, each mapped to
    the field it sets."""
    names = {}
    for name, info in model.model_fields.items():
        names[name] = name
        names.update({a: name for a in (info.alias, info.validation_alias) if isinstance(a, str)})
    return names


def schema_keys() -> tuple[dict[str, str], dict[str, str]]:
    """(Axolotl's own top-level keys, the keys the registered plugins add), each to its field."""
    from axolotl.integrations.config import merge_input_args
    from axolotl.utils.schemas.config import AxolotlConfigWCapabilities

    base = field_names(AxolotlConfigWCapabilities)
    merged, _ = merge_input_args()
    return base, {k: v for k, v in field_names(merged).items() if k not in base}


def register_plugins(cfg: Any) -> tuple[list[str], list[str]]:
    """Register the file's plugins (the manager is a singleton: forget the last file's first);
    return (plugins asked for, those that failed to import)."""
    from axolotl.integrations.base import PluginManager
    from axolotl.utils.config import prepare_plugins

    manager = PluginManager.get_instance()
    manager.plugins.clear()
    prepare_plugins(cfg)
    asked = [str(p) for p in cfg.get("plugins") or []]
    return asked, [p for p in asked if p not in manager.plugins]


def plugin_error(name: str) -> list[str]:
    """Why a plugin failed to import, in the words Axolotl prints."""
    from axolotl.integrations.base import load_plugin

    try:
        load_plugin(name)
    except ImportError as err:
        return [f"{type(err).__name__}: {err}", f"Error: {err}"]
    return []


def validation_messages(err: Any) -> list[str]:
    """Pydantic's errors, one line each: `[Model] loc: message (type=...)`."""
    lines = []
    for item in err.errors():
        loc = ".".join(str(p) for p in item["loc"]) or "<model>"
        lines.append(f"[{err.title}] {loc}: {item['msg']} (type={item['type']})")
    return lines


def error_messages(err: BaseException) -> list[str]:
    """The exception and the last place inside Axolotl that raised it."""
    lines = [f"{type(err).__name__}: {err}".splitlines()[0]]
    frames = [f for f in traceback.extract_tb(err.__traceback__) if "/axolotl/" in f.filename]
    if frames:
        where = frames[-1].filename.split("/axolotl/", 1)[1]
        lines.append(f"at axolotl/{where}:{frames[-1].lineno}")
    return lines


def error_kind(err: BaseException) -> str:
    return next((k for t, k in ERROR_KINDS.items() if isinstance(err, t)), "exception")


def run_validation(cfg: Any) -> dict[str, Any]:
    """validate_config on the file: `{"result"}` or the verdict and messages it failed with."""
    from axolotl.utils.config import validate_config
    from pydantic import ValidationError

    try:
        result = validate_config(cfg, capabilities=CAPABILITIES, env_capabilities=ENV_CAPABILITIES)
    except ValidationError as err:
        messages = validation_messages(err)
        return {"verdict": "invalid", "messages": messages, "error_count": len(messages),
                "error_model": err.title, "stage": "validate"}  # fmt: skip
    except BaseException as err:  # any failure is the file's verdict
        return {"verdict": "error", "messages": error_messages(err), "stage": "validate",
                "error_kind": error_kind(err)}  # fmt: skip
    return {"verdict": "valid", "messages": [], "result": result}


def dropped(raw: dict[str, Any], result: Any, fields: dict[str, str]) -> list[str]:
    """Keys the file sets (not null) that Axolotl's validated config no longer has, under their
    own name nor under the field an alias sets (`model_type` is kept as `type_of_model`)."""
    gone = (k for k, v in raw.items() if v is not None and k not in result)
    return sorted(k for k in gone if fields.get(k, k) not in result)


def verdict(path: Path, collector: Collect) -> dict[str, Any]:
    import yaml
    from axolotl.utils.dict import DictDefault

    started = time.perf_counter()
    with open(path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    cfg = DictDefault(copy.deepcopy(raw))
    cfg.axolotl_config_path = str(path)
    loaded = time.perf_counter()
    asked, failed = register_plugins(cfg)
    registered = time.perf_counter()
    base, plugin_keys = schema_keys()
    outcome = run_validation(cfg)
    validated = time.perf_counter()
    row: dict[str, Any] = {"path": str(path), "verdict": outcome["verdict"],
                           "messages": outcome["messages"], "plugins": asked}  # fmt: skip
    row.update(_timings(started, loaded, registered, validated))
    row["top_level_keys"] = sorted(raw)
    row["unknown_keys"] = sorted(k for k in raw if k not in base and k not in plugin_keys)
    row["plugin_provided_keys"] = sorted(k for k in raw if k in plugin_keys)
    row.update({k: v for k, v in outcome.items() if k not in ("verdict", "messages", "result")})
    if "result" in outcome:
        row["dropped_keys"] = dropped(raw, outcome["result"], {**base, **plugin_keys})
    if failed:
        _plugin_failure(row, failed)
    row["warnings"] = list(collector.messages)
    row["warning_count"] = len(collector.messages)
    row["wall_seconds"] = round(time.perf_counter() - started, 4)
    return row


def _timings(started: float, loaded: float, registered: float, done: float) -> dict[str, float]:
    return {
        "seconds": round(done - started, 4),
        "yaml_seconds": round(loaded - started, 4),
        "plugin_seconds": round(registered - loaded, 4),
        "validate_seconds": round(done - registered, 4),
    }


def _plugin_failure(row: dict[str, Any], failed: list[str]) -> None:
    """A plugin that cannot be imported stops Axolotl before validation; the verdict Axolotl
    would give without it is kept beside."""
    row["verdict_ignoring_plugin_failure"] = row["verdict"]
    row["verdict"], row["stage"], row["error_kind"] = "error", "plugins", "plugin_import_failed"
    row["plugin_failures"] = failed
    reasons = [m for name in failed for m in plugin_error(name)]
    row["messages"] = [f"plugin import failed: {name}" for name in failed] + reasons


def forget_warned_once() -> None:
    """Axolotl's `warning_once` caches the message: without this, a warning the previous file
    raised stays silent for the next one."""
    from axolotl.utils.logging import MultiProcessAdapter

    MultiProcessAdapter.warning_once.cache_clear()


def verdicts(corpus: Path, files: list[Path]) -> list[dict[str, Any]]:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        # Importing Axolotl logs warnings about this machine, which are no verdict on a file.
        for module in ("axolotl.integrations.base", "axolotl.utils.config"):
            importlib.import_module(module)
    collector = Collect()
    for name in ("", "axolotl"):  # Axolotl's own loggers do not propagate to the root
        logging.getLogger(name).addHandler(collector)
    rows = []
    os.chdir(corpus)
    for path in files:
        collector.messages.clear()
        forget_warned_once()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            rows.append(verdict(path.relative_to(corpus), collector))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="the corpus folder; verdicts go beside")
    parser.add_argument("--folder", default="configs", help="its subfolder of YAML files")
    parser.add_argument("--out", type=Path, help="where to write (default <corpus>/verdicts.jsonl)")
    args = parser.parse_args()
    corpus = args.corpus.resolve()
    out_path = (args.out or corpus / "verdicts.jsonl").resolve()
    files = sorted(p for p in (corpus / args.folder).rglob("*") if p.suffix in (".yml", ".yaml"))
    rows = verdicts(corpus, files)
    with open(out_path, "w", encoding="utf-8") as out:
        out.writelines(json.dumps(row) + "\n" for row in rows)
    counts = {v: sum(r["verdict"] == v for r in rows) for v in ("valid", "invalid", "error")}
    print(f"{len(rows)} files: " + ", ".join(f"{n} {v}" for v, n in counts.items()))


if __name__ == "__main__":
    main()
