"""Axolotl's own commands for a trained run (pure: argv, nothing runs). Each reads the run's
config, started in the run folder, with overrides that point it at what training produced:
`--lora_model_dir` at the adapter, or `--base_model` at a full fine-tune's weights."""

from __future__ import annotations

import re

from wizard.after.trained import Trained
from wizard.axolotl import keys as K
from wizard.launch.command import LaunchCommand

MERGE_MODULE = "axolotl.cli.merge_lora"
INFERENCE_MODULE = "axolotl.cli.inference"
EVALUATE_MODULE = "axolotl.cli.evaluate"
MAIN_MODULE = "axolotl.cli.main"  # `axolotl lm-eval CONFIG`
# Axolotl's inference builds an Alpaca prompt from the instruction typed for a run trained on
# Alpaca records; a chat template (the config's, or its first dataset's) it applies itself.
ALPACA = "alpaca"
ALPACA_PROMPTER = "AlpacaPrompter"
# What inference prints between its parts (axolotl/cli/inference.py: `print("=" * 80)`).
RULE = "=" * 80
# Markup around an answer in the decoded text: special tokens (`<s>`, `<|im_end|>`), the role
# line a chat template opens the answer with, Alpaca's `### Response:` header.
_MARKUP = re.compile(r"<\|?/?[A-Za-z_][\w.]*\|?>|\[/?INST\]")
_OPENING = re.compile(r"^\s*(?:### Response:|assistant\b|model\b)?\s*")


# What spreads a training over several processes. Inference and evaluate run in one, where
# Axolotl's config loading would still set them up (a DeepSpeed run's child fails initialising
# torch.distributed): cleared as Axolotl's own merge-lora clears them (cli/merge_lora.py).
# Axolotl's CLI reads its overrides with fire, which reads `None` as Python's None.
SEVERAL_PROCESSES = (K.DEEPSPEED, K.FSDP, K.FSDP_CONFIG, K.CONTEXT_PARALLEL_SIZE,
                     K.TENSOR_PARALLEL_SIZE, K.DP_SHARD_SIZE, K.DP_REPLICATE_SIZE)  # fmt: skip


def model_overrides(trained: Trained) -> list[str]:
    """What the command loads, in one process: the base model with the trained adapter, or the
    trained model."""
    config = trained.target.config
    one_process = [f"--{key}=None" for key in SEVERAL_PROCESSES if config.value(key) is not None]
    if trained.adapter is not None:
        return [f"--lora_model_dir={trained.output_arg}", *one_process]
    return [f"--base_model={trained.output_arg}", *one_process]


def merge_command(python: str, trained: Trained, into: str) -> LaunchCommand:
    """Axolotl's merge-lora, writing `<into>/merged` (its `output_dir` is overridden to `into`,
    a folder of our own, so a merge that fails leaves the run's outputs as they were)."""
    config = trained.target.config_arg
    argv = [python, "-m", MERGE_MODULE, config, f"--lora_model_dir={trained.output_arg}",
            f"--output_dir={into}"]  # fmt: skip
    return LaunchCommand(argv)


def inference_command(python: str, trained: Trained, interactive: bool) -> LaunchCommand:
    """Axolotl's inference: one instruction read from stdin up to its end (then it answers and
    exits), or, on a terminal, its multi-turn `--chat` for a run with a chat template."""
    argv = [python, "-m", INFERENCE_MODULE, trained.target.config_arg, *model_overrides(trained)]
    prompter = prompter_of(trained)
    if prompter is not None:
        argv.append(f"--prompter={prompter}")
    elif interactive:
        argv.append("--chat")
    return LaunchCommand(argv)


def reading(command: LaunchCommand, stdin_file: str) -> LaunchCommand:
    """`command` with its standard input read from `stdin_file` (the launcher's child runner
    gives it none): inference reads the instruction there up to its end, answers, and exits."""
    return LaunchCommand(["/bin/sh", "-c", 'exec "$@" < "$0"', stdin_file, *command.argv],
                         command.env)  # fmt: skip


def prompter_of(trained: Trained) -> str | None:
    """Alpaca's prompter for a run trained on Alpaca records without a chat template."""
    config = trained.target.config
    if config.value(K.CHAT_TEMPLATE):
        return None
    first = config.datasets[0] if config.datasets else None
    kind = first.get("type") if isinstance(first, dict) else None
    return ALPACA_PROMPTER if kind == ALPACA else None


def evaluate_command(python: str, trained: Trained, into: str) -> LaunchCommand:
    """Axolotl's evaluate on the run's train and eval splits; its `eval_summary.csv` goes to
    `into` (the step's own record folder), not over the run's outputs."""
    argv = [python, "-m", EVALUATE_MODULE, trained.target.config_arg, *model_overrides(trained),
            f"--output_dir={into}"]  # fmt: skip
    return LaunchCommand(argv)


def lm_eval_command(python: str, trained: Trained) -> LaunchCommand:
    return LaunchCommand([python, "-m", MAIN_MODULE, "lm-eval", trained.target.config_arg])


def answer_of(output: str, prompt: str) -> str | None:
    """The model's answer in inference's output: its last part is the whole sequence decoded
    (prompt, template and answer); the answer is what follows the prompt's first occurrence
    (a model may say the prompt again), markup removed."""
    parts = [part.strip("\n") for part in output.split(RULE)]
    decoded = [part for part in parts if prompt.strip() and prompt.strip() in part]
    if not decoded:
        return None
    text = decoded[-1]
    after = text[text.find(prompt.strip()) + len(prompt.strip()) :]
    return _OPENING.sub("", _MARKUP.sub("", after)).strip()
