"""What the preflight checks share: the launch they look at, and the problems they find."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from wizard.launch.command import Layout
from wizard.launch.probe import Gpus
from wizard.launch.target import Target


@dataclass(frozen=True)
class Problem:
    severity: Literal["error", "warning"]
    message: str
    hint: str | None = None


@dataclass
class Preflight:
    target: Target
    layout: Layout
    python: str
    resume: bool = False
    # The run starts on other machines (a Slurm job): this machine's GPUs and Hub access say
    # nothing about theirs, so what depends on them is a warning at most.
    elsewhere: bool = False
    # A dry run prepares a launch, often for another machine: what this machine lacks (GPUs, their
    # memory, the training packages, a model in its Hub cache, the Ray client) is a warning there,
    # and an error only for a launch that starts here.
    dry_run: bool = False
    data_checks: bool = True  # the preview's checks on a few records (`--no-data-checks`)
    problems: list[Problem] = field(default_factory=list)
    versions: dict[str, str | None] = field(default_factory=dict)
    gpus: Gpus | None = None

    def error(self, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem("error", message, hint))

    def warn(self, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem("warning", message, hint))

    def machine_lacks(self, message: str, hint: str | None = None) -> None:
        """Something this machine lacks for the launch: an error, a warning in a dry run."""
        if self.dry_run:
            self.warn(f"{message}; a launch on this machine would stop here", hint)
        else:
            self.error(message, hint)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


Check = Callable[[Preflight], None]
