"""On a Kubernetes claim every path has a place of its own: two datasets named alike never share
one (one would be lost), and the run's own folders stay inside the run's folder on the claim
(`output_dir: ..` would write among the other runs). The manifests still validate against
Kubeflow's CRD schemas."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml
from helpers import new_tiny, one_line_error, project, wizard

__all__ = ["project"]


def kubeflow_checks() -> ModuleType:
    """tests/launch/test_kubernetes.py, whose `validate` checks a manifest as the API server
    does (Kubeflow's CRD schemas, strict)."""
    path = Path(__file__).resolve().parent.parent / "launch" / "test_kubernetes.py"
    spec = importlib.util.spec_from_file_location("kubeflow_checks", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def manifest(project: Path, run: str) -> tuple[dict[str, Any], str]:
    done = wizard(project, "launch", run, "--kubernetes", "--image", "img:1", "--force")
    assert done.returncode == 0, done.stderr[-2000:]
    text = (project / run / "kubernetes" / f"{run}-trainjob.yaml").read_text()
    docs = kubeflow_checks().validate(text)
    return yaml.safe_load(docs[0]["data"]["axolotl.yml"]), text


def test_datasets_of_one_name_get_a_place_each(project: Path) -> None:
    for folder in ("a", "b"):
        (project / folder).mkdir()
        shutil.copy(project / "tiny-data" / "alpaca.jsonl", project / folder / "train.jsonl")
    sets = [
        f"datasets.{i}.{key}={value}"
        for i, folder in enumerate("ab")
        for key, value in (("path", f"{folder}/train.jsonl"), ("format", "alpaca"))
    ]
    extra = [word for item in sets for word in ("--set", item)]
    extra += ["--set", "data.prepared_path=prepared/outputs"]
    assert new_tiny(project, "run", *extra).returncode == 0
    config, text = manifest(project, "run")
    places = [entry["path"] for entry in config["datasets"]]
    assert places == ["/data/datasets/train.jsonl", "/data/datasets/train-2.jsonl"], places
    assert "#   ../a/train.jsonl -> /data/datasets/train.jsonl" in text
    assert "#   ../b/train.jsonl -> /data/datasets/train-2.jsonl" in text
    # Two of the run's folders with one name (outputs) get two places as well.
    assert config["output_dir"] == "/data/runs/run/outputs"
    assert config["dataset_prepared_path"] == "/data/runs/run/outputs-2"


def test_the_runs_folders_stay_inside_it_on_the_claim(project: Path) -> None:
    assert new_tiny(project, "run", "--set", "training.output_dir=..").returncode == 0
    one_line_error(
        wizard(project, "launch", "run", "--kubernetes", "--image", "img:1"),
        "output_dir '..' names no folder of its own",
    )
    assert not (project / "run" / "kubernetes").exists()
