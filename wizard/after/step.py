"""One follow-up run the way `launch` runs training: the run and output folders locked while it
writes, a manifest folder of its own (`launches/<time>-node0/`, `verb` naming it) written before
the child starts, the child in a process group that Ctrl-C and SIGTERM stop, its exit code, and
a one-line cause when it fails."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from wizard.after.trained import Trained
from wizard.errors import Stopped, WizardError
from wizard.launch.checks import Preflight
from wizard.launch.child import Ended, TextSink, child_env, new_file, run_child
from wizard.launch.command import LaunchCommand
from wizard.launch.lock import hold_launch
from wizard.launch.manifest import (
    MANIFEST_FILENAME,
    ManifestData,
    ManifestDir,
    plan_manifest_dir,
    record_outcome,
    write_manifest,
)
from wizard.launch.session import Outcome, let_go

INTERACTIVE_LOG = b"(an interactive session on the terminal: the conversation is not recorded)\n"


# The command, or what makes it once the step's record folder exists (a command that writes
# there, or reads a file put there, as evaluate and `chat --prompt` do).
Command = LaunchCommand | Callable[[ManifestDir], LaunchCommand]


@dataclass(frozen=True)
class Step:
    verb: str
    command: Command
    writes: bool  # it writes into the run: hold the run's locks, as a launch does
    interactive: bool = False  # the child talks to the terminal itself (chat)


@dataclass(frozen=True)
class Ran:
    outcome: Outcome
    manifest: ManifestDir


def run_step(trained: Trained, pre: Preflight, step: Step, echo: TextSink | None) -> Ran:
    """Run `step` to its end and record it; the locks are let go whatever happens. A step
    refused by a lock leaves no record folder."""
    locks = hold_launch(trained.run_dir, trained.output, 0, step.verb) if step.writes else None
    try:
        manifest = plan_manifest_dir(trained.run_dir, 0, create=True)
        if locks is not None:
            locks.name_manifest(manifest.path / MANIFEST_FILENAME)
        command = step.command(manifest) if callable(step.command) else step.command
        warnings = [p.message for p in pre.problems if p.severity == "warning"]
        data = ManifestData(command, pre.layout, None, pre.versions, warnings, verb=step.verb)
        write_manifest(manifest, trained.target, data)
        if step.interactive:
            ended = run_on_terminal(command, trained.run_dir, manifest.log)
        else:
            ended = run_child(command, trained.run_dir, manifest.log, echo)
        outcome = Outcome.of(ended)
        record_outcome(manifest, outcome.word, outcome.exit_code)
    finally:
        let_go(locks)
    return Ran(outcome, manifest)


def require_success(ran: Ran, doing: str) -> None:
    """A stopped or failed step as the one-line error `launch` gives for training."""
    outcome = ran.outcome
    log = f"the whole output is in {ran.manifest.log}"
    if outcome.ended.stopped_by is not None:
        stopped = Stopped(f"{doing} was {outcome.word} (exit code {outcome.exit_code})", log)
        stopped.exit_code = outcome.exit_code  # 130 after Ctrl-C, 143 after SIGTERM, as launch
        raise stopped
    if outcome.exit_code:
        raise WizardError(
            f"{doing} failed (exit code {outcome.exit_code}): "
            f"{outcome.cause or 'no exception in its output'}",
            log,
        )


def run_on_terminal(command: LaunchCommand, cwd: Path, log: Path) -> Ended:
    """The child on this terminal, reading the keyboard: in our process group (a group of its
    own could not read the terminal), so Ctrl-C reaches it directly. Meanwhile this process
    only notes Ctrl-C (a handler, not SIG_IGN, which the child would inherit)."""
    with new_file(log) as sink:
        sink.write(INTERACTIVE_LOG)
    interrupted: list[int] = []

    def note(signum: int, _frame: FrameType | None) -> None:
        interrupted.append(signum)

    previous = signal.signal(signal.SIGINT, note)
    try:
        code = subprocess.call(command.argv, cwd=cwd, env=child_env(command))
    finally:
        signal.signal(signal.SIGINT, previous)
    shell_code = 128 - code if code < 0 else code
    stopped = signal.SIGINT if interrupted and shell_code != 0 else None
    return Ended(shell_code, "", stopped)
