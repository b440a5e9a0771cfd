"""The follow-ups' refusals that need no trained run: a run never trained, a full fine-tune's
merge, no eval split, chat without a terminal; and their pure parts (the answer in inference's
output, the converter's search, the upload's listing, the Next lines)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_wizard
from tiny_fixtures import new_run, tiny_root, workspace

from wizard.after.commands import answer_of
from wizard.after.export import find_converter, upload_of
from wizard.after.nextsteps import next_steps
from wizard.after.trained import trained_run
from wizard.errors import WizardError

__all__ = ["tiny_root"]

# What Axolotl 0.19's inference printed for the tiny Llama (log lines left out): the streamed
# text, then the whole sequence decoded, between rules of 80 `=`.
RULE = "=" * 80
INFERENCE_OUTPUT = f"""{RULE}
Give me an instruction (Ctrl + D to submit): 
{RULE}
{RULE}
<s>Below is an instruction. ### Instruction:
Reverse the order of the words.

### Response:
apple apple</s>
{RULE}
<s>Below is an instruction. ### Instruction:
Reverse the order of the words.

### Response:
apple apple</s>
{RULE}
Give me an instruction (Ctrl + D to submit): 
{RULE}
"""  # noqa: W291


def test_answer_is_what_follows_the_prompt() -> None:
    assert answer_of(INFERENCE_OUTPUT, "Reverse the order of the words.") == "apple apple"
    chatml = f"{RULE}\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello<|im_end|>\n"
    assert answer_of(chatml + RULE, "hi") == "hello"
    assert answer_of(INFERENCE_OUTPUT, "something never asked") is None
    # a model that says the prompt again: all it said is its answer
    echo = f"{RULE}\n<s>### Instruction:\nadd 4 + 8\n\n### Response:\nadd 4 + 8</s>\n{RULE}"
    assert answer_of(echo, "add 4 + 8") == "add 4 + 8"


def test_the_converter_is_found_by_option_environment_or_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = tmp_path / "llama.cpp"
    checkout.mkdir()
    monkeypatch.delenv("LLAMA_CPP_DIR", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(WizardError, match=r"convert_hf_to_gguf\.py was not found"):
        find_converter(None)
    with pytest.raises(WizardError, match=re.escape(f"{checkout} has no convert_hf_to_gguf.py")):
        find_converter(checkout)
    script = checkout / "convert_hf_to_gguf.py"
    script.write_text("print('converted')\n")
    assert find_converter(checkout) == script.resolve()
    monkeypatch.setenv("LLAMA_CPP_DIR", str(checkout))
    assert find_converter(None) == script.resolve()
    monkeypatch.delenv("LLAMA_CPP_DIR")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(checkout))
    assert find_converter(None) == script.resolve()


def test_the_upload_lists_the_model_files_only(tmp_path: Path) -> None:
    for name, size in (("model.safetensors", 10), ("config.json", 3), ("debug.log", 5),
                       (".hidden", 1)):  # fmt: skip
        (tmp_path / name).write_bytes(b"x" * size)
    (tmp_path / "checkpoint-8").mkdir()
    plan = upload_of("me/model", tmp_path)
    assert plan.files == [("config.json", 3), ("model.safetensors", 10)] and plan.total == 13
    with pytest.raises(WizardError, match="holds no files to upload"):
        upload_of("me/model", tmp_path / "checkpoint-8")


def test_next_steps_follow_the_method_and_the_eval_split(tiny_root: Path, tmp_path: Path) -> None:
    cwd = workspace(tiny_root, tmp_path)
    lora = next_steps(trained_run(new_run(cwd, "lora")))
    assert [line.split()[1] for line in lora] == ["merge", "chat", "export", "runs"]
    full = trained_run(new_run(cwd, "full", "method.kind=full", "training.val_set_size=0.1"))
    assert [line.split()[1] for line in next_steps(full)] == ["chat", "evaluate", "export", "runs"]


@pytest.mark.integration
def test_refusals_before_anything_starts(tiny_root: Path, tmp_path: Path) -> None:
    cwd = workspace(tiny_root, tmp_path)
    lora = new_run(cwd, "lora")
    untrained = run_wizard("chat", "lora", "--prompt", "hi", cwd=cwd)
    assert untrained.returncode == 1
    assert untrained.stderr.splitlines() == [
        f"error: {lora.resolve() / 'outputs'} holds no adapter (adapter_config.json and "
        "adapter_model.safetensors), and the run trains a lora adapter; nothing was started",
        f"hint: train it first: axolotl-wizard launch {lora.resolve()}",
    ]
    assert not (lora / "launches").exists()  # a refused step leaves no record
    new_run(cwd, "full", "method.kind=full")
    merge = run_wizard("merge", "full", cwd=cwd)
    assert merge.returncode == 1 and len(merge.stderr.splitlines()) == 2
    assert merge.stderr.startswith("error: this run is a full fine-tune: there is no adapter")
    config = lora / "axolotl.yml"
    config.write_text(config.read_text() + "lm_eval_tasks: [hellaswag]\n")
    # A Python without lm_eval (nor Axolotl: preflight says that too).
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "bare")],
                   check=True, timeout=120)  # fmt: skip
    bare = str(tmp_path / "bare" / "bin" / "python")
    evaluate = run_wizard("evaluate", "lora", "--python", bare, cwd=cwd)
    assert evaluate.returncode == 1 and "this run has no eval split" in evaluate.stderr
    assert (f"warning: the config names lm_eval_tasks (hellaswag), and lm_eval is not installed "
            f"for {bare}: only the eval loss runs") in evaluate.stderr  # fmt: skip
    assert f"error: axolotl is not importable by {bare}" in evaluate.stderr
    chat = run_wizard("chat", "lora", cwd=cwd, input="")
    assert chat.returncode == 2 and "needs a terminal" in chat.stderr
    dry = run_wizard("export", "lora", "--dry-run", cwd=cwd)
    assert dry.returncode == 2 and "--dry-run goes with --push-to-hub" in dry.stderr
    for done in (untrained, merge, evaluate, chat, dry):
        assert "Traceback" not in done.stderr
    assert not os.path.exists(lora / "outputs" / "merged")
