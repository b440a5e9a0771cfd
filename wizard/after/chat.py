"""A trained model answering, through Axolotl's inference: one prompt (`--prompt`, and the demo's
last line), or a conversation on the terminal."""

from __future__ import annotations

from dataclasses import dataclass

from wizard.after.commands import answer_of, inference_command, reading
from wizard.after.step import Ran, Step, require_success, run_step
from wizard.after.trained import Trained
from wizard.files import atomic_write_text
from wizard.launch.checks import Preflight
from wizard.launch.manifest import plan_manifest_dir

PROMPT_FILE = "prompt.txt"  # kept beside the step's manifest: part of the record of what ran


@dataclass(frozen=True)
class Answer:
    text: str | None  # None: no answer found in inference's output (the log has it all)
    ran: Ran


def answer(trained: Trained, pre: Preflight, prompt: str) -> Answer:
    """The model's answer to `prompt`: inference reads it from a file in a folder made for it."""
    holder = plan_manifest_dir(trained.run_dir, 0, create=True)
    prompt_file = holder.path / PROMPT_FILE
    atomic_write_text(prompt_file, prompt)
    command = reading(inference_command(pre.python, trained, interactive=False),
                      f"{holder.relative}/{PROMPT_FILE}")  # fmt: skip
    ran = run_step(trained, pre, Step("chat", command, writes=False), None, holder)
    require_success(ran, "the model's answer")
    return Answer(answer_of(ran.outcome.ended.tail, prompt), ran)


def converse(trained: Trained, pre: Preflight) -> Ran:
    command = inference_command(pre.python, trained, interactive=True)
    ran = run_step(trained, pre, Step("chat", command, writes=False, interactive=True), None)
    if ran.outcome.ended.stopped_by is None:  # Ctrl-C ends a conversation: not a failure
        require_success(ran, "the chat")
    return ran
