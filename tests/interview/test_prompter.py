"""The real questionary prompts, driven through prompt_toolkit's pipe input."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from wizard.interview.prompter import Choice, QuestionaryPrompter

DOWN, ENTER, CTRL_C, CLEAR = "\x1b[B", "\r", "\x03", "\x15"


@pytest.fixture
def pipe() -> Iterator[tuple[QuestionaryPrompter, object]]:
    with create_pipe_input() as stream:
        yield QuestionaryPrompter(stream=io.StringIO(), input=stream, output=DummyOutput()), stream


def test_select_moves_over_a_group_header(pipe: tuple[QuestionaryPrompter, object]) -> None:
    prompter, stream = pipe
    stream.send_text(DOWN + ENTER)  # type: ignore[attr-defined]
    choices = [Choice("a"), Choice.group("more"), Choice("b", note="second")]
    assert prompter.select("k", "Pick", choices, "a") == "b"


def test_select_enter_takes_the_default(pipe: tuple[QuestionaryPrompter, object]) -> None:
    prompter, stream = pipe
    stream.send_text(ENTER)  # type: ignore[attr-defined]
    assert prompter.select("k", "Pick", [Choice("a"), Choice("b")], "b", search=True) == "b"


def test_text_asks_again_until_the_validator_accepts(
    pipe: tuple[QuestionaryPrompter, object],
) -> None:
    prompter, stream = pipe
    seen: list[str] = []

    def digits(text: str) -> str | None:
        seen.append(text)
        return None if text.isdigit() else "digits only"

    stream.send_text(CLEAR + "abc" + ENTER + CLEAR + "12" + ENTER)  # type: ignore[attr-defined]
    assert prompter.text("k", "Number", "5", digits) == "12"
    assert seen == ["abc", "12"]


def test_confirm_and_path(pipe: tuple[QuestionaryPrompter, object]) -> None:
    prompter, stream = pipe
    stream.send_text("n")  # type: ignore[attr-defined]
    assert prompter.confirm("k", "Sure?", True) is False
    stream.send_text(ENTER)  # type: ignore[attr-defined]
    assert prompter.path("k", "File", "./README.md", lambda t: None) == "./README.md"


def test_checkbox_toggles_and_validates(pipe: tuple[QuestionaryPrompter, object]) -> None:
    prompter, stream = pipe
    # Unticking everything is refused; then tick the second one back.
    stream.send_text(" " + DOWN + " " + ENTER + " " + ENTER)  # type: ignore[attr-defined]
    choices = [Choice("x"), Choice("y")]
    assert prompter.checkbox("k", "Layers", choices, ["x", "y"],
                             lambda s: None if s else "pick one") == ["y"]  # fmt: skip


def test_ctrl_c_raises_and_closed_input_is_eof(pipe: tuple[QuestionaryPrompter, object]) -> None:
    prompter, stream = pipe
    stream.send_text(CTRL_C)  # type: ignore[attr-defined]
    with pytest.raises(KeyboardInterrupt):
        prompter.text("k", "Name", "")
    stream.close()  # type: ignore[attr-defined]
    with pytest.raises(EOFError):
        prompter.confirm("k", "Sure?", True)
