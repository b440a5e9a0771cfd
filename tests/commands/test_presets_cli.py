"""`presets` and `new --preset` through the real command, with temporary user, team and project
preset folders: precedence, qualified names, locked answers, hostile and broken files, save."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import TESTS, run_wizard

DATA = TESTS / "data" / "presets"
TEAM = DATA / "team"
HOSTILE = DATA / "hostile"


@dataclass
class Places:
    """A fake machine: the user's, two teams' and a project's preset folders."""

    root: Path
    user: Path
    team1: Path
    team2: Path
    project: Path  # the working directory; its presets are in .axolotl-wizard/presets

    @property
    def project_presets(self) -> Path:
        return self.project / ".axolotl-wizard" / "presets"

    @property
    def env(self) -> dict[str, str]:
        return {
            "XDG_CONFIG_HOME": str(self.root / "config"),
            "AXOLOTL_WIZARD_PRESETS": os.pathsep.join([str(self.team1), str(self.team2)]),
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_wizard(*args, cwd=self.project, env=self.env)


@pytest.fixture
def places(tmp_path: Path) -> Places:
    found = Places(
        tmp_path,
        tmp_path / "config" / "axolotl-wizard" / "presets",
        tmp_path / "team1",
        tmp_path / "team2",
        tmp_path / "project",
    )
    for folder in (found.user, found.team1, found.team2, found.project_presets):
        folder.mkdir(parents=True)
    return found


def write_preset(folder: Path, name: str, seed: int, **extra: object) -> Path:
    body = {
        "name": name,
        "description": f"seed {seed} from {folder.name}",
        "extends": "tiny-cpu",
        "answers": {"training": {"seed": seed}},
        **extra,
    }
    path = folder / f"{name}.yml"
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return path


def answered_seed(run_dir: Path) -> int:
    answers = yaml.safe_load((run_dir / "wizard-answers.yml").read_text(encoding="utf-8"))
    seed: int = answers["answers"]["training"]["seed"]
    return seed


def test_highest_source_wins_and_qualified_names_pick_one(places: Places) -> None:
    write_preset(places.user, "shared", 1)
    write_preset(places.team1, "shared", 2)
    write_preset(places.team2, "shared", 3)
    write_preset(places.project_presets, "shared", 4)
    write_preset(places.user, "mine", 5)

    shown = places.run("presets", "show", "shared", "--json")
    assert shown.returncode == 0, shown.stderr
    seed = next(a for a in json.loads(shown.stdout)["answers"] if a["key"] == "training.seed")
    assert (seed["value"], seed["from"]) == (4, "preset project:shared")
    # Team folders are searched like PATH: the first one that has the name wins.
    for qualified, expected in (("user:shared", 1), ("team:shared", 2), ("project:shared", 4)):
        made = places.run(
            "new", f"runs/{qualified.replace(':', '-')}", "--preset", qualified, "--yes"
        )
        assert made.returncode == 0, made.stderr
        assert answered_seed(places.project / "runs" / qualified.replace(":", "-")) == expected

    listing = json.loads(places.run("presets", "list", "--json").stdout)
    statuses = {Path(p["path"]): p["status"] for p in listing}
    assert statuses[places.project_presets / "shared.yml"] == "ok"
    for folder in (places.user, places.team1, places.team2):
        assert statuses[folder / "shared.yml"] == "shadowed"
    assert statuses[places.user / "mine.yml"] == "ok"
    assert {p["name"] for p in listing if p["source"] == "builtin"} >= {"tiny-cpu"}


def test_unknown_source_and_path_like_names_are_refused(places: Places) -> None:
    for name, message in (
        ("nowhere:tiny-cpu", "unknown preset source 'nowhere'"),
        ("../../etc/passwd", "is not a preset name"),
        ("team:../x", "is not a preset name"),
    ):
        result = places.run("presets", "show", name)
        assert result.returncode == 1 and message in result.stderr, result.stderr


def test_a_link_out_of_the_folder_is_refused(places: Places) -> None:
    outside = write_preset(places.root, "outside", 9)
    (places.team1 / "linked.yml").symlink_to(outside)
    result = places.run("presets", "show", "linked")
    assert result.returncode == 1
    assert "points outside its folder" in result.stderr
    listed = {p["name"]: p for p in json.loads(places.run("presets", "list", "--json").stdout)}
    assert listed["linked"]["status"] == "broken"


def test_locked_answers_need_unlock(places: Places) -> None:
    shutil.copytree(TEAM, places.team1, dirs_exist_ok=True)
    base = ["new", "runs/a", "--preset", "llama-qlora", "--yes"]

    refused = places.run(*base, "--set", "training.seed=7")
    assert refused.returncode == 1
    assert (
        "error: training.seed is locked by preset team:team-base (value 1234), but --set "
        "changes it to 7"
    ) in refused.stderr
    assert "--unlock" in refused.stderr
    assert not (places.project / "runs").exists()

    same = places.run(*base, "--set", "training.seed=1234", "--set", "training.num_epochs=3")
    assert same.returncode == 0, same.stderr
    assert answered_seed(places.project / "runs" / "a") == 1234

    explained = places.run("presets", "explain", "llama-qlora", "training.seed")
    assert explained.returncode == 0, explained.stderr
    assert "locked by preset team:team-base" in explained.stdout


def test_a_child_preset_cannot_change_what_its_parent_locks(places: Places) -> None:
    shutil.copytree(TEAM, places.team1, dirs_exist_ok=True)
    (places.project_presets / "sneaky.yml").write_text(
        "name: sneaky\nextends: team-base\nanswers: {training: {seed: 1}}\n", encoding="utf-8"
    )
    result = places.run("presets", "show", "sneaky")
    assert result.returncode == 1
    assert "training.seed is locked by preset team:team-base" in result.stderr
    assert "preset project:sneaky changes it to 1" in result.stderr


def test_hostile_and_broken_files_are_listed_as_broken_and_nothing_runs(places: Places) -> None:
    shutil.copytree(HOSTILE, places.team1, dirs_exist_ok=True)
    listed = places.run("presets", "list")
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line for line in listed.stdout.splitlines() if line.strip()}
    expected = {
        "team:evil": "the YAML tag !!python/object/apply:os.system is refused",
        "team:bomb": "expands to more than 100,000 values",
        "team:syntax": "syntax.yml:5:1: YAML syntax error",
        "team:typo": "unknown answer key 'training.micro_batch'",
        "team:misnamed": "is named 'something-else' inside but 'misnamed' on disk",
        "team:cycle-a": "cycle: team:cycle-a -> team:cycle-b -> team:cycle-a",
        "team:orphan": "no preset named 'no-such-parent' (needed by team:orphan)",
    }
    for name, reason in expected.items():
        assert "BROKEN:" in rows[name] and reason in rows[name], rows[name]
    assert "BROKEN" not in rows["fine"] and "BROKEN" not in rows["tiny-cpu"]

    for args in (
        ["presets", "show", "evil"],
        ["new", "runs/evil", "--preset", "evil", "--yes"],
        ["presets", "check", str(places.team1)],
    ):
        result = places.run(*args)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
    assert not (places.project / "evil-ran").exists()
    assert not (places.project / "runs").exists()


def test_cycles_show_the_chain(places: Places) -> None:
    shutil.copytree(HOSTILE, places.team1, dirs_exist_ok=True)
    result = places.run("new", "runs/x", "--preset", "cycle-b", "--yes")
    assert result.returncode == 1
    assert "error: preset extends form a cycle: team:cycle-b -> team:cycle-a -> team:cycle-b" in (
        result.stderr
    )


def test_check_builtin_presets() -> None:
    result = run_wizard("presets", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"checked (\d+) presets: \1 ok, 0 failed", result.stdout)
    assert "ok    builtin:tiny-cpu" in result.stdout


def test_check_a_team_folder_fails_with_file_and_reason(places: Places) -> None:
    shutil.copytree(TEAM, places.team1, dirs_exist_ok=True)
    good = places.run("presets", "check", str(places.team1))
    assert good.returncode == 0, good.stdout + good.stderr
    assert "checked 2 presets: 2 ok, 0 failed" in good.stdout

    bad = places.team1 / "bad-raw.yml"
    bad.write_text(
        "name: bad-raw\nextends: tiny-cpu\naxolotl:\n  pad_to_sequence_len: maybe\n",
        encoding="utf-8",
    )
    failed = places.run("presets", "check", str(places.team1))
    assert failed.returncode == 1
    assert f"error: {bad}: `pad_to_sequence_len`: 'maybe' is a string" in failed.stdout
    assert "checked 3 presets: 2 ok, 1 failed" in failed.stdout

    bad.write_text(
        "name: bad-raw\nextends: tiny-cpu\naxolotl:\n  lerning_rate: 0.1\n", encoding="utf-8"
    )
    assert places.run("presets", "check", str(places.team1)).returncode == 0
    strict = places.run("presets", "check", "--strict", str(places.team1))
    assert strict.returncode == 1 and "did you mean `learning_rate`?" in strict.stdout


def test_diff_and_explain_output() -> None:
    diffed = run_wizard("presets", "diff", "llama-3.1-8b-lora", "llama-3.1-8b-qlora")
    assert diffed.returncode == 0, diffed.stderr
    assert diffed.stdout.splitlines()[2:] == [
        "method.kind                lora -> qlora",
        "method.r                   16 -> 32",
        "method.alpha               32 -> 64",
        "hardware.gpu               A100-80GB -> RTX 4090",
        "training.micro_batch_size  2 -> 1",
        "training.optimizer         adamw_torch_fused -> paged_adamw_8bit",
    ]
    explained = run_wizard("presets", "explain", "llama-3.1-8b-qlora", "training.micro_batch_size")
    lines = explained.stdout.splitlines()
    assert lines[1] == "training.micro_batch_size = 1"
    assert lines[2].startswith("  from preset builtin:llama-3.1-8b-qlora (")
    assert lines[3:] == ["  overrides preset builtin:llama-3.1-8b-lora: 2", "  default: 1"]
    typo = run_wizard("presets", "explain", "tiny-cpu", "training.sed")
    assert typo.returncode == 1 and "did you mean 'training.seed'?" in typo.stderr


def test_show_marks_required_answers() -> None:
    shown = run_wizard("presets", "show", "llama-3.1-8b-qlora")
    assert shown.returncode == 0, shown.stderr
    assert "chain: builtin:llama-3.1-8b-lora -> builtin:llama-3.1-8b-qlora" in shown.stdout
    rows = shown.stdout.splitlines()
    path_row = next(line for line in rows if line.startswith("datasets.0.path"))
    assert path_row.split() == ["datasets.0.path", "(required)", "required"]


def test_axolotl_version_mismatch_warns(places: Places) -> None:
    write_preset(places.team1, "future", 1, axolotl_version=">=99")
    write_preset(places.team1, "garbled", 1, axolotl_version="soon please")
    made = places.run("new", "runs/f", "--preset", "future", "--yes")
    assert made.returncode == 0, made.stderr
    assert "warning: preset team:future wants axolotl >=99, but the installed Axolotl is" in (
        made.stderr
    )
    listed = {p["name"]: p for p in json.loads(places.run("presets", "list", "--json").stdout)}
    assert listed["garbled"]["status"] == "broken"
    assert "is not a version specifier" in listed["garbled"]["problem"]


def test_save_then_new_reproduces_the_run(places: Places) -> None:
    original = places.run(
        "new",
        "runs/a",
        "--preset",
        "llama-3.1-8b-full-zero3",
        "--set",
        "datasets.0.path=d.jsonl",
        "--set",
        "training.seed=7",
        "--set",
        "axolotl.dataloader_num_workers=2",
        "--yes",
    )
    assert original.returncode == 0, original.stderr
    saved = places.run(
        "presets",
        "save",
        "our-zero3",
        "--from",
        "runs/a",
        "--to",
        str(places.team2),
        "--description",
        "what worked",
    )
    assert saved.returncode == 0, saved.stderr
    assert "Use it: axolotl-wizard new RUN_DIR --preset team:our-zero3" in saved.stdout
    # The data file is a path on the machine that made the run: the preset leaves it to `new`.
    again = places.run("new", "runs/b", "--preset", "our-zero3", "--set", "datasets.0.path=d.jsonl",
                       "--yes")  # fmt: skip
    assert again.returncode == 0, again.stderr

    first, second = places.project / "runs" / "a", places.project / "runs" / "b"
    files = sorted(str(p.relative_to(first)) for p in first.rglob("*") if p.is_file())
    assert files == sorted(str(p.relative_to(second)) for p in second.rglob("*") if p.is_file())
    assert any(name.startswith("deepspeed/") and "zero3" in name for name in files)
    old_ref, new_ref = _preset_ref(first), _preset_ref(second)
    for name in files:
        # Only the provenance differs: which preset (and its hash) made the run.
        expected = (first / name).read_bytes().replace(old_ref[0], new_ref[0])
        assert expected.replace(old_ref[1], new_ref[1]) == (second / name).read_bytes(), name

    refused = places.run(
        "presets", "save", "our-zero3", "--from", "runs/a", "--to", str(places.team2)
    )
    assert refused.returncode == 1 and "already exists" in refused.stderr


def _preset_ref(run_dir: Path) -> tuple[bytes, bytes]:
    answers = yaml.safe_load((run_dir / "wizard-answers.yml").read_text(encoding="utf-8"))
    return answers["preset"]["name"].encode(), answers["preset"]["sha256"].encode()


def test_presets_commands_import_nothing_heavy(places: Places) -> None:
    code = (
        "import sys\n"
        "from wizard.cli import main\n"
        "main(['presets', 'show', 'tiny-cpu']); main(['presets', 'check'])\n"
        "heavy = {'torch', 'transformers', 'axolotl', 'deepspeed', 'accelerate', 'questionary'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=places.project,
        env={**os.environ, **places.env},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


# -- presets save: a team preset from one person's run (issue 26, item 13) -----------------------


def _chat_data(places: Places) -> Path:
    path = places.root / "home" / "me" / "chat.jsonl"
    path.parent.mkdir(parents=True)
    turns = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    path.write_text(json.dumps({"conversations": turns}) + "\n", encoding="utf-8")
    return path


def _saved(places: Places, name: str, *args: str) -> dict[str, Any]:
    done = places.run("presets", "save", name, "--to", str(places.team2), *args)
    assert done.returncode == 0, done.stderr
    loaded: dict[str, Any] = yaml.safe_load((places.team2 / f"{name}.yml").read_text())
    return loaded


def test_save_keeps_the_recipe_and_leaves_this_machine_out(places: Places) -> None:
    data = _chat_data(places)
    made = places.run(
        "new",
        "runs/a",
        "--preset",
        "llama-3.1-8b-lora",
        "--set",
        f"datasets.0.path={data}",
        "--set",
        "datasets.0.field_messages=conversations",
        "--set",
        f"training.output_dir={places.root / 'scratch' / 'out'}",
        "--yes",
    )
    assert made.returncode == 0, made.stderr
    done = places.run("presets", "save", "chat-lora", "--from", str(places.project / "runs" / "a"),
                      "--to", str(places.team2))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Left out, as paths on this machine: datasets.0.path, training.output_dir" in done.stdout
    text = (places.team2 / "chat-lora.yml").read_text()
    assert str(places.root) not in text  # no path of this machine, anywhere in the file
    answers = yaml.safe_load(text)["answers"]
    assert answers["model"]["base_model"] == "meta-llama/Llama-3.1-8B-Instruct"  # a Hub id stays
    # Only the chat format's fields: no field_prompt/field_chosen/text_field/conversations.
    assert answers["datasets"] == [
        {
            "format": "chat_template",
            "field_messages": "conversations",
            "role_key": "role",
            "content_key": "content",
        }
    ]
    assert "output_dir" not in answers["training"] and answers["training"]["learning_rate"] == 2e-4

    checked = places.run("presets", "check", str(places.team2))
    assert checked.returncode == 0 and "(placeholders: datasets.0.path)" in checked.stdout
    asked = places.run("new", "runs/b", "--preset", "chat-lora", "--yes")
    assert asked.returncode == 1 and "missing answers: datasets.0.path" in asked.stderr
    again = places.run("new", "runs/b", "--preset", "chat-lora", "--set",
                       f"datasets.0.path={data}", "--yes")  # fmt: skip
    assert again.returncode == 0, again.stderr
    config = yaml.safe_load((places.project / "runs" / "b" / "axolotl.yml").read_text())
    assert config["datasets"][0]["field_messages"] == "conversations"
    assert config["output_dir"] == "./outputs"


def test_a_run_of_given_answers_saves_no_batch_or_sharding(places: Places) -> None:
    """Auto-fit's choices are not answers: a run whose answers file holds only what was given
    (batch and sharding left to auto-fit) gives a preset without them, so auto-fit chooses them
    again wherever the preset is used."""
    from wizard.answers.file import FORMAT_VERSION

    run = places.project / "runs" / "given"
    run.mkdir(parents=True)
    (run / "wizard-answers.yml").write_text(
        yaml.safe_dump(
            {
                "format_version": FORMAT_VERSION,
                "wizard_version": "0.1.0",
                "axolotl_version": "0.19.0",
                "preset": None,
                "answers": {
                    "model": {"base_model": "meta-llama/Llama-3.1-8B"},
                    "datasets": [{"path": "org/data", "format": "alpaca"}],
                    "method": {"kind": "qlora"},
                    "training": {"learning_rate": 0.0001},
                },
                "axolotl": {},
                "complete": True,
            },
            sort_keys=False,
        ),
        encoding="utf-8",
    )
    answers = _saved(places, "given", "--from", "runs/given")["answers"]
    assert answers == {
        "model": {"base_model": "meta-llama/Llama-3.1-8B"},
        "datasets": [{"path": "org/data", "format": "alpaca"}],
        "method": {"kind": "qlora"},
        "training": {"learning_rate": 0.0001},
    }


def test_save_extends_a_parent_and_locks_answers(places: Places) -> None:
    data = _chat_data(places)
    made = places.run(
        "new",
        "runs/a",
        "--preset",
        "llama-3.1-8b-lora",
        "--set",
        f"datasets.0.path={data}",
        "--set",
        "datasets.0.field_messages=conversations",
        "--set",
        "training.seed=7",
        "--yes",
    )
    assert made.returncode == 0, made.stderr
    preset = _saved(
        places,
        "child",
        "--from",
        "runs/a",
        "--extends",
        "llama-3.1-8b-lora",
        "--lock",
        "training.seed",
        "--lock",
        "method",
    )
    assert preset["extends"] == ["llama-3.1-8b-lora"]
    assert preset["locked"] == ["training.seed", "method"]
    answers = preset["answers"]
    # What the parent gives is left to it; what the run changed or added stays.
    assert "base_model" not in answers["model"] and "learning_rate" not in answers["training"]
    assert answers["training"]["seed"] == 7 and "r" not in answers.get("method", {})

    again = places.run("new", "runs/b", "--preset", "child", "--set", f"datasets.0.path={data}",
                       "--yes")  # fmt: skip
    assert again.returncode == 0, again.stderr
    first, second = (places.project / "runs" / name / "axolotl.yml" for name in ("a", "b"))
    body = [[line for line in p.read_text().splitlines() if not line.startswith("#")]
            for p in (first, second)]  # fmt: skip
    assert body[0] == body[1]  # the same run, from the preset
    locked = places.run("new", "runs/c", "--preset", "child", "--set", f"datasets.0.path={data}",
                        "--set", "training.seed=8", "--yes")  # fmt: skip
    assert locked.returncode == 1
    assert "training.seed is locked by preset team:child" in locked.stderr


def test_save_refuses_a_preset_that_breaks_its_parents_lock(places: Places) -> None:
    shutil.copytree(TEAM, places.team1, dirs_exist_ok=True)
    made = places.run(
        "new",
        "runs/a",
        "--preset",
        "llama-3.1-8b-lora",
        "--set",
        "datasets.0.path=org/chat",
        "--set",
        "training.seed=7",
        "--yes",
    )
    assert made.returncode == 0, made.stderr
    base = ("presets", "save", "x", "--from", "runs/a", "--to", str(places.team2))
    broken = places.run(*base, "--extends", "team-base")
    assert broken.returncode == 1
    assert "training.seed is locked by preset team:team-base (value 1234)" in broken.stderr
    unknown = places.run(*base, "--lock", "training.sede")
    assert unknown.returncode == 1 and "'training.sede' is not an answer key" in unknown.stderr
    missing = places.run(*base, "--extends", "no-such-preset")
    assert missing.returncode == 1 and "no preset named 'no-such-preset'" in missing.stderr
    assert not list(places.team2.iterdir())  # nothing written


def test_a_saved_preset_leaves_auto_fit_to_each_run(places: Places) -> None:
    """Auto-fit's choices are recorded apart in the answers file (issue 26, item 10), so a preset
    saved from the run carries none of them, and a run of it on another GPU is fitted again."""
    sets = ["model.base_model=meta-llama/Llama-3.1-8B-Instruct", "datasets.0.path=org/chat",
            "datasets.0.format=chat_template", "method.kind=full", "hardware.gpu=A100-80GB",
            "hardware.gpus_per_node=2"]  # fmt: skip
    made = places.run("new", "runs/a", *[a for s in sets for a in ("--set", s)], "--yes")
    assert made.returncode == 0, made.stderr
    fitted = yaml.safe_load((places.project / "runs/a/wizard-answers.yml").read_text())["auto_fit"]
    assert "distributed.backend" in fitted  # auto-fit sharded it
    saved = places.run("presets", "save", "ours", "--from", "runs/a", "--to", str(places.team2))
    assert saved.returncode == 0, saved.stderr
    answers = yaml.safe_load((places.team2 / "ours.yml").read_text())["answers"]
    assert answers["hardware"]["gpu"] == "A100-80GB"
    assert not set(answers.get("distributed", {})) & {"backend", "zero_stage", "offload_params",
                                                      "offload_optimizer"}  # fmt: skip
    for key in ("micro_batch_size", "gradient_accumulation_steps", "gradient_checkpointing"):
        assert key not in answers["training"], key
    again = places.run("new", "runs/b", "--preset", "ours", "--set", "hardware.gpu=H200",
                       "--set", "hardware.gpus_per_node=8", "--yes")  # fmt: skip
    assert again.returncode == 0, again.stderr
    refit = yaml.safe_load((places.project / "runs/b/wizard-answers.yml").read_text())["auto_fit"]
    assert refit != fitted and ": fits" in again.stdout
