"""`axolotl-wizard launch` (placeholder until its issue lands)."""

from __future__ import annotations

import argparse
from typing import Any

from wizard.errors import WizardError


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("launch", parents=[common], help="(not available yet)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    raise WizardError("'launch' is not available in this version yet")
