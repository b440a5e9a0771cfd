"""A Prompter that plays a list of answers: how most interview tests run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from wizard.interview.prompter import Choice, ListValidator, Validator


class _Enter:
    """Press Enter: take the default the prompt offers."""

    def __repr__(self) -> str:
        return "ENTER"


ENTER: Any = _Enter()
INTERRUPT: Any = KeyboardInterrupt
EOF: Any = EOFError


@dataclass
class ScriptedPrompter:
    """Answers from a list of `(key, answer)`; ENTER takes the default, INTERRUPT / EOF raise.

    A text answer that the validator rejects is recorded in `rejections` and the next scripted
    answer (for the same key) is tried, exactly as a person would type again.
    """

    script: list[tuple[str, Any]]
    asked: list[str] = field(default_factory=list)
    rejections: list[tuple[str, str]] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)
    defaults: dict[str, Any] = field(default_factory=dict)
    offered: dict[str, list[str]] = field(default_factory=dict)  # a select's choices, by key

    def _next(self, key: str, default: Any) -> Any:
        self.asked.append(key)
        self.defaults[key] = default
        if not self.script:
            raise AssertionError(f"the interview asked {key!r} but the script has ended")
        expected, answer = self.script.pop(0)
        if expected != key:
            raise AssertionError(f"the interview asked {key!r}; the script answers {expected!r}")
        if answer is KeyboardInterrupt or answer is EOFError:
            raise answer()
        return default if answer is ENTER else answer

    def select(
        self,
        key: str,
        message: str,
        choices: Sequence[Choice],
        default: str | None,
        search: bool = False,
    ) -> str:
        values = [c.value for c in choices if not c.header]
        self.offered[key] = values
        answer = self._next(key, default if default is not None else values[0])
        if answer not in values:
            raise AssertionError(f"{key}: {answer!r} is not one of {values}")
        return str(answer)

    def text(self, key: str, message: str, default: str, validate: Validator | None = None) -> str:
        while True:
            answer = str(self._next(key, default))
            reason = validate(answer) if validate else None
            if reason is None:
                return answer
            self.rejections.append((key, reason))

    path = text

    def autocomplete(
        self, key: str, message: str, options: Sequence[str], validate: Validator | None = None
    ) -> str:
        return self.text(key, message, "", validate)

    def confirm(self, key: str, message: str, default: bool) -> bool:
        return bool(self._next(key, default))

    def checkbox(
        self,
        key: str,
        message: str,
        choices: Sequence[Choice],
        checked: Sequence[str],
        validate: ListValidator | None = None,
    ) -> list[str]:
        while True:
            answer = list(self._next(key, list(checked)))
            reason = validate(answer) if validate else None
            if reason is None:
                return answer
            self.rejections.append((key, reason))

    def show(self, text: str) -> None:
        self.shown.append(text)
