"""Arguments shared by the verbs' parsers: a bad value is argparse's usage error (exit 2)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from wizard.terminal import shown

# The spec's bounds for the same answers (wizard/runspec/hardware.py, HardwareSpec; a test holds
# them equal): the spec is not imported here, because `--help` must not load Pydantic.
MAX_GPUS_PER_NODE = 64
MAX_NODES = 1024
MAX_GPU_MEMORY_GIB = 1024
MAX_HOST_RAM_GIB = 65_536


def whole_number(low: int, high: int, what: str) -> Callable[[str], int]:
    """An argument type: a whole number from `low` to `high` (`what` names it in the error)."""

    def parse(text: str) -> int:
        # A few digits past the bound are enough to refuse; int() of thousands of digits raises.
        digits = text.strip().removeprefix("-")
        if not digits.isdecimal() or len(digits) > len(str(high)) + 1:
            raise argparse.ArgumentTypeError(f"{shown(text)} is not {what}")
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not {what} ({low} to {high:,})")
        return value

    return parse


def size_in_gib(high: float, what: str) -> Callable[[str], float]:
    """An argument type: a size in GiB above 0 and at most `high` (`what` names it)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{shown(text)} is not a number of GiB") from None
        if not 0 < value <= high:  # NaN and inf included
            raise argparse.ArgumentTypeError(f"must be {what} in GiB, above 0 and at most {high:,}")
        return value

    return parse


gpus_per_node = whole_number(1, MAX_GPUS_PER_NODE, "a number of GPUs per node")
node_count = whole_number(1, MAX_NODES, "a number of nodes")
node_rank = whole_number(0, MAX_NODES - 1, "a node rank")
gpu_count = whole_number(1, MAX_GPUS_PER_NODE * MAX_NODES, "a number of GPUs")
port = whole_number(1, 65_535, "a TCP port")
cpu_count = whole_number(1, 4096, "a number of CPUs")
gpu_memory = size_in_gib(MAX_GPU_MEMORY_GIB, "a GPU's memory, such as 24 or 80,")
host_ram = size_in_gib(MAX_HOST_RAM_GIB, "a node's RAM, such as 256,")


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
