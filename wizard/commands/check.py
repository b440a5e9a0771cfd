"""`axolotl-wizard check`: lint any Axolotl config and the DeepSpeed JSON it names."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from wizard.commands.argtypes import gpus_per_node, node_count, verb_parser
from wizard.errors import WizardError
from wizard.terminal import visible

ANSWERS_FILENAME = "wizard-answers.yml"  # wizard.answers.file's: too heavy to import here

EPILOG = """\
examples:
  axolotl-wizard check runs/llama8b/axolotl.yml
  axolotl-wizard check runs/llama8b/axolotl.yml --axolotl   the GPU of the run's answers
  axolotl-wizard check my.yml --gpu "RTX 4090" --gpus 2      know the hardware: more gotchas
  axolotl-wizard check my.yml --gpu-arch sm_80 --gpus 8     the same, by CUDA arch
  axolotl-wizard check my.yml --axolotl                     also run Axolotl's own validation
  axolotl-wizard check my.yml --fix                         write my.fixed.yml, migrated
  axolotl-wizard check my.yml --json --strict               for CI: warnings fail too

exit status: 0 no errors (warnings allowed; none with --strict), 1 errors found or bad input;
with --fix, about the fixed file when one is written (0: the fix left no error).
"""


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = verb_parser(
        subparsers, common, "check", "lint an Axolotl config (and its DeepSpeed JSON)", EPILOG,
        "Find unknown keys, wrong types, DeepSpeed mismatches and hardware gotchas in an "
        "Axolotl YAML, before a GPU is spent on it.",
    )  # fmt: skip
    parser.add_argument("config", type=Path, help="the Axolotl YAML to check")
    parser.add_argument(
        "--axolotl",
        action="store_true",
        help="also run Axolotl's own validate_config (slow: imports torch)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--fix",
        action="store_true",
        help="write CONFIG.fixed.yml, migrated to what Axolotl accepts (sharegpt datasets, "
        "renamed and removed keys, ...); the original is kept",
    )
    parser.add_argument(
        "--strict", action="store_true", help="warnings count as errors (exit 1), for CI"
    )
    parser.add_argument("--force", action="store_true", help="overwrite CONFIG.fixed.yml")
    hw = parser.add_argument_group(
        "training hardware (default: the wizard-answers.yml beside CONFIG, else unknown)"
    )
    hw.add_argument(
        "--gpu", metavar="NAME", help="the GPU by name: H100, A100-80GB, RTX 4090, T4, ..."
    )
    hw.add_argument(
        "--gpu-arch",
        metavar="SM",
        help="CUDA arch, e.g. sm_80 (A100), sm_90 (H100); --axolotl assumes sm_90 when nothing "
        "names the GPU",
    )
    hw.add_argument("--gpus", type=gpus_per_node, metavar="N", help="GPUs per node")
    hw.add_argument("--nodes", type=node_count, default=None, metavar="N", help="nodes (default 1)")
    hw.add_argument("--cpu", action="store_true", help="the run is on a CPU, no GPU")
    parser.add_argument(
        "--schema-version", metavar="VER", help="check against this bundled Axolotl schema version"
    )
    parser.set_defaults(run=run)


def build_env(args: argparse.Namespace) -> Any:
    """The training machine: the flags, else the GPU the run's own answers name (the
    wizard-answers.yml beside the config), else unknown (--axolotl then assumes an H100)."""
    from wizard.lint.env import Env, local_training_env, probe_packages

    # Package probes only mean something where Axolotl itself is installed (a training env).
    packages = probe_packages() if local_training_env() else None
    planned = _planned_hardware(args.config)
    if args.cpu or (planned is not None and planned.cpu and not (args.gpu or args.gpu_arch)):
        return Env.for_cpu(packages=packages)
    arch = args.gpu_arch or _named_arch(args.gpu)
    gpus, nodes = args.gpus, args.nodes
    if planned is not None:
        arch = arch or (planned.gpu.arch if planned.gpu is not None else None)
        gpus, nodes = gpus or planned.gpus_per_node, nodes or planned.nodes
    arch = arch or ("sm_90" if args.axolotl else None)
    if arch:
        return Env.for_gpu(arch, n_gpu=gpus or 1, n_node=nodes or 1, packages=packages)
    return Env(n_gpu=gpus, n_node=nodes or 1, packages=packages)


def _named_arch(name: str | None) -> str | None:
    from wizard.gpus.catalog import UnknownGpu, lookup

    if name is None:
        return None
    try:
        return lookup(name).arch
    except UnknownGpu as err:
        raise WizardError(
            f"--gpu: {err}", "name a GPU the wizard knows, or use --gpu-arch"
        ) from None


def _planned_hardware(config: Path) -> Any:
    """The hardware of the run folder `config` sits in, or None for a config of its own."""
    from wizard.answers.peek import planned_hardware

    answers = config.parent / ANSWERS_FILENAME
    return planned_hardware(answers) if answers.is_file() else None


def run(args: argparse.Namespace) -> int:
    from wizard.lint import check_file
    from wizard.lint.report_text import render_text

    env = build_env(args)
    report = check_file(
        args.config, env=env, run_axolotl=args.axolotl, schema_version=args.schema_version
    )
    fixed = _fix(args, report, env) if args.fix else None
    # With --fix, the copy it wrote is what the exit status is about.
    judged = fixed.remaining if fixed is not None and fixed.remaining is not None else report
    warnings = len(judged.by_severity("warning"))
    code = 1 if args.strict and warnings else judged.exit_code
    if args.json:
        data = report.to_dict()
        data.update(strict=bool(args.strict), exit_code=code)
        if fixed is not None:
            data["fix"] = fixed.to_dict()
        print(json.dumps(data, indent=2))
        return code
    sys.stdout.write(render_text(report))
    if args.strict and warnings:
        print(f"strict: {warnings} warning(s) count as errors")
    if fixed is not None:
        print("\n".join(visible(line) for line in fixed.lines(args.config)))
    return code


def _fix(args: argparse.Namespace, report: Any, env: Any) -> Any:
    from wizard.lint.fix import fix_file

    return fix_file(args.config, report, env, force=args.force)
