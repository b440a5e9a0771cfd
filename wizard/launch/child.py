"""Running the launched child: its exit code is ours, and a failure gets a one-line cause.

By default the child runs as a subprocess whose output we pass through unchanged and also keep in
the manifest's `output.log`; when it fails we can then name the exception that killed it, one
line, instead of leaving the user to scroll through three interleaved tracebacks. `--exec`
replaces our process instead (POSIX), for schedulers that want the training process itself.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import BinaryIO

from wizard.launch.command import LaunchCommand

TAIL_BYTES = 256 * 1024
# `ValueError: ...`, `torch.distributed.DistNetworkError: ...`, `KeyError: 'instruction'`.
_EXCEPTION = re.compile(
    r"^(?:[A-Za-z_]\w*\.)*([A-Z]\w*(?:Error|Exception|Interrupt|Exit))(?::\s*(.*))?$"
)
# The launchers re-raise the worker's failure in their own words; those lines say nothing new.
_WRAPPERS = ("CalledProcessError", "ChildFailedError")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# Signals that stop the run (the whole process group goes, then we exit 128 + the signal), and
# signals a scheduler sends for the job to act on (passed on to the group unchanged).
STOPPING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PASSED_ON = (signal.SIGUSR1, signal.SIGUSR2)
# After SIGTERM, how long the processes get to save and exit before they are killed.
STOP_GRACE_S = 30.0
KEEPER = Path(__file__).with_name("keeper.py")

TextSink = Callable[[str], None]


def child_env(command: LaunchCommand) -> dict[str, str]:
    return {**os.environ, **command.env}


def exec_child(command: LaunchCommand, cwd: Path) -> None:
    """Replace this process with the child (POSIX): same PID, same signals, its exit code."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.chdir(cwd)
    os.execvpe(command.argv[0], command.argv, child_env(command))


@dataclass
class Ended:
    """How the child ended: its exit code as a shell reports it, the tail of its output, and the
    signal that stopped it when it was stopped from outside (Ctrl-C, a scheduler's SIGTERM)."""

    code: int
    tail: str
    stopped_by: int | None = None

    @property
    def interrupted(self) -> bool:
        return self.stopped_by == signal.SIGINT

    @property
    def exit_code(self) -> int:
        """Ours: 130 after Ctrl-C even when Axolotl saved a checkpoint and exited 0, 143/129
        after SIGTERM/SIGHUP, else the child's."""
        return 128 + self.stopped_by if self.stopped_by is not None else self.code


class ChildGroup:
    """The child and everything it starts, in a process group of their own, stopped as one.

    `accelerate launch` does not pass SIGTERM on to the training process it starts, so a signal
    sent to the child alone leaves `axolotl.cli.train` running as an orphan. The whole group gets
    it instead. Being its own group also keeps the terminal's Ctrl-C away from it: the wizard
    passes Ctrl-C on itself, once (Axolotl saves a checkpoint), then stops it harder.
    """

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.stopped_by: int | None = None
        self.interrupts = 0
        self._previous: dict[int, object] = {}
        self._killer: threading.Timer | None = None

    def __enter__(self) -> ChildGroup:
        for sig in STOPPING:
            self._previous[sig] = signal.signal(sig, self._on_signal)
        for sig in PASSED_ON:
            self._previous[sig] = signal.signal(sig, self._pass_on)
        return self

    def __exit__(self, *_exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        if self._killer is not None:
            self._killer.cancel()
        if self.process.poll() is None:  # we are leaving early (an exception): take it along
            self._signal_group(signal.SIGKILL)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGINT:
            self.interrupts += 1
            if self.stopped_by is None:
                self.stopped_by = signum
            # Once: let training stop cleanly; twice: SIGTERM; three times: kill.
            escalation = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)
            self._signal_group(escalation[min(self.interrupts, 3) - 1])
            return
        self.stopped_by = self.stopped_by or signum
        self._signal_group(signal.SIGTERM)
        if self._killer is None:
            self._killer = threading.Timer(STOP_GRACE_S, self._signal_group, (signal.SIGKILL,))
            self._killer.daemon = True
            self._killer.start()

    def _pass_on(self, signum: int, _frame: FrameType | None) -> None:
        self._signal_group(signum)

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):  # the group has ended
            os.killpg(self.process.pid, signum)


def kept(argv: list[str]) -> list[str]:
    """On Linux, `argv` started through the keeper (keeper.py), which stops the whole tree when
    this process dies, however it dies."""
    if sys.platform != "linux":
        return argv
    keeper = [sys.executable, "-I", str(KEEPER), str(STOP_GRACE_S), str(os.getpid()), "--"]
    return keeper + argv


def run_child(command: LaunchCommand, cwd: Path, log: Path, echo: TextSink | None) -> Ended:
    """Run the child to the end; its output is kept in `log` and passed to `echo` as it comes
    (None: only the log)."""
    tail = bytearray()
    with new_file(log) as sink:
        process = subprocess.Popen(
            kept(command.argv), cwd=cwd, env=child_env(command), start_new_session=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        with ChildGroup(process) as group:
            assert process.stdout is not None
            while chunk := os.read(process.stdout.fileno(), 65536):
                sink.write(chunk)
                tail += chunk
                del tail[:-TAIL_BYTES]
                if echo is not None:
                    echo(chunk.decode("utf-8", errors="replace"))
            code = process.wait()
    shell_code = 128 - code if code < 0 else code
    return Ended(shell_code, tail.decode("utf-8", errors="replace"), group.stopped_by)


def new_file(path: Path) -> BinaryIO:
    """A log file made for this launch (in the manifest's own new folder): never opened
    through a link someone put in its place."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    return os.fdopen(os.open(path, flags, 0o666), "wb")


def failure_cause(output: str) -> str | None:
    """The last exception line of the child's output that is not a launcher's re-raise."""
    cause = None
    for raw in output.replace("\r", "\n").splitlines():
        line = _ANSI.sub("", raw).strip()
        line = re.sub(r"^\[rank\d+\]:\s*", "", line)  # torch prefixes worker lines this way
        match = _EXCEPTION.match(line)
        if match and match.group(1) not in _WRAPPERS:
            cause = line
    if cause is not None and len(cause) > 300:
        cause = cause[:297] + "..."
    return cause
