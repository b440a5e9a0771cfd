"""`axolotl-wizard estimate` through the real CLI funnel, and its import hygiene."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from wizard.cli import main

QLORA_8B = """\
base_model: meta-llama/Llama-3.1-8B
adapter: qlora
load_in_4bit: true
lora_r: 16
lora_target_linear: true
sequence_len: 4096
sample_packing: true
micro_batch_size: 2
gradient_accumulation_steps: 4
gradient_checkpointing: true
flash_attention: true
bf16: true
"""


def _write(folder: Path, text: str = QLORA_8B, name: str = "axolotl.yml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, object]:
    assert main(argv) == 0
    data: dict[str, object] = json.loads(capsys.readouterr().out)
    return data


def test_json_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, ["estimate", str(_write(tmp_path)), "--json", "--gpu-mem", "24"])
    assert isinstance(data["peak_gib_per_gpu"], float) and isinstance(data["cpu_ram_gib"], float)
    breakdown = data["breakdown_gib"]
    assert isinstance(breakdown, dict)
    assert sum(breakdown.values()) == pytest.approx(data["peak_gib_per_gpu"], abs=0.01)
    assert data["fits"] is True and data["model"] == {
        "name": "meta-llama/Llama-3.1-8B",
        "source": "catalog (meta-llama/Llama-3.1-8B)",
    }
    without = _json(capsys, ["estimate", str(_write(tmp_path)), "--json"])
    assert without["fits"] is None


def test_deepspeed_path_relative_to_config_folder_then_cwd(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    full = QLORA_8B.replace("adapter: qlora\nload_in_4bit: true\n", "") + "deepspeed: ds/z3.json\n"
    config = _write(tmp_path / "run", full)
    _write(tmp_path / "run" / "ds", '{"zero_optimization": {"stage": 3}}', "z3.json")
    sharded = _json(capsys, ["estimate", str(config), "--gpus", "8", "--json"])
    assert sharded["breakdown_gib"]["weights"] == pytest.approx(8.03e9 * 2 / 8 / 2**30, rel=0.01)
    (tmp_path / "run" / "ds" / "z3.json").unlink()
    _write(tmp_path / "cwd" / "ds", '{"zero_optimization": {"stage": 2}}', "z3.json")
    monkeypatch.chdir(tmp_path / "cwd")
    from_cwd = _json(capsys, ["estimate", str(config), "--gpus", "8", "--json"])
    assert from_cwd["breakdown_gib"]["weights"] == pytest.approx(8.03e9 * 2 / 2**30, rel=0.01)


def test_missing_deepspeed_json_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _write(tmp_path, QLORA_8B + "deepspeed: nowhere/zero2.json\n")
    assert main(["estimate", str(config)]) == 1
    err = capsys.readouterr().err
    assert "deepspeed: nowhere/zero2.json not found" in err and "Traceback" not in err


def test_unknown_model_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    config = _write(tmp_path, QLORA_8B.replace("meta-llama/Llama-3.1-8B", "acme/secret-13b"))
    assert main(["estimate", str(config)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: unknown model 'acme/secret-13b'") and "hint:" in err


def test_human_output_table_bar_verdict_and_advice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    heavy = QLORA_8B.replace("gradient_checkpointing: true", "gradient_checkpointing: false")
    assert main(["estimate", str(_write(tmp_path, heavy)), "--gpu-mem", "24"]) == 0
    out = capsys.readouterr().out
    assert "model weights" in out and "activations" in out and "total" in out
    assert "[####" in out and "does not fit" in out
    assert "1. gradient_checkpointing: true" in out


@pytest.mark.parametrize("args", [["--gpus", "0"], ["--gpu-mem", "-3"], ["--gpu-mem", "lots"]])
def test_bad_options_are_usage_errors(tmp_path: Path, args: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["estimate", str(_write(tmp_path)), *args])
    assert exc.value.code == 2


def test_estimate_never_imports_heavy_packages(tmp_path: Path) -> None:
    config = _write(tmp_path)
    script = (
        "import sys, json\n"
        "from wizard.cli import main\n"
        f"code = main(['estimate', {str(config)!r}, '--json', '--gpu-mem', '24'])\n"
        "heavy = ['torch', 'transformers', 'axolotl', 'deepspeed', 'accelerate', 'peft',"
        " 'bitsandbytes']\n"
        "print(json.dumps({'code': code, 'loaded': [m for m in heavy if m in sys.modules]}),"
        " file=sys.stderr)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert report == {"code": 0, "loaded": []}


def test_estimator_modules_are_pure() -> None:
    """wizard.estimate and wizard.models load nothing heavy, not even rich or questionary."""
    script = (
        "import sys\n"
        "from wizard.estimate import estimate, autofit\n"
        "from wizard.models import resolve_arch\n"
        "arch = resolve_arch('meta-llama/Llama-3.1-8B')\n"
        "estimate({'bf16': True, 'sequence_len': 8192}, arch, gpu_mem_gib=24)\n"
        "autofit({'bf16': True, 'adapter': 'lora'}, arch, gpus=2, gpu_mem_gib=80, target_batch=8)\n"
        "heavy = ['torch', 'transformers', 'axolotl', 'deepspeed', 'accelerate', 'questionary',"
        " 'rich', 'peft', 'bitsandbytes']\n"
        "print(','.join(m for m in heavy if m in sys.modules) or 'none')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "none"


def test_confidence_line_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _write(tmp_path)
    data = _json(capsys, ["estimate", str(config), "--json"])
    confidence = data["confidence"]
    assert isinstance(confidence, dict) and confidence["rows"]
    assert {row["row"][:2] for row in confidence["rows"]} == {"UC"}  # 8B QLoRA, checkpointed
    assert main(["estimate", str(config)]) == 0
    assert "confidence: checked against" in capsys.readouterr().out
