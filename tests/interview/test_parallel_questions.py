"""Context and tensor parallelism are asked only when the run calls for them (issue 32): a long
sequence on several GPUs, a model whose weights fill one GPU. Other runs never see them."""

from __future__ import annotations

from test_interview import EnterEverywhere

from wizard.answers.layers import Answers, Layer, LayerKind
from wizard.interview.flow import Interview, fixed_keys
from wizard.interview.needs import LONG_SEQUENCE
from wizard.presets.assemble import collect_answers

CP, TP = "distributed.context_parallel_size", "distributed.tensor_parallel_size"
RUN = ("datasets.0.path=org/chat", "datasets.0.format=chat_template", "hardware.gpu=H100")


def asked(*sets: str, typed: dict[str, object] | None = None) -> list[str]:
    """The keys the interview asks, Enter pressed everywhere, with `sets` given by --set and
    `typed` as if answered earlier in the interview (not fixed: still asked)."""
    answers, _ = collect_answers(None, None, [*RUN, *sets])
    if typed:
        answers = Answers([*answers.layers, Layer("typed", typed, kind=LayerKind.SET)])
    prompter = EnterEverywhere([])
    Interview(answers, prompter, fixed=fixed_keys(answers) - set(typed or {})).run()
    return prompter.asked


def test_a_short_run_of_a_small_model_is_not_asked_either() -> None:
    keys = asked("model.base_model=meta-llama/Llama-3.1-8B-Instruct", "hardware.gpus_per_node=8",
                 "training.sequence_len=4096")  # fmt: skip
    assert CP not in keys and TP not in keys
    assert "training.micro_batch_size" in keys  # the questions around them are asked


def test_a_long_sequence_on_several_gpus_asks_for_context_parallelism() -> None:
    keys = asked("model.base_model=meta-llama/Llama-3.1-8B-Instruct", "hardware.gpus_per_node=8",
                 f"training.sequence_len={LONG_SEQUENCE}")  # fmt: skip
    assert CP in keys and TP not in keys
    assert keys.index(CP) < keys.index("training.micro_batch_size")


def test_the_sequence_typed_in_the_interview_decides() -> None:
    """Asked after the sequence length: the length typed a moment earlier counts."""
    base = ("model.base_model=meta-llama/Llama-3.1-8B-Instruct", "hardware.gpus_per_node=8")
    assert CP in asked(*base, typed={"training.sequence_len": 65536})
    assert CP not in asked(*base, typed={"training.sequence_len": 8192})


def test_one_gpu_is_never_asked() -> None:
    keys = asked("model.base_model=meta-llama/Llama-3.1-70B-Instruct", "hardware.gpus_per_node=1",
                 "training.sequence_len=65536", "method.kind=qlora")  # fmt: skip
    assert CP not in keys and TP not in keys


def test_a_model_whose_weights_fill_a_gpu_asks_for_tensor_parallelism() -> None:
    # Llama 3.1 70B: 141 GB of 16-bit weights against 80 GB; as QLoRA 35 GB, which fits.
    big = ("model.base_model=meta-llama/Llama-3.1-70B-Instruct", "hardware.gpus_per_node=8",
           "training.sequence_len=4096")  # fmt: skip
    keys = asked(*big, "method.kind=lora")
    assert TP in keys and CP not in keys
    assert TP not in asked(*big, "method.kind=qlora")
