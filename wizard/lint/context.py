"""What every rule gets: the config's typed view, where its keys are, the schema and the
environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wizard.axolotl import keys as K
from wizard.axolotl.schema import AxolotlSchema
from wizard.axolotl.view import AxolotlConfig
from wizard.lint.env import Env
from wizard.lint.findings import Finding, KeyPath, Rename, Severity
from wizard.lint.positions import Located
from wizard.records import Record


class DeepSpeedFile(Record):
    """The JSON the config's `deepspeed:` names, once found and parsed."""

    data: dict[str, Any]
    file: str | None = None
    located: Located | None = None


class Ctx(Record):
    """`view` is the config as Axolotl reads it (built once per lint, in `api.lint_dict`): rules
    read every key through it."""

    view: AxolotlConfig
    schema: AxolotlSchema
    env: Env
    file: str | None = None
    located: Located | None = None
    base_dir: Path | None = None
    deepspeed: DeepSpeedFile | None = None

    def at(
        self,
        severity: Severity,
        code: str,
        message: str,
        fix: str | None = None,
        key: KeyPath = (),
        rename: Rename | None = None,
    ) -> Finding:
        """A finding about `key` in the YAML, placed at its line and column when known."""
        return _placed(severity, code, message, fix, key, self.file, self.located, rename)

    def in_ds(
        self, severity: Severity, code: str, message: str, fix: str | None = None, key: KeyPath = ()
    ) -> Finding:
        """A finding about `key` in the DeepSpeed JSON; without a position, point at the YAML."""
        ds = self.deepspeed
        if ds is None or ds.file is None:
            return self.at(severity, code, message, fix, (K.DEEPSPEED,))
        return _placed(severity, code, message, fix, key, ds.file, ds.located)


def _placed(
    severity: Severity,
    code: str,
    message: str,
    fix: str | None,
    key: KeyPath,
    file: str | None,
    located: Located | None,
    rename: Rename | None = None,
) -> Finding:
    """A finding in `file`, at `key`'s line and column when the file was read with positions."""
    pos = located.pos(key) if located and key else None
    line, col = (pos.line, pos.col) if pos else (None, None)
    return Finding(severity, code, message, fix, key, file, line, col, rename=rename)
