"""Reading user YAML and JSON safely: bounded in size, nesting and expansion, with errors that
name the file, line and column.

Every YAML the wizard reads or is given (configs, presets, answers files, `--set` values, a
DeepSpeed JSON read as YAML for its line numbers) goes through `parse_yaml`, which first walks
libyaml's event stream: that walk neither recurses nor expands aliases, so a file nested 30,000
levels deep (which would overflow the C stack while the loader builds it) or a kilobyte of
aliases that expands to billions of values is refused before anything is built.
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from wizard.errors import WizardError
from wizard.resources import package_path


class UnreadableValue(yaml.MarkedYAMLError):
    """A scalar the safe constructor cannot turn into a value: a date that is no date
    (`2020-13-45`), an integer of thousands of digits. PyYAML lets the ValueError out, which no
    caller of a YAMLError expected (`unexpected ValueError`)."""


# libyaml's loader when PyYAML was built with it: the same safe constructor, several times faster
# (the model catalog alone takes a tenth of a second to parse in pure Python).
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _SafeLoader(_FAST_LOADER):  # type: ignore[misc]
    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            value = super().construct_object(node, deep)
        except (ValueError, OverflowError) as err:
            raise _unreadable(node, str(err)) from None
        if isinstance(value, int) and value.bit_length() > MAX_INT_DIGITS * 10 // 3:
            raise _unreadable(node, f"an integer of more than {MAX_INT_DIGITS} digits")
        return value


def _unreadable(node: yaml.Node, why: str) -> UnreadableValue:
    text = str(node.value)
    shown = text if len(text) <= 40 else f"{text[:20]}…({len(text):,} characters)"
    return UnreadableValue(
        problem=f"{shown!r} is no value YAML can read ({why[:80]})", problem_mark=node.start_mark
    )


SAFE_LOADER: type[yaml.SafeLoader] = _SafeLoader
# And its emitter: `new` writes thirty-odd YAML texts, and the pure-Python one took 15 ms.
SAFE_DUMPER: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# A config or preset larger than this is not something a person wrote by hand.
MAX_YAML_BYTES = 2 * 1024 * 1024
# Axolotl configs nest four or five levels (datasets -> entry -> mapping -> ...).
MAX_DEPTH = 64
# Values (scalars, lists, mappings) a document may expand to, an alias counting as a copy of
# what it names: generous for any config, small enough to walk in well under a second.
MAX_VALUES = 100_000
# Digits of an integer in JSON or YAML: a seed or a size has a few dozen at most.
MAX_INT_DIGITS = 300

_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def read_text_file(path: Path, what: str = "file", max_bytes: int = MAX_YAML_BYTES) -> str:
    """Read a small UTF-8 text file, or raise a WizardError that says why not.

    Only a regular file is read (a FIFO would block forever, /dev/zero never ends), and never
    more than `max_bytes` + 1 bytes of it, whatever its size claims.
    """
    data = read_bounded(path, what, max_bytes)
    if b"\x00" in data:
        raise WizardError(f"{what} {path} is a binary file, not text", "is this the right file?")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise WizardError(
            f"{what} {path} is not UTF-8 text (byte {err.start})", "save it as UTF-8"
        ) from None


def read_bounded(path: Path, what: str, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most `max_bytes`; WizardError otherwise."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer before we can look at it.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise WizardError(f"{what} {path} does not exist", "check the path and try again") from None
    except IsADirectoryError:
        raise WizardError(
            f"{what} {path} is a folder, not a file", "give the path of a file"
        ) from None
    except OSError as err:
        raise WizardError(f"cannot read {what} {path}: {err.strerror}", "check the path") from None
    try:
        # Before fdopen: Linux opens a folder read-only, and fdopen then fails on it unnamed.
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise WizardError(f"{what} {path} is a folder, not a file", "give the path of a file")
        if not stat.S_ISREG(info.st_mode):
            raise WizardError(
                f"{what} {path} is not a regular file (a pipe, socket or device)",
                "give the path of a file on disk",
            )
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        size = max(info.st_size, len(data))
        raise WizardError(
            f"{what} {path} is {size / 1e6:.1f} MB, more than the {max_bytes / 1e6:.1f} MB limit",
            "is this the right file?",
        )
    return data


def check_shape(text: str, source: str) -> None:
    """Refuse a YAML document nested deeper than MAX_DEPTH or expanding to more than MAX_VALUES
    values, from libyaml's events alone (no tree is built, no alias expanded). A syntax error
    is left to the caller as the yaml.YAMLError it is."""
    depth, values = 0, 0
    sizes: dict[str, int] = {}  # anchor -> the values it stands for
    open_nodes: list[tuple[str | None, int]] = []  # (anchor, values when it opened)
    for event in yaml.parse(text, Loader=SAFE_LOADER):
        if isinstance(event, _OPEN):
            depth += 1
            if depth > MAX_DEPTH:
                raise _too_deep(source, event)
            open_nodes.append((event.anchor, values))
            values += 1
        elif isinstance(event, _CLOSE):
            depth -= 1
            anchor, start = open_nodes.pop()
            if anchor is not None:
                sizes[anchor] = values - start
        elif isinstance(event, yaml.ScalarEvent):
            values += 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in sizes:
                raise _expands(source, event, "no end (an alias that refers to itself)")
            values += sizes[event.anchor]
        if values > MAX_VALUES:
            raise _expands(source, event, f"more than {MAX_VALUES:,} values")


def _where(source: str, event: yaml.Event) -> str:
    mark = event.start_mark
    return f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source


def _too_deep(source: str, event: yaml.Event) -> WizardError:
    return WizardError(
        f"{_where(source, event)}: nested more than {MAX_DEPTH} levels deep; nothing was read",
        "a config is a few levels of keys and lists; is this the right file?",
    )


def _expands(source: str, event: yaml.Event, what: str) -> WizardError:
    return WizardError(
        f"{_where(source, event)}: the YAML expands to {what} (anchors and aliases that repeat "
        "or refer to themselves); nothing was read",
        "write it out plainly, without `&anchor` / `*alias` tricks",
    )


def syntax_error(err: yaml.YAMLError, source: str) -> WizardError:
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = err.problem or err.context or "invalid YAML"
        return WizardError(f"{where}: YAML syntax error: {problem}", "fix the YAML at that line")
    return WizardError(f"{source}: invalid YAML: {err}", "fix the YAML")


def safe_load(text: str) -> Any:
    """`yaml.safe_load` through libyaml, for the package's own data files (trusted, unbounded);
    anything a user gives goes through `parse_yaml`."""
    return yaml.load(text, Loader=SAFE_LOADER)


def package_data(package: str, name: str) -> Any:
    """One of the package's own YAML data files (the model catalog, the lint inventory...), read
    from the JSON beside it: `scripts/gen_package_data.py` converts each at build time, and a
    test fails when a JSON no longer says what its YAML says. The YAML stays the one source
    people edit; the JSON parses some thirty times faster (1 ms for all of them, where libyaml
    took 30 ms), and nothing is written outside the package to get there."""
    converted = str(PurePosixPath(name).with_suffix(".json"))
    return json.loads(package_path(package, converted).read_text(encoding="utf-8"))


def parse_yaml(text: str, source: str) -> Any:
    """Bounded `yaml.safe_load` with a one-line error that gives `source:line:col`."""
    try:
        check_shape(text, source)
        return safe_load(text)
    except yaml.YAMLError as err:
        raise syntax_error(err, source) from None


def load_yaml_mapping(path: Path, what: str = "file") -> dict[str, Any]:
    """Load a YAML file whose top level must be a mapping (an empty file is an empty mapping)."""
    data = parse_yaml(read_text_file(path, what), str(path))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise WizardError(
            f"{path}: the top level is a {type(data).__name__}, not a mapping of keys to values",
            "a config is `key: value` lines at the top level",
        )
    return data


def dump_yaml(data: Any) -> str:
    """Block-style YAML in the order given (never sorted), unicode kept readable."""
    return yaml.dump(
        data,
        Dumper=SAFE_DUMPER,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )


class NonFinite(float):
    """`NaN`, `Infinity` or `-Infinity` in a JSON file: kept as a float that remembers its
    spelling, so the reader can say where it is instead of passing it on."""

    spelling: str

    def __new__(cls, spelling: str) -> NonFinite:
        number = super().__new__(cls, float(spelling.replace("Infinity", "inf")))
        number.spelling = spelling
        return number


def parse_json(text: str, source: str) -> Any:
    """`json.loads`, bounded in nesting, with a one-line `source:line:col` error; NaN and
    Infinity become `NonFinite` values (see `non_finite_paths`)."""
    try:
        return json.loads(text, parse_constant=NonFinite, parse_int=_json_int)
    except json.JSONDecodeError as err:
        raise WizardError(
            f"{source}:{err.lineno}:{err.colno}: not valid JSON: {err.msg}",
            "fix the JSON at that line",
        ) from None
    except RecursionError:
        raise WizardError(
            f"{source}: the JSON is nested too deeply to be a config; nothing was read",
            "is this the right file?",
        ) from None


def _json_int(text: str) -> int:
    # int() of thousands of digits raises ValueError (Python's limit), which no caller expects.
    if len(text) > MAX_INT_DIGITS:
        raise WizardError(
            f"a JSON number of {len(text):,} digits ({text[:12]}…): no config holds one",
            "is this the right file?",
        )
    return int(text)


def non_finite_paths(data: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """(key path, spelling) of every NaN / Infinity in parsed JSON, walked without recursion."""
    found = []
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), data)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            stack.extend(((*path, str(k)), v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend(((*path, i), v) for i, v in enumerate(node))
        elif isinstance(node, float) and not math.isfinite(node):
            found.append((path, getattr(node, "spelling", repr(node))))
    return sorted(found, key=lambda item: [str(p) for p in item[0]])
