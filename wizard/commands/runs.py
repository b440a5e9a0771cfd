"""`axolotl-wizard runs [DIR]`: the launches under a folder, or one launch with its loss curve."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from wizard.commands.argtypes import verb_parser

HELP = "the runs under a folder (outcome, loss, time, GPU memory), or one with its loss curve"
EPILOG = """\
examples:
  axolotl-wizard runs                         the launches under this folder
  axolotl-wizard runs axolotl-wizard-demo     the demo's runs
  axolotl-wizard runs runs/llama8b            one run: its newest launch, with the loss curve
  axolotl-wizard runs runs/llama8b/launches/20261207T210000Z-node0   that launch
  axolotl-wizard runs runs/llama8b --json     the same as JSON (the whole loss curve)
  axolotl-wizard runs runs/llama8b --export   its memory measurement, for a bug report

A run folder (it has launches/) or a launch folder shows one launch; any other folder lists the
launches in it and in the run folders directly below it (--list lists a run folder's too).
"""


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = verb_parser(subparsers, common, "runs", HELP, EPILOG)
    what = "a folder of runs, a run folder or a launch folder (default: here)"
    parser.add_argument("dir", nargs="?", default=".", type=Path, help=what)
    parser.add_argument("--list", action="store_true", help="list the launches of a run folder")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.add_argument(
        "--export",
        action="store_true",
        help="print the launch's memory measurement as one calibration record (no paths, no "
        "secrets), to paste into a bug report",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from wizard.runs.store import is_one_run

    if is_one_run(args.dir) and not args.list:
        return _show_one(args)
    return _list(args)


def _list(args: argparse.Namespace) -> int:
    from wizard.runs import find_runs
    from wizard.runs.views import list_lines, summary_json

    runs = find_runs(args.dir)
    if args.json:
        print(json.dumps([summary_json(one) for one in runs], indent=2))
        return 0
    if not runs:
        print(f"no launch under {args.dir} (a launch leaves RUN_DIR/launches/<time>-node<rank>/)")
        return 0
    print("\n".join(list_lines(runs, args.dir)))
    print("GPU GiB: measured peak per GPU (torch's allocated memory, the most over the ranks) "
          "against the estimate's")  # fmt: skip
    return 0


def _show_one(args: argparse.Namespace) -> int:
    from wizard.runs import load_run
    from wizard.runs.calibration import exported
    from wizard.runs.views import loss_curve, record_json, record_lines

    record = load_run(args.dir)
    if args.export:
        print(json.dumps(exported(record), indent=2, sort_keys=True))
        return 0
    if args.json:
        print(json.dumps(record_json(record), indent=2))
        return 0
    print("\n".join(record_lines(record)))
    drawn = loss_curve(record, colour=sys.stdout.isatty())
    print(drawn if drawn is not None else "no loss was logged")
    return 0
