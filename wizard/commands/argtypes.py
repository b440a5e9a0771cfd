"""Arguments shared by the verbs' parsers: a bad value is argparse's usage error (exit 2)."""

from __future__ import annotations

import argparse
from typing import Any


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_set_argument(parser: argparse.ArgumentParser, help_text: str) -> None:
    """`--set KEY=VALUE`, repeatable, collected in `args.sets` (for `answers.sets.parse_sets`)."""
    parser.add_argument(
        "--set", dest="sets", action="append", default=[], metavar="KEY=VALUE", help=help_text
    )


def verb_parser(
    subparsers: Any,
    common: argparse.ArgumentParser,
    name: str,
    help_text: str,
    epilog: str,
    description: str | None = None,
) -> argparse.ArgumentParser:
    """The parser of one verb: the shared options, its help, and examples kept as written."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        parents=[common],
        help=help_text,
        description=description or help_text,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser
