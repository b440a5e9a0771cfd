"""`axolotl-wizard check`: lint any Axolotl config and the DeepSpeed JSON it names."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from wizard.commands.argtypes import verb_parser

EPILOG = """\
examples:
  axolotl-wizard check runs/llama8b/axolotl.yml
  axolotl-wizard check my.yml --gpu-arch sm_80 --gpus 8     know the hardware: more gotchas
  axolotl-wizard check my.yml --axolotl                     also run Axolotl's own validation
  axolotl-wizard check my.yml --fix                         write my.fixed.yml with renames
  axolotl-wizard check my.yml --json                        machine-readable, for CI

exit status: 0 no errors (warnings allowed), 1 errors found or bad input.
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
        help="write CONFIG.fixed.yml with renamed keys; the original is kept",
    )
    parser.add_argument("--force", action="store_true", help="overwrite CONFIG.fixed.yml")
    hw = parser.add_argument_group("training hardware (unknown unless given)")
    hw.add_argument(
        "--gpu-arch",
        metavar="SM",
        help="CUDA arch, e.g. sm_80 (A100), sm_90 (H100); --axolotl assumes sm_90 when not given",
    )
    hw.add_argument("--gpus", type=int, metavar="N", help="GPUs per node")
    hw.add_argument("--nodes", type=int, default=1, metavar="N", help="nodes (default 1)")
    hw.add_argument("--cpu", action="store_true", help="the run is on a CPU, no GPU")
    parser.add_argument(
        "--schema-version", metavar="VER", help="check against this bundled Axolotl schema version"
    )
    parser.set_defaults(run=run)


def build_env(args: argparse.Namespace) -> Any:
    from wizard.lint.env import Env, local_training_env, probe_packages

    # Package probes only mean something where Axolotl itself is installed (a training env).
    packages = probe_packages() if local_training_env() else None
    arch = args.gpu_arch or ("sm_90" if args.axolotl and not args.cpu else None)
    if args.cpu:
        return Env.for_cpu(packages=packages)
    if arch:
        return Env.for_gpu(arch, n_gpu=args.gpus or 1, n_node=args.nodes, packages=packages)
    return Env(n_gpu=args.gpus, n_node=args.nodes, packages=packages)


def run(args: argparse.Namespace) -> int:
    from wizard.lint import check_file
    from wizard.lint.report_text import render_text

    report = check_file(
        args.config,
        env=build_env(args),
        run_axolotl=args.axolotl,
        schema_version=args.schema_version,
    )
    fix_note = _write_fix(args, report) if args.fix else None
    if args.json:
        data = report.to_dict()
        if fix_note is not None:
            data["fix"] = fix_note
        print(json.dumps(data, indent=2))
    else:
        sys.stdout.write(render_text(report))
        if fix_note is not None:
            print(fix_note["summary"])
    return report.exit_code


def _write_fix(args: argparse.Namespace, report: Any) -> dict[str, Any]:
    from wizard.files import atomic_write_text, refuse_overwrite
    from wizard.lint import load_config
    from wizard.lint.fix import apply_renames, fixed_path
    from wizard.yamlio import read_text_file

    text = read_text_file(args.config, "config")
    new_text, applied, skipped = apply_renames(text, report.findings, load_config(args.config))
    target = fixed_path(args.config)
    if not applied:
        return {
            "written": None,
            "applied": 0,
            "skipped": len(skipped),
            "summary": "fix: nothing to rename; no file written",
        }
    refuse_overwrite([target], args.force)
    atomic_write_text(target, new_text)
    return {
        "written": str(target),
        "applied": len(applied),
        "skipped": len(skipped),
        "summary": f"fix: wrote {target} ({len(applied)} rename(s)"
        + (f", {len(skipped)} left for you" if skipped else "")
        + f"); {args.config} is unchanged",
    }
