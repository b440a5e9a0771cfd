"""The interview with a scripted prompter: every branch, and Enter-everywhere == --yes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import TESTS
from scripted import ENTER, EOF, INTERRUPT, ScriptedPrompter

from wizard import cli
from wizard.errors import WizardError
from wizard.gpus.catalog import lookup
from wizard.gpus.detect import Detected
from wizard.interview.flow import Interview, fixed_keys
from wizard.presets.assemble import collect_answers

DATA = TESTS / "data" / "sniff"
METHOD_TINY = [  # tiny-cpu's method, all defaults
    ("method.kind", ENTER), ("method.r", ENTER), ("method.alpha", ENTER),
    ("method.target_modules", ENTER),
]  # fmt: skip
TRAINING_TINY = [  # tiny-cpu, from the training section on, all defaults
    ("training.sequence_len", ENTER),
    ("training.sample_packing", ENTER), ("training.micro_batch_size", ENTER),
    ("training.effective_batch_size", ENTER), ("training.num_epochs", ENTER),
    ("training.max_steps", ENTER), ("training.learning_rate", ENTER),
    ("training.output_dir", ENTER), ("advanced.gate", ENTER), ("output.gate", ENTER),
]  # fmt: skip
TAIL_TINY = [*METHOD_TINY, *TRAINING_TINY]  # a CPU run asks no sharding between them
HEAD_TINY = [
    ("model.base_model", ENTER), ("datasets.0.path", ENTER), ("datasets.0.format", ENTER),
    ("datasets.more", ENTER), ("training.val_set_size", ENTER), ("hardware.accelerator", ENTER),
]  # fmt: skip


class EnterEverywhere(ScriptedPrompter):
    """Presses Enter at whatever is asked (the review's default is `write`)."""

    def _next(self, key: str, default: Any) -> Any:
        self.asked.append(key)
        self.defaults[key] = default
        return default


def interview(
    script: list[tuple[str, Any]],
    preset: str | None = None,
    sets: tuple[str, ...] = (),
    **options: Any,
) -> tuple[Interview, ScriptedPrompter]:
    answers, _ = collect_answers(preset, None, list(sets))
    prompter = ScriptedPrompter(list(script))
    return Interview(answers, prompter, fixed=fixed_keys(answers), **options), prompter


def run_through_cli(
    monkeypatch: pytest.MonkeyPatch, prompter: ScriptedPrompter, argv: list[str]
) -> int:
    """`axolotl-wizard new …` in-process, its interview answered by `prompter`."""
    import wizard.interview.flow as module

    def scripted(answers: Any, run_dir: Path | None = None, trust_remote_code: bool = False) -> Any:
        iv = Interview(
            answers,
            prompter,
            fixed=fixed_keys(answers),
            run_dir=run_dir,
            trust_remote_code=trust_remote_code,
        )
        return iv.run(), iv.preset, iv.preview

    monkeypatch.setattr(module, "interview_in_terminal", scripted)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    return cli.main(argv)


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}  # fmt: skip


@pytest.mark.parametrize(
    ("preset", "sets"),
    [
        ("tiny-cpu", []),
        ("llama-3.1-8b-qlora", ["datasets.0.path=data/train.jsonl"]),
        ("llama-3.1-8b-full-zero3", ["datasets.0.path=org/chat-data"]),
        ("gemma-2-9b-qlora", ["datasets.0.path=data/train.jsonl"]),
    ],
)
def test_enter_everywhere_writes_what_yes_writes(
    preset: str, sets: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    set_args = [arg for item in sets for arg in ("--set", item)]
    assert cli.main(["new", "yes", "--preset", preset, *set_args, "--yes"]) == 0
    prompter = EnterEverywhere([])
    assert run_through_cli(monkeypatch, prompter, ["new", "asked", "--preset", preset,
                                                   *set_args]) == 0  # fmt: skip
    assert folder_bytes(tmp_path / "asked") == folder_bytes(tmp_path / "yes")
    assert "review" in prompter.asked and "start" not in prompter.asked
    assert not any(key in prompter.asked for key in (s.split("=")[0] for s in sets))


def test_set_answers_are_not_asked_and_typed_answers_win() -> None:
    script = [*HEAD_TINY, *TAIL_TINY[:7], ("training.effective_batch_size", "8"), *TAIL_TINY[8:],
              ("review", "write")]  # fmt: skip
    script = [item for item in script if item[0] != "method.r"]
    iv, prompter = interview(script, "tiny-cpu", ("method.r=4",))
    spec = iv.run().resolve()
    assert "method.r" not in prompter.asked
    assert spec.method.r == 4  # type: ignore[union-attr]
    assert spec.training.effective_batch_size == 8
    assert spec.training.gradient_accumulation_steps is None  # cleared: only one may be set
    assert spec.gradient_accumulation == 4


def test_a_bad_value_is_asked_again_with_the_reason() -> None:
    tail = [("training.micro_batch_size", "0"), ("training.micro_batch_size", "many"),
            ("training.micro_batch_size", "4")]  # fmt: skip
    script = [*HEAD_TINY, *TAIL_TINY[:6], *tail, *TAIL_TINY[7:], ("review", "write")]
    iv, prompter = interview(script, "tiny-cpu")
    assert iv.run().resolve().training.micro_batch_size == 4
    reasons = [reason for key, reason in prompter.rejections]
    assert reasons[0] == "Input should be greater than or equal to 1 (got '0')"
    assert "valid integer" in reasons[1]


def test_a_sub_model_rule_rejects_at_the_prompt() -> None:
    """Gradient accumulation and effective batch are one rule inside TrainingSpec."""
    iv, _ = interview([], "tiny-cpu")
    assert iv.submodel_reason("training.effective_batch_size", 8) is not None
    assert iv.submodel_reason("training.effective_batch_size", 8,
                              {"gradient_accumulation_steps": None}) is None  # fmt: skip


def test_a_cross_field_error_sends_the_user_back_to_its_question() -> None:
    script = [*HEAD_TINY, *TAIL_TINY[:7], ("training.effective_batch_size", "3"), *TAIL_TINY[8:],
              ("training.effective_batch_size", "6"), ("review", "write")]  # fmt: skip
    iv, prompter = interview(script, "tiny-cpu")
    assert iv.run().resolve().training.effective_batch_size == 6
    assert any("not a multiple of micro_batch_size" in text for text in prompter.shown)
    assert prompter.asked[-2:] == ["training.effective_batch_size", "review"]


def test_review_goes_back_to_a_section_then_writes() -> None:
    script = [*HEAD_TINY, *TAIL_TINY, ("review", "back:validation"),
              ("training.val_set_size", "0.1"), ("training.eval_steps", ENTER),
              ("review", "write")]  # fmt: skip
    iv, _ = interview(script, "tiny-cpu")
    assert iv.run().resolve().training.val_set_size == 0.1


def test_review_cancel_writes_nothing_and_is_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prompter = ScriptedPrompter([*HEAD_TINY, *TAIL_TINY, ("review", "cancel")])
    code = run_through_cli(monkeypatch, prompter, ["new", str(tmp_path / "run"),
                                                   "--preset", "tiny-cpu"])  # fmt: skip
    assert code == 0  # a chosen Cancel; only Ctrl-C is 130
    assert not (tmp_path / "run").exists()
    err = capsys.readouterr().err
    assert "nothing was written" in err and "error:" not in err


@pytest.mark.parametrize(("answer", "code"), [(INTERRUPT, 130), (EOF, 1)])
def test_ctrl_c_and_eof_write_nothing(
    answer: Any,
    code: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prompter = ScriptedPrompter([*HEAD_TINY[:2], ("datasets.0.format", answer)])
    argv = ["new", str(tmp_path / "run"), "--preset", "tiny-cpu"]
    assert run_through_cli(monkeypatch, prompter, argv) == code
    assert not (tmp_path / "run").exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert "nothing was written" in err[0]


def test_start_from_a_preset_then_answer_everything(tmp_path: Path) -> None:
    data = tmp_path / "chat.json"
    data.write_text((DATA / "sharegpt.json").read_text())
    script = [
        ("start", "qwen2.5-7b-lora"), ("model.base_model", "<hub id>"),
        ("model.base_model:hub", "not a hub id"), ("model.base_model:hub", "my-org/my-model"),
        ("datasets.0.path", str(tmp_path / "missing.jsonl")), ("datasets.0.path", str(data)),
        ("datasets.0.format", ENTER), ("datasets.0.field_messages", ENTER),
        ("datasets.0.role_key", ENTER), ("datasets.0.content_key", ENTER),
        ("datasets.0.roles_to_train", ENTER),
        ("datasets.more", True), ("datasets.1.path", "org/more-data"),
        ("datasets.1.format", "alpaca"), ("datasets.1.split", "train"), ("datasets.more", False),
        ("data.chat_template", "chatml"), ("training.val_set_size", "0.05"),
        ("training.eval_steps", "10"), ("hardware.accelerator", ENTER),
        ("hardware.gpu", "other"), ("hardware.gpu:memory", "32"),
        ("hardware.bf16_supported", False), ("hardware.gpus_per_node", "2"),
        ("hardware.nodes", ENTER), ("hardware.host_ram_gib", "256"), ("method.kind", "full"),
        ("distributed.backend", "deepspeed"), ("distributed.zero_stage", "2"),
        *TAIL_TINY[4:12], ("advanced.gate", True), *advanced_enters(deepspeed=True, lora=False),
        ("output.gate", True), ("tracking.wandb_project", "my-project"),
        ("tracking.wandb_entity", ENTER), ("tracking.mlflow_tracking_uri", ENTER),
        ("tracking.use_tensorboard", True), ("hub.model_id", "my-org/my-run"),
        ("hub.strategy", "end"), ("review", "write"),
    ]  # fmt: skip
    iv, prompter = interview(script)
    iv.ask_start = True
    spec = iv.run().resolve()
    assert iv.preset is not None and iv.preset.name == "qwen2.5-7b-lora"
    assert spec.model.base_model == "my-org/my-model"
    first, second = spec.datasets
    assert (first.format, first.field_messages, first.role_key, first.content_key) == (
        "chat_template",
        "conversations",
        "from",
        "value",
    )
    assert (second.path, second.format, second.split) == ("org/more-data", "alpaca", "train")
    assert (spec.hardware.gpu, spec.hardware.gpu_memory_gib, spec.hardware.bf16_supported) == (
        None, 32, False)  # fmt: skip
    assert spec.hardware.host_ram_gib == 256
    assert spec.distributed.zero_stage == 2 and spec.method.kind == "full"
    assert (spec.data.chat_template, spec.training.eval_steps) == ("chatml", 10)
    assert (spec.tracking.wandb_project, spec.tracking.use_tensorboard) == ("my-project", True)
    assert (spec.hub.model_id, spec.hub.strategy) == ("my-org/my-run", "end")
    rejected = dict(prompter.rejections)
    assert "org/name" in rejected["model.base_model:hub"]
    assert "no such file" in rejected["datasets.0.path"]
    assert any("Looks like chat_template" in text for text in prompter.shown)


def advanced_enters(deepspeed: bool, lora: bool) -> list[tuple[str, Any]]:
    keys = ["model.trust_remote_code", *(["method.dropout"] if lora else []),
            "training.lr_scheduler", "training.warmup_ratio", "training.optimizer",
            "training.weight_decay", "training.gradient_checkpointing", "training.precision",
            "training.attention", *(["distributed.offload_optimizer"] if deepspeed else []),
            "training.seed", "training.logging_steps", "training.saves_per_epoch",
            "training.save_total_limit", "training.max_grad_norm",
            *(["method.load_in_8bit"] if lora else []),
            "speed.liger_rms_norm", "speed.liger_glu_activation",
            "speed.cut_cross_entropy"]  # fmt: skip
    return [(key, ENTER) for key in keys]


def test_local_model_folder_and_method_memory_notes(tmp_path: Path) -> None:
    config = {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2,
              "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 128,
              "vocab_size": 256, "max_position_embeddings": 512}  # fmt: skip
    (tmp_path / "empty").mkdir()
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text(json.dumps(config))
    script = [
        ("model.base_model", "<local folder>"), ("model.base_model:local", str(tmp_path / "empty")),
        ("model.base_model:local", str(tmp_path / "model")), *HEAD_TINY[1:], ("method.kind", ENTER),
        ("method.r", ENTER), ("method.alpha", ENTER), ("method.target_modules", ["q_proj"]),
        *TAIL_TINY[4:], ("review", "write"),
    ]  # fmt: skip
    script = [item for item in script if item[0] != "hardware.accelerator"]
    gpu = ("hardware.accelerator=cuda", "hardware.gpu_memory_gib=24", "hardware.gpus_per_node=1",
           "hardware.nodes=1", "hardware.host_ram_gib=64", "distributed.backend=none")  # fmt: skip
    iv, prompter = interview(script, "tiny-cpu", gpu)
    spec = iv.run().resolve()
    assert spec.model.base_model == str(tmp_path / "model")
    assert spec.method.target_modules == ["q_proj"]  # type: ignore[union-attr]
    assert "config.json" in dict(prompter.rejections)["model.base_model:local"]
    assert any("llama, 0.00 B parameters" in text for text in prompter.shown)
    assert "GiB peak per GPU of 24 GiB, host RAM 3 GiB of 64 GiB: fits" in prompter.shown[-1]


def test_checkbox_refuses_no_layers_and_all_means_all_linear() -> None:
    targets = ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]
    script = [*HEAD_TINY, *TAIL_TINY[:3], ("method.target_modules", []),
              ("method.target_modules", targets), *TAIL_TINY[4:], ("review", "write")]  # fmt: skip
    iv, prompter = interview(script, "tiny-cpu")
    assert iv.run().resolve().method.target_modules == "all-linear"  # type: ignore[union-attr]
    assert "empty list" in dict(prompter.rejections)["method.target_modules"]


def test_detected_gpus_are_the_default() -> None:
    gpu_part = [("hardware.accelerator", "cuda"), ("hardware.gpu", ENTER),
                ("hardware.gpus_per_node", ENTER), ("hardware.nodes", ENTER),
                ("hardware.host_ram_gib", ENTER)]  # fmt: skip
    script = [*HEAD_TINY[:5], *gpu_part, *METHOD_TINY, ("distributed.backend", ENTER),
              *TRAINING_TINY, ("review", "write")]  # fmt: skip
    detected = Detected("H200", 140.3, True, 4, lookup("NVIDIA H200"))
    iv, prompter = interview(script, "tiny-cpu", ("training.precision=auto",
                                                 "training.optimizer=adamw_torch"),
                             detected=detected, host_ram_gib=1843.2)  # fmt: skip
    iv.answers.layers[0].values.pop("hardware.gpus_per_node")  # the preset gives it; drop that
    spec = iv.run().resolve()
    assert (spec.hardware.gpu, spec.hardware.memory_gib, spec.hardware.gpus_per_node) == (
        "H200", 140.3, 4)  # fmt: skip
    assert spec.hardware.host_ram_gib == 1843.2  # this machine's RAM, detected with its GPUs
    assert prompter.defaults["hardware.gpu"] == "detected"


def test_a_named_gpu_sets_memory_bf16_and_the_recipe() -> None:
    gpu_part = [("hardware.accelerator", "cuda"), ("hardware.gpu", "T4"),
                ("hardware.gpus_per_node", ENTER), ("hardware.nodes", ENTER),
                ("hardware.host_ram_gib", ENTER)]  # fmt: skip
    script = [*HEAD_TINY[:5], *gpu_part, *METHOD_TINY, ("distributed.backend", ENTER),
              *TRAINING_TINY, ("review", "write")]  # fmt: skip
    iv, prompter = interview(script, "tiny-cpu", ("training.optimizer=adamw_torch",))
    spec = iv.run().resolve()
    assert (spec.hardware.gpu, spec.hardware.memory_gib, spec.hardware.bf16) == (
        "T4", 15.0, False)  # fmt: skip
    assert spec.hardware.host_ram_gib is None  # Enter keeps the T4 machine's default
    assert prompter.defaults["hardware.host_ram_gib"] == "48"
    assert (spec.resolved_precision, spec.resolved_attention) == ("fp16", "sdpa")


def test_switching_the_format_resets_the_chat_mapping(tmp_path: Path) -> None:
    script = [
        ("model.base_model", ENTER),
        ("datasets.0.path", str(DATA / "alpaca.jsonl")),
        ("datasets.0.format", ENTER),
        *HEAD_TINY[3:],
        *TAIL_TINY,
        ("review", "write"),
    ]
    sets = ("datasets.0.format=chat_template", "datasets.0.field_messages=conversations")
    iv, prompter = interview(script, "tiny-cpu", ())
    iv.answers.layers[-2].set("datasets.0.format", "chat_template")
    iv.answers.layers[-2].set("datasets.0.field_messages", "conversations")
    spec = iv.run().resolve()
    assert (spec.datasets[0].format, spec.datasets[0].field_messages) == ("alpaca", "messages")
    assert prompter.defaults["datasets.0.format"] == "alpaca"  # proposed by the data
    assert sets  # the same answers a user could give with --set


def test_locked_answers_are_not_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from wizard.answers.layers import Layer, LayerKind

    answers, _ = collect_answers("tiny-cpu", None, [])
    answers.layers.append(Layer("locked by preset builtin:tiny-cpu", {"training.seed": 42,
                                    "method.r": 8}, kind=LayerKind.LOCK))  # fmt: skip
    assert {"method.r", "training.seed"} <= fixed_keys(answers)


def test_a_locked_dataset_list_cannot_grow_through_the_interview() -> None:
    """A preset's locks sit below the interview's own layer: the interview must not offer to add
    a dataset to a list the preset locks (the locks of `--set` and answers files hold too)."""
    from wizard.answers.layers import Layer, LayerKind

    answers, _ = collect_answers("tiny-cpu", None, [])
    locked = {"datasets.0.path": "tiny-data/alpaca.jsonl", "datasets.0.format": "alpaca"}
    answers.layers.append(Layer("locked by preset builtin:tiny-cpu", locked, kind=LayerKind.LOCK))
    script = [("model.base_model", ENTER), *HEAD_TINY[4:], *TAIL_TINY, ("review", "write")]
    prompter = ScriptedPrompter(list(script))
    iv = Interview(answers, prompter, fixed=fixed_keys(answers))
    assert len(iv.run().resolve().datasets) == 1
    assert "datasets.more" not in prompter.asked


def test_stdin_not_a_terminal_is_a_clear_error_before_any_question(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "wizard", "new", str(tmp_path / "run"), "--preset", "tiny-cpu"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "needs a terminal" in done.stderr and "--yes" in done.stderr
    assert not (tmp_path / "run").exists()


def test_new_yes_never_imports_questionary_or_rich_prompts(tmp_path: Path) -> None:
    code = (
        "import sys; from wizard import cli; "
        f"rc = cli.main(['new', {str(tmp_path / 'r')!r}, '--preset', 'tiny-cpu', '--yes']); "
        "heavy = [m for m in ('questionary', 'prompt_toolkit', 'wizard.interview.flow', "
        "'torch') "
        "if m in sys.modules]; print(rc, heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.stdout.strip().splitlines()[-1] == "0 []"


def test_eof_becomes_a_wizard_error() -> None:
    iv, _ = interview([("model.base_model", EOF)], "tiny-cpu")
    with pytest.raises(WizardError, match="input ended"):
        iv.run()


# Questions pressing Enter through each built-in preset asked before the breadth answers (issue
# 14), counted with EnterEverywhere; the new answers may add at most three to each.
ASKED_BEFORE_BREADTH = {
    "gemma-2-9b-qlora": 27, "llama-3.1-8b-full-zero3": 25, "llama-3.1-8b-lora": 27,
    "llama-3.1-8b-qlora": 27, "llama-3.2-1b-lora": 24, "llama-3.3-70b-qlora": 28,
    "mistral-7b-qlora": 24, "phi-3.5-mini-lora": 24, "qwen2.5-0.5b-full": 24,
    "qwen2.5-7b-lora": 27, "qwen3-14b-qlora": 27, "tiny-cpu": 20,
}  # fmt: skip
# Questions added since, each by an issue that asked for it: the host's RAM (issue 26: a plan
# fits only where the host holds what it offloads).
ADDED_SINCE = {"hardware.host_ram_gib"}


@pytest.mark.parametrize("preset", sorted(ASKED_BEFORE_BREADTH))
def test_enter_through_a_preset_asks_at_most_three_more_questions(
    preset: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    prompter = EnterEverywhere([])
    argv = ["new", "run", "--preset", preset, "--set", "datasets.0.path=org/data"]
    assert run_through_cli(monkeypatch, prompter, argv) == 0
    added = len(ADDED_SINCE & set(prompter.asked))
    assert len(prompter.asked) - ASKED_BEFORE_BREADTH[preset] - added <= 3, prompter.asked


@pytest.mark.parametrize(
    ("data", "offered", "proposed", "rl_type"),
    [
        ("preference.jsonl", ["dpo", "ipo", "orpo", "simpo"], "dpo", "chat_template.default"),
        ("unpaired.jsonl", ["kto"], "kto", "chatml.prompt_pairs"),
    ],
)
def test_preference_data_proposes_its_objective(
    tmp_path: Path, data: str, offered: list[str], proposed: str, rl_type: str
) -> None:
    """The objective is asked right after the data (before the hardware, the method and the
    sharding, whose memory notes depend on it): only those that read this data, the data's own
    proposed first; packing is not asked (RL cannot pack)."""
    script = [
        ("model.base_model", ENTER), ("datasets.0.path", str(DATA / data)),
        ("datasets.0.format", ENTER), ("datasets.more", ENTER), ("data.chat_template", "chatml"),
        ("objective.kind", ENTER), *HEAD_TINY[4:], *TAIL_TINY[:4],
        *[step for step in TAIL_TINY[4:] if step[0] != "training.sample_packing"],
        ("review", "write"),
    ]  # fmt: skip
    iv, prompter = interview(script, "tiny-cpu")
    spec = iv.run().resolve()
    assert prompter.offered["objective.kind"] == offered
    assert prompter.defaults["objective.kind"] == proposed
    assert prompter.asked.index("objective.kind") < prompter.asked.index("method.kind")
    assert "training.sample_packing" not in prompter.asked
    assert spec.objective.kind == proposed and spec.resolved_packing is False
    from wizard.render.axolotl_config import render_axolotl

    config = render_axolotl(spec).as_dict()
    assert config["rl"] == proposed and config["datasets"][0]["type"] == rl_type


def test_sft_data_is_not_asked_an_objective() -> None:
    iv, prompter = interview([*HEAD_TINY, *TAIL_TINY, ("review", "write")], "tiny-cpu")
    assert iv.run().resolve().objective.kind == "sft"
    assert "objective.kind" not in prompter.asked
