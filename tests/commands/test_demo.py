"""`axolotl-wizard demo` in a fresh folder: builds, writes, launches, summarises (proof 1)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tiny_fixtures import TRAIN_TIMEOUT, tail, tiny_root

from wizard.axolotl.offline import OFFLINE_ENV

pytestmark = pytest.mark.integration
__all__ = ["tiny_root"]


def test_demo_trains_from_nothing(tmp_path: Path) -> None:
    # As on a fresh machine: no offline or telemetry settings; the demo must bring its own.
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_ENV}
    done = subprocess.run(
        [sys.executable, "-m", "wizard", "demo", "demo"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TRAIN_TIMEOUT, check=False,
    )  # fmt: skip

    assert done.returncode == 0, tail(done)
    out = done.stdout
    for stage in (
        "[1/3] building",
        "[2/3] writing the tiny-cpu run folder",
        "lora, 48 steps at learning rate 0.01",
        "[3/3] launching",
        "loading torch and Axolotl",  # said before the child's silent start-up
        "Axolotl loaded; checking the config",
        "tokenizing the dataset",
        "loading the model",
        "training…",
        "step 1/48  loss",
        "step 48/48  loss",
        "saving the weights",
        "Done in",
    ):
        assert stage in out, out
    assert len(re.findall(r"step \d+/48", out)) == 11, out  # the first, every fifth, the last
    weights = tmp_path / "demo" / "run-1" / "outputs" / "adapter_model.safetensors"
    assert weights.stat().st_size > 0
    assert f"weights:  {weights.parent}/ (adapter_model.safetensors)" in out
    assert (tmp_path / "demo" / "run-1" / "wizard-answers.yml").is_file()
    assert list((tmp_path / "demo" / "run-1" / "launches").glob("*/manifest.json"))
    # The first launch folder is the training's (the chat of the last line comes after it).
    log = sorted((tmp_path / "demo" / "run-1" / "launches").glob("*/output.log"))[0].read_text()
    assert "posthog" not in log  # Axolotl's telemetry stayed off
    _assert_it_learnt(out, log)
    _assert_it_answered(tmp_path / "demo" / "run-1", out)


def _assert_it_answered(run_dir: Path, out: str) -> None:
    """The demo ends with one generation of the model it trained, through `chat --prompt`
    (its record names the trained adapter), and the `Next:` steps of a LoRA run."""
    assert "  asked:    Reverse the order of the words. ### Input: chair ocean apple" in out
    answered = re.search(r"  answered: (.+)", out)
    assert answered, out
    chats = [p for p in run_dir.glob("launches/*/manifest.json") if '"verb": "chat"' in
             p.read_text()]  # fmt: skip
    assert len(chats) == 1 and "--lora_model_dir=./outputs" in chats[0].read_text()
    if not answered[1].startswith("(nothing"):
        assert answered[1] in " ".join((chats[0].parent / "output.log").read_text().split())
    nexts = out.split("Next:", 1)[1]
    for verb in ("merge", "chat", "export"):
        assert f"axolotl-wizard {verb} {run_dir}" in nexts, out


def _assert_it_learnt(out: str, log: str) -> None:
    """The summary's figure is the mean of Axolotl's logged losses over the first and last
    quarter of the steps, and the last is well under the first (measured 5.5 -> 2.9)."""
    shown = re.search(r"loss: +(\d+\.\d+) -> (\d+\.\d+) \(mean of the first and last 12 "
                      r"of 48 steps: down (\d+)%\)", out)  # fmt: skip
    assert shown, out
    logged = [float(x) for x in re.findall(r"'loss': '?([0-9.]+)", log)]
    assert len(logged) == 48, logged
    first, last = sum(logged[:12]) / 12, sum(logged[-12:]) / 12
    assert (shown[1], shown[2]) == (f"{first:.3f}", f"{last:.3f}")
    assert last < 0.7 * first, (first, last)


@pytest.mark.parametrize(
    ("kind", "rl_type", "data"),
    [
        ("dpo", "chat_template.default", "preference.jsonl"),
        ("kto", "chatml.prompt_pairs", "unpaired.jsonl"),
        ("orpo", "chat_template.argilla", "conversations.jsonl"),
    ],
)
def test_demo_trains_a_preference_objective(
    tiny_root: Path, tmp_path: Path, kind: str, rl_type: str, data: str
) -> None:
    """The demo's tiny preference data (built beside the SFT data) trains DPO, KTO and ORPO on
    the CPU through Axolotl's own trainers, and the adapter weights are written."""
    root = tmp_path / "demo"
    root.mkdir()
    for name in ("tiny-llama", "tiny-data"):
        (root / name).symlink_to(tiny_root / name)
    done = subprocess.run(
        [sys.executable, "-m", "wizard", "demo", str(root), "--set", f"objective.kind={kind}"],
        # DPO's 48 steps score chosen, rejected and reference: 2 minutes on 2 busy cores.
        capture_output=True, text=True, timeout=2 * TRAIN_TIMEOUT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, tail(done)
    assert re.search(r"loss: +\d+\.\d+ -> \d+\.\d+ \(mean of the first and last 12 of 48 steps",
                     done.stdout), done.stdout  # fmt: skip
    run_dir = root / "run-1"
    weights = run_dir / "outputs" / "adapter_model.safetensors"
    assert weights.stat().st_size > 0
    config = yaml.safe_load((run_dir / "axolotl.yml").read_text())
    assert config["rl"] == kind and config["datasets"][0]["type"] == rl_type
    assert config["datasets"][0]["path"].endswith(data)
    log = sorted((run_dir / "launches").glob("*/output.log"))[0].read_text()  # the training's
    # Each trainer logs a metric of its own loss: DPO's accuracies, KTO's KL, ORPO's odds ratio.
    metric = {"dpo": "'rewards/accuracies'", "kto": "'kl'", "orpo": "'log_odds_ratio'"}[kind]
    assert metric in log, log[-2000:]


def test_demo_refuses_grpo_on_the_cpu(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "wizard", "demo", str(tmp_path / "d"), "--set",
         "objective.kind=grpo"], capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "needs vLLM on a GPU" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "d").exists()
