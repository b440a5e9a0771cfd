"""One memory story: auto-fit, the review, the method notes, `new` and `estimate RUN_DIR` give the
same peak for the same run, because each is the estimate of the files that are written."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from scripted import ScriptedPrompter

from wizard import cli
from wizard.answers.layers import Answers
from wizard.interview.flow import Interview, fixed_keys
from wizard.interview.prompter import Choice
from wizard.presets.store import preset_chain, preset_folders
from wizard.presets.views import resolve_chain
from wizard.render.plan import plan_run

PEAK = re.compile(r"Memory: (\d+\.\d) GiB peak per GPU")
COMMON = ["datasets.0.path=org/data", "datasets.0.format=alpaca", "training.sequence_len=4096"]
# (what the user gave, what must be written): auto-fit's plan, the user's own layout, or both.
LAYOUTS: list[tuple[str, list[str], dict[str, Any]]] = [
    (
        "8B QLoRA, 1 x 24 GiB, auto-fit",
        [
            "model.base_model=meta-llama/Llama-3.1-8B",
            "method.kind=qlora",
            "hardware.gpu_memory_gib=24",
        ],
        {"deepspeed": None},
    ),
    (
        "8B full, 4 x 24 GiB, auto-fit picks ZeRO",
        [
            "model.base_model=meta-llama/Llama-3.1-8B",
            "method.kind=full",
            "hardware.gpu_memory_gib=24",
            "hardware.gpus_per_node=4",
            "training.effective_batch_size=32",
        ],
        {"zero": True},
    ),
    (
        "70B full, 8 x 80 GiB, ZeRO-3 given, offload fitted",
        [
            "model.base_model=meta-llama/Llama-3.3-70B-Instruct",
            "method.kind=full",
            "hardware.gpu_memory_gib=80",
            "hardware.gpus_per_node=8",
            "distributed.backend=deepspeed",
            "distributed.zero_stage=3",
        ],
        {"file": "zero3_bf16_offload_optimizer.json"},
    ),
    (
        "70B full, 8 x 80 GiB, ZeRO-3 with offload given",
        [
            "model.base_model=meta-llama/Llama-3.3-70B-Instruct",
            "method.kind=full",
            "hardware.gpu_memory_gib=80",
            "hardware.gpus_per_node=8",
            "distributed.backend=deepspeed",
            "distributed.zero_stage=3",
            "distributed.offload_optimizer=true",
            "distributed.offload_params=true",
        ],
        {"file": "zero3_bf16_offload_all.json"},
    ),
    (
        "8B LoRA, 1 x 80 GiB, no auto-fit",
        [
            "model.base_model=meta-llama/Llama-3.1-8B",
            "hardware.gpu_memory_gib=80",
            "training.micro_batch_size=4",
        ],
        {"deepspeed": None},
    ),
    (
        "1B full, 2 x 40 GiB, plain DDP given",
        [
            "model.base_model=meta-llama/Llama-3.2-1B",
            "method.kind=full",
            "hardware.gpu_memory_gib=40",
            "hardware.gpus_per_node=2",
            "distributed.backend=none",
        ],
        {"deepspeed": None},
    ),
    (
        "8B full, 2 nodes x 8 x 40 GiB, ZeRO-2 given",
        [
            "model.base_model=meta-llama/Llama-3.1-8B",
            "method.kind=full",
            "hardware.gpu_memory_gib=40",
            "hardware.gpus_per_node=8",
            "hardware.nodes=2",
            "distributed.backend=deepspeed",
            "distributed.zero_stage=2",
        ],
        {"file_prefix": "zero2"},
    ),
]


class EnterRecording(ScriptedPrompter):
    """Presses Enter everywhere and keeps the notes of every select it was shown."""

    notes: dict[str, dict[str, str]]

    def _next(self, key: str, default: Any) -> Any:
        self.asked.append(key)
        return default

    def select(
        self,
        key: str,
        message: str,
        choices: Sequence[Choice],
        default: str | None,
        search: bool = False,
    ) -> str:
        self.notes = getattr(self, "notes", {})
        self.notes[key] = {c.value: c.note for c in choices}
        return super().select(key, message, choices, default, search)


def sets(items: list[str]) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def stdout_of(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert cli.main(argv) == 0
    return capsys.readouterr().out


def review_through_interview(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> EnterRecording:
    import wizard.interview.flow as module

    prompter = EnterRecording([])

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
    assert cli.main(argv) == 0
    return prompter


@pytest.mark.parametrize(("name", "given", "expect"), LAYOUTS, ids=[n for n, _g, _e in LAYOUTS])
def test_every_screen_shows_the_estimate_of_what_is_written(
    name: str,
    given: list[str],
    expect: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    answers = sets([*COMMON, *given])
    new_out = stdout_of(capsys, ["new", "yes", *answers, "--yes"])
    new_peak = float(PEAK.search(new_out).group(1))  # type: ignore[union-attr]
    estimate = json.loads(stdout_of(capsys, ["estimate", "yes", "--json"]))
    assert round(estimate["peak_gib_per_gpu"], 1) == new_peak
    assert estimate["gpus_from"] == "the run's wizard-answers.yml"
    assert estimate["fits"] is True, name

    # The same answers, the method from a project preset so that the interview asks it.
    kind = next((g.split("=")[1] for g in given if g.startswith("method.kind=")), "lora")
    presets = tmp_path / ".axolotl-wizard" / "presets"
    presets.mkdir(parents=True)
    (presets / "method.yml").write_text(f"name: method\nanswers: {{method: {{kind: {kind}}}}}\n")
    others = sets([*COMMON, *(g for g in given if not g.startswith("method.kind="))])
    prompter = review_through_interview(
        monkeypatch, ["new", "asked", "--preset", "method", *others]
    )
    review = next(text for text in reversed(prompter.shown) if "Memory:" in text)
    assert float(PEAK.search(review).group(1)) == new_peak  # type: ignore[union-attr]
    assert f"~{new_peak:.1f} GiB per GPU" in prompter.notes["method.kind"][kind]
    asked = (tmp_path / "asked" / "axolotl.yml").read_text()
    assert (
        asked.split("\n", 1)[1] == (tmp_path / "yes" / "axolotl.yml").read_text().split("\n", 1)[1]
    )  # the first line names the preset; every key is the same

    written = sorted(p.name for p in (tmp_path / "yes").glob("deepspeed/*.json"))
    if "deepspeed" in expect:
        assert written == []
    if expect.get("zero"):
        assert written and written[0].startswith("zero")
    if "file" in expect:
        assert written == [expect["file"]]
    if "file_prefix" in expect:
        assert written[0].startswith(expect["file_prefix"])
    if "Auto-fit:" in new_out:
        auto = next(line for line in new_out.splitlines() if line.startswith("Auto-fit:"))
        assert "GiB" not in auto.split(":", 2)[1] or "under" in auto  # no second peak figure


def test_auto_fit_plan_is_judged_on_the_estimate_of_the_written_files(tmp_path: Path) -> None:
    from wizard.presets.assemble import collect_answers

    for _name, given, _expect in LAYOUTS:
        answers, preset = collect_answers(None, None, [*COMMON, *given])
        plan = plan_run(answers, preset, tmp_path / "run", tmp_path)
        assert plan.estimate is not None
        if plan.fit.plan is not None:
            fitted = plan.fit.plan.estimate.peak_gib_per_gpu
            assert fitted == pytest.approx(plan.estimate.peak_gib_per_gpu, abs=0.05)


def test_every_builtin_preset_fits_the_gpu_it_names(tmp_path: Path) -> None:
    for name in sorted(p.stem for p in preset_folders()[0][1].glob("*.yml")):
        resolved = resolve_chain(preset_chain(f"builtin:{name}"))
        plan = plan_run(Answers(resolved.answers.layers), None, None, tmp_path)
        hardware = plan.spec.hardware
        if hardware.accelerator == "cpu":
            continue
        assert hardware.gpu is not None, f"{name} names no GPU: its recipe cannot follow one"
        memory, ram = hardware.memory_gib, hardware.host_ram
        assert memory is not None and ram is not None and plan.estimate is not None, name
        assert plan.estimate.peak_gib_per_gpu <= memory, (name, plan.estimate.peak_gib_per_gpu)
        assert plan.estimate.host_ram_per_node_gib(hardware.nodes) <= ram.gib, name


def test_presets_check_fails_a_preset_that_does_not_fit_its_own_gpu(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "too-big.yml").write_text(
        "name: too-big\nanswers:\n  model: {base_model: meta-llama/Llama-3.1-8B}\n"
        "  method: {kind: full}\n  hardware: {gpu_memory_gib: 16}\n"
        "  training: {micro_batch_size: 8}\n"
    )
    assert cli.main(["presets", "check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "does not fit the preset's own 16 GiB GPU" in out


# -- host RAM and auto-fit's provenance (issue 26, items 9-11) ------------------------------

BIG_FULL = ["model.base_model=meta-llama/Llama-3.3-70B-Instruct", "datasets.0.path=org/chat",
            "datasets.0.format=chat_template", "method.kind=full", "hardware.gpu=A100-80GB",
            "hardware.gpus_per_node=2"]  # fmt: skip


def test_auto_fit_never_offloads_more_than_the_host_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A full 70B on 2 x 80 GB fits the GPUs only by offloading ~1 TiB: the default host of an
    A100 box (144 GiB a GPU) cannot hold it, so nothing fits and the host RAM is named; a host
    that can hold it gets the offload plan, and every screen shows host RAM beside GPU memory."""
    monkeypatch.chdir(tmp_path)
    out = stdout_of(capsys, ["new", "small", *sets(BIG_FULL), "--yes"])
    assert "need host RAM" in out and "of the host's 288 GiB" in out
    assert ": does not fit" in next(line for line in out.splitlines() if line.startswith("Memory:"))
    roomy = stdout_of(capsys, ["new", "roomy", *sets([*BIG_FULL, "hardware.host_ram_gib=2048"]),
                               "--yes"])  # fmt: skip
    memory = next(line for line in roomy.splitlines() if line.startswith("Memory:"))
    assert "offload" in roomy and "of 2,048 GiB: fits" in memory
    estimate = json.loads(stdout_of(capsys, ["estimate", "roomy", "--json"]))
    assert estimate["host_ram_gib"] == 2048 and estimate["host_fits"] is True
    small = json.loads(stdout_of(capsys, ["estimate", "small", "--json"]))
    assert small["host_ram_from"].startswith("as on AWS p4de.24xlarge")


def test_a_replay_with_another_method_fits_again_like_a_fresh_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    given = ["model.base_model=meta-llama/Llama-3.1-8B-Instruct", "datasets.0.path=org/chat",
             "datasets.0.format=chat_template", "hardware.gpu=L40S",
             "hardware.gpus_per_node=2"]  # fmt: skip
    stdout_of(capsys, ["new", "a", *sets(given), "--yes"])
    answers = yaml.safe_load((tmp_path / "a" / "wizard-answers.yml").read_text())
    assert "micro_batch_size" not in answers["answers"]["training"]
    assert answers["auto_fit"]["training.micro_batch_size"] >= 1  # recorded as auto-fit's
    stdout_of(capsys, ["new", "same", "--answers", "a/wizard-answers.yml", "--yes"])
    for name in ("axolotl.yml", "wizard-answers.yml"):
        assert (tmp_path / "same" / name).read_bytes() == (tmp_path / "a" / name).read_bytes()
    replay = stdout_of(capsys, ["new", "b", "--answers", "a/wizard-answers.yml",
                                "--set", "method.kind=full", "--yes"])  # fmt: skip
    fresh = stdout_of(capsys, ["new", "c", *sets([*given, "method.kind=full"]), "--yes"])
    assert (tmp_path / "b" / "axolotl.yml").read_text() == (
        tmp_path / "c" / "axolotl.yml"
    ).read_text()
    assert replay.split("Memory:")[1].splitlines()[0] == fresh.split("Memory:")[1].splitlines()[0]
    assert "deepspeed" in (tmp_path / "b" / "axolotl.yml").read_text()  # re-fitted: sharded


def test_the_method_menu_names_the_layout_auto_fit_would_add(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    given = ["model.base_model=meta-llama/Llama-3.1-8B-Instruct", "datasets.0.path=org/chat",
             "datasets.0.format=chat_template", "hardware.gpu=L40S", "hardware.gpus_per_node=2",
             "hardware.host_ram_gib=512"]  # fmt: skip
    prompter = review_through_interview(monkeypatch, ["new", "asked", *sets(given)])
    notes = prompter.notes["method.kind"]
    assert "with ZeRO-" in notes["full"] or "with FSDP2" in notes["full"], notes["full"]
    assert "with no sharding" in notes["qlora"], notes["qlora"]
    assert all("the training answers may move it" in note for note in notes.values())


def test_a_long_reason_wraps_under_its_choice() -> None:
    from wizard.interview.prompter import CHOICE_INDENT, wrapped

    label = "full — every weight trains; " + "best quality, most memory; " * 6
    folded = wrapped(label, 60)
    assert all(len(line) <= 60 for line in folded.splitlines())
    assert len(folded.splitlines()) > 1
    assert all(line.startswith(" " * CHOICE_INDENT) for line in folded.splitlines()[1:])
    assert folded.split() == label.split()  # nothing cut
