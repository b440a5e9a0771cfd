"""The calibration file: records written the one way (launch, gpu_truth, --export), read back
within bounds, and `estimate` showing and folding in the error measured on similar runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wizard.cli import main
from wizard.estimate import Estimate, estimate
from wizard.models import resolve_arch
from wizard.runs import EstimateFigure, Measured, load_run, record_measured
from wizard.runs import calibration as cal

QLORA_8B = {
    "base_model": "meta-llama/Llama-3.1-8B", "adapter": "qlora", "load_in_4bit": True,
    "lora_r": 16, "lora_target_linear": True, "sequence_len": 4096, "sample_packing": True,
    "micro_batch_size": 2, "gradient_checkpointing": True, "flash_attention": True, "bf16": True,
}  # fmt: skip


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    monkeypatch.delenv(cal.OPT_OUT_ENV, raising=False)
    return home


def qlora_estimate(config: dict[str, object] = QLORA_8B, gpu_mem: float = 24.0) -> Estimate:
    arch = resolve_arch(str(config["base_model"]))
    return estimate(config, arch, gpus=1, gpu_mem_gib=gpu_mem, advise=False)


def measured_record(
    result: Estimate, measured_gib: float, gpu: str = "RTX 4090"
) -> dict[str, object]:
    arch = resolve_arch(str(QLORA_8B["base_model"]))
    inputs = cal.inputs_of(result, arch, str(QLORA_8B["base_model"]))
    return cal.entry(inputs, (result.allocated_gib, result.peak_gib_per_gpu),
                     (measured_gib, measured_gib + 1.0), gpu, "launch")  # fmt: skip


def test_a_measured_run_is_found_for_the_same_config_and_its_error_folded_in(
    data_home: Path,
) -> None:
    result = qlora_estimate()
    measured = result.allocated_gib * 1.25  # the estimate reads 20% low on this run
    path = cal.append(measured_record(result, measured))
    assert path == data_home / "axolotl-wizard" / "calibration.jsonl"
    found = cal.calibration_for(result, cal.read_measurements())
    assert found is not None and len(found.runs) == 1
    assert found.factor == pytest.approx(1.25, rel=1e-3)  # the record keeps 3 decimals
    assert found.median_error == pytest.approx(1 / 1.25 - 1, rel=1e-3)
    assert "measured" in found.line() and "-20%" in found.line()
    fixed = cal.calibrated(result, found)
    assert fixed.allocated_gib == pytest.approx(measured, rel=1e-3)
    overhead = result.peak_gib_per_gpu - result.allocated_gib  # CUDA context: not scaled
    assert fixed.peak_gib_per_gpu == pytest.approx(measured + overhead, rel=1e-3)
    assert fixed.breakdown_gib["calibration"] == pytest.approx(
        measured - result.allocated_gib, rel=1e-2
    )


def test_a_run_of_another_kind_or_far_in_size_is_not_compared() -> None:
    result = qlora_estimate()
    cal.append(measured_record(result, result.allocated_gib))
    full = qlora_estimate({k: v for k, v in QLORA_8B.items()
                           if k not in ("adapter", "load_in_4bit")} | {"lora_r": None})  # fmt: skip
    assert cal.calibration_for(full, cal.read_measurements()) is None  # full fine-tune
    long = qlora_estimate({**QLORA_8B, "sequence_len": 65536})  # 16x the tokens
    assert cal.calibration_for(long, cal.read_measurements()) is None


def test_the_verdict_follows_the_correction() -> None:
    roomy = qlora_estimate().peak_gib_per_gpu * 1.2
    result = qlora_estimate(gpu_mem=roomy)
    assert result.fits is True
    thrice = cal.Measurement("m", "qlora", "sft", True, "none", 8.0, 8192, None,
                             result.allocated_gib, result.allocated_gib * 3)  # fmt: skip
    assert cal.calibrated(result, cal.Calibration((thrice,))).fits is False


def test_hostile_calibration_files_give_no_record(data_home: Path) -> None:
    path = data_home / "axolotl-wizard" / "calibration.jsonl"
    path.parent.mkdir(parents=True)
    good = json.dumps(measured_record(qlora_estimate(), 9.0))
    junk = ["{", "[1]", "null", '{"measured_gib": NaN}', json.dumps({"grad_ckpt": "yes"}),
            "x" * (cal.MAX_LINE_BYTES + 1)]  # fmt: skip
    path.write_text("\n".join([*junk, good, ""]), encoding="utf-8")
    assert [m.measured_gib for m in cal.read_measurements()] == [9.0]
    # A big file: only its newest MAX_FILE_BYTES are read, the line cut at the start skipped.
    with path.open("a", encoding="utf-8") as handle:
        for _ in range(cal.MAX_FILE_BYTES // len(good) + 10):
            handle.write(good + "\n")
    assert 0 < len(cal.read_measurements()) <= cal.MAX_FILE_BYTES // len(good) + 1
    path.unlink()
    path.symlink_to(data_home / "elsewhere.jsonl")
    (data_home / "elsewhere.jsonl").write_text(good + "\n", encoding="utf-8")
    assert cal.read_measurements() == []  # never through a link
    with pytest.raises(OSError):
        cal.append(json.loads(good))


def test_a_record_names_no_path() -> None:
    assert cal.public_model_name("/home/alice/models/llama-ft/") == "llama-ft"
    assert cal.public_model_name("../tiny-llama") == "tiny-llama"
    assert cal.public_model_name("~/m/x") == "x"
    assert cal.public_model_name("meta-llama/Llama-3.1-8B") == "meta-llama/Llama-3.1-8B"


def test_opting_out(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not cal.opted_out()
    monkeypatch.setenv(cal.OPT_OUT_ENV, "1")
    assert cal.opted_out()
    monkeypatch.setenv(cal.OPT_OUT_ENV, "0")
    assert not cal.opted_out()


def test_export_is_the_calibration_record_of_a_launch(tmp_path: Path) -> None:
    result = qlora_estimate()
    launch = tmp_path / "run" / "launches" / "20261207T210000Z-node0"
    launch.mkdir(parents=True)
    (launch / "manifest.json").write_text(json.dumps({"run_dir": "/home/alice/run",
                                                      "outcome": "finished"}))  # fmt: skip
    record = measured_record(result, 9.5)
    inputs = {key: record[key] for key in cal.INPUTS}
    inputs["model"] = "/home/alice/models/llama"  # a hand-edited manifest: still no path out
    figure = EstimateFigure(result.allocated_gib, result.peak_gib_per_gpu, inputs)  # type: ignore[arg-type]
    record_measured(launch, Measured(steps=10, peak_allocated_gib=9.5, peak_reserved_gib=10.5,
                                     gpu_name="RTX 4090", gpu_count=1), figure)  # fmt: skip
    exported = cal.exported(load_run(launch))
    assert set(record) <= set(exported)
    assert exported["measured_gib"] == 9.5 and exported["gpu"] == "RTX 4090"
    assert exported["model"] == "llama" and "/home" not in json.dumps(exported)


def test_estimate_shows_the_measured_runs_and_folds_them_in_with_calibrated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "axolotl.yml"
    config.write_text("\n".join(f"{k}: {json.dumps(v)}" for k, v in QLORA_8B.items()) + "\n")
    assert main(["estimate", str(config), "--gpu-mem", "24", "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert plain["calibration"] is None and plain["calibrated"] is False
    result = qlora_estimate()
    cal.append(measured_record(result, result.allocated_gib * 1.1))
    assert main(["estimate", str(config), "--gpu-mem", "24"]) == 0
    shown = capsys.readouterr().out
    assert "calibration: 1 measured run(s) like this one" in shown and "-9%" in shown
    assert main(["estimate", str(config), "--gpu-mem", "24", "--json", "--calibrated"]) == 0
    folded = json.loads(capsys.readouterr().out)
    assert folded["calibrated"] is True and folded["calibration"]["runs"] == 1
    assert folded["allocated_gib"] == pytest.approx(plain["allocated_gib"] * 1.1, rel=1e-3)
    assert main(["estimate", str(config), "--gpu-mem", "24", "--calibrated"]) == 0
    assert "allocated memory x 1.100" in capsys.readouterr().out
