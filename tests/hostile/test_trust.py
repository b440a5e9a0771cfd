"""Untrusted data stays data: shell text built from paths, team presets that reach for remote code
or shadow a built-in, and credentials that would end up on disk."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers import new_tiny, one_line_error, project, wizard

__all__ = ["project"]

EVIL = "run $(touch pwned) `touch pwned2`; x"


def test_a_newline_in_the_run_folder_never_becomes_a_script_line(project: Path) -> None:
    sneaky = "runs/a\ntouch pwned\n#"
    assert new_tiny(project, sneaky).returncode == 0
    one_line_error(wizard(project, "launch", sneaky, "--slurm"), "cannot hold safely")
    assert not (project / sneaky / "launch.sbatch").exists()
    assert not (project / "pwned").exists()


def test_spaces_and_shell_characters_in_paths_are_quoted(project: Path) -> None:
    run = "my runs/first one"
    assert new_tiny(project, run).returncode == 0
    done = wizard(project, "launch", run, "--slurm")
    assert done.returncode == 0, done.stderr
    script = project / run / "launch.sbatch"
    text = script.read_text()
    assert f'#SBATCH --output="{project / run}/launches/slurm-%j.out"' in text
    assert "#SBATCH --job-name=first-one" in text
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
    submit = next(line for line in done.stdout.splitlines() if line.startswith("Submit it"))
    assert shlex.split(submit.split(": ", 1)[1]) == ["sbatch", str(project / run / "launch.sbatch")]


def test_the_next_lines_are_safe_to_paste(project: Path) -> None:
    done = new_tiny(project, EVIL)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split("Next:\n", 1)[1].splitlines()
    for line in lines:
        words = shlex.split(line)
        assert words[-1] in (EVIL, f"{EVIL}/axolotl.yml"), line
        subprocess.run(["bash", "-c", f"true {line.strip()}"], cwd=project, check=True)
    assert not (project / "pwned").exists() and not (project / "pwned2").exists()


def _team(project: Path, name: str, body: str) -> dict[str, str]:
    team = project / "team"
    team.mkdir(exist_ok=True)
    (team / f"{name}.yml").write_text(body)
    return {"AXOLOTL_WIZARD_PRESETS": str(team)}


def test_a_team_preset_cannot_turn_on_remote_code_alone(project: Path) -> None:
    body = (
        "name: remote\nextends: [builtin:tiny-cpu]\nanswers:\n  model: {trust_remote_code: true}\n"
    )
    env = _team(project, "remote", body)
    refused = wizard(project, "new", "r", "--preset", "remote", "--yes", env=env)
    one_line_error(refused, "team:remote turns on trust_remote_code")
    assert "--trust-remote-code" in refused.stderr and not (project / "r").exists()
    allowed = wizard(
        project, "new", "r", "--preset", "remote", "--trust-remote-code", "--yes", env=env
    )
    assert allowed.returncode == 0, allowed.stderr
    assert yaml.safe_load((project / "r" / "axolotl.yml").read_text())["trust_remote_code"] is True
    raw = _team(
        project,
        "raw",
        "name: raw\nextends: [builtin:tiny-cpu]\naxolotl: {trust_remote_code: true}\n",
    )
    one_line_error(
        wizard(project, "new", "s", "--preset", "raw", "--yes", env=raw),
        "team:raw turns on trust_remote_code",
    )
    own = wizard(
        project,
        "new",
        "t",
        "--preset",
        "tiny-cpu",
        "--set",
        "model.trust_remote_code=true",
        "--yes",
    )
    assert own.returncode == 0  # the user's own answer needs no confirmation


def test_the_interview_asks_before_remote_code_from_a_team_preset(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scripted import ScriptedPrompter

    from wizard.interview.flow import Interview, fixed_keys
    from wizard.presets.assemble import collect_answers

    env = _team(
        project,
        "remote",
        "name: remote\nextends: [builtin:tiny-cpu]\nanswers:\n  model: {trust_remote_code: true}\n",
    )
    monkeypatch.setenv("AXOLOTL_WIZARD_PRESETS", env["AXOLOTL_WIZARD_PRESETS"])
    monkeypatch.chdir(project)
    answers, _ = collect_answers("remote", None, [])
    prompter = ScriptedPrompter([("model.trust_remote_code:confirm", False)])
    iv = Interview(answers, prompter, fixed=fixed_keys(answers))
    iv.confirm_remote_code()
    assert iv.answers.resolve().model.trust_remote_code is False


def test_shadowing_a_builtin_is_said_and_the_demo_keeps_the_builtin(project: Path) -> None:
    env = _team(
        project,
        "tiny-cpu",
        "name: tiny-cpu\nanswers:\n  model: {base_model: org/evil}\n"
        "  datasets: [{path: org/d, format: alpaca}]\n",
    )
    done = wizard(project, "new", "r", "--preset", "tiny-cpu", "--yes", env=env)
    assert "team:tiny-cpu" in done.stderr and "shadows the built-in tiny-cpu" in done.stderr
    assert "use builtin:tiny-cpu" in done.stderr
    from wizard.commands.demo import PRESET

    listed = wizard(project, "presets", "list", env=env).stdout
    assert "builtin:tiny-cpu" in listed and "shadowed" in listed
    demo_source = (Path(__file__).parents[2] / "wizard" / "commands" / "demo.py").read_text()
    assert 'collect_answers(f"builtin:{PRESET}"' in demo_source and PRESET == "tiny-cpu"


def test_credentials_are_refused_everywhere_they_could_come_from(project: Path) -> None:
    secret = "sk-live-0123456789"
    for key in ("comet_api_key", "wandb_api_key", "hub_token", "swanlab_lark_secret"):
        done = new_tiny(project, "r", "--set", f"axolotl.{key}={secret}")
        one_line_error(done, f"axolotl.{key} holds a credential")
        assert "export" in done.stderr or "environment" in done.stderr
    assert (
        "COMET_API_KEY" in new_tiny(project, "r", "--set", f"axolotl.comet_api_key={secret}").stderr
    )
    env = _team(
        project,
        "leaky",
        f"name: leaky\nextends: [builtin:tiny-cpu]\naxolotl: {{comet_api_key: {secret}}}\n",
    )
    listed = wizard(project, "presets", "list", env=env).stdout
    assert "team:leaky" in listed and "holds a credential" in listed
    assert new_tiny(project, "ok").returncode == 0
    answers = project / "ok" / "wizard-answers.yml"
    answers.write_text(
        answers.read_text().replace("axolotl: {}", f"axolotl:\n  hub_token: {secret}")
    )
    one_line_error(
        wizard(project, "new", "again", "--answers", str(answers), "--yes"),
        "axolotl.hub_token holds a credential",
    )
    # A flag that names a token is not one: it is a switch.
    assert new_tiny(project, "flag", "--set", "axolotl.hf_use_auth_token=true").returncode == 0
    written = [p for p in project.rglob("*") if p.is_file() and "team" not in p.parts]
    assert secret not in "".join(p.read_text() for p in written if p != answers)


def test_environment_secrets_never_reach_a_file(project: Path) -> None:
    assert new_tiny(project).returncode == 0
    token = "hf_ThisMustNotBeWritten"
    done = wizard(
        project, "launch", "run", "--dry-run", env={"HF_TOKEN": token, "WANDB_API_KEY": token}
    )
    assert done.returncode == 0, done.stderr
    assert token not in done.stdout + done.stderr
    assert all(token not in p.read_text() for p in (project / "run").rglob("*") if p.is_file())


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("comet_api_key", True), ("api_key", True), ("swanlab_lark_secret", True),
        ("hub_token", True), ("axolotl.hf_token", True), ("token", True),
        ("mlflow_tracking_password", True), ("swanlab_lark_webhook_url", True),
        ("webhook", True), ("gcs_credentials", True), ("tracking.wandb_token", True),
        ("pad_token", False), ("eos_token", False), ("tokens", False), ("eot_tokens", False),
        ("hub_model_id", False), ("secretive", False), ("tokenizer_type", False),
        ("special_tokens.pad_token", False),
        ("hf_use_auth_token", True),  # by its name; the caller sees `true` is a switch
    ],
)  # fmt: skip
def test_a_key_named_like_a_credential_is_one(key: str, secret: bool) -> None:
    from wizard.axolotl.secrets import is_secret

    assert is_secret(key) is secret
