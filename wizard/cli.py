"""The command line: argument parsing and the single error funnel.

Each verb lives in `wizard/commands/<verb>.py` with `register(subparsers)` and `run(args) -> int`.
This module is the only `try` around user-facing errors: it prints `error: …` and `hint: …` on
stderr and maps them to exit codes (0 ok, 1 user error, 2 usage, 130 Ctrl-C). Nothing imports it.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from wizard import __version__
from wizard.errors import EXIT_INTERRUPTED, EXIT_USAGE, EXIT_USER_ERROR, Cancelled, WizardError
from wizard.terminal import visible

# Order is the order shown in --help. Command modules import nothing heavy at module level.
VERBS = ("new", "check", "estimate", "preview", "launch", "runs", "merge", "chat", "evaluate",
         "export", "presets", "demo", "ui")  # fmt: skip
# Verbs that answer in well under a second and start no program that outlives them.
QUICK_VERBS = ("check", "estimate", "presets", "runs")

DESCRIPTION = """\
Turn a few answers into a correct, fast Axolotl fine-tuning run.

examples:
  axolotl-wizard demo                                   train a tiny model on the CPU, end to end
  axolotl-wizard new runs/llama8b                       interview, then write the run folder
  axolotl-wizard new runs/llama8b --preset llama-3.1-8b-qlora \\
      --set datasets.0.path=data/train.jsonl --yes      the same, without questions
  axolotl-wizard check runs/llama8b/axolotl.yml         lint any Axolotl config
  axolotl-wizard estimate runs/llama8b/axolotl.yml      peak GPU memory, before launching
  axolotl-wizard preview runs/llama8b                   the tokens each record trains, checked
  axolotl-wizard launch runs/llama8b                    preflight, then accelerate launch
  axolotl-wizard runs runs/llama8b                      what the launch measured, its loss curve
  axolotl-wizard presets list                           the presets you can start from
  axolotl-wizard ui runs                                all of it on a local web page
"""


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line; given the arguments, only the parser of the verb they name
    (importing every command module and building their parsers took 20-25 ms)."""
    common = Parser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the full traceback when something fails",
    )
    parser = Parser(
        prog="axolotl-wizard",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"axolotl-wizard {__version__}")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB")
    for verb in verbs_to_build(argv):
        module = importlib.import_module(f"wizard.commands.{verb}")
        module.register(subparsers, common)
    return parser


class Parser(argparse.ArgumentParser):
    """argparse, with its usage errors raised (the verbs' parsers are of this class too), so
    that `parse` reports them: as JSON under `--json`, like every other error."""

    def error(self, message: str) -> NoReturn:
        raise UsageProblem(self, message)


class UsageProblem(Exception):
    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser
        self.message = message


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """The parsed arguments; a usage error is argparse's usage line and `error:` line (exit 2),
    or with `--json` anywhere among the arguments one JSON object on stdout."""
    try:
        return parser.parse_args(argv)
    except UsageProblem as err:
        hint = f"`{err.parser.prog} --help` lists the arguments"
        if "--json" in (sys.argv[1:] if argv is None else argv):
            _report(err.message, hint, debug=False, as_json=True)
        else:
            err.parser.print_usage(sys.stderr)
            print(f"{err.parser.prog}: error: {visible(err.message)}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None


def verbs_to_build(argv: Sequence[str] | None) -> Sequence[str]:
    """The verb the arguments name (the first that is not an option: the options before a verb
    take no value), or every verb when they name none, for the help and its errors."""
    words = [word for word in (sys.argv[1:] if argv is None else argv) if word[:1] != "-"]
    return (words[0],) if words and words[0] in VERBS else VERBS


def entry() -> NoReturn:
    """The console script. A quick command (`new --yes`, `check`, `estimate`, `presets`) lives
    well under a second, and more than a quarter of that went to the cyclic garbage collector
    and to tearing the interpreter down: so it runs with the collector off and leaves by `os._exit`
    once its output is flushed (mypy's `hard_exit` does the same). Anything that runs long
    or starts other programs (the interview, `launch`, `demo`) keeps the usual life cycle."""
    gc.disable()
    parser = build_parser()
    args = parse(parser, None)
    quick = is_quick(args)
    if quick:
        # Pydantic scans every installed distribution's entry points for its plugins (20 ms);
        # none is wanted on the wizard's own answer models.
        os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    else:
        gc.enable()
    code = run_verb(parser, args)
    if quick:
        _exit_now(code)
    raise SystemExit(code)


def is_quick(args: argparse.Namespace) -> bool:
    if args.verb == "new":
        return bool(args.yes)
    return args.verb in QUICK_VERBS


def _exit_now(code: int) -> NoReturn:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        code = EXIT_USER_ERROR
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(argv)
    return run_verb(parser, parse(parser, argv))


def run_verb(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    debug = bool(getattr(args, "debug", False))
    as_json = bool(getattr(args, "json", False))
    if args.verb is None:
        parser.print_help()
        return 0
    try:
        code: int = args.run(args)
        return code
    except Cancelled as err:
        print(visible(err.message), file=sys.stderr)
        return err.exit_code
    except WizardError as err:
        _report(err.message, err.hint, debug, as_json)
        return err.exit_code
    except KeyboardInterrupt:
        _report("interrupted; nothing was written", None, debug, as_json)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_USER_ERROR
    except OSError as err:
        # The places that write say what failed in their own words; this is the safety net.
        where = f": {err.filename}" if err.filename else ""
        _report(f"{err.strerror or err}{where}", "check the path and its permissions", debug,
                as_json)  # fmt: skip
        return EXIT_USER_ERROR
    except Exception as err:
        _report(
            f"unexpected {type(err).__name__}: {err}",
            "rerun with --debug for the traceback, and report it if it looks like a bug",
            debug,
            as_json,
        )
        return EXIT_USER_ERROR


def _report(message: str, hint: str | None, debug: bool, as_json: bool = False) -> None:
    """One line of error and one of hint on stderr, whatever they quote (a file name, a key, a
    value) shown by `terminal.visible`; with --json, one JSON object on stdout (a script reading
    the JSON gets JSON whatever happened; json.dumps escapes controls and non-ASCII)."""
    if debug:
        import traceback

        traceback.print_exc()
    if as_json:
        import json

        print(json.dumps({"error": message, "hint": hint}))
        return
    print(f"error: {visible(message)}", file=sys.stderr)
    if hint:
        print(f"hint: {visible(hint)}", file=sys.stderr)
