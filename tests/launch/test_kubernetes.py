"""`launch --kubernetes` (issue 18, proof 3): both manifests validate against Kubeflow's own CRD
schemas with jsonschema, the way the API server does (each CRD version's openAPIV3Schema; with
strict field validation, an unknown field is an error); their commands, replica counts and GPU
requests match the run's layout; hostile values are refused or quoted."""

from __future__ import annotations

import copy
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import run_wizard
from tiny_fixtures import launch, new_run, tail, tiny_root, workspace

from wizard.launch.command import Layout
from wizard.launch.kubernetes import KubeOptions, KubeRun, manifest_text

__all__ = ["tiny_root"]

KUBEFLOW = Path(__file__).resolve().parent.parent / "data" / "kubeflow"
CRDS = {
    ("trainer.kubeflow.org/v1alpha1", "TrainJob"): "trainer.kubeflow.org_trainjobs.yaml",
    ("kubeflow.org/v1", "PyTorchJob"): "kubeflow.org_pytorchjobs.yaml",
}
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def strict(schema: Any) -> Any:
    """`kubectl apply --validate=strict`: an object's unknown fields are errors, not pruned."""
    if isinstance(schema, dict):
        schema = {key: strict(value) for key, value in schema.items()}
        if schema.get("type") == "object" and "properties" in schema:
            schema.setdefault("additionalProperties", False)
        return schema
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


def validator(api_version: str, kind: str) -> jsonschema.Draft7Validator:
    return crd_validator(CRDS[(api_version, kind)], api_version.rsplit("/", 1)[1], kind)


@cache
def crd_validator(filename: str, version: str, kind: str) -> jsonschema.Draft7Validator:
    crd = yaml.safe_load((KUBEFLOW / filename).read_text())
    found = next(v for v in crd["spec"]["versions"] if v["name"] == version)
    assert found["served"] and crd["spec"]["names"]["kind"] == kind
    schema = strict(copy.deepcopy(found["schema"]["openAPIV3Schema"]))
    schema["properties"]["metadata"] = {"type": "object"}  # the API server's own ObjectMeta
    return jsonschema.Draft7Validator(schema)


def check_configmap(doc: dict[str, Any]) -> None:
    assert (doc["apiVersion"], doc["kind"]) == ("v1", "ConfigMap")
    assert set(doc) <= {"apiVersion", "kind", "metadata", "data"}
    assert NAME.match(doc["metadata"]["name"]) and len(doc["metadata"]["name"]) <= 253
    assert all(
        re.match(r"^[-._a-zA-Z0-9]+$", key) and isinstance(value, str)
        for key, value in doc["data"].items()
    )
    assert sum(len(v.encode()) for v in doc["data"].values()) < 1024 * 1024


def validate(text: str) -> list[dict[str, Any]]:
    docs = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    check_configmap(docs[0])
    for doc in docs[1:]:
        assert NAME.match(doc["metadata"]["name"])
        errors = list(validator(doc["apiVersion"], doc["kind"]).iter_errors(doc))
        assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]
    return docs


def run(layout: Layout, files: dict[str, str] | None = None) -> KubeRun:
    return KubeRun(
        "big-run",
        layout,
        files or {"axolotl.yml": "base_model: x\n"},
        [("../data/a.jsonl", "/data/datasets/a.jsonl")],
    )


def test_strict_validation_catches_what_the_api_server_refuses() -> None:
    good = yaml.safe_load_all(manifest_text(run(Layout(8, 2)), KubeOptions("trainjob", "img")))
    job = list(good)[1]
    job["spec"]["trainer"]["numNodez"] = 2
    assert list(validator("trainer.kubeflow.org/v1alpha1", "TrainJob").iter_errors(job))
    del job["spec"]["trainer"]["numNodez"]
    job["spec"]["trainer"]["numNodes"] = "two"
    assert list(validator("trainer.kubeflow.org/v1alpha1", "TrainJob").iter_errors(job))


def test_trainjob_matches_the_layout_and_the_runtime() -> None:
    options = KubeOptions("trainjob", "axolotlai/axolotl:0.19.0", "team-data", "hf-tokens")
    configmap, job = validate(manifest_text(run(Layout(8, 4)), options))
    trainer = job["spec"]["trainer"]
    assert trainer["command"] == [
        "axolotl",
        "train",
        "/config/axolotl.yml",
        "--launcher",
        "torchrun",
    ]
    assert (trainer["numNodes"], trainer["numProcPerNode"]) == (4, 8)
    assert trainer["resourcesPerNode"]["limits"] == {"nvidia.com/gpu": 8}
    assert job["spec"]["runtimeRef"]["name"] == "torch-distributed"
    secret = [e for e in trainer["env"] if "valueFrom" in e]
    assert {e["name"] for e in secret} == {"HF_TOKEN", "WANDB_API_KEY"}
    assert all(e["valueFrom"]["secretKeyRef"]["name"] == "hf-tokens" for e in secret)
    # The patch names the runtime's own replicated job and container ("node").
    runtime = (KUBEFLOW / "runtime-torch-distributed.helm-template").read_text()
    runtime_doc = yaml.safe_load("\n".join(x for x in runtime.splitlines() if "{{" not in x))
    replicated = runtime_doc["spec"]["template"]["spec"]["replicatedJobs"][0]
    patch = job["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"]
    ours = patch["replicatedJobs"][0]
    assert ours["name"] == replicated["name"]
    container = ours["template"]["spec"]["template"]["spec"]["containers"][0]
    theirs = replicated["template"]["spec"]["template"]["spec"]["containers"][0]
    assert container["name"] == theirs["name"]
    volumes = {v["name"]: v for v in ours["template"]["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "team-data"
    assert volumes["dshm"]["emptyDir"]["medium"] == "Memory"
    assert configmap["metadata"]["name"] == volumes["config"]["configMap"]["name"]


@pytest.mark.parametrize("nodes", [1, 3])
def test_pytorchjob_has_a_master_and_workers(nodes: int) -> None:
    _, job = validate(manifest_text(run(Layout(2, nodes)), KubeOptions("pytorchjob", "img:1")))
    replicas = job["spec"]["pytorchReplicaSpecs"]
    assert replicas["Master"]["replicas"] == 1
    assert replicas.get("Worker", {}).get("replicas", 0) == nodes - 1
    container = replicas["Master"]["template"]["spec"]["containers"][0]
    assert container["name"] == "pytorch"
    assert container["resources"]["limits"] == {"nvidia.com/gpu": 2}
    assert container["command"][:5] == [
        "axolotl",
        "train",
        "/config/axolotl.yml",
        "--launcher",
        "torchrun",
    ]
    assert f"--nnodes={nodes}" in container["command"]
    assert "--node_rank=$(RANK)" in container["command"]


def test_a_newline_or_quote_in_a_path_stays_data() -> None:
    hostile = 'base_model: x\ndatasets:\n- path: "./a\'b\\n#c.jsonl"\n'
    text = manifest_text(
        KubeRun(
            "r",
            Layout(1),
            {"axolotl.yml": hostile},
            [("./a'b\n#c.jsonl", "/data/datasets/a'b\n#c.jsonl")],
        ),
        KubeOptions("trainjob", "img"),
    )
    configmap, _ = validate(text)
    assert configmap["data"]["axolotl.yml"] == hostile
    assert all(line.startswith(("#", "---")) for line in text.split("---")[0].splitlines())


def test_the_run_folder_writes_both_and_rewrites_paths(tiny_root: Path, tmp_path: Path) -> None:
    cwd = workspace(tiny_root, tmp_path)
    run_dir = new_run(cwd, "runs/My_Run", "hardware.gpus_per_node=1")
    for api in ("trainjob", "pytorchjob"):
        done = launch(
            cwd,
            "runs/My_Run",
            "--kubernetes",
            "--k8s-api",
            api,
            "--image",
            "axolotlai/axolotl:0.19.0",
            "--nodes",
            "2",
            "--pvc",
            "runs",
            "--secret",
            "hf",
            timeout=60,
        )
        assert done.returncode == 0, tail(done)
        path = run_dir / "kubernetes" / f"my-run-{api}.yaml"
        docs = validate(path.read_text())
        config = yaml.safe_load(docs[0]["data"]["axolotl.yml"])
        assert config["datasets"][0]["path"] == "/data/datasets/alpaca.jsonl"
        assert config["base_model"] == "/data/models/tiny-llama"
        assert config["output_dir"] == "/data/runs/my-run/outputs"
    dry = launch(
        cwd, "runs/My_Run", "--kubernetes", "--image", "img", "--force", "--dry-run", timeout=60
    )
    assert dry.returncode == 0 and "kind: TrainJob" in dry.stdout and "image: img" in dry.stdout
    assert "image: img" not in (run_dir / "kubernetes" / "my-run-trainjob.yaml").read_text()
    again = launch(cwd, "runs/My_Run", "--kubernetes", "--image", "img", timeout=60)
    assert again.returncode == 1 and "--force" in again.stderr
    assert not (run_dir / "launches").exists()  # nothing ran here


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((), "needs --image"),
        (("--image", "img", "--k8s-api", "mpijob"), "not one of trainjob, pytorchjob"),
        (("--image", "img\nrm -rf /"), "not an image reference"),
        (("--image", "img", "--pvc", "Bad_Name"), "not a Kubernetes name"),
        (("--image", "img\n"), "not an image reference"),
        (("--image", "img", "--secret", "hf\n"), "not a Kubernetes name"),
    ],
)
def test_bad_options_are_one_line(
    tiny_root: Path, tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    cwd = workspace(tiny_root, tmp_path)
    run_dir = new_run(cwd, "runs/k")
    done = launch(cwd, "runs/k", "--kubernetes", *args, timeout=60)
    assert done.returncode == 1 and says in done.stderr
    assert done.stderr.count("\nerror:") + done.stderr.startswith("error:") == 1
    assert not (run_dir / "kubernetes").exists()


def test_the_trainjob_names_the_trainer_it_needs() -> None:
    """runtimePatches came with Kubeflow Trainer v2.2.0 (v2.1 had podTemplateOverrides): the
    TrainJob validates against v2.2.0's own CRD too, and the file and --help name that version."""
    text = manifest_text(run(Layout(8, 2)), KubeOptions("trainjob", "img"))
    assert "# Needs Kubeflow Trainer v2.2.0 or newer on the cluster." in text.splitlines()
    job = validate(text)[1]
    oldest = crd_validator("trainer.kubeflow.org_trainjobs-v2.2.0.yaml", "v1alpha1", "TrainJob")
    assert not [e.message for e in oldest.iter_errors(job)]
    v1 = manifest_text(run(Layout(8, 2)), KubeOptions("pytorchjob", "img"))
    assert "# Needs training-operator v1 on the cluster." in v1.splitlines()
    shown = " ".join(run_wizard("launch", "--help").stdout.split())
    assert "needs Kubeflow Trainer v2.2.0 or newer" in shown


def test_a_gated_model_without_a_secret_is_a_warning(tiny_root: Path, tmp_path: Path) -> None:
    cwd = workspace(tiny_root, tmp_path)
    run_dir = new_run(cwd, "runs/g")
    config = run_dir / "axolotl.yml"
    text = config.read_text()
    config.write_text(
        text.replace("base_model: ../../tiny-llama", "base_model: meta-llama/Llama-3.2-1B")
    )
    assert config.read_text() != text
    args = ("runs/g/axolotl.yml", "--kubernetes", "--image", "img", "--dry-run")
    bare = launch(cwd, *args, timeout=60)
    assert "warning: meta-llama/Llama-3.2-1B is gated" in bare.stderr, tail(bare)
    named = launch(cwd, *args, "--secret", "hf-token", timeout=60)
    assert "kind: TrainJob" in named.stdout and "is gated" not in named.stderr, tail(named)
