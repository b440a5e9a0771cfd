"""The entry points: lint a config dict (pure) or check a file (reads it and its DeepSpeed JSON).

`lint_dict` is what `new` and `launch` call on a config they rendered; `check_file` is what the
`check` command calls. Neither imports Axolotl; `run_axolotl=True` asks Axolotl's own validation
in a subprocess and merges its findings.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wizard.axolotl.schema import load_schema
from wizard.axolotl.view import AxolotlConfig, view_of
from wizard.errors import WizardError
from wizard.lint.context import Ctx, DeepSpeedFile
from wizard.lint.crossfile import CROSS_FILE_RULES
from wizard.lint.deepspeed_rules import check_structure, load_deepspeed
from wizard.lint.env import Env
from wizard.lint.eval_rules import EVAL_RULES
from wizard.lint.findings import Finding, Report
from wizard.lint.fsdp_rules import FSDP_RULES
from wizard.lint.gotchas import GOTCHAS
from wizard.lint.gpu_rules import GPU_RULES
from wizard.lint.parallel_rules import PARALLEL_RULES
from wizard.lint.positions import Located, load_located
from wizard.lint.removed import REMOVED_RULES
from wizard.lint.rl_rules import RL_RULES
from wizard.lint.rules import RULES
from wizard.lint.schema_keys import as_axolotl_reads, check_keys, deprecated_fsdp_prefixes
from wizard.yamlio import read_text_file


def lint_dict(
    cfg: Mapping[str, Any] | AxolotlConfig,
    *,
    env: Env | None = None,
    source: Path | None = None,
    located: Located | None = None,
    deepspeed: dict[str, Any] | None = None,
    schema_version: str | None = None,
) -> list[Finding]:
    """Every finding for the Axolotl config `cfg` (as `yaml.safe_load` gives it, or its view).

    `source` names the file in findings and anchors relative paths; `located` adds line numbers;
    `deepspeed` is the DeepSpeed dict when the caller has it (else the file the config's
    `deepspeed:` names is read from disk, relative to the working directory or the config's
    folder). The rules read one view of the config, as Axolotl's before-validators leave it.
    """
    written = view_of(cfg).raw
    ctx = Ctx(
        view_of(as_axolotl_reads(written)),
        load_schema(schema_version),
        env or Env(),
        str(source) if source else None,
        located,
        source.parent if source else None,
    )
    findings: list[Finding] = []
    if deepspeed is not None:
        ctx = ctx._replace(deepspeed=DeepSpeedFile(deepspeed))
    else:
        found, findings = load_deepspeed(ctx)
        ctx = ctx._replace(deepspeed=found)
    findings += deprecated_fsdp_prefixes(ctx, written) + check_keys(ctx) + check_structure(ctx)
    rules = (*RULES, *EVAL_RULES, *RL_RULES, *REMOVED_RULES, *CROSS_FILE_RULES, *GOTCHAS,
             *FSDP_RULES, *GPU_RULES, *PARALLEL_RULES)  # fmt: skip
    for rule in rules:
        findings += rule(ctx)
    return findings


def load_config(path: Path) -> Located:
    """Read and parse a config with positions; bad input is a one-line WizardError."""
    text = read_text_file(path, "config")
    located = load_located(text, str(path))
    if located.data is None:
        located = located._replace(data={})
    if not isinstance(located.data, dict):
        raise WizardError(
            f"{path}: the top level is a {type(located.data).__name__}, not a mapping of keys "
            "to values",
            "an Axolotl config is `key: value` lines at the top level",
        )
    return located


def check_file(
    path: Path,
    *,
    env: Env | None = None,
    run_axolotl: bool = False,
    schema_version: str | None = None,
) -> Report:
    """Lint the config at `path` (and its DeepSpeed JSON); with `run_axolotl`, also run
    Axolotl's validate_config in a subprocess and merge what it says."""
    located = load_config(path)
    schema = load_schema(schema_version)
    findings = lint_dict(
        located.data, env=env, source=path, located=located, schema_version=schema.version
    )
    if run_axolotl:
        from wizard.lint.axolotl_check import validate_with_axolotl

        findings += validate_with_axolotl([path], env or Env())[str(path)]
    return Report(path, findings, schema.version, run_axolotl)
