"""`axolotl-wizard ui` driven in a real headless browser (Debian's chromium through Playwright):
the page's answers, validation, memory chart, Write and presets, against the terminal's `new`.

One server and one browser for the module (each start costs seconds); each test reloads the
page, so every one starts from a fresh tab. With WIZARD_UI_SCREENSHOTS=FOLDER the tests also
save a picture of each tab there (docs/ui/ is made so).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, run_wizard
from playwright import sync_api as playwright
from tiny_fixtures import CONVERSATIONS, TRAIN_TIMEOUT, tiny_root, workspace

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WAIT_MS = 60_000
SHOTS = os.environ.get("WIZARD_UI_SCREENSHOTS")
__all__ = ["tiny_root"]  # pytest finds the session fixture through this import


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, tiny_root: Path) -> Path:
    """The page's folder: a chat dataset, a finished launch, the tiny model (tiny-cpu's)."""
    root = workspace(tiny_root, tmp_path_factory.mktemp("page"))
    lines = [json.dumps(record) for record in CONVERSATIONS]
    (root / "data.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    made_run(root / "trained" / "launches" / "20261207-101500-node0")
    return root


def made_run(launch: Path) -> None:
    """A finished launch as `launch` records it: its manifest, then the figures the runs
    package adds to it (a loss curve of 40 steps, memory measured and estimated), and its log."""
    from wizard.runs import EstimateFigure, LossPoint, Measured, record_measured

    launch.mkdir(parents=True)
    manifest = {"time_utc": "2026-12-07T10:15:00Z", "outcome": "finished", "exit_code": 0}
    (launch / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    curve = tuple(LossPoint(step, 2.5 / step**0.3) for step in range(1, 41))
    measured = Measured(steps=40, total_steps=40, final_loss=curve[-1].loss,
                        peak_allocated_gib=13.1, loss_curve=curve)  # fmt: skip
    record_measured(launch, measured, EstimateFigure(allocated_gib=12.4, peak_gib=14.7))
    (launch / "output.log").write_text("step 40/40 loss 0.82\ntraining finished\n")


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[str]:
    """The real command, on loopback and a free port; its first line says the URL."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(folder / "home"),
           "XDG_CONFIG_HOME": str(folder / "home" / "config")}  # fmt: skip
    child = subprocess.Popen(
        [sys.executable, "-m", "wizard", "ui", str(folder), "--no-browser"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    assert child.stdout is not None
    line = child.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:\d+/", line)
    assert match, line + child.stdout.read(2000)
    yield match.group(0)
    child.terminate()
    child.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    tab = browser.new_page(viewport={"width": 1200, "height": 1400})
    tab.set_default_timeout(WAIT_MS)
    tab.goto(server)
    tab.wait_for_selector("#q-model-base_model")
    settle(tab)
    yield tab
    tab.close()


def settle(tab: Any) -> None:
    """Wait until the page has no event in flight (Gradio shows a progress text meanwhile)."""
    tab.wait_for_timeout(300)
    tab.wait_for_function("!document.querySelector('.progress-text, .eta-bar')", timeout=WAIT_MS)


def pick(tab: Any, elem_id: str, value: str) -> None:
    """Choose `value` in one of the page's dropdowns, as a person would: type, then click it."""
    box = tab.locator(f"#{elem_id} input").first
    box.click()
    box.fill(value)
    tab.get_by_role("option", name=value).first.click()
    settle(tab)


def type_in(tab: Any, elem_id: str, text: str) -> None:
    box = tab.locator(f"#{elem_id} textarea, #{elem_id} input").first
    box.fill(text)
    box.press("Enter")
    settle(tab)


def open_tab(tab: Any, name: str) -> None:
    tab.get_by_role("tab", name=name).click()
    settle(tab)


def shoot(tab: Any, name: str) -> None:
    if SHOTS:
        tab.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


def validation(tab: Any) -> str:
    return str(tab.inner_text("#validation"))


def write_from_page(tab: Any, run: str) -> str:
    type_in(tab, "run-dir", run)
    open_tab(tab, "Review and write")
    tab.click("#write")
    settle(tab)
    return str(tab.inner_text("#write-result"))


def assert_same_as_new(folder: Path, run: str) -> None:
    """`new --answers` with the answers the page wrote makes the same files, byte for byte."""
    again = f"{run}-by-new"
    done = run_wizard("new", again, "--answers", f"{run}/wizard-answers.yml", "--yes",
                      cwd=folder)  # fmt: skip
    assert done.returncode == 0, done.stderr
    made = sorted(p.relative_to(folder / run) for p in (folder / run).rglob("*") if p.is_file())
    assert made == sorted(
        p.relative_to(folder / again) for p in (folder / again).rglob("*") if p.is_file()
    )
    for name in made:
        assert (folder / run / name).read_bytes() == (folder / again / name).read_bytes(), name


def test_a_preset_filled_and_written_is_what_new_writes(page: Any, folder: Path) -> None:
    pick(page, "q-start", "llama-3.1-8b-qlora")
    assert "missing answers: datasets.0.path" in validation(page)
    type_in(page, "q-datasets-0-path", "data.jsonl")
    assert "All answers are valid" in validation(page)
    # The format is proposed from the records, and the records are shown.
    assert page.locator("#q-datasets-0-format input").input_value().startswith("chat_template")
    assert "Looks like chat_template" in page.inner_text("#notes")
    shoot(page, "new-run")
    result = write_from_page(page, "from-preset")
    assert result.startswith("Wrote from-preset/"), result
    shoot(page, "review")
    assert_same_as_new(folder, "from-preset")


def test_a_run_from_nothing_is_what_new_writes(page: Any, folder: Path) -> None:
    pick(page, "q-model-base_model", "Qwen/Qwen2.5-0.5B-Instruct")
    type_in(page, "q-datasets-0-path", "data.jsonl")
    pick(page, "q-hardware-gpu", "L4")
    type_in(page, "q-training-num_epochs", "2")
    assert "All answers are valid" in validation(page)
    result = write_from_page(page, "from-nothing")
    assert result.startswith("Wrote from-nothing/"), result
    answers = (folder / "from-nothing" / "wizard-answers.yml").read_text(encoding="utf-8")
    assert "preset: null" in answers and "num_epochs: 2" in answers and "gpu: L4" in answers
    assert_same_as_new(folder, "from-nothing")


def test_a_refused_answer_shows_the_terminals_message(page: Any) -> None:
    type_in(page, "q-training-learning_rate", "fast")
    assert "training.learning_rate: Input should be a valid number (got 'fast')" in validation(page)


def test_the_memory_chart_follows_the_method(page: Any) -> None:
    pick(page, "q-start", "llama-3.1-8b-qlora")
    type_in(page, "q-datasets-0-path", "data.jsonl")
    open_tab(page, "Memory")
    qlora = float(page.get_attribute("#memory-chart svg", "data-peak"))
    open_tab(page, "New run")
    pick(page, "q-method-kind", "lora")
    open_tab(page, "Memory")
    lora = float(page.get_attribute("#memory-chart svg", "data-peak"))
    assert lora > qlora + 5  # 16-bit base weights: about 10 GiB more than 4-bit ones
    assert "does not fit" in page.inner_text("#memory-verdict")
    shoot(page, "memory")
    # The estimate's advice is a button: it applies the change to the answers.
    page.locator("#fixes label", has_text="cut_cross_entropy: true").click()
    page.click("#apply-fix")
    settle(page)
    fused = float(page.get_attribute("#memory-chart svg", "data-peak"))
    assert fused < lora - 3
    open_tab(page, "Review and write")
    assert "cut_cross_entropy: true" in page.inner_text("#config")


def test_a_presets_explanation_opens(page: Any) -> None:
    open_tab(page, "Presets")
    pick(page, "preset-name", "llama-3.1-8b-qlora")
    type_in(page, "explain-key", "training.micro_batch_size")
    page.click("#preset-explain")
    settle(page)
    text = page.inner_text("#preset-explained")
    assert "in preset builtin:llama-3.1-8b-qlora:" in text
    assert "overrides preset builtin:llama-3.1-8b-lora: 2" in text
    shoot(page, "presets")


def test_a_runs_loss_curve_opens(page: Any) -> None:
    open_tab(page, "Runs")
    page.click("#runs-refresh")
    settle(page)
    assert "finished" in page.inner_text("#runs-list")
    page.click("#run-open")
    settle(page)
    assert page.get_attribute("#loss-curve svg", "data-points") == "40"
    memory = page.inner_text("#run-memory")
    assert "13.1 (estimate 12.4, -5%)" in memory
    assert "training finished" in page.inner_text("#run-log")
    shoot(page, "runs")


def test_the_token_preview_shows_what_axolotl_trains(page: Any) -> None:
    """With the model's tokenizer here (the tiny model), the interview's preview runs Axolotl's
    own tokenization of the first records, trained and masked tokens told apart."""
    pick(page, "q-start", "tiny-cpu")
    page.click("#preview-tokens")
    settle(page)
    notes = page.inner_text("#notes")
    assert "the first 2 records as Axolotl tokenizes them" in notes
    assert "4 trained" in notes and "[[" in notes


def test_launch_trains_only_once_confirmed_and_the_run_shows(page: Any, folder: Path) -> None:
    """Launch with the box unticked starts nothing; ticked, it runs the `launch` verb on the
    tiny model (CPU), and the Runs tab lists the launch it recorded, with its loss curve."""
    pick(page, "q-start", "tiny-cpu")
    assert write_from_page(page, "tiny").startswith("Wrote tiny/")
    page.click("#launch-button")
    settle(page)
    assert "nothing was started" in page.inner_text("#launch-result")
    assert not (folder / "tiny" / "launches").exists()
    page.locator("#launch-confirm input").check()
    page.click("#launch-button")
    settle(page)
    assert "Started" in page.inner_text("#launch-result")
    deadline = time.monotonic() + TRAIN_TIMEOUT
    manifests: list[Path] = []
    while time.monotonic() < deadline:
        manifests = list((folder / "tiny").glob("launches/*/manifest.json"))
        if manifests and '"outcome"' in manifests[0].read_text(encoding="utf-8"):
            break
        time.sleep(2)
    log = (folder / "tiny" / "ui-launch.log").read_text(encoding="utf-8", errors="replace")
    assert manifests, log[-3000:]
    record = json.loads(manifests[0].read_text(encoding="utf-8"))
    assert record["outcome"] == "finished", log[-3000:]
    open_tab(page, "Runs")
    page.click("#runs-refresh")
    settle(page)
    pick(page, "run-pick", f"tiny/launches/{manifests[0].parent.name}")
    page.click("#run-open")
    settle(page)
    assert int(page.get_attribute("#loss-curve svg", "data-points")) > 1
