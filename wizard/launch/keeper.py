"""The launched command's keeper (Linux): if the wizard dies, even by SIGKILL, its tree goes too.

`accelerate launch` does not pass signals on to the training process it starts, and torch's
elastic agent starts its workers in sessions of their own: when the wizard is killed outright,
nothing tells them, and they train on as orphans. So on Linux the wizard starts the command
through this small program (run as a script, standard library only: `python -I keeper.py GRACE
PARENT -- COMMAND...`). It asks the kernel for a signal when the wizard dies (PR_SET_PDEATHSIG)
and to adopt the orphans of its tree (PR_SET_CHILD_SUBREAPER, so that none escapes to init
while it stops them), starts the command and waits for it. When the wizard dies it stops every
process below it: SIGTERM, then SIGKILL after GRACE seconds. Otherwise it stays out of the way:
the signals the wizard sends its process group reach the command directly, and it ends as the
command ended (same code, same signal).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
# The wizard's death, as the kernel tells it: a signal that nothing else sends.
PARENT_DIED = signal.SIGRTMIN + 3
# Sent to the whole group by the wizard; the command acts on them, the keeper does not.
GROUP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)


class ParentDied(Exception):
    pass


def main(argv: list[str]) -> int:
    grace, parent, command = float(argv[0]), int(argv[1]), argv[3:]
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    signal.signal(PARENT_DIED, _parent_died)
    libc.prctl(PR_SET_PDEATHSIG, PARENT_DIED, 0, 0, 0)
    for sig in GROUP_SIGNALS:
        # A handler, not SIG_IGN: an ignored signal would stay ignored in the command.
        signal.signal(sig, lambda *_: None)
    try:
        if os.getppid() != parent:  # it died before the kernel was asked to tell us
            raise ParentDied
        try:
            pid = os.posix_spawnp(command[0], command, os.environ)
        except OSError as err:
            print(f"axolotl-wizard: cannot start {command[0]}: {err.strerror}", file=sys.stderr)
            return 127
        return _end_as(_wait_for(pid))
    except ParentDied:
        _stop_tree(grace)
        return 128 + signal.SIGTERM


def _parent_died(_signum: int, _frame: object) -> None:
    raise ParentDied


def _wait_for(pid: int) -> int:
    """The command's wait status. Orphans adopted meanwhile are reaped as they end, and not
    waited for: a daemon (a logger's service) may outlive the run, as it would without us."""
    while True:
        done, status = os.waitpid(-1, 0)
        if done == pid:
            return status


def _stop_tree(grace: float) -> None:
    """SIGTERM to every process below this one, SIGKILL to those left after `grace` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        for pid in descendants(os.getpid()):
            try:
                os.kill(pid, sig)
            except OSError:
                continue
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                if os.waitpid(-1, os.WNOHANG) == (0, 0):
                    time.sleep(0.05)
            except ChildProcessError:
                return


def descendants(root: int) -> list[int]:
    """The processes below `root`, in any session (from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = [], [root]
    while frontier:
        below = [pid for pid, parent in parents.items() if parent == frontier[-1]]
        frontier.pop()
        found += below
        frontier += below
    return found


def _end_as(status: int) -> int:
    """Exit as the command did: its code, or killed by its signal."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        return 128 + sig
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
