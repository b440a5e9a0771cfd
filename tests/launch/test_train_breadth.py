"""The breadth answers are honoured by a real training run (issue 14's proof): a custom Jinja chat
template, special tokens, roles to train, eval every N steps on a held-out split, save_steps with
save_total_limit, and a TensorBoard log folder, on the tiny model on the CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import run_wizard
from tiny_fixtures import launch, new_run, tail, tiny_root, workspace

pytestmark = pytest.mark.integration
__all__ = ["tiny_root"]

# A ChatML-like template of our own, with the end-of-sequence token after every turn.
TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}"
    "{{ eos_token }}\n{% endfor %}"
)
SETS = [
    "datasets.0.path=tiny-data/chat.jsonl", "datasets.0.format=chat_template",
    "datasets.0.roles_to_train=[assistant]", "data.chat_template=jinja",
    "data.special_tokens.pad_token=<unk>", "training.val_set_size=0.1",
    "training.eval_steps=2", "training.max_steps=6", "training.save_steps=2",
    "training.save_total_limit=2", "tracking.use_tensorboard=true",
]  # fmt: skip


def chat_data(cwd: Path) -> None:
    alpaca = [json.loads(line) for line in (cwd / "tiny-data" / "alpaca.jsonl").open()]
    lines = [json.dumps({"messages": [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": row["instruction"]},
        {"role": "assistant", "content": row["output"]},
    ]}) for row in alpaca]  # fmt: skip
    (cwd / "tiny-data" / "chat.jsonl").write_text("\n".join(lines) + "\n")


def test_a_run_with_the_breadth_answers_trains_and_honours_them(
    tiny_root: Path, tmp_path: Path
) -> None:
    cwd = workspace(tiny_root, tmp_path)
    (cwd / "tiny-data").unlink()  # a folder of our own beside the shared alpaca file
    (cwd / "tiny-data").mkdir()
    (cwd / "tiny-data" / "alpaca.jsonl").symlink_to(tiny_root / "tiny-data" / "alpaca.jsonl")
    chat_data(cwd)
    first = new_run(cwd, "runs/first", *SETS)
    # The Jinja text goes in through the answers file, as a team would keep it.
    saved = yaml.safe_load((first / "wizard-answers.yml").read_text())
    saved["answers"]["data"]["chat_template_jinja"] = TEMPLATE
    (first / "wizard-answers.yml").write_text(yaml.safe_dump(saved, sort_keys=False))
    made = run_wizard("new", "runs/chat", "--answers", "runs/first/wizard-answers.yml", "--yes",
                      cwd=cwd)  # fmt: skip
    assert made.returncode == 0, made.stderr
    run_dir = cwd / "runs" / "chat"
    config = yaml.safe_load((run_dir / "axolotl.yml").read_text())
    assert config["chat_template_jinja"] == TEMPLATE
    assert config["datasets"][0]["roles_to_train"] == ["assistant"]

    done = launch(cwd, "runs/chat")

    assert done.returncode == 0, tail(done)
    outputs = run_dir / "outputs"
    log = next(run_dir.glob("launches/*/output.log")).read_text()
    assert log.count("'eval_loss'") >= 3  # every 2 of 6 steps, on the held-out tenth
    checkpoints = sorted(p.name for p in outputs.glob("checkpoint-*"))
    assert checkpoints == ["checkpoint-4", "checkpoint-6"]  # saved at 2, 4, 6; two kept
    assert list((outputs / "runs").rglob("events.out.tfevents.*"))  # TensorBoard's log files
    tokenizer = json.loads((outputs / "tokenizer_config.json").read_text())
    assert tokenizer["pad_token"] == "<unk>"
    assert (
        "<|assistant|>" in tokenizer.get("chat_template", "")
        or (outputs / "chat_template.jinja").read_text().count("<|") >= 1
    )
