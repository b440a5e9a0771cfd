"""The DeepSpeed JSON a config's `deepspeed:` names: where it is looked for, and how it is read.

`check`, `estimate` and `launch` all find and read it here, so the three can never look at
different files for one config. The search order is the config's own folder first (`launch` runs
Axolotl there, and every path in a run folder is relative to it), then the working directory
(where `axolotl train` run by hand resolves it). A missing file named like one Axolotl ships
(`deepspeed_configs/zero2.json`, as `axolotl fetch deepspeed_configs` or Axolotl's images put
them) is known by name: its JSON is bundled (`shipped_deepspeed`).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path, PurePath
from typing import Any

from wizard.errors import WizardError
from wizard.records import Record
from wizard.resources import package_path
from wizard.yamlio import non_finite_paths, parse_json, read_text_file


class DeepSpeedJson(Record):
    path: Path
    text: str
    data: dict[str, Any]


def deepspeed_places(value: str, config_dir: Path | None, cwd: Path) -> list[Path]:
    """Where a `deepspeed:` path is looked for, in order."""
    path = Path(value).expanduser()
    if path.is_absolute():
        return [path]
    places = [config_dir / path] if config_dir is not None else []
    if config_dir is None or config_dir.resolve() != cwd.resolve():
        places.append(cwd / path)
    return places


def find_deepspeed(value: str, config_dir: Path | None, cwd: Path) -> Path | None:
    return next((p for p in deepspeed_places(value, config_dir, cwd) if p.is_file()), None)


def read_deepspeed(path: Path) -> DeepSpeedJson:
    """Parse the file; bad JSON is a one-line WizardError naming the file, line and column.
    NaN and Infinity stay in `data` (as yamlio.NonFinite) for the caller to report by key."""
    text = read_text_file(path, "DeepSpeed config")
    data = parse_json(text, str(path))
    if not isinstance(data, dict):
        raise WizardError(
            f"{path}: the DeepSpeed config is a {type(data).__name__}, not a JSON object",
            "a DeepSpeed config is a {...} object",
        )
    return DeepSpeedJson(path, text, data)


def load_deepspeed(value: Any, config_path: Path, cwd: Path | None = None) -> dict[str, Any] | None:
    """The DeepSpeed dict a config names (an inline mapping, or the JSON file), for the estimate
    and the launch: a missing file or a NaN in it is an error here."""
    if not value:
        return None
    if isinstance(value, dict):
        return value
    where = cwd or Path.cwd()
    found = find_deepspeed(str(value), config_path.parent, where)
    if found is None:
        tried = ", ".join(str(p) for p in deepspeed_places(str(value), config_path.parent, where))
        raise WizardError(
            f"{config_path}: deepspeed: {value} not found (tried {tried})",
            "fix the path (relative to the config's folder), or remove the deepspeed: key",
        )
    loaded = read_deepspeed(found)
    bad = [
        f"{'.'.join(map(str, k))} is {spelling}" for k, spelling in non_finite_paths(loaded.data)
    ]
    if bad:
        raise WizardError(
            f"{found}: {', '.join(bad)}; DeepSpeed needs finite numbers",
            'write numbers (or "auto") there; `axolotl-wizard check` shows the lines',
        )
    return loaded.data


@cache
def _shipped() -> dict[str, Any]:
    text = package_path("wizard.axolotl.schemas", "axolotl-deepspeed-configs.json")
    data: dict[str, Any] = json.loads(text.read_text("utf-8"))
    return data


def shipped_paths() -> tuple[str, ...]:
    """Axolotl 0.19.0's own DeepSpeed files as its repository names them
    (`deepspeed_configs/zero2.json`, ...)."""
    shipped = _shipped()
    return tuple(f"{shipped['folder']}/{name}" for name in shipped["files"])


def shipped_deepspeed(value: str) -> tuple[str, dict[str, Any]] | None:
    """(file name, JSON) when `value` names one of the DeepSpeed files Axolotl 0.19.0 ships, in
    a `deepspeed_configs/` folder anywhere (`deepspeed_configs/zero2.json`,
    `/workspace/axolotl/deepspeed_configs/zero3_bf16.json`); else None."""
    path, shipped = PurePath(value), _shipped()
    if path.parent.name != shipped["folder"] or path.name not in shipped["files"]:
        return None
    return path.name, json.loads(json.dumps(shipped["files"][path.name]))
