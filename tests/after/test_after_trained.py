"""merge, chat, evaluate and export on one real trained run (the tiny Llama, LoRA, on the CPU,
launched by the real `launch`), shared by every test of this module; and their preflight
refusals on copies of it (issue 31, items 4-8)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import run_wizard
from tiny_fixtures import launch, new_run, tail, tiny_root, workspace

pytestmark = pytest.mark.integration
__all__ = ["tiny_root"]

# As the demo trains (long enough for the model to answer with words of its data), with an
# eval split for `evaluate`.
TRAINING = (
    "training.max_steps=48",
    "training.micro_batch_size=8",
    "training.learning_rate=0.01",
    "training.warmup_steps=3",
    "training.val_set_size=0.1",
)
PROMPT = "Reverse the order of the words.\n\n### Input:\nchair ocean apple"
TOKEN = "hf_DoNotShowThisToken0123456789"
STEP_TIMEOUT = 240


@pytest.fixture(scope="session")
def trained(tiny_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(the run folder, what its launch printed): trained once for the whole session."""
    cwd = workspace(tiny_root, tmp_path_factory.mktemp("after"))
    run_dir = new_run(cwd, "runs/lora", *TRAINING)
    done = launch(cwd, "runs/lora")
    assert done.returncode == 0, tail(done)
    return run_dir, done.stdout


def records(run_dir: Path, verb: str) -> list[dict[str, object]]:
    found = [json.loads(p.read_text()) for p in sorted(run_dir.glob("launches/*/manifest.json"))]
    return [record for record in found if record.get("verb") == verb]


def test_launch_names_the_next_steps(trained: tuple[Path, str]) -> None:
    run_dir, printed = trained
    nexts = printed.split("Next:", 1)[1].splitlines()
    assert f"axolotl-wizard merge {run_dir}" in nexts[0]
    for verb in ("chat", "evaluate", "export"):
        assert any(f"axolotl-wizard {verb} {run_dir}" in line for line in nexts), printed


def test_merge_writes_a_model_that_loads_and_generates(trained: tuple[Path, str]) -> None:
    run_dir, _ = trained
    done = run_wizard("merge", str(run_dir), timeout=STEP_TIMEOUT)
    assert done.returncode == 0, tail(done)
    merged = run_dir / "outputs" / "merged"
    size = sum(p.stat().st_size for p in merged.iterdir())
    assert f"merged model: {merged}/ ({size:,} bytes" in done.stdout
    assert not list((run_dir / "outputs").glob(".merging-*"))  # the staging folder is gone
    (record,) = records(run_dir, "merge")
    assert record["outcome"] == "finished" and record["exit_code"] == 0
    assert "--lora_model_dir=./outputs" in record["argv"]  # type: ignore[operator]
    _loads_and_generates(merged, run_dir.parent.parent / "tiny-llama")
    again = run_wizard("merge", str(run_dir), timeout=STEP_TIMEOUT)
    assert again.returncode == 1
    assert f"error: {merged} already holds a merged model" in again.stderr
    assert "--force" in again.stderr and "Traceback" not in again.stderr


def _loads_and_generates(merged: Path, base: Path) -> None:
    """transformers loads the merged folder and generates; its weights are not the base's."""
    script = f"""
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer
model = AutoModelForCausalLM.from_pretrained({str(merged)!r})
tokenizer = AutoTokenizer.from_pretrained({str(merged)!r})
ids = tokenizer("Reverse the order of the words.", return_tensors="pt").input_ids
out = model.generate(ids, max_new_tokens=4, min_new_tokens=4, do_sample=False)
assert out.shape[1] == ids.shape[1] + 4, out.shape
merged, base = load_file({str(merged / "model.safetensors")!r}), load_file({
        str(base / "model.safetensors")!r})
name = next(k for k in merged if k.endswith("q_proj.weight"))
assert not torch.equal(merged[name], base[name]), name
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=STEP_TIMEOUT, check=False)  # fmt: skip
    assert done.stdout.strip().endswith("ok"), tail(done)


# Axolotl's inference samples (temperature 0.9, no seed): in a rare draw the tiny model ends its
# turn at once, which `chat` reports as an empty answer (CI drew one). Each draw is a real run.
DRAWS = 3
EMPTY = "(an empty answer"


def test_chat_prompt_answers_with_the_trained_adapter(trained: tuple[Path, str]) -> None:
    run_dir, _ = trained
    for _ in range(DRAWS):
        done = run_wizard("chat", str(run_dir), "--prompt", PROMPT, timeout=STEP_TIMEOUT)
        assert done.returncode == 0, tail(done)
        answer = done.stdout.strip().splitlines()[-1]
        if not answer.startswith(EMPTY):
            break
    assert answer and not answer.startswith(EMPTY), done.stdout
    record = records(run_dir, "chat")[-1]
    argv = record["argv"]
    assert "--lora_model_dir=./outputs" in argv and "--prompter=AlpacaPrompter" in argv  # type: ignore[operator]
    folder = max(p.parent for p in run_dir.glob("launches/*/prompt.txt"))
    assert (folder / "prompt.txt").read_text() == PROMPT
    assert answer in (folder / "output.log").read_text()  # the model's words, not ours


def test_chat_loads_a_deepspeed_run_in_one_process(trained: tuple[Path, str]) -> None:
    """A run trained with DeepSpeed (or FSDP, or parallel sizes) names it in its config; the
    answer runs in one process, where Axolotl would still set DeepSpeed up and fail initialising
    torch.distributed (it did: MASTER_ADDR expected, but not set). The command clears them."""
    run_dir, _ = trained
    copy = run_dir.with_name("lora-deepspeed")
    shutil.copytree(run_dir, copy, symlinks=True)
    (copy / "zero3.json").write_text(json.dumps({"zero_optimization": {"stage": 3}}))
    with (copy / "axolotl.yml").open("a") as config:
        config.write("deepspeed: zero3.json\n")
    done = run_wizard("chat", str(copy), "--prompt", PROMPT, timeout=STEP_TIMEOUT)
    assert done.returncode == 0, tail(done)
    (record,) = records(copy, "chat")[-1:]
    assert "--deepspeed=None" in record["argv"]  # type: ignore[operator]
    assert "--fsdp_config=None" not in record["argv"]  # type: ignore[operator]


def test_evaluate_prints_the_eval_loss(trained: tuple[Path, str]) -> None:
    run_dir, _ = trained
    done = run_wizard("evaluate", str(run_dir), timeout=STEP_TIMEOUT)
    assert done.returncode == 0, tail(done)
    line = next(x for x in done.stdout.splitlines() if x.startswith("eval loss "))
    shown = float(line.split()[2].rstrip(","))
    (record,) = records(run_dir, "evaluate")
    folder = next(p.parent for p in run_dir.glob("launches/*/eval_summary.csv"))
    summary = (folder / "eval_summary.csv").read_text()
    loss_row = next(row for row in summary.splitlines() if row.startswith("loss,"))
    assert f"{float(loss_row.split(',')[2]):.4f}" == f"{shown:.4f}"
    assert 0 < shown < 20 and record["outcome"] == "finished"
    assert not (run_dir / "outputs" / "eval_summary.csv").exists()  # the run's outputs untouched


def test_export_safetensors_and_the_upload_listing(trained: tuple[Path, str]) -> None:
    run_dir, _ = trained
    env = {"HF_TOKEN": TOKEN}
    done = run_wizard("export", str(run_dir), "--format", "safetensors", "--push-to-hub",
                      "me/tiny-tuned", "--dry-run", env=env, timeout=STEP_TIMEOUT)  # fmt: skip
    assert done.returncode == 0, tail(done)
    merged = run_dir / "outputs" / "merged"
    weights = merged / "model.safetensors"
    assert f"  model.safetensors  {weights.stat().st_size:,} bytes" in done.stdout
    assert "upload to https://huggingface.co/me/tiny-tuned (model repository)" in done.stdout
    for name in ("config.json", "tokenizer.json"):
        assert f"  {name}  " in done.stdout
    assert "dry run: nothing was uploaded" in done.stdout
    from safetensors import safe_open

    with safe_open(str(weights), framework="pt") as loaded:
        assert any(key.endswith("q_proj.weight") for key in loaded.keys())  # noqa: SIM118
    _token_nowhere(run_dir, done, env)


def _token_nowhere(run_dir: Path, done: subprocess.CompletedProcess[str],
                   env: dict[str, str]) -> None:  # fmt: skip
    assert TOKEN not in done.stdout + done.stderr
    for path in run_dir.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert TOKEN.encode() not in path.read_bytes(), path
    offline = run_wizard("export", str(run_dir), "--push-to-hub", "me/tiny-tuned",
                         env={**env, "HF_HUB_OFFLINE": "1"}, timeout=STEP_TIMEOUT)  # fmt: skip
    assert offline.returncode == 1
    assert offline.stderr.startswith("error: HF_HUB_OFFLINE is set"), offline.stderr
    assert TOKEN not in offline.stdout + offline.stderr


def test_gguf_without_llama_cpp_is_one_line(trained: tuple[Path, str]) -> None:
    run_dir, _ = trained
    done = run_wizard("export", str(run_dir), "--format", "gguf", env={"PATH": "/usr/bin:/bin"},
                      timeout=STEP_TIMEOUT)  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: GGUF needs llama.cpp's converter")
    assert lines[1].startswith("hint: git clone https://github.com/ggml-org/llama.cpp")


def _copy(run_dir: Path, name: str) -> Path:
    copy = run_dir.parent / name
    shutil.copytree(run_dir, copy, symlinks=True, ignore=shutil.ignore_patterns("merged"))
    return copy


def test_refuses_a_run_whose_last_launch_did_not_finish(trained: tuple[Path, str]) -> None:
    copy = _copy(trained[0], "interrupted")
    for path in copy.glob("launches/*/manifest.json"):
        record = json.loads(path.read_text())
        if record.get("verb") == "train":
            record.update(outcome="interrupted", exit_code=130)
            path.write_text(json.dumps(record))
    done = run_wizard("chat", str(copy), "--prompt", "hi", timeout=STEP_TIMEOUT)
    assert done.returncode == 1
    assert "interrupted (exit code 130)" in done.stderr and "nothing was started" in done.stderr
    assert f"axolotl-wizard launch {copy} --resume" in done.stderr
    assert "Traceback" not in done.stderr


def test_refuses_an_output_folder_without_its_adapter(trained: tuple[Path, str]) -> None:
    copy = _copy(trained[0], "no-adapter")
    (copy / "outputs" / "adapter_model.safetensors").unlink()
    done = run_wizard("merge", str(copy), timeout=STEP_TIMEOUT)
    assert done.returncode == 1
    assert f"error: {copy / 'outputs'} holds no adapter" in done.stderr, done.stderr
    assert len(done.stderr.splitlines()) == 2


def test_chat_on_a_terminal(trained: tuple[Path, str]) -> None:
    """A conversation through a real terminal: Axolotl's inference reads what is typed (Ctrl-D
    sends it), answers, asks again; an empty instruction ends it, and the exit code is 0."""
    pexpect = pytest.importorskip("pexpect")
    run_dir, _ = trained
    child = pexpect.spawn(sys.executable, ["-m", "wizard", "chat", str(run_dir)],
                          timeout=STEP_TIMEOUT, encoding="utf-8")  # fmt: skip
    child.expect("Give me an instruction")
    child.send(PROMPT + "\n")
    child.sendeof()
    child.expect("### Response:")  # the answer, in Alpaca's prompt
    child.expect("Give me an instruction")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    chats = [r for r in records(run_dir, "chat") if "--prompter=AlpacaPrompter" in str(r["argv"])]
    assert chats[-1]["outcome"] == "finished"


def test_sigterm_stops_a_merge_and_leaves_no_half_model(trained: tuple[Path, str]) -> None:
    copy = _copy(trained[0], "stopped")
    before = len(records(copy, "merge"))  # the copy has the records of the tests before
    merging = subprocess.Popen(
        [sys.executable, "-m", "wizard", "merge", str(copy)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + STEP_TIMEOUT
    while len(records(copy, "merge")) == before and time.monotonic() < deadline:
        time.sleep(0.1)  # its manifest is written just before Axolotl's merge-lora starts
    merging.send_signal(signal.SIGTERM)
    _out, err = merging.communicate(timeout=STEP_TIMEOUT)
    assert merging.returncode == 143, err
    assert err.startswith("error: the merge was terminated (exit code 143)"), err
    assert not (copy / "outputs" / "merged").exists()
    assert not list(copy.glob("outputs/.merging-*"))
    assert records(copy, "merge")[-1]["outcome"] == "terminated"


def test_a_step_that_writes_waits_for_no_launch(trained: tuple[Path, str]) -> None:
    """While a launch holds the run (here: its locks, taken as a launch takes them), evaluate
    refuses in one line and leaves no record folder; while a merge holds it, so does launch."""
    from wizard.launch.lock import hold_launch

    run_dir, _ = trained
    before = sorted(run_dir.glob("launches/*"))
    locks = hold_launch(run_dir, run_dir / "outputs", 0)
    try:
        done = run_wizard("evaluate", str(run_dir), timeout=STEP_TIMEOUT)
    finally:
        locks.release()
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: another launch is training {run_dir} right now")
    assert len(done.stderr.splitlines()) == 2
    assert sorted(run_dir.glob("launches/*")) == before
    locks = hold_launch(run_dir, run_dir / "outputs", 0, "merge")
    try:
        relaunch = run_wizard("launch", "--resume", "--no-data-checks", str(run_dir))
    finally:
        locks.release()
    assert relaunch.returncode == 1
    assert f"error: another merge is writing {run_dir} right now" in relaunch.stderr


# llama.cpp is not installed here (its checkout is 1.4 GB): a stand-in for its converter, which
# checks what it is given (the merged model's folder, --outfile, --outtype) and writes a file,
# proves the wizard's side: the command, the partial file renamed, the record.
STAND_IN_CONVERTER = """
import json, sys
from pathlib import Path
args = sys.argv[1:]
model, outfile, outtype = Path(args[0]), args[args.index("--outfile") + 1], args[-1]
assert (model / "config.json").is_file() and (model / "model.safetensors").is_file(), model
assert Path(outfile).name.startswith(".") and outfile.endswith(".partial"), outfile
Path(outfile).write_bytes(b"GGUF" + json.dumps([str(model), outtype]).encode())
"""


def test_gguf_through_the_converter_it_is_given(trained: tuple[Path, str], tmp_path: Path) -> None:
    run_dir, _ = trained
    checkout = tmp_path / "llama.cpp"
    checkout.mkdir()
    (checkout / "convert_hf_to_gguf.py").write_text(STAND_IN_CONVERTER)
    done = run_wizard("export", str(run_dir), "--format", "gguf", "--llama-cpp", str(checkout),
                      "--outtype", "q8_0", timeout=STEP_TIMEOUT)  # fmt: skip
    assert done.returncode == 0, tail(done)
    gguf = run_dir / "outputs" / "gguf" / "lora-q8_0.gguf"
    assert gguf.read_bytes() == b'GGUF["outputs/merged", "q8_0"]'  # Path() drops the ./
    assert f"gguf: {gguf}  {gguf.stat().st_size} bytes" in done.stdout
    assert not list(gguf.parent.glob(".*.partial"))
    assert records(run_dir, "export")[-1]["outcome"] == "finished"
