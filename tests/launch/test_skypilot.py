"""`launch --skypilot` (issue 32, items 1-3): the task files for 1 node, 2 nodes and a spot managed
job validate against SkyPilot's own schemas (tests/data/skypilot/schemas.json, dumped from the
skypilot package, with its validator's two keywords); their run scripts, run by bash with
SkyPilot's variables set, start torchrun with each node's rank; a real launch writes the file and
runs `sky` (a stand-in) through the launcher's manifest; hostile values stay data or are refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from tiny_fixtures import (
    TRAIN_TIMEOUT,
    bin_dir,
    free_port,
    launch,
    manifest,
    new_run,
    tail,
    tiny_root,
    workspace,
)

from wizard.launch.skypilot import ACCELERATORS, SKYPILOT_VERSION

__all__ = ["tiny_root"]

SCHEMAS = Path(__file__).resolve().parent.parent / "data" / "skypilot" / "schemas.json"
GPU_RUN = ("hardware.accelerator=cuda", "hardware.gpu=H100", "hardware.gpus_per_node=8")
NO_HF = {"HF_TOKEN": ""}


def _enum(lower: bool) -> Any:
    def check(validator: Any, enums: list[str], instance: Any, schema: Any) -> Iterator[Any]:
        fold = (lambda s: s.lower()) if lower else (lambda s: s)
        if fold(instance) not in [fold(e) for e in enums]:
            yield jsonschema.ValidationError(f"{instance!r} is not one of {enums!r}")

    return check


@cache
def schemas() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMAS.read_text())
    return loaded


def validator(part: str) -> Any:
    """SkyPilot's validator: Draft 7 plus its case-(in)sensitive enums (sky/utils/validator.py)."""
    cls = jsonschema.validators.extend(
        jsonschema.Draft7Validator,
        validators={"case_insensitive_enum": _enum(True), "case_sensitive_enum": _enum(False)},
    )
    return cls(schemas()[part])


def errors(task: dict[str, Any]) -> list[str]:
    """What `sky.Task.from_yaml` checks with the schema: the task, its resources, its buckets."""
    found = list(validator("task").iter_errors({k: v for k, v in task.items() if v is not None}))
    found += list(validator("resources").iter_errors(task.get("resources", {})))
    for mount in (task.get("file_mounts") or {}).values():
        if isinstance(mount, dict):
            found += list(validator("storage").iter_errors(mount))
    return [f"{list(e.absolute_path)}: {e.message}" for e in found]


def dry_task(cwd: Path, run: str, *args: str) -> tuple[str, dict[str, Any], str]:
    done = launch(cwd, run, "--skypilot", "--dry-run", *args, env=NO_HF, timeout=60)
    assert done.returncode == 0, tail(done)
    first, text = done.stdout.split("\n", 1)
    task = yaml.safe_load(text)
    assert not errors(task), errors(task)
    return first, task, text


def test_the_schema_is_skypilots_and_refuses_what_sky_refuses() -> None:
    assert schemas()["skypilot_version"] == SKYPILOT_VERSION
    good = {"name": "a", "num_nodes": 2, "resources": {"accelerators": {"H100": 8}}, "run": "x"}
    assert not errors(good)
    assert errors({**good, "num_node": 2})  # a misspelled field
    assert errors({**good, "resources": {"accelerator": "H100:8"}})
    assert errors({**good, "file_mounts": {"/c": {"source": "s3://b", "mode": "SYNC"}}})
    assert errors({**good, "envs": {"HF TOKEN": None}})


def test_one_node(tiny_root: Path, tmp_path: Path) -> None:
    cwd = workspace(tiny_root, tmp_path)
    run_dir = new_run(cwd, "runs/one", "hardware.accelerator=cuda", "hardware.gpu=A100-80GB")
    first, task, text = dry_task(cwd, "runs/one")
    assert "sky launch --cluster one --yes --secret HF_TOKEN" in first
    assert task["num_nodes"] == 1 and task["resources"] == {"accelerators": {"A100-80GB": 1}}
    assert task["secrets"] == {"HF_TOKEN": None}  # the name, never a value
    assert "pip install 'axolotl[flash-attn]==0.19.0'" in task["setup"]
    assert "torch==2.13.0" in task["setup"]
    # The run folder, and what its config names outside it, where the config's paths lead.
    assert task["file_mounts"] == {
        "~/axolotl/runs/one": str(run_dir),
        "~/axolotl/tiny-llama": str(cwd / "tiny-llama"),
        "~/axolotl/tiny-data/alpaca.jsonl": str(cwd / "tiny-data" / "alpaca.jsonl"),
    }
    assert f"SkyPilot {SKYPILOT_VERSION}" in text
    assert not (run_dir / "skypilot.yaml").exists() and not (run_dir / "launches").exists()


def run_node(tmp_path: Path, task: dict[str, Any], rank: int, run_dir: Path) -> list[str]:
    """The task's run script under bash on one node, with a torchrun that prints its argv."""
    home = tmp_path / f"home{rank}"
    (home / "axolotl" / "runs").mkdir(parents=True)
    (home / "axolotl" / "runs" / run_dir.name).symlink_to(run_dir)
    tools = bin_dir(tmp_path, {"torchrun": 'printf "%s\\n" "$PWD" "$@"'})
    env = {
        "PATH": f"{tools}:{os.environ['PATH']}",
        "HOME": str(home),
        "SKYPILOT_NODE_IPS": "10.1.0.7\n10.1.0.8",
        "SKYPILOT_NODE_RANK": str(rank),
        "SKYPILOT_NUM_NODES": "2",
        "SKYPILOT_TASK_ID": "sky-managed-123_a_1",
    }
    done = subprocess.run(["bash", "-c", task["run"]], env=env, capture_output=True,
                          text=True, timeout=30, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_two_nodes_start_torchrun_with_skypilots_ranks(tiny_root: Path, tmp_path: Path) -> None:
    cwd = workspace(tiny_root, tmp_path)
    run_dir = new_run(cwd, "runs/two", *GPU_RUN, "hardware.nodes=2")
    _, task, _ = dry_task(cwd, "runs/two")
    assert task["num_nodes"] == 2 and task["resources"]["accelerators"] == {"H100": 8}
    for rank in (0, 1):
        where, *argv = run_node(tmp_path, task, rank, run_dir)
        assert Path(where).name == "two"
        pairs = dict(zip(argv[::2], argv[1::2], strict=False))
        assert pairs["--nnodes"] == "2" and pairs["--node_rank"] == str(rank)
        assert pairs["--nproc_per_node"] == "8"
        assert pairs["--rdzv_endpoint"] == "10.1.0.7:29500"  # the first node, on every node
        assert pairs["--rdzv_id"] == "sky-managed-123_a_1"
        assert argv[-2:] == ["axolotl.cli.train", "axolotl.yml"]


@pytest.mark.integration
def test_the_run_script_trains_the_tiny_model_on_a_node(tiny_root: Path, tmp_path: Path) -> None:
    """The task's run, as SkyPilot runs it on a node: the file mounts at their places under the
    node's home (links here), SkyPilot's variables set; the real torchrun trains the tiny model
    with two gloo processes in the run folder."""
    cwd = workspace(tiny_root, tmp_path)
    run_dir = new_run(cwd, "runs/cpu", "hardware.gpus_per_node=2")
    _, task, _ = dry_task(cwd, "runs/cpu")
    home = tmp_path / "home"
    for remote, local in task["file_mounts"].items():
        place = home / remote.removeprefix("~/")
        place.parent.mkdir(parents=True, exist_ok=True)
        place.symlink_to(local)
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "HOME": str(home),
        "HF_HUB_OFFLINE": "1",
        "AXOLOTL_DO_NOT_TRACK": "1",
        "SKYPILOT_NODE_IPS": "127.0.0.1",
        "SKYPILOT_NODE_RANK": "0",
        "SKYPILOT_NUM_NODES": "1",
        "SKYPILOT_TASK_ID": "sky-local-1",
        "MAIN_PORT": str(free_port()),
    }
    done = subprocess.run(["bash", "-c", task["run"]], env=env, capture_output=True, text=True,
                          timeout=TRAIN_TIMEOUT, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (run_dir / "outputs" / "adapter_model.safetensors").is_file()


def test_spot_is_a_managed_job_that_resumes_from_the_bucket(
    tiny_root: Path, tmp_path: Path
) -> None:
    cwd = workspace(tiny_root, tmp_path)
    new_run(cwd, "runs/s", *GPU_RUN, "hardware.nodes=2")
    spot = ("--spot", "--bucket", "s3://team-ckpt/axolotl", "--image", "axolotlai/axolotl:0.19.0")
    first, task, text = dry_task(cwd, "runs/s", *spot)
    assert "sky jobs launch --name s --yes --secret HF_TOKEN" in first
    assert task["resources"]["use_spot"] is True
    assert task["resources"]["image_id"] == "docker:axolotlai/axolotl:0.19.0"
    assert "setup" not in task  # the image has Axolotl
    assert task["file_mounts"]["/checkpoints"] == {
        "source": "s3://team-ckpt/axolotl",
        "mode": "MOUNT_CACHED",
    }
    last = task["run"].rstrip().splitlines()[-1]
    assert "--output_dir=/checkpoints/s --auto_resume_from_checkpoints=True" in last
    assert "--save_steps=" in last  # the tiny run's own save_steps is too sparse for spot VMs
    assert "Axolotl resumes from the last checkpoint" in text  # the review says so


def test_a_launch_writes_the_task_and_runs_sky_through_the_manifest(
    tiny_root: Path, tmp_path: Path
) -> None:
    cwd = workspace(tiny_root, tmp_path)
    run_dir = new_run(cwd, "runs/real", *GPU_RUN)
    record = tmp_path / "sky-argv"
    tools = bin_dir(tmp_path, {
        "python": f'exec {sys.executable} "$@"',
        "sky": f'printf "%s\\n" "$@" > {record}; echo "token of ${{#HF_TOKEN}} chars"; exit 3',
    })  # fmt: skip
    secret = {"HF_TOKEN": "hf_s3cr3t-value"}
    done = launch(cwd, "runs/real", "--skypilot", "--python", str(tools / "python"), env=secret)
    assert done.returncode == 3, tail(done)  # the exit code is sky's
    path = run_dir / "skypilot.yaml"
    assert record.read_text().splitlines() == [
        "launch", "--cluster", "real", "--yes", "--secret", "HF_TOKEN", str(path),
    ]  # fmt: skip
    assert "token of 15 chars" in done.stdout  # sky reads it from our environment...
    found = manifest(run_dir)
    assert found["argv"] == [str(tools / "sky"), *record.read_text().splitlines()]
    written = [path.read_text(), *(p.read_text() for p in (run_dir / "launches").rglob("*.*"))]
    assert not any("hf_s3cr3t" in text for text in written)  # ...and never from a file
    again = launch(cwd, "runs/real", "--skypilot", "--python", str(tools / "python"), env=secret)
    assert again.returncode == 1 and "--force" in again.stderr
    assert len(list((run_dir / "launches").iterdir())) == 1  # no record of a launch not made


@pytest.mark.parametrize(
    ("sets", "args", "says"),
    [
        (GPU_RUN, ("--spot",), "--spot needs --bucket"),
        (GPU_RUN, ("--bucket", "s3://b/x\nrm -rf ~"), "is not a bucket URI"),
        (GPU_RUN, ("--bucket", "/local/dir"), "is not a bucket URI"),
        (("hardware.accelerator=cuda",), (), "names no GPU SkyPilot can ask"),
        (GPU_RUN, ("--slurm",), "cannot be combined"),
    ],
)
def test_bad_options_are_one_line(
    tiny_root: Path, tmp_path: Path, sets: tuple[str, ...], args: tuple[str, ...], says: str
) -> None:
    cwd = workspace(tiny_root, tmp_path)
    run_dir = new_run(cwd, "runs/k", *sets)
    done = launch(cwd, "runs/k", "--skypilot", "--dry-run", *args, env=NO_HF, timeout=60)
    assert done.returncode in (1, 2) and says in done.stderr, tail(done)
    assert "Traceback" not in done.stderr
    assert not (run_dir / "skypilot.yaml").exists()


def test_hostile_folder_names_stay_data(tiny_root: Path, tmp_path: Path) -> None:
    """A quote and a space in the run folder's name: one `cd` to that folder, nothing else."""
    cwd = workspace(tiny_root, tmp_path)
    new_run(cwd, "runs/q", *GPU_RUN)
    hostile = cwd / "runs" / "it's; a $(touch pwned)"
    (cwd / "runs" / "q").rename(hostile)
    done = launch(cwd, str(hostile), "--skypilot", "--dry-run", env=NO_HF, timeout=60)
    assert done.returncode == 1 and "'$' or a control character" in done.stderr, tail(done)
    quoted = cwd / "runs" / "it's a run"
    hostile.rename(quoted)
    _, task, _ = dry_task(cwd, str(quoted))
    assert task["file_mounts"]["~/axolotl/runs/it's a run"] == str(quoted)
    where, *_ = run_node(tmp_path, task, 0, quoted)
    assert Path(where).name == "it's a run" and not (cwd / "pwned").exists()


def test_every_gpu_of_the_catalog_has_a_skypilot_name() -> None:
    from wizard.gpus.catalog import known_gpus

    assert {gpu.name for gpu in known_gpus()} == set(ACCELERATORS)


def test_files_outside_the_run_keep_their_places_on_a_node() -> None:
    """Two datasets named alike keep two places, and each relative path leads from the run
    folder on a node to the same file as here; Hub ids and paths inside the run do not travel."""
    from wizard.axolotl.view import view_of
    from wizard.errors import WizardError
    from wizard.launch.skypilot import placed

    datasets = ["../a/train.jsonl", "../b/train.jsonl", "./in/x.jsonl", "tatsu-lab/alpaca"]
    config = view_of({
        "base_model": "/models/m",
        "deepspeed": "../../ds/z3.json",
        "datasets": [{"path": path, "type": "alpaca"} for path in datasets],
    })  # fmt: skip
    remote, mounts = placed(config, Path("/home/u/proj/runs/r"))
    assert remote == "~/axolotl/runs/r"  # as deep as the farthest `../` needs
    assert mounts == {
        "~/axolotl/runs/r": "/home/u/proj/runs/r",
        "/models/m": "/models/m",
        "~/axolotl/ds/z3.json": "/home/u/proj/ds/z3.json",
        "~/axolotl/runs/a/train.jsonl": "/home/u/proj/runs/a/train.jsonl",
        "~/axolotl/runs/b/train.jsonl": "/home/u/proj/runs/b/train.jsonl",
    }
    with pytest.raises(WizardError, match="folder\\(s\\) up"):
        placed(view_of({"base_model": "../../m"}), Path("/runs/r"))
