"""What the verbs that follow training (merge, chat, evaluate, export) share on the command line:
the run folder and `--python` arguments, and their preflight as `launch` reports it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.terminal import visible

if TYPE_CHECKING:
    from wizard.after.trained import Trained
    from wizard.launch.checks import Check, Preflight


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    what = "a run folder that `launch` trained (or its Axolotl config)"
    parser.add_argument("run_dir", type=Path, help=what)
    parser.add_argument("--python", default=sys.executable,
                        help="the Python whose Axolotl runs (default: this one)")  # fmt: skip


def checked_run(args: argparse.Namespace, verb: str,
                checks: tuple[Check, ...]) -> tuple[Trained, Preflight]:  # fmt: skip
    """The run and its preflight: warnings printed as `launch` prints them; one error is the
    one-line error, several are printed and summed up in one (nothing started either way)."""
    from wizard.after.trained import preflight, refuse_problems, trained_run
    from wizard.commands.launch import report_problems
    from wizard.errors import WizardError

    trained = trained_run(args.run_dir)
    pre = preflight(trained, args.python, checks)
    errors = pre.errors
    report_problems([p for p in pre.problems if len(errors) > 1 or p.severity == "warning"])
    if len(errors) == 1:
        raise WizardError(f"{errors[0].message}; nothing was started", errors[0].hint)
    refuse_problems(pre, verb)
    return trained, pre


def sized(count: int) -> str:
    """`1,234,567 bytes (1.2 MiB)`: the exact figure, and one a person reads."""
    for unit, power in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if count >= 2**power:
            return f"{count:,} bytes ({count / 2**power:.1f} {unit})"
    return f"{count:,} bytes"


def say(text: str) -> None:
    print(visible(text), flush=True)
