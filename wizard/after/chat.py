"""A trained model answering, through Axolotl's inference: one prompt (`--prompt`, and the demo's
last line), or a conversation on the terminal."""

from __future__ import annotations

from dataclasses import dataclass

from wizard.after.commands import answer_of, inference_command, reading
from wizard.after.step import Ran, Step, require_success, run_step
from wizard.after.trained import Trained
from wizard.files import atomic_write_text
from wizard.launch.checks import Preflight
from wizard.launch.command import LaunchCommand
from wizard.launch.manifest import ManifestDir

PROMPT_FILE = "prompt.txt"  # kept beside the step's manifest: part of the record of what ran


@dataclass(frozen=True)
class Answer:
    text: str | None  # None: no answer found in inference's output (the log has it all)
    ran: Ran


def answer(trained: Trained, pre: Preflight, prompt: str) -> Answer:
    """The model's answer to `prompt`, which inference reads from a file in the step's record."""

    def command(record: ManifestDir) -> LaunchCommand:
        atomic_write_text(record.path / PROMPT_FILE, prompt)
        asking = inference_command(pre.python, trained, interactive=False)
        return reading(asking, f"{record.relative}/{PROMPT_FILE}")

    ran = run_step(trained, pre, Step("chat", command, writes=False), None)
    require_success(ran, "the model's answer")
    return Answer(answer_of(ran.outcome.ended.tail, prompt), ran)


def converse(trained: Trained, pre: Preflight) -> Ran:
    command = inference_command(pre.python, trained, interactive=True)
    ran = run_step(trained, pre, Step("chat", command, writes=False, interactive=True), None)
    if ran.outcome.ended.stopped_by is None:  # Ctrl-C ends a conversation: no error to say
        require_success(ran, "the chat")
    return ran
