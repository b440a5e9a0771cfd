"""`axolotl-wizard check` through the real command: output, exit codes, bad input, --fix."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TESTS

from wizard.cli import main

DATA = TESTS / "data"
GOOD = "base_model: m\nlearning_rate: 0.00002\ndatasets:\n  - path: a/b\n    type: alpaca\n"


def run_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wizard", "check", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def write(tmp_path: Path, text: str, name: str = "axolotl.yml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_clean_config_exits_0(tmp_path: Path) -> None:
    proc = run_check(str(write(tmp_path, GOOD)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 errors" in proc.stdout and "ok: no errors" in proc.stdout


def test_error_exits_1_with_file_line_col(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "warmup_steps: 0.5\n")
    proc = run_check(str(path))
    assert proc.returncode == 1
    assert f"{path}:6:1: `warmup_steps`: 0.5 has a fractional part" in proc.stdout


def test_json_output(tmp_path: Path) -> None:
    proc = run_check(str(write(tmp_path, GOOD + "lora_alpah: 16\n")), "--json")
    data = json.loads(proc.stdout)
    assert proc.returncode == 0 and data["ok"] is True and data["counts"]["warning"] == 1
    (finding,) = data["findings"]
    assert finding["line"] == 6 and finding["rename"]["to"] == "lora_alpha"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: [1, 2\n", "YAML syntax error"),
        ("- just\n- a list\n", "the top level is a list, not a mapping"),
    ],
)
def test_bad_yaml(
    tmp_path: Path, text: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, text)
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") <= 2 and "Traceback" not in err


def test_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    proc = run_check(str(write(tmp_path, "base_model: m\nkey: [1, 2\nother: 3\n")))
    assert proc.returncode == 1
    assert f"{tmp_path / 'axolotl.yml'}:3:" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_binary_and_huge_files(tmp_path: Path) -> None:
    binary = tmp_path / "b.yml"
    binary.write_bytes(b"\x00\x01\x02")
    huge = write(tmp_path, "a: " + "x" * (3 * 1024 * 1024) + "\n", "huge.yml")
    for path, expected in (
        (tmp_path / "nope.yml", "does not exist"),
        (binary, "binary file"),
        (huge, "MB"),
    ):
        proc = run_check(str(path))
        assert proc.returncode == 1 and expected in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


def test_deepspeed_json_that_does_not_parse(tmp_path: Path) -> None:
    write(tmp_path, '{"zero_optimization": {"stage": 3,}}', "zero3.json")
    path = write(tmp_path, GOOD + "deepspeed: zero3.json\n")
    proc = run_check(str(path))
    assert proc.returncode == 1
    assert f"{tmp_path / 'zero3.json'}:1:" in proc.stderr and "not valid JSON" in proc.stderr


def test_deepspeed_finding_points_into_the_json(tmp_path: Path) -> None:
    write(
        tmp_path,
        '{\n  "zero_optimization": {\n    "stage": 3,\n    "overlap_com": true\n  },\n'
        '  "bf16": {"enabled": "auto"}\n}\n',
        "zero3.json",
    )
    proc = run_check(str(write(tmp_path, GOOD + "deepspeed: zero3.json\n")))
    assert proc.returncode == 1
    assert f"{tmp_path / 'zero3.json'}:4:5: `zero_optimization.overlap_com`" in proc.stdout
    assert "did you mean `overlap_comm`?" in proc.stdout


def test_fix_writes_a_copy_and_keeps_the_original(tmp_path: Path) -> None:
    original = tmp_path / "typos.yml"
    shutil.copy(DATA / "lint" / "typos.yml", original)
    before = original.read_text()
    proc = run_check(str(original), "--fix")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert original.read_text() == before
    fixed = (tmp_path / "typos.fixed.yml").read_text()
    assert "micro_batch_size: 2   # per GPU" in fixed
    assert "attn_implementation: flash_attention_2\n" in fixed
    assert "eval_strategy: steps" in fixed and fixed.startswith("# hand-written")
    again = run_check(str(tmp_path / "typos.fixed.yml"), "--json")
    codes = {f["code"] for f in json.loads(again.stdout)["findings"]}
    assert not codes & {"unknown-key", "deprecated-key"}
    assert run_check(str(original), "--fix").returncode == 1  # exists: needs --force
    assert run_check(str(original), "--fix", "--force").returncode == 0


def test_check_imports_nothing_heavy(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "deepspeed:\n  zero_optimization: {stage: 3}\n")
    code = (
        "import sys\nfrom wizard.cli import main\n"
        f"rc = main(['check', {str(path)!r}, '--gpu-arch', 'sm_90'])\n"
        "heavy = {'torch', 'transformers', 'axolotl', 'deepspeed', 'accelerate', 'questionary'}\n"
        "loaded = heavy & {m.split('.')[0] for m in sys.modules}\n"
        "assert not loaded, loaded\nprint('rc', rc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0 and "rc 0" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.integration
def test_axolotl_flag_merges_axolotl_findings(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "save_strategy: best\n")
    proc = run_check(str(path), "--axolotl", "--json")
    data = json.loads(proc.stdout)
    assert proc.returncode == 1 and data["axolotl_checked"] is True
    origins = {f["origin"] for f in data["findings"] if f["severity"] == "error"}
    assert origins == {"wizard", "axolotl"}


def test_strict_makes_warnings_fail(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "lora_alpah: 16\n")
    assert run_check(str(path)).returncode == 0
    proc = run_check(str(path), "--strict")
    assert proc.returncode == 1 and "strict: 1 warning(s) count as errors" in proc.stdout
    data = json.loads(run_check(str(path), "--strict", "--json").stdout)
    assert data["strict"] is True and data["exit_code"] == 1 and data["ok"] is True


def test_deepspeed_file_elsewhere_is_a_warning(tmp_path: Path) -> None:
    """Axolotl's validate_config never opens the DeepSpeed JSON: a file that is not here (the
    Axolotl images' path, or Axolotl's shipped `deepspeed_configs/zero2.json` named from its
    repository) leaves the config valid, with a warning."""
    for name, path in (
        ("abs.yml", "/workspace/axolotl/deepspeed_configs/zero3_bf16.json"),
        ("rel.yml", "deepspeed_configs/zero2.json"),
    ):
        proc = run_check(str(write(tmp_path, GOOD + f"deepspeed: {path}\n", name)), "--json")
        (finding,) = [
            f for f in json.loads(proc.stdout)["findings"] if f["code"] == "deepspeed-missing"
        ]
        assert proc.returncode == 0 and finding["severity"] == "warning"
        assert "refuse" not in finding["message"]


def test_fix_lists_each_change_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("learning_rate", "lr") + "unsloth_lora_mlp: true\n")
    proc = run_check(str(path), "--fix")
    assert proc.returncode == 0  # the original is refused; the exit status is the copy's
    assert "fix: the fixed file has no error left" in proc.stdout
    assert f"{path}:2: `lr` → `learning_rate`" in proc.stdout
    assert f"{path}:6: `unsloth_lora_mlp` → `lora_mlp_kernel`" in proc.stdout
    assert run_check(str(tmp_path / "axolotl.fixed.yml")).returncode == 0


# -- the run's own GPU (issue 26, item 3) -----------------------------------------------------


def _run_folder(tmp_path: Path, name: str, gpu: str) -> Path:
    done = subprocess.run(
        [sys.executable, "-m", "wizard", "new", name, "--yes",
         "--set", "model.base_model=meta-llama/Llama-3.1-8B-Instruct",
         "--set", "datasets.0.path=org/chat", "--set", "datasets.0.format=chat_template",
         "--set", f"hardware.gpu={gpu}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return tmp_path / name


def test_check_takes_the_gpu_from_the_runs_answers(tmp_path: Path) -> None:
    run = _run_folder(tmp_path, "t4", "T4")
    config = run / "axolotl.yml"
    config.write_text(config.read_text().replace("bf16: false", "bf16: true"))
    proc = run_check(str(config))
    assert proc.returncode == 1 and "[bf16-unsupported]" in proc.stdout
    assert "sm_75" in proc.stdout  # the T4 of the answers, with no --gpu-arch given
    assert run_check(str(config), "--gpu", "H100").returncode == 0  # a flag still overrides


@pytest.mark.integration
def test_check_axolotl_reports_axolotls_warnings_for_the_runs_gpu(tmp_path: Path) -> None:
    """Axolotl warns that packing with SDPA in bf16 may train on a 0.0 loss before Hopper: the
    A100 run's config, hand-edited to SDPA, is warned about; the same config on an H100 is not."""
    warned = []
    for gpu in ("A100-80GB", "H100"):
        config = _run_folder(tmp_path, gpu, gpu) / "axolotl.yml"
        text = config.read_text()
        config.write_text(text.replace("attn_implementation: flash_attention_2",
                                       "attn_implementation: sdpa"))  # fmt: skip
        proc = run_check(str(config), "--axolotl", "--json")
        report = json.loads(proc.stdout)
        codes = {f["code"] for f in report["findings"]}
        assert "axolotl-invalid" not in codes, report
        warned.append(any("0.0 loss" in f["message"] for f in report["findings"]))
    assert warned == [True, False]
