"""Unit tests for preset loading, safety, locks, versions and the resolved views."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import TESTS

from wizard.answers.layers import Answers, Layer
from wizard.answers.placeholders import placeholder_layer
from wizard.errors import WizardError
from wizard.presets.assemble import collect_answers
from wizard.presets.locks import apply_locks, chain_locks, enforce_locks, locked_keys
from wizard.presets.reading import ensure_inside, read_preset_data, version_warnings
from wizard.presets.store import load_preset_file, preset_chain, preset_layers
from wizard.presets.tools import check_folder
from wizard.presets.views import format_value, resolve_chain

DATA = TESTS / "data" / "presets"
TEAM = DATA / "team"
HOSTILE = DATA / "hostile"


@pytest.fixture
def team(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The team folder in AXOLOTL_WIZARD_PRESETS, an empty user folder, cwd a temporary folder."""
    monkeypatch.setenv("AXOLOTL_WIZARD_PRESETS", str(TEAM))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_malicious_payload_is_real_but_safe_loading_runs_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    text = (HOSTILE / "evil.yml").read_text(encoding="utf-8")
    yaml.unsafe_load(text)  # What an unsafe loader would do: run `touch evil-ran`.
    assert (tmp_path / "evil-ran").exists()
    (tmp_path / "evil-ran").unlink()

    with pytest.raises(WizardError) as caught:
        read_preset_data(HOSTILE / "evil.yml")
    assert "!!python/object/apply:os.system is refused" in caught.value.message
    assert "evil.yml:3" in caught.value.message
    assert not (tmp_path / "evil-ran").exists()


# Ten times ten times ... : a few hundred bytes that expand to ten million values.
BILLION_LAUGHS = "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
    f"{k}: &{k} [{', '.join([f'*{p}'] * 10)}]\n" for p, k in zip("abcdefg", "bcdefgh", strict=True)
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &a [*a]\n", "expands to no end"),  # refers to itself: a walk would never end
        (BILLION_LAUGHS, "expands to more than 100,000 values"),
        ("a: !!python/name:os.system\n", "!!python/name:os.system is refused"),
        ("a: !custom 1\n", "!custom is refused"),
        ("name: x\n" + "# padding\n" * 30_000, "KiB, more than the 256 KiB limit"),
    ],
)
def test_unsafe_preset_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "x.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(WizardError, match=message.replace("!", ".").replace("*", ".")):
        read_preset_data(path)


def test_a_link_out_of_its_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "presets"
    folder.mkdir()
    (tmp_path / "secret.yml").write_text("name: secret\n", encoding="utf-8")
    (folder / "secret.yml").symlink_to(tmp_path / "secret.yml")
    with pytest.raises(WizardError, match="points outside its folder"):
        ensure_inside(folder / "secret.yml", folder)
    (folder / "inside.yml").write_text("name: inside\n", encoding="utf-8")
    ensure_inside(folder / "inside.yml", folder)


def test_numbers_in_version_are_kept_as_text() -> None:
    preset = load_preset_file(TEAM / "team-base.yml", "team")
    assert preset.data.version == "3"


def test_chain_locks_name_the_locking_preset(team: Path) -> None:
    locks = chain_locks(preset_chain("llama-qlora"))
    assert {key: (lock.value, lock.preset) for key, lock in locks.items()} == {
        "training.seed": (1234, "team:team-base"),
        # locked as `axolotl.chat_template`, a raw key that is an answer now: locked as that
        "data.chat_template": ("llama3", "team:team-base"),
    }


def test_a_prefix_lock_covers_every_key_below_it(team: Path) -> None:
    (team / "p").mkdir()
    (team / "p" / "fixed.yml").write_text(
        "name: fixed\nextends: builtin:tiny-cpu\nlocked: method\n", encoding="utf-8"
    )
    preset = load_preset_file(team / "p" / "fixed.yml", "project")
    locks = chain_locks([*preset_chain("builtin:tiny-cpu"), preset])
    assert sorted(locks) == ["method.alpha", "method.dropout", "method.kind", "method.r"]


@pytest.mark.parametrize(
    ("locked", "message"),
    [("training.sed", "is not an answer key"), ("training.max_steps", "has no value")],
)
def test_bad_lock_entries_are_errors(tmp_path: Path, locked: str, message: str) -> None:
    path = tmp_path / "p.yml"
    path.write_text(
        f"name: p\nanswers: {{training: {{seed: 1}}}}\nlocked: [{locked}]\n", encoding="utf-8"
    )
    with pytest.raises(WizardError, match=message):
        chain_locks([load_preset_file(path, "team")])


def test_lock_values_compare_as_answers_not_as_python(team: Path) -> None:
    chain = preset_chain("llama-qlora")
    locks = chain_locks(chain)
    layers = preset_layers(chain)
    float_seed = Layer("answers file", {"training.seed": 1234.0})
    enforce_locks(Answers([*layers, float_seed]), locks)  # 1234.0 is the answer 1234
    text_seed = Layer("answers file", {"training.seed": "1234"})
    with pytest.raises(WizardError, match="answers file changes it to '1234'"):
        enforce_locks(Answers([*layers, text_seed]), locks)


def test_collect_answers_locks_unless_unlocked(team: Path) -> None:
    with pytest.raises(WizardError) as caught:
        collect_answers("llama-qlora", None, ["training.seed=7"])
    assert "--unlock" in (caught.value.hint or "")

    answers, _ref = collect_answers("llama-qlora", None, ["training.seed=7"], unlock=True)
    assert answers.resolve().training.seed == 7
    assert locked_keys(answers) == set()

    answers, ref = collect_answers("llama-qlora", None, [])
    assert locked_keys(answers) == {"training.seed", "data.chat_template"}
    assert answers.origin("training.seed") == "locked by preset team:team-base"
    assert ref is not None and ref.name == "llama-qlora"


def test_apply_locks_without_locks_keeps_the_answers() -> None:
    answers = Answers([Layer("--set", {"training.seed": 3})])
    assert apply_locks(answers, {}) is answers


def test_version_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "wizard.presets.reading.installed_axolotl", lambda: ("0.19.0", "installed Axolotl")
    )
    wanted = [("team:a", ">=0.19,<0.20"), ("team:b", "==0.18.*"), ("team:c", "")]
    assert version_warnings(wanted) == [
        "preset team:b wants axolotl ==0.18.*, but the installed Axolotl is 0.19.0"
    ]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("qlora", "qlora"),
        ("8", '"8"'),
        ("true", '"true"'),
        (8, "8"),
        (None, "null"),
        (["q_proj", "v_proj"], '["q_proj", "v_proj"]'),
        ("", '""'),
        ("a: b", '"a: b"'),
    ],
)
def test_format_value(value: object, shown: str) -> None:
    assert format_value(value) == shown


def test_placeholders_fill_only_what_is_required() -> None:
    layer = placeholder_layer([Layer("preset", {"training.seed": 1})])
    assert layer.values == {
        "model.base_model": "your-org/your-model",
        "datasets.0.path": "data/train.jsonl",
        "datasets.0.format": "alpaca",
    }
    chat = Layer("preset", {"model.base_model": "m", "datasets.0.format": "chat_template"})
    assert placeholder_layer([chat]).values == {"datasets.0.path": "data/train.jsonl"}


def test_a_preset_may_extend_the_lower_preset_of_its_own_name(team: Path) -> None:
    project = team / ".axolotl-wizard" / "presets"
    project.mkdir(parents=True)
    (project / "tiny-cpu.yml").write_text(
        "name: tiny-cpu\nextends: builtin:tiny-cpu\nanswers: {training: {max_steps: 2}}\n",
        encoding="utf-8",
    )
    resolved = resolve_chain(preset_chain("tiny-cpu"))
    assert [p.qualified_name for p in resolved.chain] == ["builtin:tiny-cpu", "project:tiny-cpu"]
    assert resolved.spec.training.max_steps == 2

    (project / "tiny-cpu.yml").write_text("name: tiny-cpu\nextends: tiny-cpu\n", encoding="utf-8")
    with pytest.raises(WizardError) as caught:
        preset_chain("tiny-cpu")
    assert "cycle: project:tiny-cpu -> project:tiny-cpu" in caught.value.message
    assert "extends: builtin:NAME" in (caught.value.hint or "")


def test_check_folder_renders_with_placeholders(team: Path) -> None:
    results = {r.name: r for r in check_folder(TEAM)}
    assert all(r.ok for r in results.values()), [r.problems for r in results.values()]
    assert results["team:team-base"].placeholders == [
        "datasets.0.format",
        "datasets.0.path",
        "model.base_model",
    ]
    assert results["team:llama-qlora"].placeholders == []
