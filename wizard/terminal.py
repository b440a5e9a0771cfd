"""Untrusted text on its way to a terminal: the one funnel.

Folder and file names, config keys, dataset paths and team presets' descriptions come from other
people. Printed raw, an escape sequence in them moves the cursor, rewrites lines already shown,
sets the window title or the clipboard; a bidi override (U+202E) or an invisible format character
makes a name read as something it is not. So everything the wizard prints that it did not write
itself goes through `visible` (the error funnel in `cli` passes every message through it), a
value shown in a one-line message through `shown`, and a word of a command that people paste
through `shell_word` or `shell_path`.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

SHOWN_CHARS = 60  # of a value inside a one-line message: enough to recognise it
_HUGE_INT_BITS = 4_000  # str() of a larger int raises ValueError (Python's 4,300-digit limit)


def visible(text: str, keep: str = "") -> str:
    """`text` with every character a terminal would act on or not show written as a visible
    escape (`\\x1b`, `\\u202e`): C0 and C1 controls (ESC, newline, carriage return, DEL ...),
    bidi overrides and isolates (U+202A-202E, U+2066-2069) and the other invisible format
    characters (zero-width spaces, marks, line separators). `keep` lists characters to let
    through (`"\\n"` for a block of lines we laid out ourselves)."""
    if text.isprintable():  # what Python prints as is: letters, digits, marks, visible symbols
        return text
    return "".join(ch if ch.isprintable() or ch in keep else _escape(ch) for ch in text)


def visible_lines(text: str) -> str:
    """A block of lines we laid out, with untrusted parts inside: line breaks and tabs kept."""
    return visible(text, keep="\n\t")


def shown(value: Any, limit: int = SHOWN_CHARS) -> str:
    """A value inside a one-line message: its repr (quotes show where a text starts and ends,
    escapes show what it hides), cut to `limit` characters."""
    if isinstance(value, int) and value.bit_length() > _HUGE_INT_BITS:
        return f"<an integer of {value.bit_length():,} bits>"
    text = visible(repr(value))
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def shell_word(text: str) -> str:
    """`text` as one word a shell reads back exactly: quoted when it needs it, and written with
    bash's `$'…'` escapes when it holds characters a terminal would act on (what is pasted is
    then the same text, and what is shown has no control in it)."""
    if text.isprintable():
        import shlex  # here: `cli` imports this module for every command, most print no command

        return shlex.quote(text)
    return "$'" + "".join(_ansi_c(ch) for ch in text) + "'"


def shell_path(path: str | PurePath) -> str:
    """A path as a command's argument: `shell_word`, and `./` before a relative path that
    starts with `-`, so the command never reads it as an option (`./-rf`, `./--force`)."""
    text = str(path)
    return shell_word(f"./{text}" if text.startswith("-") else text)


def command_line(words: list[str]) -> str:
    """A command to paste: each word through `shell_word`."""
    return " ".join(shell_word(word) for word in words)


def warn(text: str) -> None:
    """A warning on stderr, one line whatever it quotes."""
    import sys

    print(f"warning: {visible(text)}", file=sys.stderr)


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _ansi_c(ch: str) -> str:
    if ch in "\\'":
        return "\\" + ch
    if ch.isprintable():
        return ch
    code = ord(ch)
    # In `$'…'`, \xHH is a byte: past ASCII only \u gives the character (in a UTF-8 locale).
    if 0x80 <= code < 0x100:
        return f"\\u{code:04x}"
    return _escape(ch)
