"""The page's parts without a browser: the walk of the interview, the memory advice as answers,
the folder rule, the token on a non-loopback address, and `ui` without Gradio."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, run_wizard
from tiny_fixtures import CONVERSATIONS

from wizard import cli
from wizard.errors import WizardError
from wizard.interview.data_answers import with_data_proposals
from wizard.presets.assemble import collect_answers
from wizard.render.plan import plan_run
from wizard.ui import presets_page
from wizard.ui.app import Actions, Page, _inside
from wizard.ui.memory import fix_answers
from wizard.ui.server import bind, is_loopback
from wizard.ui.walk import Draft, walk

PRESET = "llama-3.1-8b-qlora"


def files_of(answers: Any, preset: Any, cwd: Path) -> dict[str, str]:
    answers = with_data_proposals(answers, cwd)
    return plan_run(answers, preset, Path("run"), cwd).folder.files


def test_a_preset_left_as_it_is_plans_what_new_yes_plans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every question walked with nothing changed is Enter everywhere: the files of `new --yes`.
    (The page shows the folded sections' questions too; walking them must not record their
    defaults, as answering `false` to a kernel question would.)"""
    monkeypatch.chdir(tmp_path)
    lines = [json.dumps(record) for record in CONVERSATIONS]
    (tmp_path / "d.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    walked = walk(Draft(start=PRESET, given={"datasets.0.path": "d.jsonl"}))
    assert walked.problem is None
    by_new, ref = collect_answers(PRESET, None, ["datasets.0.path=d.jsonl"])
    assert files_of(walked.answers, walked.preset, tmp_path) == files_of(by_new, ref, tmp_path)


def test_a_refused_answer_keeps_the_value_and_says_why_as_the_terminal_does() -> None:
    walked = walk(Draft(start=PRESET, given={"training.learning_rate": "fast"}))
    assert walked.prompter.refusals == {
        "training.learning_rate": "Input should be a valid number (got 'fast')"
    }
    assert walked.interview.value("training.learning_rate") == 0.0002


def test_a_locked_or_hidden_question_follows_the_answers() -> None:
    alpaca = walk(Draft(given={"datasets.0.format": "alpaca"}))
    chat = walk(Draft(given={"datasets.0.format": "chat_template"}))
    assert "datasets.0.field_messages" not in alpaca.prompter.prompts
    assert "datasets.0.field_messages" in chat.prompter.prompts


def test_the_estimates_advice_becomes_answers() -> None:
    current = {"micro": 4, "gpus": 2}
    assert fix_answers("halve micro_batch_size, double gradient_accumulation_steps", current) == {
        "training.micro_batch_size": "2"
    }
    combined = "all of: gradient_checkpointing: true; DeepSpeed ZeRO-3 (deepspeed: x/zero3.json)"
    assert fix_answers(combined, current) == {
        "training.gradient_checkpointing": True,
        "distributed.backend": "deepspeed",
        "distributed.zero_stage": "3",
    }
    assert fix_answers("twice as many GPUs", current) == {"hardware.gpus_per_node": "4"}


def test_the_page_writes_only_under_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _inside("runs/a") == Path("runs/a")
    for outside in ("../elsewhere", "/tmp/x", "a/../../b"):
        assert isinstance(_inside(outside), WizardError)


def test_only_loopback_goes_without_a_token() -> None:
    sock, address = bind("127.0.0.1", 0)
    sock.close()
    assert address.token is None and address.port > 0
    assert address.url() == f"http://127.0.0.1:{address.port}/"
    assert is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")


def test_ui_without_gradio_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "gradio" else real(name, *a)
    )
    assert cli.main(["ui", str(tmp_path), "--no-browser"]) == 1
    err = capsys.readouterr().err
    assert "error: the page needs Gradio" in err
    assert "hint: pip install 'axolotl-wizard[ui]'" in err


def test_another_host_needs_the_printed_token(tmp_path: Path) -> None:
    """The real command on 0.0.0.0: the URL it prints carries a token; without it every
    request, the page's API included, is refused; the token is written nowhere."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(tmp_path / "home")}
    child = subprocess.Popen(
        [sys.executable, "-m", "wizard", "ui", str(tmp_path), "--host", "0.0.0.0", "--no-browser"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        found = re.search(r"http://0\.0\.0\.0:(\d+)/\?token=([\w-]+)", line)
        assert found, line
        port, token = found.groups()
        base = f"http://127.0.0.1:{port}"
        for path in ("/", "/config", "/gradio_api/info", f"/?token={token[:-1]}"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(base + path, timeout=30)
            assert refused.value.code == 403, path
        with urllib.request.urlopen(f"{base}/?token={token}", timeout=30) as page:
            assert page.status == 200
            assert "axolotl_wizard_token" in page.headers["set-cookie"]
        written = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]
        assert not any(token.encode() in data for data in written)
    finally:
        child.terminate()
        child.wait(timeout=30)


def test_launch_starts_nothing_without_the_confirmation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    started: list[Path] = []
    page = Page(Actions(write=lambda *given: None, launch=lambda run: started.append(run) or ""))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "axolotl.yml").write_text("base_model: x\n")
    assert "nothing was started" in page.on_launch("run", confirmed=False)
    assert "nothing was started" in page.on_launch("missing", confirmed=True)
    assert "outside" in page.on_launch("../run", confirmed=True)
    assert started == []
    page.on_launch("run", confirmed=True)
    assert started == [Path("run")]


def test_save_as_preset_keeps_presets_saves_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's answers, once written, saved as a project preset under the page's folder:
    the dataset left as a placeholder, the locks given, listed at once."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WizardError) as unwritten:
        presets_page.save_text("mine", Path("run"), "", "")
    assert "press Write" in unwritten.value.hint
    done = run_wizard("new", "run", "--preset", PRESET, "--set", "datasets.0.path=d.jsonl",
                      "--yes", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = presets_page.save_text("mine", Path("run"), "my run", "training.learning_rate")
    saved = tmp_path / ".axolotl-wizard" / "presets" / "mine.yml"
    assert str(saved.relative_to(tmp_path)).replace("_", "\\_").replace("-", "\\-") in said
    text = saved.read_text(encoding="utf-8")
    assert "locked:\n- training.learning_rate" in text and "d.jsonl" not in text
    listed = presets_page.listing_rows()
    assert any(row[0].endswith("mine") and row[3] == "my run" for row in listed)


def test_every_change_the_estimate_advises_has_answers_on_the_page() -> None:
    """The page applies the estimate's advice by its wording (ui/memory.py FIXES): a change
    reworded in estimate/advice.py without its row there would lose its Apply silently."""
    from wizard.estimate.advice import CHANGES
    from wizard.ui.memory import fix_answers

    missing = [text for text, _, _ in CHANGES if not fix_answers(text, {"micro": 4, "gpus": 2})]
    assert missing == []
