"""`check --fix` on old configs written in every removed form: the fixed copies are what
Axolotl's own validate_config accepts, comments survive, decisions are listed and not made."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import TESTS
from validated_configs import read_all

from wizard.cli import main
from wizard.lint import load_config
from wizard.lint.textedit import Edit, TextEditor

OLD = TESTS / "data" / "lint" / "old"
MIGRATED = [
    "sharegpt-chatml",
    "sharegpt-llama3",
    "sharegpt-hub",
    "message-fields",
    "removed-options",
]


@pytest.fixture(scope="module")
def old(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("old")
    for item in OLD.iterdir():
        shutil.copy(item, folder / item.name)
    return folder


@pytest.fixture(scope="module")
def fixed(old: Path) -> dict[str, dict[str, Any]]:
    """Each old config fixed in place (in the copy), with its --fix report."""
    reports = {}
    for name in [*MIGRATED, "needs-decisions"]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):  # module scope: no capsys
            main(["check", str(old / f"{name}.yml"), "--fix", "--json"])
        reports[name] = json.loads(out.getvalue())
    return reports


def test_originals_are_untouched(old: Path, fixed: dict[str, dict[str, Any]]) -> None:
    for name in MIGRATED:
        assert (old / f"{name}.yml").read_text() == (OLD / f"{name}.yml").read_text()
        assert fixed[name]["fix"]["written"] == str(old / f"{name}.fixed.yml")


@pytest.mark.integration
def test_axolotl_accepts_every_fixed_copy(old: Path, fixed: dict[str, dict[str, Any]]) -> None:
    originals = [old / f"{n}.yml" for n in MIGRATED if n != "message-fields"]
    copies = [old / f"{n}.fixed.yml" for n in MIGRATED]
    verdicts = read_all(originals + copies)
    assert all("error" in verdicts[str(p)] for p in originals)  # each old form is refused
    assert {str(p): verdicts[str(p)].get("error") for p in copies} == {str(p): None for p in copies}


def test_fixed_copies_check_clean(
    old: Path, fixed: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    for name in MIGRATED:
        assert main(["check", str(old / f"{name}.fixed.yml"), "--json"]) == 0
        codes = {f["code"] for f in json.loads(capsys.readouterr().out)["findings"]}
        assert not codes & {"removed-dataset-type", "removed-key", "unknown-key", "type-error"}


def test_sharegpt_becomes_chat_template_with_roles(
    old: Path, fixed: dict[str, dict[str, Any]]
) -> None:
    data = load_config(old / "sharegpt-chatml.fixed.yml").data
    entry = data["datasets"][0]
    assert entry["type"] == "chat_template" and entry["chat_template"] == "chatml"
    assert entry["message_property_mappings"] == {"role": "from", "content": "value"}
    assert entry["roles"] == {
        "user": ["human", "user"],
        "assistant": ["gpt", "assistant"],
        "system": ["system"],
    }
    assert "conversation" not in entry
    text = (old / "sharegpt-chatml.fixed.yml").read_text()
    assert "path: sharegpt-chat.jsonl   # local JSONL, one chat a line" in text
    assert text.startswith("# An old ShareGPT config")
    # load_role data keeps `role`, read from the file itself; field_human/model become roles
    llama = load_config(old / "sharegpt-llama3.fixed.yml").data["datasets"][0]
    assert llama["message_property_mappings"] == {"role": "role", "content": "value"}
    assert llama["chat_template"] == "llama3" and "field_human" not in llama
    hub = load_config(old / "sharegpt-hub.fixed.yml").data["datasets"][0]
    assert hub["roles"]["assistant"] == ["gpt"] and "strict" not in hub


def test_each_change_is_listed_with_its_line(fixed: dict[str, dict[str, Any]]) -> None:
    made = {(c["line"], c["change"].split(" ")[0]) for c in fixed["removed-options"]["fix"]["made"]}
    assert (8, "`lr`") in made and (10, "`unsloth_lora_mlp`") in made
    assert any(
        c["change"].startswith("`wandb_project: 2024`")
        for c in fixed["removed-options"]["fix"]["made"]
    )
    text = Path(fixed["removed-options"]["fix"]["written"]).read_text()
    assert "learning_rate: 0.0002                  # the typo" in text
    assert "wandb_project: '2024'" in text and "eval_sample_packing: false" in text
    assert "unsloth" not in text and "flash_attn_rms_norm" not in text


def test_decisions_are_listed_not_made(old: Path, fixed: dict[str, dict[str, Any]]) -> None:
    fix_report = fixed["needs-decisions"]["fix"]
    assert fix_report["written"] is None and fix_report["made"] == []
    left = [c["change"] for c in fix_report["left"] if c["decision"]]
    assert len(left) == 3 and any("evals_per_epoch" in c for c in left)
    assert not (old / "needs-decisions.fixed.yml").exists()
    assert fixed["sharegpt-chatml"]["fix"]["left"] == []  # conversation: chatml maps exactly
    hub_left = fixed["sharegpt-hub"]["fix"]["left"]
    assert hub_left == []  # the config-wide chat_template says which template


def test_existing_copy_needs_force(
    old: Path, fixed: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    path = old / "message-fields.yml"
    assert main(["check", str(path), "--fix"]) == 1
    assert "exists" in capsys.readouterr().err
    assert main(["check", str(path), "--fix", "--force"]) == 0


def test_flow_style_entry_is_left_for_the_person() -> None:
    text = "datasets:\n  - {path: a, type: sharegpt}\n"
    located = load_config_text(text)
    editor = TextEditor(text, located)
    assert not editor.can_apply(Edit("set", ("datasets", 0, "type"), value="chat_template"))


def test_insert_and_delete_keep_the_neighbours() -> None:
    text = "a: 1  # one\nb:\n  c: 2\n  d: 3\ne: 4\n"
    editor = TextEditor(text, load_config_text(text))
    editor.apply([Edit("delete", ("b", "c")), Edit("insert", ("a",), lines={"z": {"y": [1]}})])
    assert editor.text() == "a: 1  # one\nz:\n  y: [1]\nb:\n  d: 3\ne: 4\n"


def load_config_text(text: str) -> Any:
    from wizard.lint.positions import load_located

    return load_located(text, "<test>")


def test_a_key_with_a_comment_and_no_value_keeps_its_space() -> None:
    text = "a: # note\nb:  # other\nc: 1  # one\n"
    editor = TextEditor(text, load_config_text(text))
    editor.apply(
        [Edit("rename", ("a",), "z"), Edit("set", ("b",), value="2"), Edit("set", ("c",), value="")]
    )
    assert editor.text() == "z: # note\nb:  2 # other\nc:  # one\n"


def test_an_edit_of_a_key_written_twice_deletes_the_earlier_one() -> None:
    text = "a: 1\nb:\n  c: 2\na: 3  # the one YAML reads\n"
    editor = TextEditor(text, load_config_text(text))
    editor.apply([Edit("rename", ("a",), "z")])
    assert editor.text() == "b:\n  c: 2\nz: 3  # the one YAML reads\n"


def test_a_copy_that_would_not_parse_is_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A guard against a text edit gone wrong (a stand-in migration: the real ones parse)."""
    from wizard.lint import fix
    from wizard.lint.migrate import Migration
    from wizard.lint.textedit import Change

    path = tmp_path / "axolotl.yml"
    path.write_text("base_model: m\nlr: 0.0002\n")
    broken = Migration("base_model: [m\n", [Change(2, "`lr` → `learning_rate`")], [])
    monkeypatch.setattr(fix, "migrate_text", lambda *args: broken)
    assert main(["check", str(path), "--fix"]) == 1
    assert "would not parse" in capsys.readouterr().err
    assert not (tmp_path / "axolotl.fixed.yml").exists()
