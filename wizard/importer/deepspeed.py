"""The DeepSpeed JSON an imported config's `deepspeed:` names, wherever it is.

Axolotl's `validate_config` never opens that file, so a config naming one that is not here is
still a config Axolotl accepts, and an import never refuses it:
- a file on disk is read (a NaN in it, or JSON that does not parse, is still an error);
- a missing file named like one of Axolotl's own (`deepspeed_configs/zero2.json`, from
  `axolotl fetch deepspeed_configs` or Axolotl's images) is that file: its JSON, as Axolotl
  0.19.0 ships it, travels with the run;
- any other missing file stays named as written; the written config's check warns that the run
  needs it where it starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.axolotl.deepspeed_file import find_deepspeed, load_deepspeed, shipped_deepspeed


@dataclass
class DeepSpeedSource:
    data: dict[str, Any] | None = None  # the JSON to carry; None: the key stays as written
    notes: list[str] = field(default_factory=list)


def deepspeed_source(value: str, config_path: Path, cwd: Path) -> DeepSpeedSource:
    """Where the JSON `deepspeed: value` names comes from, and what the import says about it."""
    if find_deepspeed(value, config_path.parent, cwd) is not None:
        return DeepSpeedSource(load_deepspeed(value, config_path, cwd))
    shipped = shipped_deepspeed(value)
    if shipped is not None:
        name, data = shipped
        note = (f"deepspeed: {value} is not here; it names Axolotl's own {name}, whose JSON "
                "(as Axolotl 0.19.0 ships it) is carried")  # fmt: skip
        return DeepSpeedSource(data, notes=[note])
    # Carried as written: the written config's check (`deepspeed-missing`) says it, once.
    return DeepSpeedSource()
