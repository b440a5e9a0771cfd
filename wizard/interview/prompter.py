"""How the interview talks to a person: a small Prompter protocol and its terminal implementation.

`QuestionaryPrompter` is the only place in the package that imports questionary (lazily, so
`new --yes` never pays for it). The tests play scripted answers through the same protocol
(tests/scripted.py). Every prompt carries a `key` (the spec field it asks, or a flow step such
as `review`) so a script can say which question it expects to answer.

A validator returns None when the text is acceptable, else the reason, which the prompt shows
before asking again. EOFError and KeyboardInterrupt pass through unchanged: the interview turns
them into "nothing was written".
"""

from __future__ import annotations

import shutil
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

from wizard.terminal import visible

Validator = Callable[[str], "str | None"]
# questionary draws a pointer and a space (or a checkbox) before each choice's text.
CHOICE_INDENT = 5
ListValidator = Callable[[list[str]], "str | None"]


@dataclass(frozen=True)
class Choice:
    """One entry of a select or checkbox; a `header` is an unselectable group title."""

    value: str
    title: str = ""
    note: str = ""
    header: bool = False

    @property
    def label(self) -> str:
        title = self.title or self.value
        # A team preset's name, family and description are shown here: no terminal controls.
        return visible(f"{title} — {self.note}" if self.note else title)

    @classmethod
    def group(cls, title: str) -> Choice:
        return cls(value=f"--{title}--", title=title, header=True)


class Prompter(Protocol):
    def select(
        self,
        key: str,
        message: str,
        choices: Sequence[Choice],
        default: str | None,
        search: bool = False,
    ) -> str: ...

    def text(
        self, key: str, message: str, default: str, validate: Validator | None = None
    ) -> str: ...

    def path(
        self, key: str, message: str, default: str, validate: Validator | None = None
    ) -> str: ...

    def confirm(self, key: str, message: str, default: bool) -> bool: ...

    def autocomplete(
        self, key: str, message: str, options: Sequence[str], validate: Validator | None = None
    ) -> str: ...

    def checkbox(
        self,
        key: str,
        message: str,
        choices: Sequence[Choice],
        checked: Sequence[str],
        validate: ListValidator | None = None,
    ) -> list[str]: ...

    def show(self, text: str) -> None: ...


class QuestionaryPrompter:
    """Real prompts. `input`/`output` go to prompt_toolkit (tests pass a pipe and DummyOutput)."""

    def __init__(self, stream: TextIO | None = None, **toolkit: Any) -> None:
        import questionary

        self._q = questionary
        self._stream = stream or sys.stdout
        self._toolkit = toolkit

    def _ask(self, question: Any) -> Any:
        # unsafe_ask lets Ctrl-C raise KeyboardInterrupt (ask() would swallow it and return None).
        answer = question.unsafe_ask()
        if answer is None:
            raise EOFError
        return answer

    def _choices(self, choices: Sequence[Choice], checked: Sequence[str] = ()) -> list[Any]:
        q = self._q
        width = shutil.get_terminal_size((100, 24)).columns - CHOICE_INDENT
        return [
            q.Separator(f"── {visible(c.title)} ──")
            if c.header
            else q.Choice(title=wrapped(c.label, width), value=c.value, checked=c.value in checked)
            for c in choices
        ]

    def select(
        self,
        key: str,
        message: str,
        choices: Sequence[Choice],
        default: str | None,
        search: bool = False,
    ) -> str:
        question = self._q.select(
            message,
            self._choices(choices),
            default=default,
            use_search_filter=search,
            use_jk_keys=not search,
            **self._toolkit,
        )
        return str(self._ask(question))

    def text(self, key: str, message: str, default: str, validate: Validator | None = None) -> str:
        question = self._q.text(message, default=default, validate=_adapt(validate),
                                **self._toolkit)  # fmt: skip
        return str(self._ask(question))

    def path(self, key: str, message: str, default: str, validate: Validator | None = None) -> str:
        question = self._q.path(message, default=default, validate=_adapt(validate),
                                **self._toolkit)  # fmt: skip
        return str(self._ask(question))

    def confirm(self, key: str, message: str, default: bool) -> bool:
        return bool(self._ask(self._q.confirm(message, default=default, **self._toolkit)))

    def autocomplete(
        self, key: str, message: str, options: Sequence[str], validate: Validator | None = None
    ) -> str:
        question = self._q.autocomplete(message, choices=list(options), match_middle=True,
                                        validate=_adapt(validate), **self._toolkit)  # fmt: skip
        return str(self._ask(question))

    def checkbox(
        self,
        key: str,
        message: str,
        choices: Sequence[Choice],
        checked: Sequence[str],
        validate: ListValidator | None = None,
    ) -> list[str]:
        question = self._q.checkbox(
            message, self._choices(choices, checked), validate=_adapt(validate), **self._toolkit
        )
        return [str(v) for v in self._ask(question)]

    def show(self, text: str) -> None:
        print(text, file=self._stream, flush=True)


def wrapped(label: str, width: int) -> str:
    """A choice's text folded to the terminal, its later lines indented under the first: a
    reason is read whole, never cut at the edge."""
    if len(label) <= width or width < 20:
        return label
    return textwrap.fill(label, width=width, subsequent_indent=" " * CHOICE_INDENT)


def _adapt(validate: Callable[[Any], str | None] | None) -> Callable[[Any], bool | str]:
    """questionary wants True or the message to show; ours returns None or the message."""

    def check(value: Any) -> bool | str:
        reason = validate(value) if validate else None
        return True if reason is None else reason

    return check
