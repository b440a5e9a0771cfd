"""Running the launched child: its exit code is ours, and a failure gets a one-line cause.

By default the child runs as a subprocess whose output we pass through unchanged and also keep in
the manifest's `output.log`; when it fails we can then name the exception that killed it, one
line, instead of leaving the user to scroll through three interleaved tracebacks. `--exec`
replaces our process instead (POSIX), for schedulers that want the training process itself.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from wizard.launch_command import LaunchCommand

TAIL_BYTES = 256 * 1024
# `ValueError: ...`, `torch.distributed.DistNetworkError: ...`, `KeyError: 'instruction'`.
_EXCEPTION = re.compile(
    r"^(?:[A-Za-z_]\w*\.)*([A-Z]\w*(?:Error|Exception|Interrupt|Exit))(?::\s*(.*))?$"
)
# The launchers re-raise the worker's failure in their own words; those lines say nothing new.
_WRAPPERS = ("CalledProcessError", "ChildFailedError")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)

TextSink = Callable[[str], None]


def child_env(command: LaunchCommand) -> dict[str, str]:
    return {**os.environ, **command.env}


def exec_child(command: LaunchCommand, cwd: Path) -> None:
    """Replace this process with the child (POSIX): same PID, same signals, its exit code."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.chdir(cwd)
    os.execvpe(command.argv[0], command.argv, child_env(command))


def run_child(
    command: LaunchCommand, cwd: Path, log: Path, echo: TextSink | None
) -> tuple[int, str]:
    """Run the child to the end; return (exit code as a shell reports it, tail of its output).

    `echo` receives the output as it comes (None: keep it only in `log`). Ctrl-C reaches the
    child from the terminal by itself, so we wait for it to stop rather than die first and lose
    its exit code; SIGTERM and friends (a scheduler's) are passed on.
    """
    process = subprocess.Popen(
        command.argv, cwd=cwd, env=child_env(command),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    previous = _install_forwarding(process)
    tail = bytearray()
    try:
        assert process.stdout is not None
        with log.open("wb") as sink:
            while chunk := os.read(process.stdout.fileno(), 65536):
                sink.write(chunk)
                tail += chunk
                del tail[:-TAIL_BYTES]
                if echo is not None:
                    echo(chunk.decode("utf-8", errors="replace"))
        code = process.wait()
    finally:
        _restore(previous)
    return (128 - code if code < 0 else code), tail.decode("utf-8", errors="replace")


def _install_forwarding(process: subprocess.Popen[bytes]) -> dict[int, object]:
    def forward(signum: int, _frame: FrameType | None) -> None:
        if process.poll() is None:
            process.send_signal(signum)

    previous: dict[int, object] = {signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN)}
    for sig in FORWARDED:
        previous[sig] = signal.signal(sig, forward)
    return previous


def _restore(previous: dict[int, object]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)  # type: ignore[arg-type]


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
