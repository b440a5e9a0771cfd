"""The one family of user-facing errors. `cli` is the only place that catches them."""

from __future__ import annotations

EXIT_OK = 0
EXIT_USER_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class WizardError(Exception):
    """Something the user can fix: `message` says what is wrong, `hint` what to do next, and
    `keys` the answers it is about (so the interview can ask the right question again)."""

    exit_code = EXIT_USER_ERROR

    def __init__(self, message: str, hint: str | None = None, keys: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.keys = keys


class UsageError(WizardError):
    """The command line itself is wrong (unknown option, missing argument)."""

    exit_code = EXIT_USAGE


class Cancelled(WizardError):
    """The user chose to stop (Cancel at the review): not an error, nothing was written."""

    exit_code = EXIT_OK


class Stopped(WizardError):
    """Ctrl-C stopped something that had started (a training run): exit 130, with a message that
    says what is left, unlike the interview's "nothing was written"."""

    exit_code = EXIT_INTERRUPTED
