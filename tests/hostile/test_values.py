"""Values built to get past the checks: credentials hidden in URLs, list positions and numbers
far past any run, non-finite numbers in a carried DeepSpeed file, a model's config.json that
claims absurd sizes, and malformed command lines under `--json`. Each is one line (JSON under
`--json`), in bounded memory, and nothing is written."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers import new_tiny, one_line_error, project, wizard

__all__ = ["project"]

MEMORY_CAP = 2 * 1024**3  # address space: `--set datasets.99999999.path` took 11 GB
PASSWORD = "s3cr3tPW"
CREDENTIAL_URLS = [
    ("tracking.mlflow_tracking_uri", f"https://bob:{PASSWORD}@mlflow.example.com", "a password"),
    ("axolotl.mlflow_tracking_uri", f"https://mlflow.example.com/?token={PASSWORD}", "?token="),
    ("datasets.0.path", f"https://data.example.com/a.jsonl?X-Amz-Signature={PASSWORD}", "?X-Amz"),
    (
        "axolotl.swanlab_lark_webhook_url",
        f"https://open.feishu.cn/open-apis/bot/v2/hook/{PASSWORD}",
        "a credential",
    ),
]


def capped(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return wizard(cwd, *args, memory_cap=MEMORY_CAP)


def nothing_holds(root: Path, secret: str) -> None:
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in (".yml", ".yaml", ".json"):
            assert secret not in path.read_text(errors="replace"), path


@pytest.mark.parametrize(("key", "url", "needle"), CREDENTIAL_URLS)
def test_a_credential_in_a_url_is_refused_everywhere(
    project: Path, key: str, url: str, needle: str
) -> None:
    one_line_error(new_tiny(project, "r", "--set", f"{key}={url}"), key, needle)
    assert new_tiny(project, "clean").returncode == 0
    answers = project / "clean" / "wizard-answers.yml"
    data = yaml.safe_load(answers.read_text())
    section, _, rest = key.partition(".")
    if section == "axolotl":
        data["axolotl"][rest] = url
    elif section == "datasets":
        data["answers"]["datasets"][0]["path"] = url
    else:
        data["answers"].setdefault(section, {})[rest] = url
    (project / "leaky.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    one_line_error(wizard(project, "new", "r", "--answers", "leaky.yml", "--yes"), key, needle)
    one_line_error(
        wizard(project, "presets", "save", "leak", "--from", "leaky.yml", "--to", "team"), needle
    )
    team = project / "team"
    team.mkdir(exist_ok=True)
    (team / "leak.yml").write_text(
        "name: leak\nextends: builtin:tiny-cpu\n" + yaml.safe_dump({"answers": data["answers"],
                                                                    "axolotl": data["axolotl"]})
    )  # fmt: skip
    env = {"AXOLOTL_WIZARD_PRESETS": str(team)}
    one_line_error(wizard(project, "new", "r", "--preset", "leak", "--yes", env=env), needle)
    assert not (project / "r").exists()
    nothing_holds(project / "clean", PASSWORD)


def test_an_imported_config_leaves_its_credential_urls_behind(project: Path) -> None:
    config = {
        "base_model": "./tiny-llama",
        "datasets": [{"path": "./tiny-data/alpaca.jsonl", "type": "alpaca"}],
        "micro_batch_size": 1,
        "num_epochs": 1,
        "learning_rate": 0.0002,
        "output_dir": "./outputs",
        "mlflow_tracking_uri": f"https://bob:{PASSWORD}@mlflow.example.com",
        "mlflow_experiment_name": "x",
    }
    (project / "theirs.yml").write_text(yaml.safe_dump(config))
    done = wizard(project, "new", "mine", "--from", "theirs.yml", "--yes")
    assert done.returncode == 0, done.stderr
    assert "mlflow_tracking_uri (a URL with a password" in done.stderr
    saved = wizard(project, "presets", "save", "p", "--from", "theirs.yml", "--to", "team")
    assert saved.returncode == 0, saved.stderr
    nothing_holds(project / "mine", PASSWORD)
    nothing_holds(project / "team", PASSWORD)


@pytest.mark.parametrize(
    "item",
    [
        "datasets.99999999.path=x",
        "axolotl.lora_target_modules.99999999=x",
        f"datasets.{'9' * 5000}.path=x",
    ],
)
def test_a_list_position_far_past_any_list_is_one_line_in_bounded_memory(
    project: Path, item: str
) -> None:
    one_line_error(capped(project, "new", "r", "--preset", "tiny-cpu", "--set", item, "--yes"),
                   "list position", "past the 9,999")  # fmt: skip
    assert not (project / "r").exists()


def _answers_with(project: Path, edit: dict[str, object]) -> str:
    assert new_tiny(project, "base").returncode == 0
    data = yaml.safe_load((project / "base" / "wizard-answers.yml").read_text())
    complete = data.pop("complete")
    data.update(edit)
    data["complete"] = complete
    (project / "edited.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    return "edited.yml"


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_a_carried_deepspeed_file_with_a_non_finite_number_is_refused(
    project: Path, number: float
) -> None:
    files = {
        "deepspeed/zero1.json": {"zero_optimization": {"stage": 1}, "gradient_clipping": number}
    }
    answers = _answers_with(project, {"files": files})
    done = wizard(project, "new", "r", "--answers", answers, "--yes")
    one_line_error(done, "deepspeed/zero1.json", "gradient_clipping", "finite")
    assert not (project / "r").exists()


def test_an_answers_file_with_a_position_far_past_any_list(project: Path) -> None:
    answers = _answers_with(project, {"axolotl": {"lora_target_modules": {99999999: "q_proj"}}})
    one_line_error(capped(project, "new", "r", "--answers", answers, "--yes"), "past the 9,999")


HUGE = "9" * 5000


@pytest.mark.parametrize(
    ("item", "needle"),
    [
        ("training.seed=-1", "training.seed"),
        ("training.seed=4294967296", "training.seed"),
        (f"training.seed={HUGE}", "training.seed"),
        ("training.seed=0x" + "f" * 5000, "training.seed"),
        ("training.max_steps=99999999999999999999", "training.max_steps"),
        ("training.warmup_steps=99999999999999999999", "training.warmup_steps"),
        ("method.alpha=99999999999999", "method.alpha"),
        ("hardware.gpus_per_node=100000", "hardware.gpus_per_node"),
        ("training.seed=2020-13-45", "training.seed"),
    ],
)
def test_numbers_past_any_run_are_one_line(project: Path, item: str, needle: str) -> None:
    line = one_line_error(new_tiny(project, "r", "--set", item), needle)
    assert len(line) < 300, line
    assert not (project / "r").exists()


@pytest.mark.parametrize("text", [f"seed: {HUGE}", "seed: 2020-13-45"])
def test_a_file_with_an_unreadable_number_is_one_line(project: Path, text: str) -> None:
    (project / "odd.yml").write_text(f"base_model: ./tiny-llama\n{text}\n")
    for verb in ("check", "estimate"):
        line = one_line_error(wizard(project, verb, "odd.yml"), "odd.yml:2")
        assert len(line) < 300, line
    one_line_error(wizard(project, "new", "r", "--from", "odd.yml", "--yes"), "odd.yml:2")


@pytest.mark.parametrize(
    "args",
    [
        ["launch", "run", "--dry-run", "--gpus", "100000"],
        ["launch", "run", "--dry-run", "--nodes", "0"],
        ["launch", "run", "--dry-run", "--node-rank", "-1"],
        ["launch", "run", "--dry-run", "--main-port", "70000"],
        ["launch", "run", "--dry-run", "--gpus", HUGE],
        ["estimate", "run", "--gpus", "0"],
        ["estimate", "run", "--gpu-mem", "nan"],
        ["estimate", "run", "--gpu-mem", "inf"],
        ["check", "run/axolotl.yml", "--gpus", "-3"],
        ["check", "run/axolotl.yml", "--nodes", HUGE],
    ],
)
def test_options_past_any_machine_are_usage_errors(project: Path, args: list[str]) -> None:
    assert new_tiny(project).returncode == 0
    done = wizard(project, *args)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and len(errors[0]) < 300, done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--json", "run/axolotl.yml", "--gpus", "x"],
        ["check", "--json", "missing.yml"],
        ["check", "--json", "run/axolotl.yml", "--bogus"],
        ["estimate", "--json", "run", "--gpus", "0"],
        ["estimate", "--json", "missing"],
        ["presets", "list", "--json", "--bogus"],
        ["presets", "show", "--json"],
        ["presets", "show", "--json", "no-such-preset"],
    ],
)
def test_every_error_of_a_json_verb_is_json(project: Path, args: list[str]) -> None:
    assert new_tiny(project).returncode == 0
    done = wizard(project, *args)
    assert done.returncode in (1, 2), done.stderr
    report = json.loads(done.stdout)
    assert report["error"] and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "extra",
    [
        {"num_hidden_layers": 10**30},
        {"num_hidden_layers": 100_000_000},
        {"hidden_size": 10**20},
        {"vocab_size": 10**13},
        {"head_dim": 10**20},
        {"num_local_experts": 1e300, "num_experts_per_tok": 2},
        {"num_local_experts": "Infinity"},
    ],
)
def test_a_model_config_that_claims_absurd_sizes_is_one_line(
    project: Path, extra: dict[str, object]
) -> None:
    model = project / "evil-model"
    model.mkdir()
    config = {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 1000,
              "num_attention_heads": 4, "intermediate_size": 128, **extra}  # fmt: skip
    text = json.dumps(config).replace('"Infinity"', "Infinity")
    (model / "config.json").write_text(text)
    assert new_tiny(project).returncode == 0
    run = project / "run" / "axolotl.yml"
    run.write_text(
        run.read_text().replace("base_model: ../tiny-llama", "base_model: ../evil-model")
    )
    line = one_line_error(wizard(project, "estimate", "run", "--gpu-mem", "80"), "config.json")
    assert len(line) < 300, line


def test_team_folders_are_searched_in_path_order(project: Path) -> None:
    first, second = project / "first", project / "second"
    for folder, seed in ((first, 1), (second, 2)):
        folder.mkdir()
        (folder / "shared.yml").write_text(
            f"name: shared\nextends: builtin:tiny-cpu\nanswers:\n  training: {{seed: {seed}}}\n"
        )
    missing = project / "not-there"
    env = {"AXOLOTL_WIZARD_PRESETS": f"{first}:{missing}:{second}"}
    done = wizard(project, "new", "r", "--preset", "shared", "--yes", env=env)
    assert done.returncode == 0, done.stderr
    assert "seed: 1" in (project / "r" / "axolotl.yml").read_text()
    warnings = [line for line in done.stderr.splitlines() if str(missing) in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning:"), done.stderr
    listed = wizard(project, "presets", "list", env=env)
    assert "shadowed by team:shared" in listed.stdout and str(missing) in listed.stderr
