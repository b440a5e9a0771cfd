"""`axolotl-wizard demo` (placeholder until its issue lands)."""

from __future__ import annotations

import argparse
from typing import Any

from wizard.errors import WizardError


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("demo", parents=[common], help="(not available yet)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    raise WizardError("'demo' is not available in this version yet")
